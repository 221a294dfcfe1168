//! The harness of the security tests: a collector in-process on 127.0.0.1:0 with a real
//! database (see `backend`), a blocking HTTP client, and a raw TCP client for requests no
//! well-behaved client sends.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use microfunnel_collector::{bind, Error, Options};
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A collector running on its own runtime, stopped gracefully by [`Collector::stop`].
pub struct Collector {
    runtime: Runtime,
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), Error>>,
}

/// What the collector answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Every header, names in lowercase, in the order they came.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("answer `{}` is not JSON: {e}", self.body))
    }

    /// The `error` of a JSON refusal.
    pub fn reason(&self) -> String {
        match &self.json()["error"] {
            Value::String(reason) => reason.clone(),
            other => panic!("answer {} has no error reason: {other}", self.status),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// Options for a collector on a free loopback port with its database at `db`.
pub fn options(db: &Path) -> Options {
    Options { listen: "127.0.0.1:0".parse().unwrap(), db: db.to_path_buf(), ..Options::default() }
}

impl Collector {
    pub fn start(options: &Options) -> Collector {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(bind(options)).unwrap();
        let addr = server.local_addr();

        let (stop, stopped) = oneshot::channel();
        let task = runtime.spawn(server.serve_until(async {
            let _ = stopped.await;
        }));
        Collector { runtime, addr, stop, task }
    }

    pub fn stop(self) {
        self.stop.send(()).unwrap();
        self.runtime.block_on(self.task).unwrap().unwrap();
    }

    /// Stops without waiting for open connections, for tests that leave a client stalled.
    pub fn abandon(self) {
        let _ = self.stop.send(());
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path` with the given extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = agent().get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.call())
    }

    pub fn get(&self, path: &str) -> Answer {
        self.get_with(path, &[])
    }

    /// `POST /collect` of `body` with the given extra headers.
    pub fn post_with(&self, body: impl Into<Vec<u8>>, headers: &[(&str, &str)]) -> Answer {
        let mut request =
            agent().post(self.url("/collect")).header("Content-Type", "text/plain;charset=UTF-8");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send(body.into()))
    }

    pub fn post(&self, body: impl Into<Vec<u8>>) -> Answer {
        self.post_with(body, &[])
    }

    /// Every stored event, read from loopback (the reports' default access).
    pub fn events_with(&self, headers: &[(&str, &str)]) -> Vec<Value> {
        let answer = self.get_with("/api/events", headers);
        assert_eq!(answer.status, 200, "{}", answer.body);
        match answer.json() {
            Value::Array(events) => events,
            other => panic!("/api/events answered `{other}`, not an array"),
        }
    }

    pub fn event_ids_with(&self, headers: &[(&str, &str)]) -> Vec<String> {
        let events = self.events_with(headers);
        events.iter().map(|event| event["id"].as_str().unwrap().to_string()).collect()
    }

    pub fn event_ids(&self) -> Vec<String> {
        self.event_ids_with(&[])
    }

    /// Posts a well-formed one-event batch with id `id` and checks it is accepted: what a bad
    /// request must not have broken.
    pub fn assert_still_accepts(&self, id: &str) {
        let answer = self.post(batch(vec![event(id)]).to_string());
        assert_eq!(answer.status, 200, "a good batch after a bad one: {}", answer.body);
        assert_eq!(answer.json()["accepted"], json!([id]));
    }

    /// Sends `request` as it is on a new connection and reads until the server closes it.
    pub fn raw(&self, request: &[u8]) -> Answer {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The server may close before reading everything (a refused header): a failed write is
        // then expected, and the answer is what counts.
        let _ = stream.write_all(request);
        read_answer(&mut stream)
    }
}

/// Reads an HTTP/1.1 answer until the connection closes; status 0 when nothing came back.
pub fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer { status, headers, body: body.to_string() }
}

/// A fresh client for each request, so that no pooled connection outlives a test's server.
pub fn agent() -> ureq::Agent {
    // Statuses are asserted by the tests, not turned into errors by the client.
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.unwrap();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
        .collect();
    Answer {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_string().unwrap(),
    }
}

pub fn event(id: &str) -> Value {
    json!({
        "id": id, "name": "page_view", "ts": 1000, "seq": 1,
        "page": { "url": "http://shop.test/", "path": "/", "title": "Home", "referrer": "" },
        "params": { "n": 1 }
    })
}

pub fn batch(events: Vec<Value>) -> Value {
    json!({
        "v": 1, "site": "demo-shop", "client_id": "c-1", "session_id": "s-1",
        "sent_at": 1764780000123_i64, "events": events
    })
}
