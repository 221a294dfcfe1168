//! Sessions: a visit that ends after a period without activity.

use crate::json::{obj, Value};

/// The visitor's current session, as stored between page loads.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The session id, sent with every batch.
    pub id: String,
    /// When it started.
    pub started_at: f64,
    /// When the last event happened in it.
    pub last_at: f64,
    /// How many sessions this visitor has had, this one included.
    pub number: u32,
    /// The visit's segment, fixed at the session's start (device, source, ...).
    pub segment: Value,
}

impl Session {
    /// Whether the session has ended by `now`, after `idle_ms` without activity.
    ///
    /// Sessions do not end at midnight or on a campaign change: a visit that crosses midnight
    /// is one visit, and a new campaign is recorded on the next session.
    pub fn expired(&self, now: f64, idle_ms: f64) -> bool {
        now - self.last_at > idle_ms
    }

    /// The session as JSON, for storage.
    pub fn to_value(&self) -> Value {
        obj(vec![
            ("id", self.id.as_str().into()),
            ("started_at", Value::Num(self.started_at)),
            ("last_at", Value::Num(self.last_at)),
            ("number", Value::Num(f64::from(self.number))),
            ("segment", self.segment.clone()),
        ])
    }

    /// Reads a session stored by [`Session::to_value`].
    pub fn from_value(value: &Value) -> Option<Session> {
        Some(Session {
            id: value.get("id")?.as_str()?.to_string(),
            started_at: value.get("started_at")?.as_f64()?,
            last_at: value.get("last_at")?.as_f64()?,
            number: value.get("number")?.as_f64()? as u32,
            segment: value.get("segment").cloned().unwrap_or_else(Value::obj),
        })
    }
}
