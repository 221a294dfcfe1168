//! The collector over real HTTP: a server bound to 127.0.0.1:0 in-process, a real SQLite file in
//! a temporary directory (or a new PostgreSQL database, see `backend`), and a blocking HTTP
//! client on the test thread.

mod backend;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use microfunnel_collector::{bind, Error, Options};
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A collector running on its own runtime, stopped gracefully by [`Collector::stop`].
struct Collector {
    runtime: Runtime,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), Error>>,
}

/// What the collector answered.
struct Answer {
    status: u16,
    allow_origin: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("answer `{}` is not JSON: {e}", self.body))
    }
}

impl Collector {
    fn start(db: &Path, static_dir: Option<&Path>) -> Collector {
        let options = Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            db: db.to_path_buf(),
            static_dir: static_dir.map(Path::to_path_buf),
            ..Options::default()
        };
        Collector::start_with(&options)
    }

    fn start_with_config(db: &Path, config: &Path) -> Collector {
        let options = Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            db: db.to_path_buf(),
            config: Some(config.to_path_buf()),
            ..Options::default()
        };
        Collector::start_with(&options)
    }

    fn start_with(options: &Options) -> Collector {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(bind(options)).unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0, "the real port is reported");

        let (stop, stopped) = oneshot::channel();
        let task = runtime.spawn(server.serve_until(async {
            let _ = stopped.await;
        }));
        Collector { runtime, addr, stop, task }
    }

    fn stop(self) {
        self.stop.send(()).unwrap();
        self.runtime.block_on(self.task).unwrap().unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn post(&self, content_type: &str, body: impl Into<Vec<u8>>) -> Answer {
        let response = agent()
            .post(self.url("/collect"))
            .header("Content-Type", content_type)
            .send(body.into());
        answer(response)
    }

    fn post_batch(&self, batch: &Value) -> Answer {
        self.post("text/plain;charset=UTF-8", batch.to_string())
    }

    fn get(&self, path: &str) -> Answer {
        answer(agent().get(self.url(path)).call())
    }

    fn events(&self) -> Vec<Value> {
        let answer = self.get("/api/events");
        assert_eq!(answer.status, 200, "{}", answer.body);
        match answer.json() {
            Value::Array(events) => events,
            other => panic!("/api/events answered `{other}`, not an array"),
        }
    }

    fn event_ids(&self) -> Vec<String> {
        self.events().iter().map(|event| event["id"].as_str().unwrap().to_string()).collect()
    }
}

/// A fresh client for each request, so that no pooled connection outlives a test's server.
fn agent() -> ureq::Agent {
    // Statuses are asserted by the tests, not turned into errors by the client.
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.unwrap();
    let allow_origin = response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap().to_string());
    Answer {
        status: response.status().as_u16(),
        allow_origin,
        body: response.body_mut().read_to_string().unwrap(),
    }
}

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    backend::db(dir)
}

fn event(id: &str, name: &str, ts: i64, seq: i64) -> Value {
    json!({
        "id": id, "name": name, "ts": ts, "seq": seq,
        "page": { "url": "http://127.0.0.1:8080/pricing.html", "path": "/pricing.html",
                  "title": "Pricing", "referrer": "" },
        "params": { "click_text": "Start trial", "n": 2, "ok": true, "none": null },
        "segment": { "device": "desktop" },
        "funnels": { "checkout": 3 }
    })
}

fn batch(events: Vec<Value>) -> Value {
    json!({
        "v": 1, "site": "demo-shop", "client_id": "c-1", "session_id": "s-1",
        "sent_at": 1764780000123_i64, "events": events
    })
}

#[test]
fn text_plain_batch_is_stored_and_returned_with_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);

    let answer = collector.post_batch(&batch(vec![event("e-1", "click_cta", 1000, 12)]));

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), json!({ "accepted": ["e-1"], "duplicates": 0 }));
    let expected = json!([{
        "id": "e-1", "name": "click_cta", "ts": 1000, "seq": 12,
        "site": "demo-shop", "client_id": "c-1", "session_id": "s-1", "config_version": "",
        "page": { "url": "http://127.0.0.1:8080/pricing.html", "path": "/pricing.html",
                  "title": "Pricing", "referrer": "" },
        "params": { "click_text": "Start trial", "n": 2, "ok": true, "none": null },
        "segment": { "device": "desktop" },
        "funnels": { "checkout": 3 }
    }]);
    assert_eq!(Value::Array(collector.events()), expected);
    collector.stop();
}

#[test]
fn application_json_batch_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);
    let body = batch(vec![event("a", "page_view", 1, 1), event("b", "scroll_depth", 2, 2)]);

    let answer = collector.post("application/json", body.to_string());

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), json!({ "accepted": ["a", "b"], "duplicates": 0 }));
    assert_eq!(collector.event_ids(), ["a", "b"]);
    collector.stop();
}

#[test]
fn duplicate_id_in_a_later_batch_is_ignored_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);
    collector.post_batch(&batch(vec![event("a", "page_view", 1, 1)]));

    // The resent event carries a different name: the stored one must win.
    let again = batch(vec![event("a", "click", 1, 1), event("b", "click", 2, 2)]);
    let answer = collector.post_batch(&again);

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), json!({ "accepted": ["a", "b"], "duplicates": 1 }));
    let events = collector.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["name"], "page_view");
    collector.stop();
}

#[test]
fn invalid_json_is_rejected_with_the_parser_message_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);

    let answer = collector.post("text/plain;charset=UTF-8", r#"{"v": 1, "events": ["#);

    assert_eq!(answer.status, 400);
    let error = answer.json()["error"].as_str().unwrap().to_string();
    assert!(error.starts_with("body: invalid JSON: "), "{error}");
    assert!(error.contains("line 1"), "the parser's position is kept: {error}");
    assert!(collector.events().is_empty());
    collector.stop();
}

#[test]
fn one_bad_event_rejects_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);
    let events =
        vec![event("a", "page_view", 1, 1), event("b", "bad name", 2, 2), event("c", "x", 3, 3)];

    let answer = collector.post_batch(&batch(events));

    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        json!({ "error": "events[1].name: `bad name` is not a valid event name" })
    );
    assert!(collector.events().is_empty(), "the valid events around it are not stored");
    collector.stop();
}

#[test]
fn batch_level_errors_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);
    let mut wrong_version = batch(vec![event("a", "page_view", 1, 1)]);
    wrong_version["v"] = json!(2);
    let mut negative_ts = batch(vec![event("a", "page_view", 1, 1)]);
    negative_ts["events"][0]["ts"] = json!(-5);

    let version = collector.post_batch(&wrong_version);
    let ts = collector.post_batch(&negative_ts);

    assert_eq!((version.status, ts.status), (400, 400));
    assert_eq!(version.json()["error"], "v: `2` is not a supported version");
    assert_eq!(ts.json()["error"], "events[0].ts: `-5` is not a non-negative integer");
    assert!(collector.events().is_empty());
    collector.stop();
}

#[test]
fn events_are_listed_oldest_first_and_filtered_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);
    // Posted out of order: `late` arrives first, `tie_b` and `tie_a` share ts and seq, so
    // arrival decides between them.
    collector.post_batch(&batch(vec![event("late", "click", 300, 1)]));
    collector.post_batch(&batch(vec![event("tie_b", "page_view", 100, 5)]));
    collector.post_batch(&batch(vec![
        event("tie_a", "page_view", 100, 5),
        event("early_seq", "click", 100, 2),
        event("first", "page_view", 50, 9),
    ]));

    assert_eq!(collector.event_ids(), ["first", "early_seq", "tie_b", "tie_a", "late"]);

    let clicks = collector.get("/api/events?name=click").json();
    let ids: Vec<&str> =
        clicks.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["early_seq", "late"]);
    collector.stop();
}

#[test]
fn events_survive_a_restart_on_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let first = Collector::start(&db, None);
    first.post_batch(&batch(vec![event("kept", "page_view", 1, 1)]));
    first.stop();

    let second = Collector::start(&db, None);
    let answer = second.post_batch(&batch(vec![event("kept", "page_view", 1, 1)]));

    assert_eq!(second.event_ids(), ["kept"]);
    assert_eq!(answer.json()["duplicates"], 1, "the restarted collector still knows the id");
    second.stop();
}

#[test]
fn static_files_are_served_behind_the_api_and_missing_favicon_is_204() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("www");
    fs::create_dir_all(site.join("api")).unwrap();
    fs::write(site.join("index.html"), "<h1>demo</h1>").unwrap();
    fs::write(site.join("pricing.html"), "<h1>pricing</h1>").unwrap();
    // A file shadowing an API route must not win over it.
    fs::write(site.join("api").join("events"), "static").unwrap();
    let collector = Collector::start(&db_in(&dir), Some(&site));

    let index = collector.get("/");
    let pricing = collector.get("/pricing.html");
    let favicon = collector.get("/favicon.ico");
    let missing = collector.get("/missing.html");
    let api = collector.get("/api/events");

    assert_eq!((index.status, index.body.as_str()), (200, "<h1>demo</h1>"));
    assert_eq!((pricing.status, pricing.body.as_str()), (200, "<h1>pricing</h1>"));
    assert_eq!((favicon.status, favicon.body.as_str()), (204, ""));
    assert_eq!(missing.status, 404);
    assert_eq!((api.status, api.json()), (200, json!([])));
    collector.stop();
}

#[test]
fn favicon_in_the_static_dir_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("www");
    fs::create_dir_all(&site).unwrap();
    fs::write(site.join("favicon.ico"), "icon").unwrap();
    let collector = Collector::start(&db_in(&dir), Some(&site));

    let favicon = collector.get("/favicon.ico");

    assert_eq!((favicon.status, favicon.body.as_str()), (200, "icon"));
    collector.stop();
}

#[test]
fn favicon_is_204_without_a_static_dir() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);

    assert_eq!(collector.get("/favicon.ico").status, 204);
    assert_eq!(collector.get("/").status, 404);
    collector.stop();
}

#[test]
fn oversized_body_is_rejected_with_413_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);
    // Valid JSON that only its size makes unacceptable.
    let mut big = batch(vec![event("big", "page_view", 1, 1)]);
    big["events"][0]["params"]["pad"] = json!("x".repeat(1024 * 1024));

    let answer = collector.post_batch(&big);

    assert_eq!(answer.status, 413);
    assert_eq!(answer.json()["error"], "body: larger than the limit of `1048576` bytes");
    assert!(collector.events().is_empty());
    collector.stop();
}

#[test]
fn collect_is_open_to_other_origins() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);

    let preflight = agent()
        .options(collector.url("/collect"))
        .header("Origin", "http://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .call()
        .unwrap();
    let ok = collector.post_batch(&batch(vec![event("a", "page_view", 1, 1)]));
    let rejected = collector.post("text/plain", "nope");

    assert!(preflight.status().is_success(), "preflight answered {}", preflight.status());
    let allowed = |name: &str| {
        preflight.headers().get(name).map(|v| v.to_str().unwrap().to_ascii_lowercase())
    };
    assert_eq!(allowed("access-control-allow-origin").as_deref(), Some("*"));
    assert!(allowed("access-control-allow-methods").unwrap_or_default().contains("post"));
    assert!(allowed("access-control-allow-headers").unwrap_or_default().contains("content-type"));
    assert_eq!(ok.allow_origin.as_deref(), Some("*"));
    assert_eq!((rejected.status, rejected.allow_origin.as_deref()), (400, Some("*")));
    collector.stop();
}

/// A checkout funnel whose first step needs `page.path` and second `params.cta_text`, within a
/// five-second window; a second funnel and a trigger with errors, which must be left out.
const SHOP_CONFIG: &str = r#"{
  "site": "demo-shop",
  "triggers": [ { "id": "hover", "on": "hover" } ],
  "funnels": [
    { "id": "buy", "name": "Buy", "window": "5s", "steps": [
      { "name": "Home", "event": "page_view",
        "when": [ { "var": "page.path", "op": "equals", "value": "/" } ] },
      { "name": "Checkout", "event": "click_cta",
        "when": [ { "var": "params.cta_text", "op": "contains", "value": "checkout",
                    "ignore_case": true } ] },
      { "name": "Paid", "event": "purchase" } ] },
    { "id": "broken", "steps": [ { "event": "page_view", "whenn": [] } ] }
  ]
}"#;

fn write_config(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("config.json");
    fs::write(&path, text).unwrap();
    path
}

fn page_event(id: &str, name: &str, ts: i64, path: &str, params: Value) -> Value {
    json!({
        "id": id, "name": name, "ts": ts, "seq": ts,
        "page": { "url": format!("http://shop.test{path}"), "path": path,
                  "title": "", "referrer": "" },
        "params": params
    })
}

fn visitor_batch(client_id: &str, events: Vec<Value>) -> Value {
    json!({
        "v": 1, "site": "demo-shop", "client_id": client_id, "session_id": format!("s-{client_id}"),
        "sent_at": 0, "events": events
    })
}

#[test]
fn funnels_are_replayed_per_visitor_through_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, SHOP_CONFIG);
    let collector = Collector::start_with_config(&db_in(&dir), &config);
    let none = json!({});
    // `b` lands on the home page, clicks something that is not the checkout and comes back
    // after the window: reached step 1 only, then abandoned.
    collector.post_batch(&visitor_batch(
        "b",
        vec![
            page_event("b1", "page_view", 1_000, "/", none.clone()),
            page_event("b2", "click_cta", 2_000, "/", json!({ "cta_text": "Help" })),
            page_event("b3", "page_view", 20_000, "/product.html", none.clone()),
        ],
    ));
    // `a` starts on a product page (not step 1: were it, the window would run out before the
    // checkout), then completes. The page's own funnel_step is not fed back into the replay.
    collector.post_batch(&visitor_batch(
        "a",
        vec![
            page_event("a1", "page_view", 0, "/product.html", none.clone()),
            page_event("a2", "page_view", 10_000, "/", none.clone()),
            page_event("a3", "click_cta", 11_000, "/", json!({ "cta_text": "Go to Checkout" })),
            page_event("a4", "funnel_step", 11_000, "/", json!({ "funnel": "buy", "step": 2 })),
            page_event("a5", "purchase", 12_000, "/thanks.html", none),
        ],
    ));

    let answer = collector.get("/api/funnels");

    assert_eq!(answer.status, 200, "{}", answer.body);
    let expected = json!([{
        "id": "buy", "name": "Buy",
        "steps": [
            { "name": "Home", "reached": 2 },
            { "name": "Checkout", "reached": 1 },
            { "name": "Paid", "reached": 1 }
        ],
        "completed": 1,
        "abandoned": { "window": 1 }
    }]);
    assert_eq!(answer.json(), expected);
    collector.stop();
}

#[test]
fn funnels_without_a_config_are_404_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);

    let answer = collector.get("/api/funnels");

    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.json(),
        json!({ "error": "start the collector with --config to compute funnels" })
    );
    collector.stop();
}

#[test]
fn funnels_with_no_events_count_zero() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, SHOP_CONFIG);
    let collector = Collector::start_with_config(&db_in(&dir), &config);

    let answer = collector.get("/api/funnels").json();

    assert_eq!(answer[0]["completed"], 0);
    assert_eq!(answer[0]["abandoned"], json!({}));
    let reached: Vec<&Value> = answer[0]["steps"].as_array().unwrap().iter().collect();
    assert!(reached.iter().all(|step| step["reached"] == 0), "{answer}");
    collector.stop();
}

/// Runs the collector binary until it prints its address, and returns its stdout line and
/// everything it logged up to then.
fn run_binary_until_listening(args: &[&str]) -> (String, String) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let mut logged = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logged).unwrap();
    (line, logged)
}

#[test]
fn config_errors_are_logged_with_their_path_and_the_collector_still_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, SHOP_CONFIG);
    let db = db_in(&dir);
    let args = ["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()];

    let (line, logged) =
        run_binary_until_listening(&[&args[..], &["--config", config.to_str().unwrap()]].concat());

    assert!(line.starts_with("microfunnel collector listening on http://"), "{line}");
    assert!(logged.contains("config error at triggers[0].on: "), "{logged}");
    assert!(logged.contains("config error at funnels[1].steps[0].whenn: "), "{logged}");
    assert!(logged.contains("WARN"), "{logged}");
}

#[test]
fn unreadable_or_invalid_config_stops_the_collector_naming_the_file() {
    use std::process::Command;

    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let missing = dir.path().join("missing.json");
    let invalid = write_config(&dir, "{ \"site\": ");
    let run = |config: &Path| {
        Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
            .args(["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--config"])
            .arg(config)
            .output()
            .unwrap()
    };

    for (config, what) in [(&missing, "failed to read config"), (&invalid, "is not valid JSON")] {
        let output = run(config);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(&format!("`{}`", config.display())), "{stderr}");
        assert!(stderr.contains(what), "{stderr}");
        assert!(output.stdout.is_empty(), "it never listened");
    }
}

#[test]
fn config_version_is_stored_per_event_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&db_in(&dir), None);
    let mut versioned = batch(vec![event("a", "page_view", 1, 1), event("b", "click", 2, 2)]);
    versioned["config_version"] = json!("9f86d081");
    let mut wrong = batch(vec![event("c", "page_view", 3, 3)]);
    wrong["config_version"] = json!(5);

    let ok = collector.post_batch(&versioned);
    let bad = collector.post_batch(&wrong);
    collector.post_batch(&batch(vec![event("d", "page_view", 4, 4)]));

    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        (bad.status, bad.json()),
        (400, json!({ "error": "config_version: `5` is not a string" }))
    );
    let versions: Vec<(String, String)> = collector
        .events()
        .iter()
        .map(|e| (e["id"].as_str().unwrap().into(), e["config_version"].as_str().unwrap().into()))
        .collect();
    let expected = [("a", "9f86d081"), ("b", "9f86d081"), ("d", "")];
    assert_eq!(versions, expected.map(|(id, v)| (id.to_string(), v.to_string())));
    collector.stop();
}

#[test]
fn a_version_1_database_is_migrated_and_keeps_its_events() {
    if backend::is_postgres() {
        eprintln!("skipped: SQLite had a version 1 schema, PostgreSQL started at version 2's");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    // The schema as version 1 of the collector created it, by hand.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
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
        CREATE INDEX events_ts ON events (ts, seq);
        INSERT INTO events VALUES (1, 'old', 'demo-shop', 'c-1', 's-1', 'page_view', 5, 1, 9,
            '{\"url\":\"http://shop.test/\",\"path\":\"/\",\"title\":\"\",\"referrer\":\"\"}',
            '{}', '{}', '{}');
        PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let collector = Collector::start(&db, None);

    collector.post_batch(&batch(vec![event("new", "click", 6, 2)]));

    let events = collector.events();
    assert_eq!(collector.event_ids(), ["old", "new"]);
    assert_eq!(events[0]["config_version"], "");
    assert_eq!(events[0]["page"]["path"], "/");
    collector.stop();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    assert_eq!(version, 2);
}

#[test]
fn two_collectors_sharing_one_database_store_a_duplicate_once_in_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let first = Collector::start(&db, None);
    let second = Collector::start(&db, None);

    // A tracker whose retry lands on the other instance behind a load balancer.
    let a =
        first.post_batch(&batch(vec![event("a", "page_view", 5, 1), event("b", "click", 5, 1)]));
    let again =
        second.post_batch(&batch(vec![event("b", "click", 5, 1), event("c", "click", 5, 1)]));

    assert_eq!((a.status, a.json()["duplicates"].clone()), (200, json!(0)), "{}", a.body);
    assert_eq!(
        (again.status, again.json()["duplicates"].clone()),
        (200, json!(1)),
        "{}",
        again.body
    );
    // Equal ts and seq: arrival across both instances decides the order.
    assert_eq!(first.event_ids(), ["a", "b", "c"]);
    assert_eq!(second.event_ids(), ["a", "b", "c"]);
    first.stop();
    second.stop();
}

#[test]
fn collectors_starting_at_once_on_a_new_database_migrate_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);

    let starts: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || Collector::start(&db, None))
        })
        .collect();
    let collectors: Vec<Collector> =
        starts.into_iter().map(|start| start.join().unwrap()).collect();

    for (i, collector) in collectors.iter().enumerate() {
        let id = format!("from-{i}");
        assert_eq!(collector.post_batch(&batch(vec![event(&id, "page_view", 1, 1)])).status, 200);
    }
    assert_eq!(collectors[0].events().len(), 4);
    let latest = if backend::is_postgres() { 1 } else { 2 };
    assert_eq!(backend::schema_version(&db), latest);
    for collector in collectors {
        collector.stop();
    }
}

#[test]
fn unreachable_postgres_stops_the_collector_naming_the_url_without_its_password() {
    use std::process::Command;

    // Nothing listens on port 1 of loopback, so the connection is refused at once.
    let url = "postgres://mf:s3cret@127.0.0.1:1/events";
    let output = Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
        .args(["--listen", "127.0.0.1:0", "--db", url])
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("failed to open database `postgres://mf:***@127.0.0.1:1/events`: "),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(output.stdout.is_empty(), "it never listened");
}
