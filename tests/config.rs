//! Config validation: every problem named by its JSON path, and the valid parts still run.
#![cfg(not(target_arch = "wasm32"))]

use microfunnel::config::{decode, Fire, TriggerKind};
use microfunnel::host::NativeHost;
use microfunnel::json::Value;

fn errors(config: &str) -> Vec<String> {
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    decoded.errors.iter().map(ToString::to_string).collect()
}

#[test]
fn a_typo_in_a_key_names_the_path_and_suggests_the_key() {
    let errs = errors(
        r#"{ "site": "s", "triggers": [
        { "id": "ok", "on": "page_view" },
        { "id": "typo", "on": "click", "selectr": "a" } ] }"#,
    );
    assert_eq!(errs, ["triggers[1].selectr: unknown key `selectr` (did you mean `selector`?)"]);
}

#[test]
fn broken_triggers_are_left_out_and_valid_ones_kept() {
    let config = r#"{ "site": "s", "triggers": [
        { "id": "ok", "on": "page_view" },
        { "id": "bad-on", "on": "hover" },
        { "id": "bad-op", "on": "click", "when": [{ "var": "page.path", "op": "is", "value": "/" }] },
        { "id": "bad-regex", "on": "click", "when": [{ "var": "page.path", "op": "matches_regex", "value": "(" }] },
        { "id": "bad-pct", "on": "scroll", "percent": [50, 150] },
        { "on": "click" },
        { "id": "ok2", "on": "scroll" } ] }"#;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    let paths: Vec<&str> = decoded.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "triggers[1].on",
            "triggers[2].when[0].op",
            "triggers[3].when[0].value",
            "triggers[4].percent[1]",
            "triggers[5]"
        ]
    );
    let ids: Vec<&str> = decoded.config.triggers.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["ok", "ok2"]);
    assert_eq!(
        decoded.config.triggers[1].kind,
        TriggerKind::Scroll { percent: vec![25.0, 50.0, 75.0, 90.0] }
    );
}

#[test]
fn wrong_types_name_what_was_found() {
    let errs = errors(
        r#"{ "site": 7, "triggers": {}, "collector": { "batch": { "max_events": "20" } } }"#,
    );
    assert_eq!(
        errs,
        [
            "site: expected a string, found a number",
            "triggers: expected an array, found an object",
            "collector.batch.max_events: expected a number, found a string",
            "site: a site name of 1 to 128 characters is required",
        ]
    );
}

#[test]
fn funnel_problems_name_the_step() {
    let errs = errors(
        r#"{ "site": "s", "funnels": [
        { "id": "f", "window": "soon", "steps": [ { "event": "a" } ] },
        { "id": "g", "steps": [ { "event": "a" }, { "name": "no event" }, { "event": "c", "within": "5x" } ] },
        { "id": "h", "steps": [] } ] }"#,
    );
    assert_eq!(
        errs,
        [
            "funnels[0].window: `soon` is not a duration: use milliseconds or 90s, 30m, 2h, 7d",
            "funnels[1].steps[1]: `event` is required",
            "funnels[1].steps[2].within: `5x` is not a duration: use milliseconds or 90s, 30m, 2h, 7d",
            "funnels[2].steps: a funnel needs at least one valid step",
        ]
    );
}

#[test]
fn duplicate_ids_and_bad_event_names_are_errors() {
    let errs = errors(
        r#"{ "site": "s", "triggers": [
        { "id": "a", "on": "page_view" }, { "id": "a", "on": "page_view" },
        { "id": "b", "on": "click", "event": "9lives" } ] }"#,
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with("triggers[2].event: `9lives` is not a valid event name"),
        "{errs:?}"
    );
    assert_eq!(errs[1], "triggers[1].id: id `a` is used more than once; this one is left out");
}

#[test]
fn a_duplicate_id_is_left_out_and_the_first_runs() {
    let config = r#"{ "site": "s", "triggers": [
        { "id": "a", "on": "page_view" }, { "id": "a", "on": "click" } ] }"#;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    assert_eq!(decoded.config.triggers.len(), 1);
    assert_eq!(decoded.config.triggers[0].kind, TriggerKind::PageView);
}

#[test]
fn a_typo_in_a_setting_changes_no_other_setting() {
    let config = r#"{ "site": "s", "collector": { "batch": { "max_event": 1 }, "endpont": "/x" },
        "session": { "idle_timeout": 1 } }"#;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    let paths: Vec<&str> = decoded.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["collector.endpont", "collector.batch.max_event", "session.idle_timeout"]);
    assert_eq!(decoded.config.batch.max_wait_ms, 5000.0);
    assert_eq!(decoded.config.batch.max_events, 20);
    assert_eq!(decoded.config.endpoint, "/collect");
    assert_eq!(decoded.config.idle_timeout_ms, 30.0 * 60_000.0);
}

#[test]
fn every_bad_threshold_is_reported() {
    let errs = errors(
        r#"{ "site": "s", "triggers": [ { "id": "r", "on": "scroll", "percent": [150, -1, "50", 75] } ] }"#,
    );
    let paths: Vec<&str> = errs.iter().map(|e| e.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        ["triggers[0].percent[0]", "triggers[0].percent[1]", "triggers[0].percent[2]"]
    );
}

#[test]
fn a_variable_with_an_error_is_left_out() {
    let config = r#"{ "site": "s", "variables": {
        "ok": { "constant": 1 }, "bad": { "data_layer": "x", "cookie": "y" } } }"#;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    let names: Vec<&str> = decoded.config.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["ok"]);
    assert_eq!(decoded.errors[0].path, "variables.bad.cookie");
}

#[test]
fn a_data_layer_name_that_is_no_event_name_needs_a_rename() {
    let errs = errors(
        r#"{ "site": "s", "triggers": [
        { "id": "a", "on": "data_layer", "name": "add-to-cart" },
        { "id": "b", "on": "data_layer", "name": "add-to-cart", "event": "add_to_cart" } ] }"#,
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("triggers[0].name: `add-to-cart` is not a valid event name"),
        "{errs:?}"
    );
}

#[test]
fn the_demo_config_is_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/config.json"));
    let Ok(text) = text else { return };
    assert_eq!(errors(&text), Vec::<String>::new());
}

#[test]
fn names_starting_with_funnel_are_reserved_for_the_tracker() {
    let errs = errors(
        r#"{ "site": "s",
        "triggers": [ { "id": "t", "on": "click", "event": "funnel_click" } ],
        "funnels": [ { "id": "f", "steps": [ { "event": "funnel_step" } ] } ] }"#,
    );
    let paths: Vec<&str> = errs.iter().map(|e| e.split(':').next().unwrap()).collect();
    assert_eq!(paths, ["triggers[0].event", "funnels[0].steps[0].event", "funnels[0].steps"]);
}

#[test]
fn consent_settings_are_checked_with_their_paths() {
    let good = r#"{ "site": "s", "consent": { "default": "denied", "wait_for_update_ms": 500,
        "honor_gpc": true, "honor_dnt": false } }"#;
    assert_eq!(errors(good), Vec::<String>::new());

    let errs = errors(
        r#"{ "site": "s", "consent": { "default": "deny", "wait_for_update_ms": -1,
        "honor_gpc": "yes", "honour_dnt": true } }"#,
    );
    assert_eq!(
        errs,
        [
            "consent.honour_dnt: unknown key `honour_dnt`",
            "consent.default: expected one of `granted`, `denied`, found `deny`",
            "consent.wait_for_update_ms: `-1` is out of range: 0 to 60000",
            "consent.honor_gpc: expected a boolean, found a string",
        ]
    );
}

#[test]
fn privacy_settings_are_checked_with_their_paths() {
    let good = r#"{ "site": "s", "privacy": { "redact_query_params": ["token", "email"],
        "max_text_length": 100 } }"#;
    assert_eq!(errors(good), Vec::<String>::new());

    let errs = errors(
        r#"{ "site": "s", "privacy": { "redact_query_params": "token", "max_text_length": 0,
        "max_text_lenght": 9 } }"#,
    );
    assert_eq!(
        errs,
        [
            "privacy.max_text_lenght: unknown key `max_text_lenght` (did you mean `max_text_length`?)",
            "privacy.redact_query_params: expected an array of strings, found a string",
            "privacy.max_text_length: `0` is out of range: 1 to 500",
        ]
    );
    let errs = errors(r#"{ "site": "s", "privacy": { "redact_query_params": ["a", ""] } }"#);
    assert_eq!(errs, ["privacy.redact_query_params[1]: expected a non-empty string"]);
}

#[test]
fn visibility_triggers_need_a_selector_and_check_their_options_by_path() {
    let config = r##"{ "site": "s", "triggers": [
        { "id": "a", "on": "visibility" },
        { "id": "b", "on": "visibility", "selector": "#x", "percent": 0 },
        { "id": "c", "on": "visibility", "selector": "#x", "fire": "twice" },
        { "id": "d", "on": "visibility", "selector": "#x", "min_duration": "soon" },
        { "id": "e", "on": "visibility", "selector": "#x", "percent": 100, "min_duration": "1.5s",
          "fire": "every_time" }
    ] }"##;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    let errors: Vec<String> = decoded.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "triggers[0]: `selector` is required",
            "triggers[1].percent: `0` is out of range: 1 to 100",
            "triggers[2].fire: expected one of `once_per_page`, `once_per_element`, `every_time`, found `twice`",
            "triggers[3].min_duration: `soon` is not a duration: use milliseconds or 90s, 30m, 2h, 7d",
        ]
    );
    assert_eq!(decoded.config.triggers.len(), 1);
    assert_eq!(
        decoded.config.triggers[0].kind,
        TriggerKind::Visibility { percent: 100.0, min_ms: 1500.0, fire: Fire::EveryTime }
    );
}

#[test]
fn a_regex_that_can_backtrack_for_ever_is_refused_with_its_path() {
    use microfunnel::text::repeats_a_repetition;
    for hanging in [r"(a+)+$", r"^(\w*)*@", r"((ab)+c){2,}", r"(x|y+)*z", r"(?:\d+)+"] {
        assert!(repeats_a_repetition(hanging), "{hanging}");
    }
    for fine in
        [r"^/(index\.html)?$", r"(ab)+", r"a+b*", r"[(+)]+", r"\(a+\)+", r"(a)(b+)", r"^(\w+)@"]
    {
        assert!(!repeats_a_repetition(fine), "{fine}");
    }
    let config = r#"{ "site": "s", "triggers": [{ "id": "t", "on": "click",
        "when": [{ "var": "click.text", "op": "matches_regex", "value": "^(a+)+$" }] }] }"#;
    assert_eq!(
        errors(config),
        ["triggers[0].when[0].value: `^(a+)+$` repeats a repetition, which can hang the page: unnest it"]
    );
}

#[test]
fn a_timer_needs_an_interval_and_a_limit_in_range() {
    let config = r#"{ "site": "s", "triggers": [
        { "id": "a", "on": "timer" },
        { "id": "b", "on": "timer", "interval": "2s", "limit": -1 },
        { "id": "c", "on": "timer", "interval": "1m", "limit": 3 }
    ] }"#;
    assert_eq!(
        errors(config),
        [
            "triggers[0]: `interval` is required",
            "triggers[1].limit: `-1` is out of range: 0 to 1000000",
        ]
    );
}

#[test]
fn a_video_event_prefix_whose_progress_event_would_be_refused_is_an_error() {
    // `_progress` after a 32-letter prefix makes 41 characters: the collector refuses any
    // batch that holds it, and `funnel` would make the tracker's own `funnel_*` names.
    let long = "a".repeat(31);
    let config = format!(
        r#"{{ "site": "s", "triggers": [
        {{ "id": "ok", "on": "video", "event": "{long}" }},
        {{ "id": "long", "on": "video", "event": "{long}b" }},
        {{ "id": "own", "on": "video", "event": "funnel" }} ] }}"#
    );
    let decoded = decode(&Value::parse(&config).unwrap(), &NativeHost::default());
    let paths: Vec<&str> = decoded.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["triggers[1].event", "triggers[2].event"]);
    assert!(decoded.errors[0].message.contains(&format!("`{long}b_progress`")));
    assert_eq!(decoded.config.triggers.len(), 1);
}

#[test]
fn funnel_rule_errors_never_name_a_step_other_than_the_one_written() {
    // The rules across a funnel's keys are checked once no step or exclusion was left out:
    // before, the indexes of what decoded would not be those of what was written.
    let broken = r#"{ "site": "s", "funnels": [ { "id": "f", "order": "any",
        "steps": [ { "event": "1bad" }, { "event": "b", "within": "5m" } ],
        "exclude": [ { "event": "nope", "when": "x" }, { "event": "x", "after_step": 3 } ] } ] }"#;
    assert_eq!(
        errors(broken),
        [
            "funnels[0].steps[0].event: `1bad` is not a valid event name: a letter, then letters, digits or `_`, at most 40",
            "funnels[0].exclude[0].when: expected an array, found a string",
        ]
    );
    let fixed = broken.replace("1bad", "a").replace(r#""when": "x""#, r#""when": []"#);
    assert_eq!(
        errors(&fixed),
        [
            "funnels[0].steps[1].within: `within` needs steps in sequence, not `order: any`",
            "funnels[0].exclude[1].after_step: the funnel has steps 1 to 2",
        ]
    );
}
