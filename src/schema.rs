//! The JSON Schema of the config, for editors that check a config as it is typed.
//!
//! It is generated, not written: every object's keys and every choice's names come from the
//! constants the decoder itself checks against (`config::ROOT_KEYS`, `config::TRIGGER_TYPES`,
//! `condition::Op::ALL`, ...), and every key the decoder knows must have a schema here or
//! [`schema`] panics, which the tests catch. `tests/schema.rs` keeps the published file,
//! `microfunnel.schema.json`, equal to what this returns, and checks that the schema and the
//! decoder refuse the same broken configs at the same JSON paths.
//!
//! What a schema cannot say is left to the decoder: whether a selector or a regex compiles in
//! the browser, duplicate ids, templates, and the rules that span keys (`within` with
//! `order: any`, a step number past the last step).

use serde_json::{json, Map, Value};

use crate::condition::Op;
use crate::config::{
    BATCH_KEYS, COLLECTOR_KEYS, CONDITION_KEYS, CONSENT_KEYS, CONSENT_STATES, ENTRIES,
    EXCLUSION_KEYS, FIRES, FOLLOWS, FUNNEL_KEYS, MAX_TEXT_LENGTH, ORDERS, PRIVACY_KEYS, ROOT_KEYS,
    SCOPES, SESSION_KEYS, STEP_KEYS, TRIGGER_KEYS, TRIGGER_TYPES, VARIABLE_KEYS,
};

/// Where the schema is published, as its `$id`.
pub const ID: &str = "https://microfunnel.dev/microfunnel.schema.json";

/// The schema, draft 2020-12.
pub fn schema() -> Value {
    let mut root = object(ROOT_KEYS, root_key, &["site"]);
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["$id"] = json!(ID);
    root["title"] = json!("microfunnel config");
    root["$defs"] = json!({
        "condition": object(CONDITION_KEYS, condition_key, &["var", "op", "value"]),
        "conditions": { "type": "array", "items": { "$ref": "#/$defs/condition" } },
        // Above zero, as the decoder wants: `0s` and `0.0m` are refused as `0` is. The
        // pattern needs a digit other than 0 before or after the point (no look-ahead, which
        // not every validator has).
        "duration": {
            "description": "Milliseconds, or a number with s, m, h or d: 90s, 30m, 2h, 7d.",
            "oneOf": [
                { "type": "number", "exclusiveMinimum": 0 },
                {
                    "type": "string",
                    "pattern": "^([0-9]*[1-9][0-9]*(\\.[0-9]+)?|[0-9]+\\.[0-9]*[1-9][0-9]*)[smhd]$"
                }
            ]
        },
        "event_name": {
            "type": "string",
            "pattern": "^[A-Za-z][A-Za-z0-9_]{0,39}$",
            "not": { "pattern": "^funnel_" },
            "description": "A letter, then letters, digits or _, at most 40; not funnel_*."
        },
        "percents": {
            "type": "array",
            "items": { "type": "number", "minimum": 0, "maximum": 100 }
        },
        "text": { "type": "string", "minLength": 1 },
        "texts": { "type": "array", "items": { "$ref": "#/$defs/text" } },
        "trigger": trigger(),
        "funnel": object(FUNNEL_KEYS, funnel_key, &["id", "steps"]),
        "step": object(STEP_KEYS, step_key, &["event"]),
        "exclusion": object(EXCLUSION_KEYS, exclusion_key, &["event"]),
        "variable": variable(),
    });
    root
}

/// An object with exactly `keys`, each described by `describe`.
fn object(keys: &[&str], describe: fn(&str) -> Option<Value>, required: &[&str]) -> Value {
    let mut properties = Map::new();
    for key in keys {
        let schema = describe(key).unwrap_or_else(|| panic!("no schema for the key `{key}`"));
        properties.insert((*key).to_string(), schema);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

fn names<T>(options: &[(&str, T)]) -> Value {
    json!({ "enum": options.iter().map(|(name, _)| *name).collect::<Vec<_>>() })
}

fn number(min: f64, max: f64) -> Value {
    json!({ "type": "number", "minimum": min, "maximum": max })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{name}") })
}

fn root_key(key: &str) -> Option<Value> {
    Some(match key {
        "$schema" => json!({ "type": "string" }),
        "site" => json!({ "type": "string", "minLength": 1, "maxLength": 128 }),
        "collector" => object(COLLECTOR_KEYS, collector_key, &[]),
        "session" => object(SESSION_KEYS, |_| Some(number(1.0, 1440.0)), &[]),
        "consent" => object(CONSENT_KEYS, consent_key, &[]),
        "privacy" => object(PRIVACY_KEYS, privacy_key, &[]),
        "variables" => {
            json!({ "type": "object", "additionalProperties": reference("variable") })
        }
        "triggers" => json!({ "type": "array", "items": reference("trigger") }),
        "funnels" => json!({ "type": "array", "items": reference("funnel") }),
        "preset" => json!({
            "enum": ["ga4"],
            "description": "GA4's enhanced measurement, with GA4's event and parameter names.",
        }),
        _ => return None,
    })
}

fn collector_key(key: &str) -> Option<Value> {
    Some(match key {
        "endpoint" => reference("text"),
        "batch" => object(BATCH_KEYS, |_| Some(number(1.0, 3_600_000.0)), &[]),
        _ => return None,
    })
}

fn consent_key(key: &str) -> Option<Value> {
    Some(match key {
        "default" => names(CONSENT_STATES),
        "wait_for_update_ms" => number(0.0, 60_000.0),
        "honor_gpc" | "honor_dnt" | "cookieless" => json!({ "type": "boolean" }),
        _ => return None,
    })
}

fn privacy_key(key: &str) -> Option<Value> {
    Some(match key {
        "redact_query_params" => reference("texts"),
        "max_text_length" => number(1.0, MAX_TEXT_LENGTH as f64),
        _ => return None,
    })
}

/// One source (`data_layer`, `url_query`, `cookie` or `constant`) and an optional `default`.
fn variable() -> Value {
    let mut variable = object(VARIABLE_KEYS, variable_key, &[]);
    let sources: Vec<Value> = VARIABLE_KEYS
        .iter()
        .filter(|key| **key != "default")
        .map(|key| json!({ "required": [key] }))
        .collect();
    variable["oneOf"] = Value::Array(sources);
    variable
}

fn variable_key(key: &str) -> Option<Value> {
    Some(match key {
        "data_layer" | "url_query" | "cookie" => json!({ "type": "string" }),
        "constant" | "default" => json!({}),
        _ => return None,
    })
}

/// The keys every trigger has, the type's own keys when `on` names it, nothing else.
///
/// Every type's keys are declared (as `true`) at the top, where `additionalProperties` refuses
/// any other key; each type's branch then checks its own keys and forbids the other types' keys
/// (a `false` schema reports at the key's own path, as the decoder does). Not
/// `unevaluatedProperties`: in draft 2020-12 a key whose value fails counts as unevaluated, and
/// every wrong value would also be reported as an unknown key.
fn trigger() -> Value {
    let mut properties = Map::new();
    for key in TRIGGER_KEYS {
        let schema = trigger_key(key).unwrap_or_else(|| panic!("no schema for the key `{key}`"));
        properties.insert((*key).to_string(), schema);
    }
    let types: Vec<&str> = TRIGGER_TYPES.iter().map(|(name, _)| *name).collect();
    properties.insert("on".into(), json!({ "enum": types }));
    for (_, own) in TRIGGER_TYPES {
        for key in *own {
            properties.insert((*key).to_string(), json!(true));
        }
    }
    let mut branches = Vec::new();
    for (name, own) in TRIGGER_TYPES {
        let mut branch_properties = Map::new();
        for (_, others) in TRIGGER_TYPES {
            for key in *others {
                branch_properties.insert((*key).to_string(), json!(false));
            }
        }
        for key in *own {
            let schema = type_key(name, key)
                .unwrap_or_else(|| panic!("no schema for the key `{key}` of `{name}` triggers"));
            branch_properties.insert((*key).to_string(), schema);
        }
        if *name == "video" {
            // The decoder checks a video trigger's `event` as the prefix of `<event>_progress`,
            // the longest of its names, which must be an event name too.
            branch_properties.insert(
                "event".into(),
                json!({
                    "type": "string",
                    "pattern": "^[A-Za-z][A-Za-z0-9_]{0,30}$",
                    "not": { "const": "funnel" },
                    "description": "The prefix of <event>_start, _progress and _complete: at most 31."
                }),
            );
        }
        let mut then = json!({ "properties": branch_properties });
        let required = type_required(name);
        if !required.is_empty() {
            then["required"] = json!(required);
        }
        branches.push(json!({
            "if": { "properties": { "on": { "const": name } }, "required": ["on"] },
            "then": then
        }));
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": ["id", "on"],
        "allOf": branches,
        "additionalProperties": false
    })
}

fn trigger_key(key: &str) -> Option<Value> {
    Some(match key {
        "id" | "selector" => reference("text"),
        "on" => json!({}),
        "event" => reference("event_name"),
        "params" => json!({
            "type": "object",
            "description": "Event params: text with {{variable}} templates, numbers or booleans.",
            "additionalProperties": { "type": ["string", "number", "boolean"] }
        }),
        "when" | "unless" => reference("conditions"),
        _ => return None,
    })
}

fn type_key(kind: &str, key: &str) -> Option<Value> {
    Some(match (kind, key) {
        ("scroll", "percent") | ("video", "progress_percent") => reference("percents"),
        ("download", "extensions") => reference("texts"),
        ("download", "download_attribute") | ("video", "pause_and_seek") => {
            json!({ "type": "boolean" })
        }
        ("data_layer", "name") => reference("event_name"),
        ("visibility", "percent") => number(1.0, 100.0),
        ("visibility", "min_duration") => reference("duration"),
        ("visibility", "fire") => names(FIRES),
        ("timer", "interval") => reference("duration"),
        ("timer", "limit") => number(0.0, 1e6),
        _ => return None,
    })
}

fn type_required(kind: &str) -> &'static [&'static str] {
    match kind {
        "data_layer" => &["name"],
        "visibility" => &["selector"],
        "timer" => &["interval"],
        _ => &[],
    }
}

fn condition_key(key: &str) -> Option<Value> {
    let mut ops: Vec<String> = Op::ALL.iter().map(|op| op.name().to_string()).collect();
    ops.extend(Op::ALL.iter().map(|op| format!("not_{}", op.name())));
    Some(match key {
        "op" => json!({ "enum": ops }),
        "var" => reference("text"),
        "value" => json!({ "type": ["string", "number", "boolean"] }),
        "ignore_case" => json!({ "type": "boolean" }),
        _ => return None,
    })
}

fn funnel_key(key: &str) -> Option<Value> {
    Some(match key {
        "id" | "name" => reference("text"),
        "entry" => names(ENTRIES),
        "order" => names(ORDERS),
        "scope" => names(SCOPES),
        "window" => reference("duration"),
        "steps" => json!({ "type": "array", "minItems": 1, "items": reference("step") }),
        "exclude" => json!({ "type": "array", "items": reference("exclusion") }),
        "hold" | "ignore_between" => reference("texts"),
        "css_class" => json!({ "type": "boolean" }),
        _ => return None,
    })
}

fn step_key(key: &str) -> Option<Value> {
    Some(match key {
        "name" => reference("text"),
        "event" => reference("event_name"),
        "when" => reference("conditions"),
        "within" => reference("duration"),
        "follows" => names(FOLLOWS),
        _ => return None,
    })
}

fn exclusion_key(key: &str) -> Option<Value> {
    Some(match key {
        "event" => reference("text"),
        "when" => reference("conditions"),
        "after_step" | "before_step" => number(1.0, 1000.0),
        _ => return None,
    })
}
