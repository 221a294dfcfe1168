//! The queue of events waiting to be sent, and when to send them.

use crate::config::BatchPolicy;
use crate::json::Value;

/// At most this many events wait; beyond it the oldest are dropped (and counted).
pub const MAX_QUEUED: usize = 1000;
/// At most this many bytes of events wait, so that the queues several tabs keep in storage fit
/// a browser's 5 MB of `localStorage` with room for the site's own; beyond it the oldest are
/// dropped (and counted).
pub const MAX_QUEUED_BYTES: usize = 500_000;

/// Events waiting to be sent, already written as JSON.
#[derive(Debug, Default)]
pub struct Queue {
    // A plain `Vec`: removing from the front is a copy of at most `MAX_QUEUED` pointers, and
    // `VecDeque` would add three kilobytes to the wasm.
    items: Vec<(String, String)>,
    /// The bytes of JSON in `items`.
    bytes: usize,
    oldest_at: Option<f64>,
    /// How many events were dropped because the queue was full.
    pub dropped: u64,
}

impl Queue {
    /// Adds an event (its id and its JSON) at `now`.
    pub fn push(&mut self, id: String, json: String, now: f64) {
        self.bytes += json.len();
        self.items.push((id, json));
        self.bound();
        self.oldest_at.get_or_insert(now);
    }

    /// Drops the oldest events until at most [`MAX_QUEUED`] events of at most
    /// [`MAX_QUEUED_BYTES`] wait.
    fn bound(&mut self) {
        while self.items.len() > MAX_QUEUED || self.bytes > MAX_QUEUED_BYTES {
            self.bytes -= self.items.remove(0).1.len();
            self.dropped += 1;
        }
    }

    /// How many events wait.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// How many bytes of JSON wait.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// When the queue must be sent at the latest, if anything waits.
    pub fn due_at(&self, policy: &BatchPolicy) -> Option<f64> {
        self.oldest_at.map(|t| t + policy.max_wait_ms)
    }

    /// Whether the queue should be sent now.
    pub fn is_due(&self, policy: &BatchPolicy, now: f64) -> bool {
        self.items.len() >= policy.max_events || self.due_at(policy).is_some_and(|t| now >= t)
    }

    /// Takes up to `max` events, oldest first, as (id, JSON) pairs.
    pub fn take(&mut self, max: usize) -> Vec<(String, String)> {
        let n = max.min(self.items.len());
        let out: Vec<_> = self.items.drain(..n).collect();
        self.bytes -= out.iter().map(|(_, json)| json.len()).sum::<usize>();
        if self.items.is_empty() {
            self.oldest_at = None;
        }
        out
    }

    /// Puts events back at the front, in their order, after a failed send.
    pub fn restore(&mut self, events: Vec<(String, String)>, now: f64) {
        self.bytes += events.iter().map(|(_, json)| json.len()).sum::<usize>();
        let newer = std::mem::replace(&mut self.items, events);
        self.items.extend(newer);
        self.bound();
        self.oldest_at.get_or_insert(now);
    }

    /// Everything waiting, oldest first, as (id, JSON) pairs.
    pub fn items(&self) -> &[(String, String)] {
        &self.items
    }

    /// The ids waiting, oldest first.
    pub fn ids(&self) -> Vec<&str> {
        self.items.iter().map(|(id, _)| id.as_str()).collect()
    }
}

/// What to do with a batch after the collector answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The collector stored it: forget it.
    Delivered,
    /// Refused for good (a 4xx other than 408 and 429): resending cannot help, drop it.
    Refused,
    /// It may succeed later (a network error, a 5xx, 408 or 429): queue it again.
    Retry,
}

/// Classifies an HTTP status; `0` means the request never got an answer.
pub fn outcome(status: u32) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        408 | 429 => Outcome::Retry,
        400..=499 => Outcome::Refused,
        _ => Outcome::Retry,
    }
}

/// Who sends a batch.
pub struct Sender<'a> {
    /// The site's name.
    pub site: &'a str,
    /// The visitor's id.
    pub client_id: &'a str,
    /// The session's id.
    pub session_id: &'a str,
    /// The configuration's fingerprint, so that reports can tell configurations apart.
    pub config_version: &'a str,
}

/// The request body for a batch of events already written as JSON.
pub fn body(sender: &Sender<'_>, sent_at: f64, events: &[(String, String)]) -> String {
    let mut out = String::from("{\"v\":1,\"site\":");
    Value::from(sender.site).write_json(&mut out);
    out.push_str(",\"client_id\":");
    Value::from(sender.client_id).write_json(&mut out);
    out.push_str(",\"session_id\":");
    Value::from(sender.session_id).write_json(&mut out);
    out.push_str(",\"config_version\":");
    Value::from(sender.config_version).write_json(&mut out);
    out.push_str(",\"sent_at\":");
    Value::Num(sent_at.floor()).write_json(&mut out);
    out.push_str(",\"events\":[");
    for (i, (_, json)) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(json);
    }
    out.push_str("]}");
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn policy() -> BatchPolicy {
        BatchPolicy { max_events: 3, max_wait_ms: 1000.0 }
    }

    #[test]
    fn flushes_by_count_and_by_time() {
        let mut q = Queue::default();
        q.push("a".into(), "{}".into(), 100.0);
        assert!(!q.is_due(&policy(), 100.0));
        assert!(!q.is_due(&policy(), 1099.0));
        assert!(q.is_due(&policy(), 1100.0));
        q.push("b".into(), "{}".into(), 200.0);
        q.push("c".into(), "{}".into(), 300.0);
        assert!(q.is_due(&policy(), 300.0));
        assert_eq!(q.take(2).len(), 2);
        assert_eq!(q.ids(), ["c"]);
        assert_eq!(q.take(10).len(), 1);
        assert_eq!(q.due_at(&policy()), None);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_it() {
        let mut q = Queue::default();
        for i in 0..MAX_QUEUED + 2 {
            q.push(i.to_string(), "{}".into(), 0.0);
        }
        assert_eq!(q.len(), MAX_QUEUED);
        assert_eq!(q.dropped, 2);
        assert_eq!(q.ids()[0], "2");
    }

    #[test]
    fn a_queue_past_its_bytes_drops_the_oldest_and_counts_it() {
        let mut q = Queue::default();
        let big = "x".repeat(MAX_QUEUED_BYTES / 4);
        for i in 0..5 {
            q.push(i.to_string(), big.clone(), 0.0);
        }
        assert_eq!(q.ids(), ["1", "2", "3", "4"]);
        assert_eq!(q.dropped, 1);
        let sent = q.take(2);
        q.push("5".into(), big.clone(), 0.0);
        q.restore(sent, 1.0);
        // Back in front, the oldest of them goes first again.
        assert_eq!(q.ids(), ["2", "3", "4", "5"]);
        assert_eq!(q.dropped, 2);
        assert_eq!(q.items().iter().map(|(_, j)| j.len()).sum::<usize>(), MAX_QUEUED_BYTES);
    }

    #[test]
    fn restore_keeps_order_before_newer_events() {
        let mut q = Queue::default();
        q.push("a".into(), "{}".into(), 0.0);
        q.push("b".into(), "{}".into(), 0.0);
        let sent = q.take(2);
        q.push("c".into(), "{}".into(), 5.0);
        q.restore(sent, 6.0);
        assert_eq!(q.ids(), ["a", "b", "c"]);
    }

    #[test]
    fn statuses_decide_between_forgetting_dropping_and_retrying() {
        for (status, expected) in [
            (200, Outcome::Delivered),
            (204, Outcome::Delivered),
            (400, Outcome::Refused),
            (413, Outcome::Refused),
            (408, Outcome::Retry),
            (429, Outcome::Retry),
            (500, Outcome::Retry),
            (503, Outcome::Retry),
            (0, Outcome::Retry),
        ] {
            assert_eq!(outcome(status), expected, "HTTP {status}");
        }
    }

    #[test]
    fn body_is_valid_json_of_the_wire_format() {
        let sender =
            Sender { site: "demo", client_id: "c1", session_id: "s\"1", config_version: "v" };
        let text = body(&sender, 12.5, &[("x".into(), r#"{"id":"x"}"#.into())]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["session_id"], "s\"1");
        assert_eq!(v["events"][0]["id"], "x");
    }
}
