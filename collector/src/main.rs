//! The `microfunnel-collector` binary: parses the command line and runs the library's server.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use microfunnel_collector::{bind, Options, RateLimit, ReportToken};
use tracing_subscriber::EnvFilter;

/// Receives microfunnel event batches over HTTP and stores them in SQLite.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// SQLite file to store events in, created when missing.
    #[arg(long, default_value = "microfunnel.sqlite")]
    db: PathBuf,

    /// Directory to serve at `/` (for example `www`).
    #[arg(long = "static")]
    static_dir: Option<PathBuf>,

    /// The tracker's config JSON (for example `www/config.json`), whose funnels
    /// `GET /api/funnels` computes from the stored events.
    #[arg(long)]
    config: Option<PathBuf>,

    /// The secret that opens the reports (`/api/*`): send it as `Authorization: Bearer
    /// <token>`, or as the password a browser asks for. Without it, the reports are served to
    /// this machine (loopback) only. Prefer the environment variable: a flag shows in `ps`.
    #[arg(long, env = "MICROFUNNEL_REPORT_TOKEN", hide_env_values = true)]
    report_token: Option<String>,

    /// A page origin allowed to post batches, such as `https://shop.example`; repeat it for
    /// several. Without it, any origin may post.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,

    /// Batches per second one client (IP address, or IPv6 /64) may post on average; 0 turns
    /// the limit off.
    #[arg(long, value_name = "PER_SECOND", default_value_t = microfunnel_collector::DEFAULT_RATE)]
    rate_limit: u32,

    /// Batches one client may post at once before the rate limit applies.
    #[arg(long, default_value_t = microfunnel_collector::DEFAULT_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate_burst: u32,

    /// Seconds a request to `/collect` may take to arrive and be answered.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    request_timeout: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr so that stdout carries only the "listening" line tests read.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let args = Args::parse();
    let report_token = match args.report_token.map(ReportToken::new).transpose() {
        Ok(token) => token,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let options = Options {
        listen: args.listen,
        db: args.db,
        static_dir: args.static_dir,
        config: args.config,
        report_token,
        allow_origins: args.allow_origins,
        rate_limit: RateLimit::new(args.rate_limit, args.rate_burst),
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
    };

    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), microfunnel_collector::Error> {
    let server = bind(&options).await?;
    if options.report_token.is_none() {
        tracing::info!("no report token: reports are served to loopback peers only");
    }
    println!("microfunnel collector listening on http://{}", server.local_addr());

    server.serve_until(stop_signal()).await
}

/// Ctrl-C or SIGTERM (what `kill` and service managers send): both drain open requests and
/// close the database cleanly, which folds SQLite's write-ahead log back into the file.
async fn stop_signal() {
    let interrupt = async {
        // If a handler cannot be installed we keep serving; the process can still be killed,
        // it just will not drain open requests first.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
