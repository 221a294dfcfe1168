//! The collector binary killed with SIGKILL in the middle of a load: every event of a batch it
//! acknowledged with a 2xx must be in the database when it starts again, on either back end.

mod backend;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Client threads posting at once.
const CLIENTS: usize = 4;
/// Events per batch, as the tracker sends at most on a busy page.
const BATCH: usize = 20;
/// Acknowledged batches to wait for before the kill, so that it lands in a steady load.
const ACKED_BEFORE_KILL: usize = 40;

/// The collector binary, running.
struct Process {
    child: Child,
    addr: String,
    /// Held so that the pipe stays open for the process's lifetime.
    _stdout: BufReader<ChildStdout>,
}

impl Process {
    /// Starts the binary on `db` without a rate limit, once it has printed its address.
    fn start(db: &Path) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
            .args(["--listen", "127.0.0.1:0", "--rate-limit", "0", "--db"])
            .arg(db)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("microfunnel collector listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line `{line}`"))
            .to_string();
        Process { child, addr, _stdout: stdout }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no draining, no closing of the database.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn batch(client: usize, n: usize) -> (Vec<String>, String) {
    let ids: Vec<String> = (0..BATCH).map(|i| format!("k{client}-{n}-{i}")).collect();
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "id": id, "name": "page_view", "ts": 1_764_780_000_000_i64 + n as i64,
                "seq": i, "page": { "url": "http://shop.test/", "path": "/" },
                "params": { "n": n }
            })
        })
        .collect();
    let body = json!({
        "v": 1, "site": "demo-shop", "client_id": format!("c-{client}"),
        "session_id": format!("s-{client}"), "sent_at": 0, "events": events
    });
    (ids, body.to_string())
}

/// Posts batches until the collector stops answering; answers the ids of every acknowledged
/// batch and whether the loop ended on a failed request (rather than running out of time).
fn post_until_refused(
    url: &str,
    client: usize,
    acked_batches: &AtomicUsize,
) -> (Vec<String>, bool) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked = Vec::new();
    for n in 0.. {
        if Instant::now() > deadline {
            return (acked, false);
        }
        let (ids, body) = batch(client, n);
        match agent.post(url).header("Content-Type", "text/plain").send(body) {
            Ok(response) if response.status().is_success() => {
                acked.extend(ids);
                acked_batches.fetch_add(1, Ordering::SeqCst);
            }
            Ok(response) => panic!("batch {n} of client {client}: {}", response.status()),
            // The kill: a reset, a closed connection or a refused one.
            Err(_) => return (acked, true),
        }
    }
    unreachable!("the loop ends by returning")
}

#[test]
fn sigkill_during_load_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = backend::db(&dir);
    let collector = Process::start(&db);
    let url = collector.url("/collect");
    let acked_batches = Arc::new(AtomicUsize::new(0));
    let acked_ids = Arc::new(Mutex::new(Vec::new()));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (url, acked_batches, acked_ids) =
                (url.clone(), Arc::clone(&acked_batches), Arc::clone(&acked_ids));
            std::thread::spawn(move || {
                let (ids, refused) = post_until_refused(&url, client, &acked_batches);
                acked_ids.lock().unwrap().extend(ids);
                refused
            })
        })
        .collect();
    let waited = Instant::now();
    while acked_batches.load(Ordering::SeqCst) < ACKED_BEFORE_KILL {
        assert!(waited.elapsed() < Duration::from_secs(30), "the load never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    collector.kill();
    let refused: Vec<bool> = clients.into_iter().map(|client| client.join().unwrap()).collect();

    assert_eq!(refused, [true; CLIENTS], "every client was still posting at the kill");
    let acked = acked_ids.lock().unwrap().clone();
    assert!(acked.len() >= ACKED_BEFORE_KILL * BATCH, "{} acknowledged", acked.len());
    let restarted = Process::start(&db);
    let stored = stored_ids(&restarted.url("/api/events"));
    restarted.kill();
    eprintln!(
        "{} events acknowledged before the kill, {} stored after it",
        acked.len(),
        stored.len()
    );
    let mut unique = stored.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), stored.len(), "no event is stored twice");
    let lost: Vec<&String> = acked.iter().filter(|id| unique.binary_search(id).is_err()).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost, e.g. {:?}", lost.len(), &lost[..1]);
}

fn stored_ids(url: &str) -> Vec<String> {
    let mut response = ureq::get(url).call().unwrap();
    let text = response.body_mut().with_config().limit(1 << 30).read_to_string().unwrap();
    let events: Vec<Value> = serde_json::from_str(&text).unwrap();
    events.iter().map(|event| event["id"].as_str().unwrap().to_string()).collect()
}
