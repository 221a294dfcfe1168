//! The SQLite file the events are kept in.
//!
//! One connection behind a mutex is enough for a collector of this size, and it keeps writes
//! trivially serialised. Every use of it runs on tokio's blocking pool, so a slow disk never
//! stalls the runtime that answers requests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::batch::{Batch, Event};
use crate::funnels::{FunnelReport, Funnels, Row};
use crate::{migrate, Error};

/// A handle on the events database; cheap to clone, all clones share one connection.
#[derive(Clone, Debug)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
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
    /// Opens (or creates) the database file, switches it to WAL and applies pending migrations.
    ///
    /// This blocks on disk I/O: from async code, call it through `spawn_blocking`.
    pub fn open(path: &Path) -> Result<Store, Error> {
        let opened = Connection::open(path).and_then(|mut conn| {
            // WAL lets readers of the file (an operator's sqlite3 shell, a backup) proceed
            // while the collector writes. Setting it answers with the mode, hence query_row.
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
            migrate::migrate(&mut conn)?;
            Ok(conn)
        });
        let conn = opened.map_err(|source| Error::Open { path: PathBuf::from(path), source })?;

        Ok(Store { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Stores every event of `batch` in one transaction and answers how many of them were
    /// already stored (and so ignored).
    pub async fn insert(&self, batch: Batch) -> Result<usize, Error> {
        self.blocking(move |conn| insert(conn, &batch)).await
    }

    /// Stores several batches in one transaction (one disk sync for all), as [`Store::insert`]
    /// stores one; answers how many events were already stored.
    pub async fn insert_all(&self, batches: Vec<Batch>) -> Result<usize, Error> {
        self.blocking(move |conn| insert_all(conn, &batches)).await
    }

    /// Every stored event, oldest first (by `ts`, then `seq`, then arrival), optionally only
    /// those with the given name.
    pub async fn events(&self, name: Option<String>) -> Result<Vec<StoredEvent>, Error> {
        self.blocking(move |conn| events(conn, name.as_deref())).await
    }

    /// Replays every stored event through `funnels`, visitor by visitor, and counts each
    /// funnel's steps, completions and abandonments.
    pub async fn funnels(&self, funnels: Funnels) -> Result<Vec<FunnelReport>, Error> {
        // The replay runs on the blocking pool too: it is CPU work proportional to the store.
        self.blocking(move |conn| Ok(funnels.report(&replay_rows(conn)?))).await
    }

    /// Every stored event as the reports read it, in replay order (by visitor, then time).
    pub(crate) async fn rows(&self) -> Result<Vec<Row>, Error> {
        self.blocking(replay_rows).await
    }

    /// Runs `work` on the blocking pool with the connection locked.
    async fn blocking<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| Error::Poisoned)?;
            work(&mut conn)
        })
        .await?
    }
}

fn insert(conn: &mut Connection, batch: &Batch) -> Result<usize, Error> {
    insert_all(conn, std::slice::from_ref(batch))
}

fn insert_all(conn: &mut Connection, batches: &[Batch]) -> Result<usize, Error> {
    let received_at = now_ms();
    let tx = conn.transaction()?;
    let mut duplicates = 0;
    {
        let mut statement = tx.prepare_cached(
            "INSERT OR IGNORE INTO events
                (id, site, client_id, session_id, name, ts, seq, received_at,
                 page, params, segment, funnels, config_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for batch in batches {
            for event in &batch.events {
                let inserted = statement.execute(params![
                    event.id,
                    batch.site,
                    batch.client_id,
                    batch.session_id,
                    event.name,
                    event.ts,
                    event.seq,
                    received_at,
                    page_json(event),
                    object_json(&event.params),
                    object_json(&event.segment),
                    object_json(&event.funnels),
                    batch.config_version,
                ])?;
                if inserted == 0 {
                    duplicates += 1;
                }
            }
        }
    }
    tx.commit()?;
    Ok(duplicates)
}

fn events(conn: &mut Connection, name: Option<&str>) -> Result<Vec<StoredEvent>, Error> {
    let mut statement = conn.prepare_cached(
        "SELECT id, name, ts, seq, site, client_id, session_id, config_version,
                page, params, segment, funnels
         FROM events
         WHERE ?1 IS NULL OR name = ?1
         ORDER BY ts, seq, arrival",
    )?;
    let rows = statement.query_map([name], |row| {
        Ok((
            StoredEvent {
                id: row.get(0)?,
                name: row.get(1)?,
                ts: row.get(2)?,
                seq: row.get(3)?,
                site: row.get(4)?,
                client_id: row.get(5)?,
                session_id: row.get(6)?,
                config_version: row.get(7)?,
                page: Value::Null,
                params: Value::Null,
                segment: Value::Null,
                funnels: Value::Null,
            },
            [row.get::<_, String>(8)?, row.get(9)?, row.get(10)?, row.get(11)?],
        ))
    })?;

    let mut out = Vec::new();
    for row in rows {
        let (mut event, [page, params, segment, funnels]) = row?;
        event.page = parse_column(&event.id, "page", &page)?;
        event.params = parse_column(&event.id, "params", &params)?;
        event.segment = parse_column(&event.id, "segment", &segment)?;
        event.funnels = parse_column(&event.id, "funnels", &funnels)?;
        out.push(event);
    }
    Ok(out)
}

/// Every event in the order funnels are replayed in: by visitor, then as [`events`] lists them.
fn replay_rows(conn: &mut Connection) -> Result<Vec<Row>, Error> {
    // TODO: this holds every event in memory at once; a large store would want the replay to
    // stream one visitor at a time and sum the counts.
    let mut statement = conn.prepare_cached(
        "SELECT id, client_id, session_id, name, ts, page, params, segment
         FROM events
         ORDER BY client_id, ts, seq, arrival",
    )?;
    let rows = statement.query_map([], |row| {
        let keys: [String; 4] = [row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?];
        let texts: [String; 3] = [row.get(5)?, row.get(6)?, row.get(7)?];
        Ok((keys, row.get::<_, i64>(4)?, texts))
    })?;

    let mut out = Vec::new();
    for row in rows {
        let ([id, client_id, session_id, name], ts, [page, params, segment]) = row?;
        let page = serde_json::from_str(&page).map_err(|source| Error::Corrupt {
            id: id.clone(),
            column: "page",
            source,
        })?;
        let params = parse_column(&id, "params", &params)?;
        let segment = parse_column(&id, "segment", &segment)?;
        out.push(Row::new(client_id, session_id, name, ts, &page, &params, &segment));
    }
    Ok(out)
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
