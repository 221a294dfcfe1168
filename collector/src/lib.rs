//! The microfunnel collector: receives the event batches the tracker posts, stores them in an
//! SQLite file or a PostgreSQL database and answers them back for tests and the demo.
//!
//! - [`batch`]: validation of a posted batch, with JSON-path error messages.
//! - [`Store`]: the database (SQLite, or PostgreSQL shared by several collectors), its
//!   migrations, inserts and queries.
//! - [`Funnels`]: the tracker's config decoded by the page's own engine, and stored events
//!   replayed through it.
//! - [`reports`]: funnel, impact, segment, experiment, drop-off and anomaly reports.
//! - [`simulate`]: simulated visitors of the demo shop with planted behaviour.
//! - [`router`]: the HTTP routes and the static site; the reports behind [`ReportToken`] or
//!   loopback (`access`), the limits of ingestion (`limits`).
//! - [`bind`] and [`Server`]: start it all on a socket, in-process or from the binary.
//!
//! Starting it in-process, as the integration tests do:
//!
//! ```no_run
//! # async fn run() -> Result<(), microfunnel_collector::Error> {
//! use microfunnel_collector::{bind, Options};
//!
//! let options = Options { listen: "127.0.0.1:0".parse().unwrap(), ..Options::default() };
//! let server = bind(&options).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.serve().await
//! # }
//! ```

mod access;
pub mod batch;
mod error;
mod funnels;
mod limits;
mod migrate;
pub mod reports;
mod routes;
mod serve;
pub mod simulate;
mod store;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use access::ReportToken;
pub use batch::{Batch, Event, Page};
pub use error::Error;
pub use funnels::{FunnelReport, Funnels, StepReport};
pub use limits::RateLimit;
pub use routes::router;
pub use store::{Store, StoredEvent};

/// The largest body `POST /collect` accepts, in bytes (1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The default rate limit per client, in batches per second. A tracker sends about one batch
/// every two seconds per tab, and one more as a page is left.
pub const DEFAULT_RATE: u32 = 10;
/// The default burst per client: several tabs leaving at once, or a page resending what an
/// earlier page could not deliver.
pub const DEFAULT_BURST: u32 = 50;
/// The default deadline for reading and answering a request to `/collect`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to start the collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The address to listen on; port 0 picks a free one (see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// The SQLite file, created when missing, or a `postgres://` URL (see [`Store::open`]).
    pub db: PathBuf,
    /// A directory served at `/`, if any.
    pub static_dir: Option<PathBuf>,
    /// The tracker's config file, whose funnels `GET /api/funnels` computes, if any.
    pub config: Option<PathBuf>,
    /// The secret the reports ask for; without one, they are served to loopback peers only.
    pub report_token: Option<ReportToken>,
    /// The page origins (`https://shop.example`) that may post batches; empty means any.
    pub allow_origins: Vec<String>,
    /// How many batches one client (IP address, or IPv6 /64) may post; `None` for no limit.
    pub rate_limit: Option<RateLimit>,
    /// How long a request to `/collect` may take to be read and answered.
    pub request_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            db: PathBuf::from("microfunnel.sqlite"),
            static_dir: None,
            config: None,
            report_token: None,
            allow_origins: Vec::new(),
            rate_limit: RateLimit::new(DEFAULT_RATE, DEFAULT_BURST),
            request_timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A collector whose socket is bound and whose database is open, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    /// How long a client may take to send a request's headers.
    header_timeout: Duration,
}

/// Reads the config, opens the database and binds the socket, without serving yet.
///
/// Binding before serving lets the caller learn the real port of `127.0.0.1:0` and print it
/// before the first request can arrive. Problems inside the config are logged and leave the
/// broken parts out, as in the page; a config that cannot be read or parsed is an error.
pub async fn bind(options: &Options) -> Result<Server, Error> {
    let funnels = match options.config.clone() {
        Some(file) => Some(tokio::task::spawn_blocking(move || load_config(&file)).await??),
        None => None,
    };

    let db = options.db.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&db)).await??;

    let listen = options.listen;
    let listener =
        TcpListener::bind(listen).await.map_err(|source| Error::Bind { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind { addr: listen, source })?;

    let router = router(store, funnels, options)?;
    Ok(Server { listener, addr, router, header_timeout: options.request_timeout })
}

fn load_config(file: &Path) -> Result<Funnels, Error> {
    let (funnels, errors) = Funnels::load(file)?;
    for error in &errors {
        tracing::warn!(config = %file.display(), "config error at {error}");
    }
    tracing::info!(config = %file.display(), funnels = funnels.len(), "funnels loaded");
    Ok(funnels)
}

impl Server {
    /// The address actually bound, with the real port when [`Options::listen`] asked for 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<(), Error> {
        self.serve_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then lets open requests finish and returns, which
    /// closes the database.
    pub async fn serve_until<F>(self, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::info!(addr = %self.addr, "collector serving");
        serve::serve(self.listener, self.router, self.header_timeout, shutdown).await
    }
}
