//! Hostile values pushed to the data layer or left in storage, natively: each test is named
//! after the threat it covers.
//!
//! The data-layer model (`Value::merge` in `src/json.rs`) is a list of key-value pairs, not a
//! JavaScript object, so keys such as `__proto__` are data like any other; in the page the glue
//! also skips `__proto__` keys while converting a push (`src/web/convert.rs`), cuts pushes at
//! 10 levels and 2,000 nodes, and hands the engine objects only.
#![cfg(not(target_arch = "wasm32"))]

use microfunnel::config::{decode, MAX_TEXT_LENGTH};
use microfunnel::engine::{Engine, Setup, MAX_PARAMS, MAX_PARAMS_BYTES};
use microfunnel::event::{Event, Page};
use microfunnel::host::NativeHost;
use microfunnel::json::{obj, Value};
use microfunnel::trigger::Observation;

const CONFIG: &str = r#"{
  "site": "s",
  "variables": { "plan": { "data_layer": "user.plan", "default": "free" } },
  "triggers": [
    { "id": "probe", "on": "data_layer", "name": "probe",
      "params": { "plan": "{{plan}}", "polluted": "{{dl.polluted}}",
                  "ctor": "{{constructor}}", "to_string": "{{dl.toString}}",
                  "proto": "{{dl.__proto__.polluted}}", "deep": "{{dl.deep}}" } },
    { "id": "guarded", "on": "data_layer", "name": "guarded",
      "when": [ { "var": "dl.polluted", "op": "equals", "value": "" },
                { "var": "dl.constructor.prototype.admin", "op": "not_equals", "value": "true" } ] },
    { "id": "cart", "on": "data_layer", "name": "add_to_cart" }
  ],
  "funnels": [ { "id": "f", "steps": [ { "event": "probe" }, { "event": "add_to_cart" } ] } ]
}"#;

const T0: f64 = 1_764_780_000_000.0;

fn engine(stored: Option<Value>) -> Engine {
    let decoded = decode(&Value::parse(CONFIG).unwrap(), &NativeHost::default());
    assert_eq!(decoded.errors, vec![], "config errors");
    let setup = Setup {
        config: decoded.config,
        page: Page::new("https://s.test/", "", ""),
        client_id: "c".into(),
        user_agent: "Mozilla/5.0".into(),
        stored,
        config_version: "v".into(),
    };
    Engine::new(setup, Box::new(NativeHost::default()))
}

fn push(engine: &mut Engine, json: &str, at: f64) -> Vec<Event> {
    engine.observe(&Observation::DataLayer { push: &Value::parse(json).unwrap() }, at)
}

fn named<'a>(events: &'a [Event], name: &str) -> &'a Event {
    events.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no `{name}` event"))
}

fn param<'a>(event: &'a Event, key: &str) -> &'a Value {
    event.params.get(key).unwrap_or(&Value::Null)
}

#[test]
fn proto_constructor_and_prototype_keys_in_a_push_pollute_nothing() {
    let mut e = engine(None);
    push(&mut e, r#"{ "user": { "plan": "pro" } }"#, T0);
    push(
        &mut e,
        r#"{ "__proto__": { "polluted": "yes", "plan": "hacked" },
             "constructor": { "prototype": { "admin": "true", "polluted": "yes" } },
             "prototype": { "polluted": "yes" }, "toString": null }"#,
        T0 + 1.0,
    );
    let out = push(&mut e, r#"{ "event": "probe" }"#, T0 + 2.0);
    let probe = named(&out, "probe");

    // Nothing pushed under those keys shows anywhere but under those keys.
    assert_eq!(param(probe, "polluted"), &Value::Null);
    assert_eq!(param(probe, "plan"), &Value::from("pro"));
    // A variable that is not defined reads nothing, whatever its name means to JavaScript.
    assert_eq!(param(probe, "ctor"), &Value::Null);
    assert_eq!(param(probe, "to_string"), &Value::Null);
    // What was pushed under `__proto__` is data, read back only by its own path.
    assert_eq!(param(probe, "proto"), &Value::from("yes"));

    // A condition guarding on the polluted names reads the pushed values, nothing inherited.
    let guarded = push(&mut e, r#"{ "event": "guarded" }"#, T0 + 3.0);
    assert!(guarded.iter().all(|e| e.name != "guarded"), "`constructor.prototype.admin` holds");
    let fresh = push(&mut engine(None), r#"{ "event": "guarded" }"#, T0);
    assert_eq!(named(&fresh, "guarded").name, "guarded", "another engine saw the pollution");
}

#[test]
fn proto_keys_in_a_push_neither_change_the_session_nor_the_funnels() {
    let mut e = engine(None);
    push(&mut e, r#"{ "event": "probe" }"#, T0);
    let before = e.state();
    push(
        &mut e,
        r#"{ "__proto__": { "session": null, "funnels": {} }, "session": "x", "funnels": [] }"#,
        T0,
    );
    assert_eq!(e.state(), before);
}

#[test]
fn a_push_nested_100000_levels_deep_is_refused_before_it_can_overflow_the_stack() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let deep = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        let parsed = Value::parse(&format!("{{\"event\":\"probe\",\"deep\":{deep}}}"));
        assert!(parsed.is_err(), "100,000 levels of `{open}` parsed");
    }
}

#[test]
fn the_deepest_push_that_parses_is_merged_read_and_sent_without_overflow() {
    // serde_json stops at 128 levels; the page's glue at 10.
    let deep = format!("{}1{}", "{\"a\":".repeat(126), "}".repeat(126));
    let mut e = engine(None);
    push(&mut e, &format!("{{\"deep\":{deep}}}"), T0);
    push(&mut e, &format!("{{\"deep\":{deep}}}"), T0 + 1.0);
    let out = push(&mut e, r#"{ "event": "probe" }"#, T0 + 2.0);
    let sent = param(named(&out, "probe"), "deep");
    let Value::Str(text) = sent else { panic!("`deep` is sent as {sent:?}") };
    assert_eq!(text.len(), MAX_TEXT_LENGTH, "the JSON of the deep value is cut");
    assert!(text.starts_with("{\"a\":{\"a\":"));
}

#[test]
fn a_huge_array_or_object_in_a_push_is_sent_within_the_param_limits() {
    let items: Vec<Value> = (0..100_000).map(|i| Value::Num(f64::from(i))).collect();
    let mut pairs = vec![("event".to_string(), "add_to_cart".into())];
    pairs.push(("items".to_string(), Value::Arr(items)));
    pairs.extend((0..10_000).map(|i| (format!("k{i}"), Value::from("v".repeat(100)))));
    let pushed = Value::Obj(pairs);
    let mut e = engine(None);
    let out = e.observe(&Observation::DataLayer { push: &pushed }, T0);
    let cart = named(&out, "add_to_cart");
    let Value::Obj(params) = &cart.params else { panic!("params are not an object") };
    assert_eq!(params.len(), MAX_PARAMS);
    let total: usize = params.iter().map(|(_, v)| v.as_str().map_or(0, str::len)).sum();
    assert!(total <= MAX_PARAMS_BYTES, "{total} bytes of params");
    assert_eq!(param(cart, "items").as_str().map(str::len), Some(MAX_TEXT_LENGTH));
}

#[test]
fn an_array_index_past_any_length_in_a_path_reads_nothing() {
    let model = Value::parse(r#"{ "items": [ { "id": "a" } ] }"#).unwrap();
    for path in ["items.1", "items.18446744073709551616", "items.-1", "items.0x0", "items..0"] {
        assert_eq!(model.path(path), None, "{path}");
    }
    assert_eq!(model.path("items.0.id"), Some(&Value::from("a")));
}

#[test]
fn a_stored_session_count_at_its_maximum_does_not_overflow() {
    let stored = Value::parse(
        r#"{ "session": { "id": "s-1", "started_at": 0, "last_at": 0, "number": 1e300 } }"#,
    )
    .unwrap();
    let mut e = engine(Some(stored));
    // The stored session has long expired: a new one starts, and the count, read as the
    // largest there is, starts again from 0 instead of overflowing (a panic in debug builds).
    let out = push(&mut e, r#"{ "event": "probe" }"#, T0);
    assert_eq!(named(&out, "probe").name, "probe");
    assert_ne!(e.session_id(), "s-1");
    let number = e.state().get("session").and_then(|s| s.get("number")).cloned();
    assert_eq!(number, Some(Value::Num(0.0)));
}

#[test]
fn stored_funnel_progress_out_of_order_cannot_count_more_steps_than_the_funnel_has() {
    let mut e = engine(None);
    push(&mut e, r#"{ "event": "probe" }"#, T0);
    let mut state = e.state();
    let Some(Value::Obj(funnels)) = state.get("funnels").cloned() else { panic!("no funnels") };
    let mut attempt = funnels[0].1.clone();
    attempt.set("reached", Value::Arr(vec![Value::Num(1.0), Value::Num(0.0)]));
    state.set("funnels", obj(vec![("f", attempt)]));

    let mut restored = engine(Some(state));
    let mut out = push(&mut restored, r#"{ "event": "probe" }"#, T0 + 1.0);
    out.extend(push(&mut restored, r#"{ "event": "add_to_cart" }"#, T0 + 2.0));
    for event in out.iter().filter(|e| e.name == "funnel_step") {
        let reached = param(event, "reached").as_f64().unwrap();
        assert!(reached <= 2.0, "reached {reached} of 2 steps");
    }
}

#[test]
fn a_backtracking_regex_the_config_check_lets_through_matches_in_linear_time_natively() {
    // Decoding refuses nested repetitions such as `(a+)+`, but not overlapping alternatives:
    // `^(a|aa)*$` backtracks exponentially in the browser's RegExp on `aaa…b`, while the
    // `regex` crate behind the native host matches in linear time. In the page the text that
    // reaches a regex has no size bound yet: see the README's Security section.
    let config = r#"{ "site": "s", "triggers": [ { "id": "t", "on": "data_layer", "name": "e",
        "when": [ { "var": "dl.text", "op": "not_matches_regex", "value": "^(a|aa)*$" } ] } ] }"#;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    assert_eq!(decoded.errors, vec![], "the check now sees overlapping alternatives");
    let setup = Setup {
        config: decoded.config,
        page: Page::new("https://s.test/", "", ""),
        client_id: "c".into(),
        user_agent: String::new(),
        stored: None,
        config_version: "v".into(),
    };
    let mut e = Engine::new(setup, Box::new(NativeHost::default()));
    let text = format!("{}b", "a".repeat(100_000));
    let pushed = obj(vec![("event", "e".into()), ("text", text.into())]);
    let started = std::time::Instant::now();
    let out = e.observe(&Observation::DataLayer { push: &pushed }, T0);
    assert_eq!(out.len(), 1, "the regex did not run to its answer");
    let took = started.elapsed();
    assert!(took.as_secs() < 5, "matching took {took:?}");
}

#[test]
fn texts_are_cut_to_the_configured_number_of_characters_not_bytes() {
    let config =
        CONFIG.replace(r#""site": "s","#, r#""site": "s", "privacy": { "max_text_length": 7 },"#);
    let decoded = decode(&Value::parse(&config).unwrap(), &NativeHost::default());
    assert_eq!(decoded.errors, vec![], "config errors");
    assert_eq!(decoded.config.max_text_length, 7);
    let setup = Setup {
        config: decoded.config,
        page: Page::new("https://s.test/", "", ""),
        client_id: "c".into(),
        user_agent: "Mozilla/5.0".into(),
        stored: None,
        config_version: "v".into(),
    };
    let mut e = Engine::new(setup, Box::new(NativeHost::default()));
    // Seven characters are eleven bytes here: a byte limit would have cut inside `ö`.
    let out = push(&mut e, r#"{ "event": "probe", "deep": "ünïcödé and more" }"#, T0);
    assert_eq!(param(named(&out, "probe"), "deep"), &Value::from("ünïcödé"));
}
