//! The schema of each back end, as a list of numbered migrations.
//!
//! A database at version `n` has had the first `n` entries of its list applied: SQLite records
//! `n` in `PRAGMA user_version`, PostgreSQL in the table `schema_version`. To change the schema,
//! append a migration to both lists; never edit one that has shipped, since existing databases
//! have already run it. The two lists may differ in length, since PostgreSQL started at the
//! schema SQLite reached with its second migration.

use rusqlite::{Connection, TransactionBehavior};

/// The SQLite migrations in order; the index plus one is the `user_version` after it ran.
const MIGRATIONS: &[&str] = &[
    // 1: the events table.
    //
    // `arrival` is an INTEGER PRIMARY KEY, i.e. the rowid itself, so that arrival order is
    // stable: SQLite may renumber an implicit rowid on VACUUM, but never an explicit one. The
    // event id is then a UNIQUE key, which is what INSERT OR IGNORE deduplicates on.
    "CREATE TABLE events (
        arrival     INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        site        TEXT NOT NULL,
        client_id   TEXT NOT NULL,
        session_id  TEXT NOT NULL,
        name        TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        page        TEXT NOT NULL,
        params      TEXT NOT NULL,
        segment     TEXT NOT NULL,
        funnels     TEXT NOT NULL
    );
    CREATE INDEX events_ts ON events (ts, seq);",
    // 2: the fingerprint of the config each event was tracked under, empty for the events
    // stored before trackers sent one; and the order funnels are replayed in, visitor by
    // visitor.
    "ALTER TABLE events ADD COLUMN config_version TEXT NOT NULL DEFAULT '';
    CREATE INDEX events_client ON events (client_id, ts, seq);",
];

/// Brings an SQLite database up to the latest schema, each migration in its own transaction.
///
/// Each transaction is IMMEDIATE, taking the write lock before it reads `user_version`, so that
/// two collectors opening one new file at once do not both run a migration: the second waits
/// (rusqlite's busy timeout), then finds the version raised.
pub(crate) fn sqlite(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;

        // Only this module writes user_version, so it is never negative; were it hand-edited to
        // be, migration 1 would fail loudly on the existing table rather than anything being
        // skipped.
        let done = usize::try_from(version).unwrap_or(0);
        let Some(sql) = MIGRATIONS.get(done) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        // The version is bumped inside the same transaction, so a crash never leaves a
        // migration applied but unrecorded.
        tx.pragma_update(None, "user_version", (done + 1) as i64)?;
        tx.commit()?;
    }
}

/// The schema version that [`sqlite`] brings a database to.
#[cfg(test)]
fn latest() -> usize {
    MIGRATIONS.len()
}

/// The PostgreSQL migrations in order; the index plus one is the version after it ran.
const POSTGRES: &[&str] = &[
    // 1: the events table, as SQLite has it after its migration 2.
    //
    // `arrival` numbers events across every collector sharing the database; the unique `id` is
    // what `ON CONFLICT DO NOTHING` deduplicates on. The JSON columns are text, not jsonb, so
    // that they come back byte for byte as posted (key order included) and may hold `\u0000`,
    // as in SQLite. `id` and `client_id` use the "C" collation: byte order, as SQLite compares,
    // whatever locale the database was created with.
    "CREATE TABLE events (
        arrival        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id             TEXT COLLATE \"C\" NOT NULL UNIQUE,
        site           TEXT NOT NULL,
        client_id      TEXT COLLATE \"C\" NOT NULL,
        session_id     TEXT NOT NULL,
        name           TEXT NOT NULL,
        ts             BIGINT NOT NULL,
        seq            BIGINT NOT NULL,
        received_at    BIGINT NOT NULL,
        page           TEXT NOT NULL,
        params         TEXT NOT NULL,
        segment        TEXT NOT NULL,
        funnels        TEXT NOT NULL,
        config_version TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX events_ts ON events (ts, seq);
    CREATE INDEX events_client ON events (client_id, ts, seq);",
];

/// The key of the advisory lock that serialises migrations ("mfmigrat" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d66_6d69_6772_6174;

/// Brings a PostgreSQL database up to the latest schema, all pending migrations in one
/// transaction.
///
/// Several collectors may start at once against one database: each takes the same advisory
/// lock first, which PostgreSQL releases at commit, so the second one waits, then finds the
/// version already raised and does nothing. DDL is transactional in PostgreSQL, so a failed
/// migration leaves neither the schema nor the version changed.
pub(crate) fn postgres(client: &mut postgres::Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )?;
    let done: Option<i32> = tx.query_one("SELECT max(version) FROM schema_version", &[])?.get(0);

    // Only this function writes versions, and it starts at 1, so a negative one is impossible;
    // were it hand-edited in, migration 1 would fail loudly on the existing table.
    let done = usize::try_from(done.unwrap_or(0)).unwrap_or(0);
    for (index, sql) in POSTGRES.iter().enumerate().skip(done) {
        tx.batch_execute(sql)?;
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&version])?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_sets_user_version_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();

        sqlite(&mut conn).unwrap();
        sqlite(&mut conn).unwrap();

        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, latest() as i64);
        let count: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn migration_2_keeps_version_1_rows_with_an_empty_config_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO events (id, site, client_id, session_id, name, ts, seq, received_at,
                                 page, params, segment, funnels)
             VALUES ('old', 's', 'c', 's1', 'page_view', 1, 1, 1, '{}', '{}', '{}', '{}')",
            [],
        )
        .unwrap();

        sqlite(&mut conn).unwrap();

        let row: (String, String) = conn
            .query_row("SELECT id, config_version FROM events", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, ("old".to_string(), String::new()));
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, 2);
    }
}
