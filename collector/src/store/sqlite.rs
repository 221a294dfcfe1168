//! The SQLite back end: one file, in WAL mode.
//!
//! One connection behind a mutex is enough for a collector of this size, and it keeps writes
//! trivially serialised. The store calls it only from tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection};

use super::{now_ms, object_json, page_json, EventText, RowText, StoredEvent};
use crate::batch::Batch;
use crate::{migrate, Error};

/// The connection; clones share it.
#[derive(Clone, Debug)]
pub(super) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (or creates) the database file, switches it to WAL and applies pending migrations.
    pub(super) fn open(path: &Path) -> Result<Db, Error> {
        let opened = Connection::open(path).and_then(|mut conn| {
            // WAL lets readers of the file (an operator's sqlite3 shell, a backup) proceed
            // while the collector writes. Setting it answers with the mode, hence query_row.
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
            migrate::sqlite(&mut conn)?;
            Ok(conn)
        });
        let conn = opened.map_err(|source| Error::Open { path: PathBuf::from(path), source })?;

        Ok(Db { conn: Arc::new(Mutex::new(conn)) })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, Error> {
        self.conn.lock().map_err(|_| Error::Poisoned)
    }

    /// Inserts every event in one transaction; answers how many ids were already stored.
    pub(super) fn insert_all(&self, batches: &[Batch]) -> Result<usize, Error> {
        let mut conn = self.lock()?;
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

    /// The events by `ts`, `seq` and arrival, optionally only those named `name`.
    pub(super) fn events(&self, name: Option<&str>) -> Result<Vec<EventText>, Error> {
        let conn = self.lock()?;
        let mut statement = conn.prepare_cached(
            "SELECT id, name, ts, seq, site, client_id, session_id, config_version,
                    page, params, segment, funnels
             FROM events
             WHERE ?1 IS NULL OR name = ?1
             ORDER BY ts, seq, arrival",
        )?;
        let rows = statement.query_map([name], |row| {
            Ok(EventText {
                event: StoredEvent {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    ts: row.get(2)?,
                    seq: row.get(3)?,
                    site: row.get(4)?,
                    client_id: row.get(5)?,
                    session_id: row.get(6)?,
                    config_version: row.get(7)?,
                    page: serde_json::Value::Null,
                    params: serde_json::Value::Null,
                    segment: serde_json::Value::Null,
                    funnels: serde_json::Value::Null,
                },
                json: [row.get(8)?, row.get(9)?, row.get(10)?, row.get(11)?],
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The events by visitor (SQLite compares text byte by byte), then as [`Db::events`].
    pub(super) fn replay_rows(&self) -> Result<Vec<RowText>, Error> {
        let conn = self.lock()?;
        let mut statement = conn.prepare_cached(
            "SELECT id, client_id, session_id, name, ts, page, params, segment
             FROM events
             ORDER BY client_id, ts, seq, arrival",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(RowText {
                id: row.get(0)?,
                client_id: row.get(1)?,
                session_id: row.get(2)?,
                name: row.get(3)?,
                ts: row.get(4)?,
                json: [row.get(5)?, row.get(6)?, row.get(7)?],
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
