//! The PostgreSQL back end, for several stateless collectors behind a load balancer sharing one
//! database.
//!
//! We use the synchronous `postgres` client with an `r2d2` pool (both by the author of
//! `tokio-postgres`) rather than `tokio-postgres` itself: the store already runs every database
//! call on tokio's blocking pool for SQLite, so the synchronous client slots into the same seam,
//! [`Store::open`](super::Store::open) stays synchronous, and both back ends share one shape.
//! The cost is a blocking thread per request in flight, which the pool bounds anyway.
//!
//! What makes sharing safe lives in the database, not in any one collector: the unique `id` with
//! `ON CONFLICT DO NOTHING` drops a duplicate whichever instance receives it, the identity column
//! `arrival` orders events across instances, and migrations run under an advisory lock.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Config, NoTls};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::{now_ms, object_json, page_json, EventText, RowText, StoredEvent};
use crate::batch::Batch;
use crate::{migrate, Error};

type Manager = PostgresConnectionManager<NoTls>;

/// Connections per collector: enough for the requests of a busy instance to overlap, few enough
/// that a dozen instances stay within PostgreSQL's default of 100 connections.
const POOL_SIZE: u32 = 8;
/// How long to wait for the server to answer a new connection, and for a free one in the pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool of connections; clones share it.
#[derive(Clone)]
pub(super) struct Db {
    // Declared before `_closing`, so dropped first: the clone in `_closing` is always the last.
    pool: Pool<Manager>,
    _closing: Arc<Closing>,
    /// The URL without its password, for messages.
    shown: String,
}

/// A clone of the pool, closed on a thread of its own when the last store goes.
///
/// Closing a connection of the synchronous client blocks on the client's own small runtime,
/// which tokio forbids on a thread that drives async tasks, and the last clone of a store is
/// typically dropped there, with the router, when a server stops.
struct Closing(Option<Pool<Manager>>);

impl Drop for Closing {
    fn drop(&mut self) {
        let Some(pool) = self.0.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return drop(pool);
        }
        std::thread::spawn(move || drop(pool));
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("url", &self.shown).finish_non_exhaustive()
    }
}

impl Db {
    /// Connects once to apply pending migrations, so that a wrong URL or a refused login fails
    /// at start-up with PostgreSQL's own message, then opens the pool.
    pub(super) fn open(url: &str) -> Result<Db, Error> {
        let shown = without_password(url);
        let open_error = |source| Error::OpenPostgres { url: shown.clone(), source };

        // TODO: no TLS yet; a URL with `sslmode=require` fails to connect. A database on another
        // machine needs a tunnel or a private network until a TLS connector is added.
        let mut config: Config = url.parse().map_err(open_error)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut client = config.connect(NoTls).map_err(open_error)?;
        migrate::postgres(&mut client).map_err(open_error)?;
        drop(client);

        // Connections are made on demand; the one above has shown that they can be.
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            // A broken connection is noticed by the query that fails on it, and r2d2 drops
            // connections that report themselves closed; a test query per request would only
            // add a round trip.
            .test_on_check_out(false)
            .build_unchecked(PostgresConnectionManager::new(config, NoTls));
        let closing = Arc::new(Closing(Some(pool.clone())));
        Ok(Db { pool, _closing: closing, shown })
    }

    fn client(&self) -> Result<PooledConnection<Manager>, Error> {
        self.pool.get().map_err(Error::Pool)
    }

    /// Inserts every event in one statement, so in one transaction; answers how many ids were
    /// already stored.
    pub(super) fn insert_all(&self, batches: &[Batch]) -> Result<usize, Error> {
        let columns = Columns::of(batches);
        if columns.id.is_empty() {
            return Ok(0);
        }
        // The rows are inserted in the order of `ord`, so `arrival` numbers a batch's events in
        // the order they were posted, as SQLite's rowid does.
        let inserted = self.client()?.execute(
            "INSERT INTO events
                (id, site, client_id, session_id, name, ts, seq, received_at,
                 page, params, segment, funnels, config_version)
             SELECT id, site, client_id, session_id, name, ts, seq, $13,
                    page, params, segment, funnels, config_version
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::int8[], $7::int8[], $8::text[], $9::text[], $10::text[],
                         $11::text[], $12::text[])
                  WITH ORDINALITY AS e(id, site, client_id, session_id, name, ts, seq,
                                       page, params, segment, funnels, config_version, ord)
             ORDER BY ord
             ON CONFLICT (id) DO NOTHING",
            &columns.params(&now_ms()),
        )?;
        let inserted = usize::try_from(inserted).unwrap_or(usize::MAX);
        Ok(columns.id.len().saturating_sub(inserted))
    }

    /// The events by `ts`, `seq` and arrival, optionally only those named `name`.
    pub(super) fn events(&self, name: Option<&str>) -> Result<Vec<EventText>, Error> {
        let rows = self.client()?.query(
            "SELECT id, name, ts, seq, site, client_id, session_id, config_version,
                    page, params, segment, funnels
             FROM events
             WHERE $1::text IS NULL OR name = $1
             ORDER BY ts, seq, arrival",
            &[&name],
        )?;
        let texts = rows.iter().map(|row| EventText {
            event: StoredEvent {
                id: row.get(0),
                name: row.get(1),
                ts: row.get(2),
                seq: row.get(3),
                site: row.get(4),
                client_id: row.get(5),
                session_id: row.get(6),
                config_version: row.get(7),
                page: serde_json::Value::Null,
                params: serde_json::Value::Null,
                segment: serde_json::Value::Null,
                funnels: serde_json::Value::Null,
            },
            json: [row.get(8), row.get(9), row.get(10), row.get(11)],
        });
        Ok(texts.collect())
    }

    /// The events by visitor, then as [`Db::events`]. `client_id` has the "C" collation, so
    /// visitors are compared byte by byte as in SQLite, whatever the database's locale.
    pub(super) fn replay_rows(&self) -> Result<Vec<RowText>, Error> {
        let rows = self.client()?.query(
            "SELECT id, client_id, session_id, name, ts, page, params, segment
             FROM events
             ORDER BY client_id, ts, seq, arrival",
            &[],
        )?;
        let texts = rows.iter().map(|row| RowText {
            id: row.get(0),
            client_id: row.get(1),
            session_id: row.get(2),
            name: row.get(3),
            ts: row.get(4),
            json: [row.get(5), row.get(6), row.get(7)],
        });
        Ok(texts.collect())
    }
}

/// The events of some batches as one array per column, for `UNNEST`.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    site: Vec<String>,
    client_id: Vec<String>,
    session_id: Vec<String>,
    name: Vec<String>,
    ts: Vec<i64>,
    seq: Vec<i64>,
    page: Vec<String>,
    params: Vec<String>,
    segment: Vec<String>,
    funnels: Vec<String>,
    config_version: Vec<String>,
}

impl Columns {
    fn of(batches: &[Batch]) -> Columns {
        let mut columns = Columns::default();
        for batch in batches {
            for event in &batch.events {
                columns.id.push(event.id.clone());
                columns.site.push(batch.site.clone());
                columns.client_id.push(batch.client_id.clone());
                columns.session_id.push(batch.session_id.clone());
                columns.name.push(event.name.clone());
                columns.ts.push(event.ts);
                columns.seq.push(event.seq);
                columns.page.push(page_json(event));
                columns.params.push(object_json(&event.params));
                columns.segment.push(object_json(&event.segment));
                columns.funnels.push(object_json(&event.funnels));
                columns.config_version.push(batch.config_version.clone());
            }
        }
        columns
    }

    /// `$1` to `$12` in the order of the insert, then `$13`, the time of arrival.
    fn params<'a>(&'a self, received_at: &'a i64) -> [&'a (dyn ToSql + Sync); 13] {
        [
            &self.id,
            &self.site,
            &self.client_id,
            &self.session_id,
            &self.name,
            &self.ts,
            &self.seq,
            &self.page,
            &self.params,
            &self.segment,
            &self.funnels,
            &self.config_version,
            received_at,
        ]
    }
}

/// `url` with the password, if any, replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match user_info.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_from_messages() {
        assert_eq!(
            without_password("postgres://mf:s3cr%40t@db.internal:5432/events?sslmode=disable"),
            "postgres://mf:***@db.internal:5432/events?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://mf@127.0.0.1/events"),
            "postgres://mf@127.0.0.1/events"
        );
        assert_eq!(without_password("postgres://localhost"), "postgres://localhost");
    }

    #[test]
    fn a_query_string_at_sign_is_not_taken_for_credentials() {
        let url = "postgres://host/db?application_name=a@b";
        assert_eq!(without_password(url), url);
    }
}
