//! The one error type of the collector, and how each kind becomes an HTTP answer.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Everything that can go wrong in the collector, from start-up to a single request.
///
/// Messages are lowercase, name the offending value in backticks and, for a rejected batch,
/// start with the JSON path of the field at fault (`events[1].name: ...`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of a posted batch failed validation.
    #[error("{path}: {reason}")]
    Invalid {
        /// Where in the batch, as a JSON path such as `events[1].name`.
        path: String,
        /// What is wrong with it, naming the offending value.
        reason: String,
    },

    /// The body of a post is not JSON at all.
    #[error("body: invalid JSON: {0}")]
    Json(#[source] serde_json::Error),

    /// The body of a post is larger than [`crate::BODY_LIMIT`].
    #[error("body: larger than the limit of `{limit}` bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// The body of a post could not be read for another reason (the client went away).
    #[error("body: failed to read: {0}")]
    Body(String),

    /// A report was asked for without the right report token.
    #[error(
        "reports need the collector's report token: send `Authorization: Bearer <token>` \
         (or the token as the password of Basic authentication)"
    )]
    Unauthorized,

    /// A report was asked for from another machine while no report token is configured.
    #[error(
        "reports are served only to this machine ({}) until a token is set: start the collector \
         with `--report-token` or `MICROFUNNEL_REPORT_TOKEN`",
        match peer { Some(ip) => format!("not to `{ip}`"), None => "peer unknown".to_string() }
    )]
    NotLocal {
        /// The peer's address, when the server knows it.
        peer: Option<IpAddr>,
    },

    /// A report was asked for from loopback, but through a proxy.
    #[error(
        "reports are not served through a proxy until a token is set: start the collector with \
         `--report-token` or `MICROFUNNEL_REPORT_TOKEN`"
    )]
    Forwarded,

    /// A page on an origin that is not on the allowlist posted a batch.
    #[error("origin `{origin}` may not post here: add it with `--allow-origin`")]
    OriginNotAllowed {
        /// The request's `Origin` header.
        origin: String,
    },

    /// A client posted more batches than its rate limit allows.
    #[error("too many requests from this client: retry in `{}` s", retry_after_secs(*retry_after))]
    RateLimited {
        /// How long until the client may post again.
        retry_after: Duration,
    },

    /// A request was not read and answered in time.
    #[error("request: not complete within `{}` s", after.as_secs_f64())]
    Timeout {
        /// The deadline it missed.
        after: Duration,
    },

    /// The report token given at start-up cannot be used.
    #[error("report token: {0}")]
    BadToken(&'static str),

    /// An origin given with `--allow-origin` is not a valid header value.
    #[error("allowed origin `{0}` is not a valid origin")]
    BadOrigin(String),

    /// SQLite refused an operation.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),

    /// The database file could not be opened or migrated.
    #[error("failed to open database `{}`: {source}", path.display())]
    Open {
        /// The file given with `--db`.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// PostgreSQL refused an operation.
    #[error("database: {0}")]
    Postgres(#[from] postgres::Error),

    /// The PostgreSQL database could not be reached, logged into or migrated.
    #[error("failed to open database `{url}`: {source}")]
    OpenPostgres {
        /// The URL given with `--db`, without its password.
        url: String,
        /// What PostgreSQL or the network said.
        #[source]
        source: postgres::Error,
    },

    /// No pooled PostgreSQL connection became free, or none could be made, in time.
    #[error("database: no PostgreSQL connection available: {0}")]
    Pool(#[source] r2d2::Error),

    /// A JSON column of a stored row no longer parses, which means the file was edited by hand.
    #[error("database: column `{column}` of event `{id}` is not valid JSON: {source}")]
    Corrupt {
        /// The event whose row is damaged.
        id: String,
        /// The column that failed to parse.
        column: &'static str,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },

    /// The tracker's config file given with `--config` could not be read.
    #[error("failed to read config `{}`: {source}", path.display())]
    ConfigRead {
        /// The file given with `--config`.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The tracker's config file given with `--config` is not JSON.
    #[error("config `{}` is not valid JSON: {reason}", path.display())]
    ConfigJson {
        /// The file given with `--config`.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },

    /// Funnels were asked for, but the collector was started without a config to define them.
    #[error("start the collector with --config to compute funnels")]
    NoConfig,

    /// A report could not be written as CSV.
    #[error("failed to write CSV: {0}")]
    Csv(String),

    /// A blocking database task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),

    /// An earlier database task panicked while holding the connection.
    #[error("database connection is unusable after an earlier panic")]
    Poisoned,

    /// The listening socket could not be bound.
    #[error("failed to listen on `{addr}`: {source}")]
    Bind {
        /// The address given with `--listen`.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The server stopped with an I/O error.
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl Error {
    /// Builds an [`Error::Invalid`] for the field at `path`.
    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid { path: path.into(), reason: reason.into() }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } | Error::Json(_) | Error::Body(_) => StatusCode::BAD_REQUEST,
            Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::NotLocal { .. } | Error::Forwarded | Error::OriginNotAllowed { .. } => {
                StatusCode::FORBIDDEN
            }
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Error::NoConfig => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        let extra = self.extra_header();

        // A rejected batch is the client's business and common during development, so it is
        // only worth an info line; a server-side failure is always worth an error line.
        if status.is_server_error() {
            tracing::error!(error = %message, "request failed");
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            // A flood would otherwise turn into a flood of log lines.
            tracing::debug!(error = %message, "request rejected");
        } else {
            tracing::info!(error = %message, "request rejected");
        }

        let mut response = (status, Json(json!({ "error": message }))).into_response();
        for (name, value) in extra {
            response.headers_mut().append(name, value);
        }
        response
    }
}

impl Error {
    /// The headers an answer needs besides its JSON reason: the challenges of a 401, the wait
    /// of a 429.
    fn extra_header(&self) -> Vec<(header::HeaderName, HeaderValue)> {
        match self {
            // Bearer for scripts; Basic as well so that a browser opening the dashboard shows
            // its own password prompt (the token is the password, any user name will do).
            Error::Unauthorized => vec![
                (
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"microfunnel reports\""),
                ),
                (
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Basic realm=\"microfunnel reports\", charset=\"UTF-8\"",
                    ),
                ),
            ],
            Error::RateLimited { retry_after } => {
                vec![(header::RETRY_AFTER, HeaderValue::from(retry_after_secs(*retry_after)))]
            }
            _ => Vec::new(),
        }
    }
}

/// Whole seconds to wait, rounded up, and at least one: `Retry-After` has no fractions, and 0
/// would invite an immediate retry that fails again.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}
