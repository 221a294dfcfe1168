//! The one error type of the collector, and how each kind becomes an HTTP answer.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
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
            Error::NoConfig => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();

        // A rejected batch is the client's business and common during development, so it is
        // only worth an info line; a server-side failure is always worth an error line.
        if status.is_server_error() {
            tracing::error!(error = %message, "request failed");
        } else {
            tracing::info!(error = %message, "request rejected");
        }

        (status, Json(json!({ "error": message }))).into_response()
    }
}
