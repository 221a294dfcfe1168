//! `cargo xtask load [--quick]`: sustained ingest of the release collector on loopback, on
//! SQLite and on PostgreSQL, with every event checked to be stored exactly once.
//!
//! Method: for each back end and each run, a fresh database and a fresh collector process
//! (`--rate-limit 0`); [`CLIENTS`] threads, each on one keep-alive connection, post their share
//! of the batches of [`BATCH`] events one after another, as fast as the answers come. The time
//! is from the first request to the last answer; every answer must be a 200. Then
//! `GET /api/events` must list every id exactly once. The figure is the median of the runs.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::cmd::{cargo, run};
use crate::postgres::{self, Durability, Server};
use crate::Repo;

/// Events per batch: what a tracker sends on a busy page.
const BATCH: usize = 20;
/// Client threads posting at once.
const CLIENTS: usize = 8;

/// How much load, and how many times.
struct Plan {
    batches: usize,
    runs: usize,
}

/// Runs the measurement and prints one line per back end.
pub fn load(repo: &Repo, args: &[&str]) -> Result<()> {
    let plan = match args {
        [] => Plan { batches: 2_500, runs: 3 },
        ["--quick"] => Plan { batches: 250, runs: 1 },
        _ => bail!("usage: cargo xtask load [--quick]"),
    };
    let bin = postgres::install()?;
    run(cargo().current_dir(&repo.root).args([
        "build",
        "--release",
        "-p",
        "microfunnel-collector",
    ]))?;
    let collector = repo.target.join("release/microfunnel-collector");
    let scratch = std::env::temp_dir().join(format!("mf-load-{}", std::process::id()));
    fs::create_dir_all(&scratch)?;
    let server = Server::start(&bin, Durability::Production)?;

    let mut lines = Vec::new();
    for backend in ["sqlite", "postgres"] {
        let mut rates = Vec::new();
        for n in 0..plan.runs {
            let db = match backend {
                "sqlite" => scratch.join(format!("load-{n}.sqlite")).display().to_string(),
                _ => server.create_database(&format!("load_{n}"))?,
            };
            let rate = measure(&collector, &db, plan.batches)
                .with_context(|| format!("{backend} run {}", n + 1))?;
            println!("load: {backend} run {}: {rate:.0} events/s", n + 1);
            rates.push(rate);
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        let (low, high) = (rates[0], rates[rates.len() - 1]);
        lines.push(format!(
            "load: {backend}: {median:.0} events/s, runs from {low:.0} to {high:.0} (median of {} \
             runs of {} batches of {BATCH} events from {CLIENTS} clients; all stored exactly once)",
            plan.runs, plan.batches
        ));
    }
    drop(server);
    let _ = fs::remove_dir_all(&scratch);
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// One run: answers events per second.
fn measure(collector: &Path, db: &str, batches: usize) -> Result<f64> {
    let process = Collector::start(collector, db)?;
    // The bodies are built before the clock starts, so that only the collector is measured.
    let shares: Vec<Vec<(usize, String)>> = (0..CLIENTS)
        .map(|client| (client..batches).step_by(CLIENTS).map(|n| (n, body(client, n))).collect())
        .collect();
    let started = Instant::now();
    let clients: Vec<_> = shares
        .into_iter()
        .enumerate()
        .map(|(client, share)| {
            let addr = process.addr.clone();
            std::thread::spawn(move || post_all(&addr, client, &share))
        })
        .collect();
    for client in clients {
        client.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    let secs = started.elapsed().as_secs_f64();

    let stored = stored_ids(&process.addr)?;
    let mut expected: Vec<String> = (0..CLIENTS)
        .flat_map(|client| (client..batches).step_by(CLIENTS).map(move |n| (client, n)))
        .flat_map(|(client, n)| ids(client, n))
        .collect();
    expected.sort();
    let mut unique = stored.clone();
    unique.sort();
    unique.dedup();
    ensure!(unique.len() == stored.len(), "{} ids stored twice", stored.len() - unique.len());
    ensure!(unique == expected, "stored {} events, posted {}", unique.len(), expected.len());
    Ok((batches * BATCH) as f64 / secs)
}

/// The collector binary, killed on drop.
struct Collector {
    child: Child,
    addr: String,
}

impl Collector {
    fn start(program: &Path, db: &str) -> Result<Collector> {
        let mut child = Command::new(program)
            .args(["--listen", "127.0.0.1:0", "--rate-limit", "0", "--db", db])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to start `{}`", program.display()))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        let addr = line.trim().strip_prefix("microfunnel collector listening on http://");
        let Some(addr) = addr.map(str::to_string) else {
            let _ = child.kill();
            bail!("the collector did not start: it printed `{}`", line.trim());
        };
        Ok(Collector { child, addr })
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ids(client: usize, n: usize) -> Vec<String> {
    (0..BATCH).map(|i| format!("l{client}-{n}-{i}")).collect()
}

fn body(client: usize, n: usize) -> String {
    let events: Vec<Value> = ids(client, n)
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "id": id, "name": "click_cta", "ts": 1_764_780_000_000_i64 + n as i64, "seq": i,
                "page": { "url": "https://shop.example/pricing", "path": "/pricing",
                          "title": "Pricing", "referrer": "https://search.example/" },
                "params": { "click_text": "Start trial", "n": n },
                "segment": { "device": "desktop", "source": "newsletter" },
                "funnels": { "checkout": 2 }
            })
        })
        .collect();
    json!({
        "v": 1, "site": "demo-shop", "client_id": format!("c-{client}"),
        "session_id": format!("s-{client}"), "sent_at": 0, "events": events
    })
    .to_string()
}

/// Posts the batches of `share` on one keep-alive connection; every answer must be 200.
fn post_all(addr: &str, client: usize, share: &[(usize, String)]) -> Result<()> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    for (n, body) in share {
        write!(
            writer,
            "POST /collect HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let (status, answer) = read_answer(&mut reader)?;
        ensure!(status == 200, "batch {n} of client {client}: {status} {answer}");
    }
    Ok(())
}

/// Reads one HTTP/1.1 answer with a `Content-Length`.
fn read_answer(reader: &mut impl BufRead) -> Result<(u16, String)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split(' ').nth(1).and_then(|code| code.parse().ok());
    let status = status.with_context(|| format!("not an HTTP answer: `{}`", line.trim()))?;
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The ids `GET /api/events` lists.
fn stored_ids(addr: &str) -> Result<Vec<String>> {
    let mut stream = TcpStream::connect(addr)?;
    write!(stream, "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let (status, body) = read_answer(&mut BufReader::new(stream))?;
    ensure!(status == 200, "GET /api/events: {status} {body}");
    let events: Vec<Value> = serde_json::from_str(&body)?;
    Ok(events.iter().filter_map(|event| Some(event["id"].as_str()?.to_string())).collect())
}
