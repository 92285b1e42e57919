//! `brokerdash proxy`: the fault proxy in front of a hub or of Ably.

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;
use url::Url;

use super::error::CliError;

#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// The Ably-protocol server to pass traffic to: a hub (http://127.0.0.1:8080) or Ably.
    #[arg(long)]
    pub upstream: Url,
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
}

pub(super) async fn run(args: ProxyArgs) -> Result<(), CliError> {
    let listen = |source| CliError::Listen {
        addr: args.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(listen)?;
    let addr = listener.local_addr().map_err(listen)?;
    // Written without println!: a reader that closes our stdout must not stop the proxy.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "proxy listening on http://{addr}");
    let _ = writeln!(
        out,
        "upstream: {} (faults: POST /_proxy/drop, /_proxy/stall?ms=N, /_proxy/refuse?ms=N, /_proxy/rules)",
        args.upstream
    );
    let _ = out.flush();
    crate::proxy::run(listener, args.upstream, super::shutdown_signal())
        .await
        .map_err(CliError::Proxy)
}
