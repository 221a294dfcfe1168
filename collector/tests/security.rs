//! The collector against the threats it is meant to withstand, each test named after one, over
//! real HTTP (or raw TCP, for what no well-behaved client sends) and a real SQLite file (or a
//! PostgreSQL database, see `backend`).

mod backend;
mod common;

use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use common::{batch, event, options, read_answer, Collector};
use microfunnel_collector::{bind, router, Error, Options, RateLimit, ReportToken, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "correct-horse-battery-staple";

fn with_token(db: &std::path::Path) -> Options {
    Options { report_token: Some(ReportToken::new(TOKEN).unwrap()), ..options(db) }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn basic(user_and_password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_and_password))
}

// --- Reports are private -------------------------------------------------------------------

#[test]
fn stranger_without_a_token_gets_401_and_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&with_token(&backend::db(&dir)));
    collector.assert_still_accepts("secret-event");

    for path in ["/api/events", "/api/events?name=page_view", "/api/funnels"] {
        let answer = collector.get(path);

        assert_eq!(answer.status, 401, "{path}: {}", answer.body);
        assert!(answer.reason().contains("Authorization: Bearer"), "{}", answer.reason());
        assert_eq!(answer.header("www-authenticate"), Some("Bearer realm=\"microfunnel reports\""));
        assert!(answer.all("www-authenticate").iter().any(|c| c.starts_with("Basic ")));
        assert!(!answer.body.contains("secret-event"), "{path} leaked: {}", answer.body);
    }
    collector.stop();
}

#[test]
fn stranger_with_a_wrong_token_gets_401_and_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&with_token(&backend::db(&dir)));
    collector.assert_still_accepts("secret-event");
    let guesses = [
        bearer("wrong"),
        bearer(&TOKEN[..TOKEN.len() - 1]),
        bearer(&format!("{TOKEN}x")),
        bearer(&TOKEN.to_uppercase()),
        format!("Token {TOKEN}"),
        basic(&format!("{TOKEN}:")),
        basic("admin:admin"),
        TOKEN.to_string(),
    ];

    for guess in &guesses {
        let answer = collector.get_with("/api/events", &[("Authorization", guess)]);

        assert_eq!(answer.status, 401, "{guess}: {}", answer.body);
        assert!(!answer.body.contains("secret-event"), "{guess} leaked: {}", answer.body);
    }
    collector.stop();
}

#[test]
fn holder_of_the_token_gets_the_reports_by_bearer_or_browser_password() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&with_token(&backend::db(&dir)));
    collector.assert_still_accepts("e-1");

    let by_bearer = collector.event_ids_with(&[("Authorization", &bearer(TOKEN))]);
    let by_basic =
        collector.event_ids_with(&[("Authorization", &basic(&format!("anyone:{TOKEN}")))]);

    assert_eq!(by_bearer, ["e-1"]);
    assert_eq!(by_basic, ["e-1"]);
    collector.stop();
}

#[test]
fn ingestion_and_the_static_site_stay_public_when_reports_need_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("www");
    fs::create_dir_all(&site).unwrap();
    fs::write(site.join("index.html"), "<h1>shop</h1>").unwrap();
    let options = Options { static_dir: Some(site), ..with_token(&backend::db(&dir)) };
    let collector = Collector::start(&options);

    collector.assert_still_accepts("public-post");
    let page = collector.get("/");

    assert_eq!((page.status, page.body.as_str()), (200, "<h1>shop</h1>"));
    collector.stop();
}

#[test]
fn without_a_token_loopback_gets_the_reports() {
    // What the end-to-end harness and `cargo xtask demo` rely on.
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    collector.assert_still_accepts("e-1");

    assert_eq!(collector.event_ids(), ["e-1"]);
    collector.stop();
}

#[test]
fn without_a_token_a_request_through_a_local_proxy_gets_403() {
    // A reverse proxy on the same machine connects from loopback on behalf of anyone.
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    collector.assert_still_accepts("secret-event");

    for (name, value) in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9"),
        ("X-Real-IP", "203.0.113.9"),
    ] {
        let answer = collector.get_with("/api/events", &[(name, value)]);

        assert_eq!(answer.status, 403, "{name}: {}", answer.body);
        assert!(answer.reason().contains("--report-token"), "{}", answer.reason());
        assert!(!answer.body.contains("secret-event"));
    }
    collector.stop();
}

/// One request through the collector's real router and a real database, as if it came from
/// `peer`: the one fault a test on this machine cannot cause over TCP, since it may only
/// connect from loopback.
fn request_from(
    peer: SocketAddr,
    options: &Options,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    // Opened outside the runtime: opening blocks, and the PostgreSQL client runs its own.
    let store = Store::open(&options.db).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let app = router(store, None, options).unwrap();
        // What `into_make_service_with_connect_info` puts on every request of a connection.
        let mut request = Request::get(path).extension(ConnectInfo(peer));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    })
}

#[test]
fn without_a_token_a_non_loopback_peer_gets_403_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let options = options(&backend::db(&dir));

    for peer in
        ["192.168.1.20:5000", "10.0.0.7:5000", "[2001:db8::1]:5000", "[::ffff:10.0.0.1]:5000"]
    {
        let (status, body) = request_from(peer.parse().unwrap(), &options, "/api/events", &[]);

        assert_eq!(status, 403, "{peer}: {body}");
        let reason = body["error"].as_str().unwrap();
        assert!(reason.contains("--report-token"), "{reason}");
        assert!(reason.contains("MICROFUNNEL_REPORT_TOKEN"), "{reason}");
    }
    let (status, body) =
        request_from("127.0.0.1:5000".parse().unwrap(), &options, "/api/events", &[]);
    assert_eq!((status, body), (200, json!([])), "the same router serves loopback");
}

#[test]
fn non_loopback_peer_with_the_token_gets_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let options = with_token(&backend::db(&dir));
    let remote: SocketAddr = "198.51.100.4:5000".parse().unwrap();

    let (without, _) = request_from(remote, &options, "/api/events", &[]);
    let (with, body) =
        request_from(remote, &options, "/api/events", &[("Authorization", &bearer(TOKEN))]);

    assert_eq!(without, 401);
    assert_eq!((with, body), (200, json!([])));
}

#[test]
fn report_token_from_the_environment_locks_the_binary_reports() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let db = backend::db(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
        .args(["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()])
        .env("MICROFUNNEL_REPORT_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    let get = |auth: Option<&str>| {
        let mut request = common::agent().get(format!("{base}/api/events"));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        request.call().unwrap().status().as_u16()
    };

    let (without, with) = (get(None), get(Some(&bearer(TOKEN))));
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!((without, with), (401, 200), "{line}");
}

#[test]
fn empty_report_token_stops_the_binary_instead_of_opening_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let db = backend::db(&dir);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
        .args(["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--report-token", ""])
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("report token: must not be empty"), "{stderr}");
    assert!(output.stdout.is_empty(), "it never listened");
}

// --- Ingestion against hostile input ---------------------------------------------------------

#[test]
fn malformed_utf8_body_is_400_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    let good = batch(vec![event("e-1")]).to_string();
    // Invalid UTF-8 inside a string, then outside any string, then a lone surrogate escape.
    let (before, after) = good.split_once("demo-shop").unwrap();
    let inside = [before.as_bytes(), b"demo-\xff\xc0", after.as_bytes()].concat();
    let outside = [b"\xfe\xff".as_slice(), good.as_bytes()].concat();
    let surrogate = good.replace("demo-shop", "demo-\\ud800");

    for body in [inside, outside, surrogate.into_bytes()] {
        let answer = collector.post(body);

        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(answer.reason().starts_with("body: invalid JSON: "), "{}", answer.reason());
    }
    collector.assert_still_accepts("after");
    assert_eq!(collector.event_ids(), ["after"]);
    collector.stop();
}

#[test]
fn deeply_nested_json_is_400_without_overflowing_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    let arrays = "[".repeat(100_000);
    let objects = "{\"a\":".repeat(100_000);
    // Deep nesting inside an otherwise valid batch, where a param value would be.
    let mut in_params = batch(vec![event("deep")]).to_string();
    in_params = in_params
        .replace("\"n\":1", &format!("\"n\":{}1{}", "[".repeat(10_000), "]".repeat(10_000)));

    for body in [arrays, objects, in_params] {
        let answer = collector.post(body);

        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(answer.reason().contains("recursion limit exceeded"), "{}", answer.reason());
    }
    collector.assert_still_accepts("after");
    assert_eq!(collector.event_ids(), ["after"]);
    collector.stop();
}

/// Text an SQL string built by hand would choke on: quotes, comments, a statement terminator,
/// LIKE wildcards, a NUL byte, backslashes and text outside ASCII.
const HOSTILE: &str = "x'; DROP TABLE events; -- \" ` %_ \\ \0 \u{202e} ' OR '1'='1";

#[test]
fn sql_metacharacters_in_every_field_are_stored_verbatim_and_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    let hostile = |tag: &str| format!("{tag}:{HOSTILE}");
    // Ids and keys are stored as plain text, which in PostgreSQL cannot hold NUL: they carry
    // everything else (NUL in them is refused, see the next test).
    let key = |tag: &str| format!("{tag}:{}", HOSTILE.replace('\0', ""));
    let batch = json!({
        "v": 1, "site": key("site"), "client_id": key("client"),
        "session_id": key("session"), "config_version": "'; DROP TABLE events; --",
        "sent_at": 0,
        "events": [{
            "id": key("id"), "name": "page_view", "ts": 1, "seq": 1,
            "page": { "url": hostile("url"), "path": hostile("path"), "title": hostile("title"),
                      "referrer": hostile("referrer") },
            "params": { hostile("key"): hostile("value") },
            "segment": { hostile("segment"): hostile("segment value") },
            "funnels": { hostile("funnel"): 2 }
        }]
    });

    let answer = collector.post(batch.to_string());
    let filtered = collector.get("/api/events?name=x'%20OR%20'1'='1");

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["accepted"], json!([key("id")]));
    let stored = collector.events_with(&[]);
    assert_eq!(stored.len(), 1, "the table is still there, with the one event");
    let event = &stored[0];
    for (field, tag) in [("site", "site"), ("client_id", "client"), ("session_id", "session")] {
        assert_eq!(event[field], json!(key(tag)), "{field}");
    }
    assert_eq!(event["id"], json!(key("id")));
    assert_eq!(event["config_version"], "'; DROP TABLE events; --");
    assert_eq!(event["page"], batch["events"][0]["page"]);
    assert_eq!(event["params"], batch["events"][0]["params"]);
    assert_eq!(event["segment"], batch["events"][0]["segment"]);
    assert_eq!(event["funnels"], batch["events"][0]["funnels"]);
    assert_eq!((filtered.status, filtered.json()), (200, json!([])), "the filter is a value");
    collector.assert_still_accepts("after");
    collector.stop();
}

#[test]
fn nul_in_an_id_or_visitor_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    let mut in_client = batch(vec![event("fine")]);
    in_client["client_id"] = json!("c\u{0}1");

    let in_id = collector.post(batch(vec![event("ok"), event("e\u{0}1")]).to_string());
    let in_client = collector.post(in_client.to_string());

    assert_eq!(in_id.status, 400, "{}", in_id.body);
    assert_eq!(in_id.reason(), "events[1].id: must not contain a NUL character");
    assert_eq!(in_client.status, 400, "{}", in_client.body);
    assert_eq!(in_client.reason(), "client_id: must not contain a NUL character");
    assert_eq!(collector.event_ids(), Vec::<String>::new(), "the whole batch is refused");
    collector.assert_still_accepts("after");
    collector.stop();
}

#[test]
fn path_traversal_never_reaches_a_file_outside_the_static_dir() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("www");
    fs::create_dir_all(site.join("sub")).unwrap();
    fs::write(site.join("index.html"), "<h1>shop</h1>").unwrap();
    fs::write(site.join("sub").join("page.html"), "<p>sub</p>").unwrap();
    // The file an attacker is after, one level above the served directory.
    fs::write(dir.path().join("secret.txt"), "TOP-SECRET").unwrap();
    let options = Options { static_dir: Some(site), ..options(&backend::db(&dir)) };
    let collector = Collector::start(&options);
    let attempts = [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/sub/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/%2e%2e%5c%2e%2e%5csecret.txt",
        "//../secret.txt",
        "/%252e%252e/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/sub/%00/../../secret.txt",
    ];

    for path in attempts {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = collector.raw(request.as_bytes());

        assert!(matches!(answer.status, 400 | 404), "{path}: {} {}", answer.status, answer.body);
        assert!(!answer.body.contains("TOP-SECRET"), "{path} leaked the file");
    }
    let inside =
        collector.raw(b"GET /sub/../index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(!inside.body.contains("TOP-SECRET"));
    assert_eq!(collector.get("/sub/page.html").body, "<p>sub</p>", "the site is still served");
    collector.assert_still_accepts("after");
    collector.stop();
}

#[test]
fn oversized_headers_are_refused_and_the_next_request_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    let body = batch(vec![event("big-header")]).to_string();
    let one_huge = format!(
        "POST /collect HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        "a".repeat(1024 * 1024),
        body.len()
    );
    let many: String = (0..2000).map(|i| format!("X-Pad-{i}: a\r\n")).collect();
    let many = format!(
        "POST /collect HTTP/1.1\r\nHost: x\r\n{many}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );

    for request in [one_huge, many] {
        let answer = collector.raw(request.as_bytes());

        // hyper answers 431 when it can; a client that keeps writing may see the connection
        // closed instead. Either way nothing was stored.
        assert!(matches!(answer.status, 431 | 0), "{} {}", answer.status, answer.body);
    }
    collector.assert_still_accepts("after");
    assert_eq!(collector.event_ids(), ["after"]);
    collector.stop();
}

#[test]
fn client_that_stalls_halfway_does_not_block_others_and_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        Options { request_timeout: Duration::from_secs(1), ..options(&backend::db(&dir)) };
    let collector = Collector::start(&options);
    let stalled_body = {
        let mut stream = TcpStream::connect(collector.addr).unwrap();
        let head = "POST /collect HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"v\":1,";
        stream.write_all(head.as_bytes()).unwrap();
        stream
    };
    let stalled_head = {
        let mut stream = TcpStream::connect(collector.addr).unwrap();
        stream.write_all(b"POST /collect HTTP/1.1\r\nHost: x\r\nContent-Le").unwrap();
        stream
    };
    let started = Instant::now();

    collector.assert_still_accepts("meanwhile");
    let served_in = started.elapsed();
    let mut stalled_body = stalled_body;
    stalled_body.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let cut_off = read_answer(&mut stalled_body);

    assert!(served_in < Duration::from_millis(900), "others waited {served_in:?}");
    assert_eq!(cut_off.status, 408, "{}", cut_off.body);
    assert!(cut_off.reason().contains("not complete within `1` s"), "{}", cut_off.reason());
    assert_eq!(collector.event_ids(), ["meanwhile"]);
    // The client stalled inside its headers is dropped by hyper's header deadline (there is no
    // request yet to answer); the read would block for 10 s were it left open.
    let mut stalled_head = stalled_head;
    stalled_head.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let waited = Instant::now();
    let dropped = read_answer(&mut stalled_head);
    assert!(waited.elapsed() < Duration::from_secs(5), "kept for {:?}", waited.elapsed());
    assert!(matches!(dropped.status, 0 | 408), "{} {}", dropped.status, dropped.body);
    collector.stop();
}

#[test]
fn oversized_batch_is_400_with_a_reason_and_the_next_batch_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    let events = (0..501).map(|i| event(&format!("e-{i}"))).collect();

    let answer = collector.post(batch(events).to_string());

    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.reason(), "events: expected 1 to 500 events, got `501`");
    collector.assert_still_accepts("after");
    assert_eq!(collector.event_ids(), ["after"]);
    collector.stop();
}

#[test]
fn bad_requests_interleaved_with_good_ones_lose_none_of_the_good() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&options(&backend::db(&dir)));
    let bad_bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"{\"v\":1".to_vec(),
        vec![0xff; 64],
        b"{\"v\":1,\"site\":\"s\",\"client_id\":\"c\",\"session_id\":\"s\",\"events\":[{}]}"
            .to_vec(),
        "[".repeat(5000).into_bytes(),
    ];

    let mut expected = Vec::new();
    for (i, bad) in bad_bodies.into_iter().enumerate() {
        let refused = collector.post(bad);
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(!refused.reason().is_empty());
        let id = format!("good-{i}");
        collector.assert_still_accepts(&id);
        expected.push(id);
    }

    assert_eq!(collector.event_ids(), expected);
    collector.stop();
}

#[test]
fn every_refusal_says_why_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("www");
    fs::create_dir_all(&site).unwrap();
    let options = Options { static_dir: Some(site), ..options(&backend::db(&dir)) };
    let collector = Collector::start(&options);

    let wrong_method = collector.get("/collect");
    let missing = collector.get("/no/such/page.html");
    let wrong_report_method = common::agent().delete(collector.url("/api/events")).call();
    let wrong_report_method = wrong_report_method.unwrap().status().as_u16();

    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.reason(), "method `GET` is not allowed on `/collect`");
    assert!(wrong_method.header("allow").unwrap_or_default().contains("POST"));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.reason(), "nothing is served at `/no/such/page.html`");
    assert_eq!(wrong_report_method, 405);
    collector.stop();
}

// --- Origins and rate limits -----------------------------------------------------------------

#[test]
fn page_on_an_unlisted_origin_cannot_post() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        allow_origins: vec!["https://shop.example".into(), "HTTP://Localhost:8080".into()],
        ..options(&backend::db(&dir))
    };
    let collector = Collector::start(&options);
    let body = |id: &str| batch(vec![event(id)]).to_string();

    let evil = collector.post_with(body("evil"), &[("Origin", "https://evil.example")]);
    let shop = collector.post_with(body("shop"), &[("Origin", "https://shop.example")]);
    let local = collector.post_with(body("local"), &[("Origin", "http://localhost:8080")]);
    let no_origin = collector.post(body("server-side"));
    let preflight = common::agent()
        .options(collector.url("/collect"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .call()
        .unwrap();

    assert_eq!(evil.status, 403, "{}", evil.body);
    assert_eq!(
        evil.reason(),
        "origin `https://evil.example` may not post here: add it with `--allow-origin`"
    );
    assert_eq!(shop.status, 200, "{}", shop.body);
    assert_eq!(shop.header("access-control-allow-origin"), Some("https://shop.example"));
    assert_eq!(local.status, 200, "{}", local.body);
    assert_eq!(no_origin.status, 200, "{}", no_origin.body);
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
    assert_eq!(collector.event_ids(), ["shop", "local", "server-side"]);
    collector.stop();
}

#[test]
fn allow_origin_with_a_path_stops_the_collector_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    for origin in ["https://shop.example/", "shop.example", "https://", "ftp://shop.example"] {
        let options = Options { allow_origins: vec![origin.into()], ..options(&backend::db(&dir)) };
        let error = runtime.block_on(bind(&options)).unwrap_err();

        assert!(matches!(&error, Error::BadOrigin(o) if o == origin), "{origin}: {error}");
    }
}

#[test]
fn client_flooding_collect_gets_429_with_retry_after_and_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { rate_limit: RateLimit::new(1, 3), ..options(&backend::db(&dir)) };
    let collector = Collector::start(&options);

    for i in 0..3 {
        collector.assert_still_accepts(&format!("burst-{i}"));
    }
    let flooded = collector.post(batch(vec![event("one-too-many")]).to_string());

    assert_eq!(flooded.status, 429, "{}", flooded.body);
    assert_eq!(flooded.header("retry-after"), Some("1"));
    assert_eq!(flooded.reason(), "too many requests from this client: retry in `1` s");
    assert_eq!(flooded.header("access-control-allow-origin"), Some("*"), "the page can read it");
    assert_eq!(
        flooded.header("access-control-expose-headers"),
        Some("retry-after"),
        "and its Retry-After, to wait as long as asked"
    );
    // The reports are not ingestion and are not limited.
    assert_eq!(collector.event_ids(), ["burst-0", "burst-1", "burst-2"]);
    std::thread::sleep(Duration::from_millis(1100));
    collector.assert_still_accepts("after-the-wait");
    collector.stop();
}
