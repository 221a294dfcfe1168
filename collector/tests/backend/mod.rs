//! The database the collector tests run on: by default an SQLite file in the test's temporary
//! directory; with `MF_TEST_BACKEND=postgres`, a fresh database on a real PostgreSQL server.
//!
//! The server is the one at `MF_TEST_POSTGRES_URL` (a superuser's URL) when that is set, and
//! otherwise one this test binary starts: `initdb` in a temporary directory (as the `postgres`
//! user when we are root, since initdb refuses root), listening on a free loopback port with
//! its socket in that directory. A watchdog process stops it and deletes the directory once
//! this test binary has exited, however it exited.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Whether this run stores events in PostgreSQL.
pub fn is_postgres() -> bool {
    std::env::var("MF_TEST_BACKEND").is_ok_and(|name| name == "postgres")
}

/// What `--db` is for a new, empty database: a file in `dir`, or a new PostgreSQL database.
pub fn db(dir: &tempfile::TempDir) -> PathBuf {
    if !is_postgres() {
        return dir.path().join("events.sqlite");
    }
    PathBuf::from(server().create_database())
}

/// The schema version the collector has recorded in `db`.
pub fn schema_version(db: &Path) -> i64 {
    if !is_postgres() {
        let conn = rusqlite::Connection::open(db).unwrap();
        return conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    }
    let mut client = connect(db.to_str().unwrap());
    let versions: Vec<i32> = client
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    // Every migration is recorded once, in order: two collectors starting at once must not
    // have both run one.
    let expected: Vec<i32> = (1..=versions.len() as i32).collect();
    assert_eq!(versions, expected, "schema_version of `{}`", db.display());
    i64::from(*versions.last().unwrap_or(&0))
}

/// A connection to a PostgreSQL URL, for checks the collector's API does not offer.
pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("failed to connect to `{url}`: {e}"))
}

/// A PostgreSQL server and a superuser connection to it, shared by every test of the binary.
struct Server {
    /// `postgres://user@127.0.0.1:port`, without a database name.
    base: String,
    admin: Mutex<postgres::Client>,
    created: AtomicUsize,
}

impl Server {
    /// `CREATE DATABASE` with a name unique to this process, and its URL.
    fn create_database(&self) -> String {
        let n = self.created.fetch_add(1, Ordering::SeqCst);
        let name = format!("mf_test_{}_{n}", std::process::id());
        // CREATE DATABASE copies template1, which fails while another session is connected
        // to it; one admin connection issuing them one at a time never is.
        let mut admin = self.admin.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        format!("{}/{name}", self.base)
    }
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let base = match std::env::var("MF_TEST_POSTGRES_URL") {
            Ok(url) => url.trim_end_matches('/').to_string(),
            Err(_) => start_server(),
        };
        let admin = Mutex::new(connect(&format!("{base}/postgres")));
        Server { base, admin, created: AtomicUsize::new(0) }
    })
}

/// Starts a throwaway server and answers its base URL.
fn start_server() -> String {
    let bin = postgres_bin();
    let dir = tempfile::Builder::new().prefix("mf-pg-").tempdir().unwrap().keep();
    let data = dir.join("data");
    let as_root = running_as_root();
    if as_root {
        chown_to_postgres(&dir);
    }
    let port = free_port();

    // No fsync: the server and its files live only as long as this test binary, and the
    // tests kill collectors, never the server or the machine.
    run(as_postgres(as_root, &bin.join("initdb"))
        .args(["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        .args(["--no-sync", "--no-instructions"]));
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        dir.display()
    );
    run(as_postgres(as_root, &bin.join("pg_ctl"))
        .args(["-D", data.to_str().unwrap(), "-l", dir.join("log").to_str().unwrap()])
        .args(["-o", &options, "-w", "start"]));
    watch(&dir, &data, &bin, as_root);

    format!("postgres://postgres@127.0.0.1:{port}")
}

/// The directory of `initdb` and `pg_ctl`: `MF_PG_BIN`, the newest of Debian's
/// `/usr/lib/postgresql/<version>/bin`, or the directory of the `initdb` on PATH.
fn postgres_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("MF_PG_BIN") {
        return PathBuf::from(dir);
    }
    let debian = std::fs::read_dir("/usr/lib/postgresql").into_iter().flatten().flatten();
    let newest = debian
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .max();
    if let Some((_, bin)) = newest {
        return bin;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").exists())
        .expect("MF_TEST_BACKEND=postgres needs PostgreSQL: `cargo xtask setup` installs it")
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn chown_to_postgres(dir: &Path) {
    let uid = |flag: &str| {
        let out = Command::new("id").args([flag, "postgres"]).output().unwrap();
        assert!(out.status.success(), "running as root needs a `postgres` user for initdb");
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().unwrap()
    };
    std::os::unix::fs::chown(dir, Some(uid("-u")), Some(uid("-g"))).unwrap();
}

/// `program`, run as the `postgres` user when we are root.
fn as_postgres(as_root: bool, program: &Path) -> Command {
    if !as_root {
        return Command::new(program);
    }
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command
}

fn run(command: &mut Command) {
    let out = command.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    // The port is free when we look; nothing else on a test machine races us for it.
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Leaves a process behind, in its own session so that a Ctrl-C to the tests does not end it
/// first, that stops the server and deletes `dir` once this process is gone.
// The watchdog must outlive this process, so it is never waited for.
#[allow(clippy::zombie_processes)]
fn watch(dir: &Path, data: &Path, bin: &Path, as_root: bool) {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_root {
        format!(
            "runuser -u postgres -- '{}' -D '{}' -m immediate stop",
            pg_ctl.display(),
            data.display()
        )
    } else {
        format!("'{}' -D '{}' -m immediate stop", pg_ctl.display(), data.display())
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
}
