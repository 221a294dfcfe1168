//! The `microfunnel-collector` binary: parses the command line and runs the library's server.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use microfunnel_collector::{bind, Options};
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
    let options = Options {
        listen: args.listen,
        db: args.db,
        static_dir: args.static_dir,
        config: args.config,
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
