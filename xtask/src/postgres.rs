//! A throwaway PostgreSQL server, for the collector's tests on PostgreSQL and for `load`.
//!
//! `initdb` refuses to run as root, so as root every server command runs as the `postgres`
//! user that Debian's package creates. The server lives in a temporary directory (data, log and
//! unix socket), listens on a free loopback port, trusts local connections, and is stopped and
//! deleted when the [`Server`] is dropped.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::cmd::{self, run};

/// Finds PostgreSQL's server programs (`initdb`, `pg_ctl`), installing Debian's `postgresql`
/// with apt when they are missing and we are root on Debian; answers their directory.
pub fn install() -> Result<PathBuf> {
    if let Some(bin) = find_bin() {
        println!("setup: postgresql found in {}", bin.display());
        return Ok(bin);
    }
    if !Path::new("/etc/debian_version").exists() {
        bail!("PostgreSQL is missing: install its server, with `initdb` and `pg_ctl` on PATH");
    }
    if !is_root() {
        bail!("PostgreSQL is missing: run `sudo apt-get install postgresql`");
    }
    println!("setup: installing postgresql with apt");
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args([
        "install",
        "-y",
        "--no-install-recommends",
        "postgresql",
    ]))?;
    find_bin().context("apt installed postgresql but no `initdb` is in /usr/lib/postgresql")
}

/// The newest of Debian's `/usr/lib/postgresql/<version>/bin`, or the directory of the
/// `initdb` on PATH (Debian puts only client programs on PATH).
fn find_bin() -> Option<PathBuf> {
    let versions = fs::read_dir("/usr/lib/postgresql").into_iter().flatten().flatten();
    let newest = versions
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .max();
    match newest {
        Some((_, bin)) => Some(bin),
        None => Some(cmd::which("initdb")?.parent()?.to_path_buf()),
    }
}

fn is_root() -> bool {
    cmd::read(Command::new("id").arg("-u")).as_deref() == Some("0")
}

/// How much the server may cut corners for speed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The defaults: every commit is flushed to disk, as in production. For measurements.
    Production,
    /// No fsync: for tests, which kill collectors but never the server or the machine.
    Tests,
}

/// A running server; stopped and deleted on drop.
pub struct Server {
    bin: PathBuf,
    dir: PathBuf,
    as_root: bool,
    port: u16,
}

impl Server {
    /// Creates a cluster in a new temporary directory and starts it.
    pub fn start(bin: &Path, durability: Durability) -> Result<Server> {
        let dir = std::env::temp_dir().join(format!("mf-pg-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create `{}`", dir.display()))?;
        let as_root = is_root();
        if as_root {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let port = free_port()?;
        let server = Server { bin: bin.to_path_buf(), dir, as_root, port };

        let data = server.data();
        run(server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"])
            .stdout(Stdio::null()))?;
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            server.dir.display()
        );
        if durability == Durability::Tests {
            options.push_str(" -c fsync=off");
        }
        run(server
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(server.dir.join("log"))
            .args(["-o", &options, "-w", "start"])
            .stdout(Stdio::null()))?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>`: a superuser, no database.
    pub fn base_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Creates the database `name` and answers its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let port = self.port.to_string();
        run(self.command("createdb").args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            name,
        ]))?;
        Ok(format!("{}/{name}", self.base_url()))
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// One of the server's programs, run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if !self.as_root {
            return Command::new(program);
        }
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let stopped = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status();
        if !stopped.is_ok_and(|status| status.success()) {
            eprintln!("warning: failed to stop the PostgreSQL server in `{}`", self.dir.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16> {
    // Free when we look; nothing else on a build machine races us for a loopback port.
    let listener = TcpListener::bind("127.0.0.1:0").context("failed to find a free port")?;
    Ok(listener.local_addr()?.port())
}
