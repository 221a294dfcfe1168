//! The schema, as a list of migrations numbered by SQLite's `PRAGMA user_version`.
//!
//! A database at version `n` has had the first `n` entries of [`MIGRATIONS`] applied. To change
//! the schema, append a migration; never edit one that has shipped, since existing files have
//! already run it.

use rusqlite::Connection;

/// The migrations in order; the index plus one is the `user_version` after it ran.
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

/// Brings the database up to the latest schema, each migration in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;

    // Only this module writes user_version, so it is never negative; were it hand-edited to be,
    // migration 1 would fail loudly on the existing table rather than anything being skipped.
    let done = usize::try_from(version).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // The version is bumped inside the same transaction, so a crash never leaves a
        // migration applied but unrecorded.
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }

    Ok(())
}

/// The schema version that [`migrate`] brings a database to.
#[cfg(test)]
fn latest() -> usize {
    MIGRATIONS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_sets_user_version_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();

        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();

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

        migrate(&mut conn).unwrap();

        let row: (String, String) = conn
            .query_row("SELECT id, config_version FROM events", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, ("old".to_string(), String::new()));
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, 2);
    }
}
