//! Where the events are kept: an SQLite file by default, or a PostgreSQL database shared by
//! several collectors.
//!
//! [`Store`] is the one interface the routes, the reports and the simulator see. Behind it, each
//! back end is a plain synchronous module (`sqlite`, `postgres`) that inserts batches and reads
//! rows back with their JSON columns still as text; this module runs that work on tokio's
//! blocking pool, so a slow disk or database never stalls the runtime that answers requests, and
//! turns the rows into [`StoredEvent`]s and report rows the same way for both.
//!
//! Both back ends keep the same order: events by `ts`, then `seq`, then arrival; the replay by
//! visitor (compared byte by byte), then the same.

mod postgres;
mod sqlite;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::batch::{Batch, Event};
use crate::funnels::{FunnelReport, Funnels, Row};
use crate::Error;

/// A handle on the events database; cheap to clone, all clones share one connection (SQLite)
/// or one pool of connections (PostgreSQL).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(sqlite::Db),
    Postgres(postgres::Db),
}

/// An event as [`Store::events`] returns it and `GET /api/events` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The event's unique id.
    pub id: String,
    /// The event name.
    pub name: String,
    /// Milliseconds since the epoch, as the tracker measured it.
    pub ts: i64,
    /// The tracker's per-client counter.
    pub seq: i64,
    /// The site the batch came from.
    pub site: String,
    /// The visitor's id.
    pub client_id: String,
    /// The visit's id.
    pub session_id: String,
    /// The fingerprint of the tracker's config, empty for events stored before trackers sent it.
    pub config_version: String,
    /// `{url, path, title, referrer}`.
    pub page: Value,
    /// The event parameters.
    pub params: Value,
    /// The segment attributes.
    pub segment: Value,
    /// The funnel progress.
    pub funnels: Value,
}

impl Store {
    /// Opens the database named by `db` and applies pending migrations.
    ///
    /// A `postgres://` or `postgresql://` URL (`postgres://user@host:5432/dbname`) selects
    /// PostgreSQL; anything else is an SQLite file, created when missing and switched to WAL.
    ///
    /// This blocks on disk and network I/O: from async code, call it through `spawn_blocking`.
    pub fn open(db: &Path) -> Result<Store, Error> {
        let backend = match postgres_url(db) {
            Some(url) => Backend::Postgres(postgres::Db::open(url)?),
            None => Backend::Sqlite(sqlite::Db::open(db)?),
        };
        Ok(Store { backend })
    }

    /// Stores every event of `batch` in one transaction and answers how many of them were
    /// already stored (and so ignored).
    pub async fn insert(&self, batch: Batch) -> Result<usize, Error> {
        self.insert_all(vec![batch]).await
    }

    /// Stores several batches in one transaction (one disk sync for all), as [`Store::insert`]
    /// stores one; answers how many events were already stored.
    pub async fn insert_all(&self, batches: Vec<Batch>) -> Result<usize, Error> {
        self.blocking(move |backend| backend.insert_all(&batches)).await
    }

    /// Every stored event, oldest first (by `ts`, then `seq`, then arrival), optionally only
    /// those with the given name.
    pub async fn events(&self, name: Option<String>) -> Result<Vec<StoredEvent>, Error> {
        self.blocking(move |backend| {
            let texts = backend.events(name.as_deref())?;
            texts.into_iter().map(EventText::parse).collect()
        })
        .await
    }

    /// Replays every stored event through `funnels`, visitor by visitor, and counts each
    /// funnel's steps, completions and abandonments.
    pub async fn funnels(&self, funnels: Funnels) -> Result<Vec<FunnelReport>, Error> {
        // The replay runs on the blocking pool too: it is CPU work proportional to the store.
        self.blocking(move |backend| Ok(funnels.report(&replay_rows(backend)?))).await
    }

    /// Every stored event as the reports read it, in replay order (by visitor, then time).
    pub(crate) async fn rows(&self) -> Result<Vec<Row>, Error> {
        self.blocking(replay_rows).await
    }

    /// Runs `work` on the blocking pool.
    async fn blocking<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Backend) -> Result<T, Error> + Send + 'static,
    {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || work(&backend)).await?
    }
}

impl Backend {
    fn insert_all(&self, batches: &[Batch]) -> Result<usize, Error> {
        match self {
            Backend::Sqlite(db) => db.insert_all(batches),
            Backend::Postgres(db) => db.insert_all(batches),
        }
    }

    fn events(&self, name: Option<&str>) -> Result<Vec<EventText>, Error> {
        match self {
            Backend::Sqlite(db) => db.events(name),
            Backend::Postgres(db) => db.events(name),
        }
    }

    fn replay_rows(&self) -> Result<Vec<RowText>, Error> {
        match self {
            Backend::Sqlite(db) => db.replay_rows(),
            Backend::Postgres(db) => db.replay_rows(),
        }
    }
}

/// Every event in the order funnels are replayed in: by visitor, then as [`Store::events`]
/// lists them.
fn replay_rows(backend: &Backend) -> Result<Vec<Row>, Error> {
    // TODO: this holds every event in memory at once; a large store would want the replay to
    // stream one visitor at a time and sum the counts.
    backend.replay_rows()?.into_iter().map(RowText::parse).collect()
}

/// The URL in `db` when it names a PostgreSQL database rather than an SQLite file.
fn postgres_url(db: &Path) -> Option<&str> {
    let text = db.to_str()?;
    let scheme = text.split_once("://")?.0;
    matches!(scheme, "postgres" | "postgresql").then_some(text)
}

/// A row of [`Store::events`] as a back end reads it, the JSON columns still text.
struct EventText {
    event: StoredEvent,
    /// `page`, `params`, `segment` and `funnels`.
    json: [String; 4],
}

impl EventText {
    fn parse(self) -> Result<StoredEvent, Error> {
        let EventText { mut event, json: [page, params, segment, funnels] } = self;
        event.page = parse_column(&event.id, "page", &page)?;
        event.params = parse_column(&event.id, "params", &params)?;
        event.segment = parse_column(&event.id, "segment", &segment)?;
        event.funnels = parse_column(&event.id, "funnels", &funnels)?;
        Ok(event)
    }
}

/// A row of the replay as a back end reads it, the JSON columns still text.
struct RowText {
    id: String,
    client_id: String,
    session_id: String,
    name: String,
    ts: i64,
    /// `page`, `params` and `segment`.
    json: [String; 3],
}

impl RowText {
    fn parse(self) -> Result<Row, Error> {
        let RowText { id, client_id, session_id, name, ts, json: [page, params, segment] } = self;
        let page = serde_json::from_str(&page).map_err(|source| Error::Corrupt {
            id: id.clone(),
            column: "page",
            source,
        })?;
        let params = parse_column(&id, "params", &params)?;
        let segment = parse_column(&id, "segment", &segment)?;
        Ok(Row::new(client_id, session_id, name, ts, &page, &params, &segment))
    }
}

fn parse_column(id: &str, column: &'static str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|source| Error::Corrupt {
        id: id.to_string(),
        column,
        source,
    })
}

fn page_json(event: &Event) -> String {
    // Serializing a struct of four strings cannot fail; the fallback only keeps the request path
    // free of unwrap.
    serde_json::to_string(&event.page).unwrap_or_else(|_| "{}".to_string())
}

fn object_json(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

/// Milliseconds since the epoch; a clock before 1970 counts as 0 rather than failing a batch.
fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_select_postgres_and_everything_else_is_a_file() {
        let url = |text: &str| postgres_url(Path::new(text)).map(str::to_string);

        assert_eq!(
            url("postgres://mf@127.0.0.1:5432/events").as_deref(),
            Some("postgres://mf@127.0.0.1:5432/events")
        );
        assert!(url("postgresql://localhost/events").is_some());
        assert_eq!(url("microfunnel.sqlite"), None);
        assert_eq!(url("data/postgres/events.sqlite"), None);
        assert_eq!(url("file://events.sqlite"), None);
    }
}
