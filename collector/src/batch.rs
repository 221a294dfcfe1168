//! Validation of the batch the tracker posts to `/collect` (see `docs/interfaces.md`).
//!
//! The body is first parsed into a plain [`serde_json::Value`] and then walked by hand, rather
//! than deserialized into structs, so that every rejection can name the exact JSON path and the
//! offending value (`events[1].name: `bad name` is not a valid event name`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// The only batch format version this collector understands.
pub const VERSION: u64 = 1;
/// The most events one batch may carry.
pub const MAX_EVENTS: usize = 500;
/// The longest `site`, `client_id` or `session_id`, in characters.
pub const MAX_KEY_LEN: usize = 128;
/// The longest event `id`, in characters.
pub const MAX_EVENT_ID_LEN: usize = 64;
/// The longest event name, in characters.
pub const MAX_NAME_LEN: usize = 40;
/// The longest `config_version`, in characters.
pub const MAX_CONFIG_VERSION_LEN: usize = 64;

/// A batch that passed validation, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The site the tracker was configured for.
    pub site: String,
    /// The visitor's id, kept by the tracker across sessions.
    pub client_id: String,
    /// The visit's id.
    pub session_id: String,
    /// The fingerprint of the tracker's config, or empty when the tracker sent none.
    pub config_version: String,
    /// At least one and at most [`MAX_EVENTS`] events.
    pub events: Vec<Event>,
}

/// One validated event of a [`Batch`].
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique per event; a second event with the same id is a duplicate.
    pub id: String,
    /// Matches `^[A-Za-z][A-Za-z0-9_]{0,39}$`.
    pub name: String,
    /// Milliseconds since the epoch.
    pub ts: i64,
    /// The tracker's per-client counter.
    pub seq: i64,
    /// The page the event happened on.
    pub page: Page,
    /// Values are strings, numbers, booleans or null.
    pub params: Map<String, Value>,
    /// Free-form segment attributes.
    pub segment: Map<String, Value>,
    /// Funnel progress at the time of the event.
    pub funnels: Map<String, Value>,
}

/// Where an event happened; a field the tracker left out is the empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The full URL.
    pub url: String,
    /// The URL's path.
    pub path: String,
    /// The document title.
    pub title: String,
    /// The document referrer.
    pub referrer: String,
}

impl Batch {
    /// Parses and validates a posted body, whatever content type it was sent with.
    pub fn parse(body: &[u8]) -> Result<Batch, Error> {
        let value: Value = serde_json::from_slice(body).map_err(Error::Json)?;
        Batch::from_value(&value)
    }

    /// Validates an already parsed body.
    pub fn from_value(value: &Value) -> Result<Batch, Error> {
        let root = Object::new(value, "body")?;
        let root = Object { path: String::new(), ..root };

        let version = root.require("v")?;
        if version.as_u64() != Some(VERSION) {
            let got = show(version);
            return Err(Error::invalid("v", format!("`{got}` is not a supported version")));
        }

        Ok(Batch {
            site: root.string("site", MAX_KEY_LEN)?,
            client_id: root.string("client_id", MAX_KEY_LEN)?,
            session_id: root.string("session_id", MAX_KEY_LEN)?,
            config_version: root.optional_string_up_to("config_version", MAX_CONFIG_VERSION_LEN)?,
            events: events(root.require("events")?)?,
        })
    }
}

fn events(value: &Value) -> Result<Vec<Event>, Error> {
    let Some(items) = value.as_array() else {
        return Err(Error::invalid("events", format!("`{}` is not an array", show(value))));
    };
    if items.is_empty() || items.len() > MAX_EVENTS {
        let reason = format!("expected 1 to {MAX_EVENTS} events, got `{}`", items.len());
        return Err(Error::invalid("events", reason));
    }

    items.iter().enumerate().map(|(i, item)| event(item, format!("events[{i}]"))).collect()
}

fn event(value: &Value, path: String) -> Result<Event, Error> {
    let obj = Object::new(value, path)?;

    let id = obj.string("id", MAX_EVENT_ID_LEN)?;
    let name = obj.string("name", MAX_NAME_LEN)?;
    if !is_event_name(&name) {
        let reason = format!("`{name}` is not a valid event name");
        return Err(Error::invalid(obj.at("name"), reason));
    }

    let params = obj.object("params")?;
    for (key, value) in &params {
        if value.is_array() || value.is_object() {
            let reason = format!("`{}` is not a string, number, boolean or null", show(value));
            return Err(Error::invalid(format!("{}.{key}", obj.at("params")), reason));
        }
    }

    Ok(Event {
        id,
        name,
        ts: obj.integer("ts")?,
        seq: obj.integer("seq")?,
        page: page(obj.require("page")?, obj.at("page"))?,
        params,
        segment: obj.object("segment")?,
        funnels: obj.object("funnels")?,
    })
}

fn page(value: &Value, path: String) -> Result<Page, Error> {
    let obj = Object::new(value, path)?;
    Ok(Page {
        url: obj.optional_string("url")?,
        path: obj.optional_string("path")?,
        title: obj.optional_string("title")?,
        referrer: obj.optional_string("referrer")?,
    })
}

/// Whether `name` matches `^[A-Za-z][A-Za-z0-9_]{0,39}$`, checked by hand since a regex engine
/// would be the biggest dependency of the crate for one pattern.
pub fn is_event_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_ascii_alphabetic()
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A JSON object together with its path, so that each accessor can report where it failed.
struct Object<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Object<'a> {
    fn new(value: &'a Value, path: impl Into<String>) -> Result<Object<'a>, Error> {
        let path = path.into();
        match value.as_object() {
            Some(map) => Ok(Object { map, path }),
            None => Err(Error::invalid(path, format!("`{}` is not an object", show(value)))),
        }
    }

    /// The path of the field `key` of this object.
    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn require(&self, key: &str) -> Result<&'a Value, Error> {
        self.map.get(key).ok_or_else(|| Error::invalid(self.at(key), "is required"))
    }

    /// A required, non-empty string of at most `max` characters.
    fn string(&self, key: &str, max: usize) -> Result<String, Error> {
        let value = self.require(key)?;
        let Some(text) = value.as_str() else {
            return Err(Error::invalid(self.at(key), format!("`{}` is not a string", show(value))));
        };
        if text.is_empty() {
            return Err(Error::invalid(self.at(key), "must not be empty"));
        }
        if text.chars().count() > max {
            let reason = format!("`{}` is longer than {max} characters", show(value));
            return Err(Error::invalid(self.at(key), reason));
        }
        // PostgreSQL text cannot hold NUL, and no tracker sends it in an id or a name: refusing
        // it here keeps both back ends answering the same batch the same way.
        if text.contains('\0') {
            return Err(Error::invalid(self.at(key), "must not contain a NUL character"));
        }
        Ok(text.to_string())
    }

    /// A string that may be missing, which counts as empty.
    fn optional_string(&self, key: &str) -> Result<String, Error> {
        match self.map.get(key) {
            None => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(value) => {
                Err(Error::invalid(self.at(key), format!("`{}` is not a string", show(value))))
            }
        }
    }

    /// A string that may be missing (which counts as empty) of at most `max` characters.
    fn optional_string_up_to(&self, key: &str, max: usize) -> Result<String, Error> {
        let text = self.optional_string(key)?;
        if text.chars().count() > max {
            let reason =
                format!("`{}` is longer than {max} characters", show(&Value::String(text)));
            return Err(Error::invalid(self.at(key), reason));
        }
        if text.contains('\0') {
            return Err(Error::invalid(self.at(key), "must not contain a NUL character"));
        }
        Ok(text)
    }

    /// A required integer from 0 to `i64::MAX`, the range both back ends store.
    fn integer(&self, key: &str) -> Result<i64, Error> {
        let value = self.require(key)?;
        match value.as_i64() {
            Some(n) if n >= 0 => Ok(n),
            _ => {
                let reason = format!("`{}` is not a non-negative integer", show(value));
                Err(Error::invalid(self.at(key), reason))
            }
        }
    }

    /// An object that may be missing, which counts as `{}`.
    fn object(&self, key: &str) -> Result<Map<String, Value>, Error> {
        match self.map.get(key) {
            None => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(value) => {
                Err(Error::invalid(self.at(key), format!("`{}` is not an object", show(value))))
            }
        }
    }
}

/// How a value is quoted in an error message: strings as they are, anything else as JSON, cut
/// short so that a huge value cannot blow up the answer.
fn show(value: &Value) -> String {
    const MAX: usize = 60;

    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() <= MAX {
        return text;
    }
    let mut short: String = text.chars().take(MAX).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "v": 1, "site": "demo-shop", "client_id": "c-1", "session_id": "s-1",
            "sent_at": 1764780000123_i64,
            "events": [{
                "id": "e-1", "name": "click_cta", "ts": 1764780000000_i64, "seq": 12,
                "page": { "url": "http://x/p", "path": "/p", "title": "P", "referrer": "" },
                "params": { "click_text": "Start", "n": 3, "ok": true, "none": null },
                "segment": { "device": "desktop" },
                "funnels": { "checkout": 3 }
            }]
        })
    }

    fn error_of(value: Value) -> String {
        Batch::from_value(&value).unwrap_err().to_string()
    }

    #[test]
    fn nul_in_an_id_or_key_is_refused_with_its_path() {
        for (path, pointer) in [
            ("events[0].id", "/events/0/id"),
            ("client_id", "/client_id"),
            ("site", "/site"),
            ("session_id", "/session_id"),
        ] {
            let mut value = valid();
            *value.pointer_mut(pointer).unwrap() = json!("a\u{0}b");
            assert_eq!(error_of(value), format!("{path}: must not contain a NUL character"));
        }
        let mut value = valid();
        value["config_version"] = json!("v\u{0}");
        assert_eq!(error_of(value), "config_version: must not contain a NUL character");
    }

    #[test]
    fn valid_batch_parses_with_all_fields() {
        let batch = Batch::from_value(&valid()).unwrap();

        assert_eq!(batch.site, "demo-shop");
        let event = &batch.events[0];
        assert_eq!((event.id.as_str(), event.name.as_str()), ("e-1", "click_cta"));
        assert_eq!((event.ts, event.seq), (1764780000000, 12));
        assert_eq!(event.page.title, "P");
        assert_eq!(event.params["click_text"], "Start");
        assert_eq!(event.funnels["checkout"], 3);
    }

    #[test]
    fn missing_optional_parts_default_to_empty() {
        let mut value = valid();
        let event = value["events"][0].as_object_mut().unwrap();
        event.remove("params");
        event.remove("segment");
        event.remove("funnels");
        event.insert("page".into(), json!({ "path": "/only" }));

        let batch = Batch::from_value(&value).unwrap();

        let event = &batch.events[0];
        assert!(event.params.is_empty() && event.segment.is_empty() && event.funnels.is_empty());
        assert_eq!(event.page, Page { path: "/only".into(), ..Page::default() });
    }

    #[test]
    fn bad_name_is_reported_with_path_and_value() {
        let mut value = valid();
        value["events"][0]["name"] = json!("bad name");

        assert_eq!(error_of(value), "events[0].name: `bad name` is not a valid event name");
    }

    #[test]
    fn wrong_version_is_rejected() {
        let mut value = valid();
        value["v"] = json!(2);

        assert_eq!(error_of(value), "v: `2` is not a supported version");
    }

    #[test]
    fn negative_or_fractional_ts_is_rejected() {
        let mut value = valid();
        value["events"][0]["ts"] = json!(-1);
        assert_eq!(error_of(value.clone()), "events[0].ts: `-1` is not a non-negative integer");

        value["events"][0]["ts"] = json!(1.5);
        assert_eq!(error_of(value), "events[0].ts: `1.5` is not a non-negative integer");
    }

    #[test]
    fn nested_param_value_is_rejected() {
        let mut value = valid();
        value["events"][0]["params"]["deep"] = json!({ "a": 1 });

        assert_eq!(
            error_of(value),
            "events[0].params.deep: `{\"a\":1}` is not a string, number, boolean or null"
        );
    }

    #[test]
    fn empty_and_oversized_event_lists_are_rejected() {
        let mut value = valid();
        value["events"] = json!([]);
        assert_eq!(error_of(value.clone()), "events: expected 1 to 500 events, got `0`");

        value["events"] = Value::Array(vec![valid()["events"][0].clone(); MAX_EVENTS + 1]);
        assert_eq!(error_of(value), "events: expected 1 to 500 events, got `501`");
    }

    #[test]
    fn empty_and_long_keys_are_rejected() {
        let mut value = valid();
        value["site"] = json!("");
        assert_eq!(error_of(value.clone()), "site: must not be empty");

        value["site"] = json!("x".repeat(MAX_KEY_LEN + 1));
        assert!(error_of(value).contains("is longer than 128 characters"));
    }

    #[test]
    fn config_version_is_optional_text_of_at_most_64_characters() {
        let mut value = valid();
        assert_eq!(Batch::from_value(&value).unwrap().config_version, "");

        value["config_version"] = json!("3f2a9c01");
        assert_eq!(Batch::from_value(&value).unwrap().config_version, "3f2a9c01");

        value["config_version"] = json!(7);
        assert_eq!(error_of(value.clone()), "config_version: `7` is not a string");

        value["config_version"] = json!("v".repeat(MAX_CONFIG_VERSION_LEN + 1));
        let error = error_of(value);
        assert!(error.starts_with("config_version: `vvv"), "{error}");
        assert!(error.ends_with("` is longer than 64 characters"), "{error}");
    }

    #[test]
    fn missing_field_and_non_object_body_are_named() {
        let mut value = valid();
        value["events"][0].as_object_mut().unwrap().remove("id");
        assert_eq!(error_of(value), "events[0].id: is required");

        assert_eq!(error_of(json!([1])), "body: `[1]` is not an object");
    }

    #[test]
    fn event_names_follow_the_pattern() {
        assert!(is_event_name("a"));
        assert!(is_event_name("page_view"));
        assert!(is_event_name(&format!("a{}", "b".repeat(39))));
        assert!(!is_event_name(""));
        assert!(!is_event_name("1abc"));
        assert!(!is_event_name("_abc"));
        assert!(!is_event_name("a-b"));
        assert!(!is_event_name("é"));
        assert!(!is_event_name(&format!("a{}", "b".repeat(40))));
    }
}
