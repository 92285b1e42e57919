//! Why a command could not run: one typed error per cause, each saying what to fix.

use std::net::SocketAddr;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Connect(#[from] super::connect::ConnectError),
    #[error(transparent)]
    Log(#[from] crate::logging::LogError),
    #[error(transparent)]
    Theme(#[from] crate::config::theme::ThemeError),
    #[error(transparent)]
    Keys(#[from] crate::input::KeymapError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Run(#[from] crate::dashboard::RunError),
    #[error(transparent)]
    Tail(#[from] crate::tail::TailError),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error(transparent)]
    Load(#[from] crate::bench::load::LoadError),
    #[error("--bench-key: {0}")]
    BenchKey(crate::auth::KeyError),
    #[error("bench subscribe completed with errors (see \"errors\")")]
    BenchErrors,
    #[error("bench subscribe did not complete")]
    BenchIncomplete,
    #[error("bench run: {0}")]
    BenchRun(crate::bench::rig::run::RunError),
    #[error("bench run: {0} run(s) gave no figures (see the table)")]
    BenchRunsFailed(usize),
    #[error(transparent)]
    HubKeys(#[from] crate::hub::KeyChoiceError),
    #[error(
        "--faults on {0} would let anyone who reaches the hub cut every connection; add --allow-remote-dev-endpoints if that is meant"
    )]
    FaultsBeyondLoopback(std::net::IpAddr),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("hub stopped: {0}")]
    HubStopped(std::io::Error),
    #[error("proxy: {0}")]
    Proxy(crate::proxy::ProxyError),
    #[error("cannot open a loopback port for the demo hub: {0}")]
    DemoPort(std::io::Error),
    #[error("the demo's key is malformed: {0}")]
    DemoKey(crate::auth::KeyError),
    #[error("the demo hub's address is not a URL: {0}")]
    DemoAddress(#[from] url::ParseError),
    #[error("the simulation stopped abnormally: {0}")]
    SimulationAborted(tokio::task::JoinError),
    #[error("the simulation could not start: {0}")]
    Simulation(#[from] crate::sim::SimError),
    #[error(
        "demo --listen {0}: the demo's hub accepts the public development key and signs anyone in as a broker, so it listens on loopback only (127.0.0.1 or ::1); for other machines run `brokerdash hub` on that address"
    )]
    DemoListenBeyondLoopback(SocketAddr),
    #[error(
        "sim against {0} needs --key (or ABLY_API_KEY): the development key is only accepted by a hub on this machine"
    )]
    SimWithoutKey(String),
    #[error("--key: {0}")]
    SimKey(crate::auth::KeyError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("--since {given:?}: {source}")]
    Since {
        given: String,
        source: super::alerts::DurationError,
    },
    #[error(transparent)]
    Desk(#[from] super::desk::DeskError),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}
