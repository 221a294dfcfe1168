//! The `microfunnel-collector` binary: parses the command line and runs the library's server.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use microfunnel_collector::reports::{self, Request};
use microfunnel_collector::simulate::Simulation;
use microfunnel_collector::{bind, Funnels, Options, RateLimit, ReportToken, Store};
use tracing_subscriber::EnvFilter;

/// Receives microfunnel event batches over HTTP and stores them in SQLite or PostgreSQL.
///
/// Without a command it runs the server; `report` prints a report and `simulate` stores
/// simulated visitors.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// SQLite file to store events in, created when missing; or a PostgreSQL URL
    /// (`postgres://user@host:5432/dbname`), which several collectors may share.
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

#[derive(Debug, Subcommand)]
enum Command {
    /// Prints a report computed from the stored events.
    ///
    /// Parameters are those of `GET /api/reports/<name>`, as `key=value`:
    /// `report funnel by=device from=2026-11-01 device=mobile`.
    Report {
        /// funnel, impact, segments, experiments, dropoff or anomalies.
        name: String,
        /// Query parameters, `key=value`.
        params: Vec<String>,
        /// SQLite file or PostgreSQL URL the events are stored in.
        #[arg(long, default_value = "microfunnel.sqlite")]
        db: PathBuf,
        /// The tracker's config JSON, needed by funnel, experiments and dropoff.
        #[arg(long)]
        config: Option<PathBuf>,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
    },
    /// Stores simulated visitors of the demo shop, with planted behaviour, for the reports.
    Simulate {
        /// SQLite file (created when missing) or PostgreSQL URL to store the events in.
        #[arg(long, default_value = "microfunnel.sqlite")]
        db: PathBuf,
        /// How many visitors.
        #[arg(long, default_value_t = 5000)]
        visitors: u64,
        /// Seed of the random generator; the same seed stores the same events.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Over how many days.
        #[arg(long, default_value_t = 28)]
        days: i64,
        /// The last day (`YYYY-MM-DD`, UTC); yesterday when not given.
        #[arg(long)]
        end: Option<String>,
    },
}

/// How `report` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    /// Aligned text tables.
    Table,
    /// The first table (or `table=<name>`) as CSV.
    Csv,
    /// The whole report as JSON.
    Json,
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
    if let Some(command) = args.command {
        return match command_main(command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
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

async fn command_main(command: Command) -> Result<(), microfunnel_collector::Error> {
    match command {
        Command::Report { name, params, db, config, format } => {
            report(&name, &params, &db, config, format).await
        }
        Command::Simulate { db, visitors, seed, days, end } => {
            simulate(&db, visitors, seed, days, end.as_deref()).await
        }
    }
}

async fn report(
    name: &str,
    params: &[String],
    db: &std::path::Path,
    config: Option<PathBuf>,
    format: Output,
) -> Result<(), microfunnel_collector::Error> {
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|param| match param.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (param.clone(), String::new()),
        })
        .collect();
    if let Some((key, _)) = pairs.iter().find(|(_, value)| value.is_empty()) {
        let reason = format!("`{key}` is not `key=value`");
        return Err(microfunnel_collector::Error::Invalid { path: "params".into(), reason });
    }
    let request = Request::parse(name, &pairs)?;
    let table = request.table.clone();

    let funnels = match config {
        Some(file) => {
            let (funnels, errors) = Funnels::load(&file)?;
            for error in errors {
                eprintln!("config error at {error}");
            }
            Some(funnels)
        }
        None => None,
    };
    let store = open(db).await?;
    let report = reports::compute(&store, funnels, request).await?;
    match format {
        Output::Json => {
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            println!("{text}");
        }
        Output::Csv => print!("{}", report.csv(table.as_deref())?),
        Output::Table => {
            let texts: Vec<String> = report.tables().iter().map(|t| t.text()).collect();
            print!("{}", texts.join("\n"));
        }
    }
    Ok(())
}

async fn simulate(
    db: &std::path::Path,
    visitors: u64,
    seed: u64,
    days: i64,
    end: Option<&str>,
) -> Result<(), microfunnel_collector::Error> {
    let last_day = match end {
        Some(text) => reports::parse_date(text).ok_or_else(|| {
            let reason = format!("`{text}` is not a date like `2026-11-30`");
            microfunnel_collector::Error::Invalid { path: "--end".into(), reason }
        })?,
        None => reports::day_of(now_ms()) - 1,
    };
    let simulation = Simulation { visitors, seed, days: days.max(1), last_day };
    let store = open(db).await?;
    let summary = simulation.run(&store).await?;
    println!(
        "simulated {} visitors from {} to {}: {} events, {} already stored; the home CTA is broken on {}",
        summary.visitors,
        reports::date(simulation.first_day()),
        reports::date(last_day),
        summary.events,
        summary.duplicates,
        reports::date(simulation.broken_day()),
    );
    Ok(())
}

async fn open(db: &std::path::Path) -> Result<Store, microfunnel_collector::Error> {
    let db = db.to_path_buf();
    tokio::task::spawn_blocking(move || Store::open(&db)).await?
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.unwrap_or_default().as_millis()).unwrap_or(i64::MAX)
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
