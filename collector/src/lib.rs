//! The microfunnel collector: receives the event batches the tracker posts, stores them in an
//! SQLite file and answers them back for tests and the demo.
//!
//! - [`batch`]: validation of a posted batch, with JSON-path error messages.
//! - [`Store`]: the SQLite file, its migrations, inserts and queries.
//! - [`Funnels`]: the tracker's config decoded by the page's own engine, and stored events
//!   replayed through it.
//! - [`reports`]: funnel, impact, segment, experiment, drop-off and anomaly reports.
//! - [`simulate`]: simulated visitors of the demo shop with planted behaviour.
//! - [`router`]: the HTTP routes and the static site.
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

pub mod batch;
mod error;
mod funnels;
mod migrate;
pub mod reports;
mod routes;
pub mod simulate;
mod store;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use axum::Router;
use tokio::net::TcpListener;

pub use batch::{Batch, Event, Page};
pub use error::Error;
pub use funnels::{FunnelReport, Funnels, StepReport};
pub use routes::router;
pub use store::{Store, StoredEvent};

/// The largest body `POST /collect` accepts, in bytes (1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// How to start the collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The address to listen on; port 0 picks a free one (see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// The SQLite file, created when missing.
    pub db: PathBuf,
    /// A directory served at `/`, if any.
    pub static_dir: Option<PathBuf>,
    /// The tracker's config file, whose funnels `GET /api/funnels` computes, if any.
    pub config: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            db: PathBuf::from("microfunnel.sqlite"),
            static_dir: None,
            config: None,
        }
    }
}

/// A collector whose socket is bound and whose database is open, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
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

    let router = router(store, funnels, options.static_dir.as_deref());
    Ok(Server { listener, addr, router })
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve)
    }
}
