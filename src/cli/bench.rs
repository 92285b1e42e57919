//! `brokerdash bench`: the side-by-side comparison (`run`), one measuring subscriber
//! (`subscribe`) and a load source for a hub (`load`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::auth::ApiKey;
use crate::bench::rig::clients::ClientKind;
use crate::bench::rig::run::RunPlan;
use crate::bench::rig::summary::{Heading, machine, table, to_json};
use crate::bench::rig::{ScenarioKind, Size};
use crate::hub::DEVELOPMENT_KEY;

use super::error::CliError;
use super::init_stderr_logging;

#[derive(Debug, Subcommand)]
pub enum BenchMode {
    /// brokerdash beside ably-js and a floor subscriber, on a scripted server's loads
    /// (steady, burst, attach, idle), alternating runs; prints medians, ranges and ratios.
    Run(RunArgs),
    /// Subscribe to conversation:0..N-1 on ws://127.0.0.1:PORT and measure delivery of a
    /// load until `bench:end`; prints one JSON line (exit 1 on timeout or errors).
    Subscribe {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        channels: usize,
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
        /// Key to connect with (default: the hub's development key).
        #[arg(long = "bench-key", default_value = DEVELOPMENT_KEY)]
        bench_key: String,
        /// websocket, or poll to measure the polling transport (adds `rest_requests` and
        /// `rest_per_sec` to the line).
        #[arg(long, default_value = "websocket", value_name = "websocket|poll")]
        transport: crate::realtime::TransportChoice,
    },
    /// Publish `message:user` events at a steady rate over conversation:0..N-1, then
    /// `bench:end` on every channel.
    Load {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        channels: usize,
        /// Messages per second (0: as fast as acknowledgements allow).
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        #[arg(long, default_value_t = 20_000)]
        messages: u64,
        /// Publishing connections.
        #[arg(long, default_value_t = 2)]
        connections: usize,
        #[arg(long = "bench-key", default_value = DEVELOPMENT_KEY)]
        bench_key: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenarios to run (default: all), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "steady,burst,attach,idle")]
    pub scenario: Vec<ScenarioKind>,
    /// Clients to measure beside brokerdash, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ably-js,floor")]
    pub compare: Vec<ClientKind>,
    /// Runs per client and scenario; medians and ranges over them.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// One JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Seconds-long versions of each load, to check the rig rather than to measure.
    #[arg(long)]
    pub smoke: bool,
    /// Where the ably-js subscriber and its npm packages are kept (default: the user's
    /// cache folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// A floor subscriber already built, instead of building the bench target with cargo.
    #[arg(long)]
    pub floor_bin: Option<PathBuf>,
}

fn compare(args: &RunArgs) -> Result<(), CliError> {
    let mut clients = vec![ClientKind::Brokerdash];
    for kind in &args.compare {
        if !clients.contains(kind) {
            clients.push(*kind);
        }
    }
    let scenarios = if args.scenario.is_empty() {
        ScenarioKind::ALL.to_vec()
    } else {
        args.scenario.clone()
    };
    let plan = RunPlan {
        scenarios,
        clients: clients.clone(),
        runs: args.runs.max(1),
        size: if args.smoke { Size::Smoke } else { Size::Full },
        work_dir: args.work_dir.clone().unwrap_or_else(default_work_dir),
        floor_bin: args.floor_bin.clone(),
    };
    let results = crate::bench::rig::run::run(&plan, &mut |line| eprintln!("bench run: {line}"))
        .map_err(CliError::BenchRun)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let machine = machine();
    let heading = Heading {
        machine: &machine,
        runs: plan.runs,
        command: &command,
    };
    if args.json {
        println!("{}", to_json(&results, &clients, &heading));
    } else {
        print!("{}", table(&results, &clients, &heading));
    }
    let failed = results
        .iter()
        .flat_map(|result| &result.samples)
        .filter(|sample| sample.failure.is_some())
        .count();
    if failed > 0 {
        return Err(CliError::BenchRunsFailed(failed));
    }
    Ok(())
}

/// `$XDG_CACHE_HOME/brokerdash/bench`, else `~/.cache/brokerdash/bench`, else a folder in
/// the system's temporary folder.
fn default_work_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("brokerdash").join("bench")
}

pub async fn run(mode: BenchMode) -> Result<(), CliError> {
    init_stderr_logging();
    let parse_key = |text: &str| text.parse::<ApiKey>().map_err(CliError::BenchKey);
    match mode {
        BenchMode::Run(args) => compare(&args),
        BenchMode::Subscribe {
            port,
            channels,
            timeout_secs,
            bench_key,
            transport,
        } => {
            let plan = crate::bench::subscribe::SubscribePlan {
                port,
                key: parse_key(&bench_key)?,
                channels,
                timeout: Duration::from_secs(timeout_secs),
                transport,
            };
            // On a current-thread runtime the future given to `block_on` is woken apart from
            // the tasks, and each hand-off from a connection's task to it costs the scheduler
            // one more look at the driver (a syscall per message); as a task of its own it
            // is simply next in the queue.
            let measuring = tokio::spawn(async move { crate::bench::subscribe::run(&plan).await });
            let (line, completed) = measuring.await.map_err(|_| CliError::BenchIncomplete)?;
            println!("{line}");
            let clean = line["errors"].as_array().is_none_or(Vec::is_empty);
            match (completed, clean) {
                (true, true) => Ok(()),
                (true, false) => Err(CliError::BenchErrors),
                (false, _) => Err(CliError::BenchIncomplete),
            }
        }
        BenchMode::Load {
            port,
            channels,
            rate,
            messages,
            connections,
            bench_key,
        } => {
            let plan = crate::bench::load::LoadPlan {
                port,
                key: parse_key(&bench_key)?,
                channels,
                messages,
                rate_per_sec: rate,
                connections,
            };
            let report = crate::bench::load::run(&plan).await?;
            println!(
                "{}",
                serde_json::json!({
                    "published": report.published,
                    "refused": report.refused,
                    "elapsed_ms": report.elapsed.as_millis() as u64,
                })
            );
            Ok(())
        }
    }
}
