//! The published JSON Schema (`microfunnel.schema.json`): generated from the decoder's own
//! tables, kept current, and refusing the same broken configs at the same JSON paths as the
//! decoder (and so as the console).
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::Path;

use jsonschema::error::ValidationErrorKind;
use microfunnel::config::decode;
use microfunnel::host::NativeHost;
use microfunnel::json::Value as Json;
use microfunnel::schema::schema;
use serde_json::Value;

const PUBLISHED: &str = "microfunnel.schema.json";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The decoder's error paths for `config`.
fn decoder_paths(config: &str) -> Vec<String> {
    let decoded = decode(&Json::parse(config).unwrap(), &NativeHost::default());
    let mut paths: Vec<String> = decoded.errors.iter().map(|e| e.path.clone()).collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The schema's error paths for `config`, written as the decoder writes them: `a.b[2].c`, and
/// an unknown key's own path rather than its object's. A missing key is reported at its
/// object, as the decoder does, but at the top level the decoder names the key (`site`).
fn schema_paths(config: &str) -> Vec<String> {
    let validator = jsonschema::validator_for(&schema()).expect("the schema compiles");
    let instance: Value = serde_json::from_str(config).unwrap();
    let mut paths = Vec::new();
    for error in validator.iter_errors(&instance) {
        let pointer = error.instance_path.to_string();
        let mut path = String::new();
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            if segment.parse::<usize>().is_ok() {
                path.push_str(&format!("[{segment}]"));
            } else {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&segment);
            }
        }
        let join = |path: &str, key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            }
        };
        match &error.kind {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                paths.extend(unexpected.iter().map(|key| join(&path, key)));
            }
            ValidationErrorKind::Required { property } if path.is_empty() => {
                paths.push(property.as_str().unwrap_or_default().to_string());
            }
            _ => paths.push(path),
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn the_published_schema_is_the_generated_one() {
    let generated = serde_json::to_string_pretty(&schema()).unwrap() + "\n";
    let path = root().join(PUBLISHED);
    if std::env::var_os("MF_BLESS").is_some() {
        fs::write(&path, &generated).unwrap();
    }
    let published = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "{PUBLISHED} is out of date: run `MF_BLESS=1 cargo test --test schema` and commit it"
    );
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    assert!(jsonschema::meta::is_valid(&schema()));
}

/// Every config the project ships: the demo's, and the inline ones of the fixtures.
fn shipped_configs() -> Vec<(String, String)> {
    let mut configs = vec![(
        "www/config.json".to_string(),
        fs::read_to_string(root().join("www/config.json")).unwrap(),
    )];
    for entry in fs::read_dir(root().join("www/fixtures")).unwrap() {
        let path = entry.unwrap().path();
        let html = fs::read_to_string(&path).unwrap();
        let marker = r#"<script type="application/json" id="microfunnel-config">"#;
        let Some(start) = html.find(marker) else { continue };
        let body = &html[start + marker.len()..];
        let end = body.find("</script>").unwrap();
        configs.push((path.display().to_string(), body[..end].to_string()));
    }
    assert!(configs.len() >= 5, "found only {} configs", configs.len());
    configs
}

#[test]
fn every_shipped_config_gets_the_same_verdict_from_the_schema_and_the_decoder() {
    for (name, config) in shipped_configs() {
        assert_eq!(schema_paths(&config), decoder_paths(&config), "on {name}");
    }
    assert_eq!(
        decoder_paths(&fs::read_to_string(root().join("www/config.json")).unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn the_demo_config_refers_to_the_schema() {
    let demo: Value =
        serde_json::from_str(&fs::read_to_string(root().join("www/config.json")).unwrap()).unwrap();
    assert_eq!(demo["$schema"], "../microfunnel.schema.json");
}

#[test]
fn broken_configs_fail_at_the_same_paths_in_the_schema_and_the_decoder() {
    let trigger = |t: &str| format!(r#"{{ "site": "s", "triggers": [{t}] }}"#);
    let funnel = |f: &str| format!(r#"{{ "site": "s", "funnels": [{f}] }}"#);
    let cases: Vec<(String, &str)> = vec![
        (r#"{ "site": "s", "trigers": [] }"#.into(), "trigers"),
        (r#"{ "triggers": [] }"#.into(), "site"),
        (r#"{ "site": "s", "triggers": {} }"#.into(), "triggers"),
        (r#"{ "site": "s", "consent": { "default": "maybe" } }"#.into(), "consent.default"),
        (
            r#"{ "site": "s", "privacy": { "max_text_length": 501 } }"#.into(),
            "privacy.max_text_length",
        ),
        (
            r#"{ "site": "s", "privacy": { "redact_query_params": [7] } }"#.into(),
            "privacy.redact_query_params[0]",
        ),
        (
            r#"{ "site": "s", "collector": { "batch": { "max_events": 0 } } }"#.into(),
            "collector.batch.max_events",
        ),
        (r#"{ "site": "s", "session": { "idle_timeout": 30 } }"#.into(), "session.idle_timeout"),
        (
            trigger(
                r#"{ "id": "a", "on": "click" }, { "id": "b", "on": "click", "selectr": "a" }"#,
            ),
            "triggers[1].selectr",
        ),
        (trigger(r#"{ "on": "click" }"#), "triggers[0]"),
        (trigger(r#"{ "id": "a", "on": "hover" }"#), "triggers[0].on"),
        (trigger(r#"{ "id": "a", "on": "click", "percent": [50] }"#), "triggers[0].percent"),
        (
            trigger(r#"{ "id": "a", "on": "scroll", "percent": [50, 150] }"#),
            "triggers[0].percent[1]",
        ),
        (trigger(r#"{ "id": "a", "on": "visibility" }"#), "triggers[0]"),
        (
            trigger(r#"{ "id": "a", "on": "video", "event": "a_prefix_of_thirty_two_letters_x" }"#),
            "triggers[0].event",
        ),
        (trigger(r#"{ "id": "a", "on": "video", "event": "funnel" }"#), "triggers[0].event"),
        (
            trigger(r##"{ "id": "a", "on": "visibility", "selector": "#x", "fire": "twice" }"##),
            "triggers[0].fire",
        ),
        (trigger(r#"{ "id": "a", "on": "data_layer" }"#), "triggers[0]"),
        (trigger(r#"{ "id": "a", "on": "timer" }"#), "triggers[0]"),
        (
            trigger(r#"{ "id": "a", "on": "timer", "interval": "5s", "limit": -1 }"#),
            "triggers[0].limit",
        ),
        (trigger(r#"{ "id": "a", "on": "click", "event": "Add to cart" }"#), "triggers[0].event"),
        (trigger(r#"{ "id": "a", "on": "click", "event": "funnel_x" }"#), "triggers[0].event"),
        (
            trigger(r#"{ "id": "a", "on": "download", "download_attribute": "yes" }"#),
            "triggers[0].download_attribute",
        ),
        (
            trigger(r#"{ "id": "a", "on": "click", "params": { "x": [1] } }"#),
            "triggers[0].params.x",
        ),
        (
            trigger(
                r#"{ "id": "a", "on": "click", "when": [{ "var": "page.path", "op": "like", "value": "/" }] }"#,
            ),
            "triggers[0].when[0].op",
        ),
        (
            trigger(
                r#"{ "id": "a", "on": "click", "when": [{ "var": "page.path", "op": "equals" }] }"#,
            ),
            "triggers[0].when[0]",
        ),
        (
            trigger(
                r#"{ "id": "a", "on": "click", "unless": [{ "var": "x", "op": "equals", "value": 1, "ignore_case": 1 }] }"#,
            ),
            "triggers[0].unless[0].ignore_case",
        ),
        (
            funnel(r#"{ "id": "f", "entry": "half", "steps": [{ "event": "a" }] }"#),
            "funnels[0].entry",
        ),
        (funnel(r#"{ "id": "f", "steps": [] }"#), "funnels[0].steps"),
        (funnel(r#"{ "id": "f" }"#), "funnels[0]"),
        (
            funnel(r#"{ "id": "f", "window": "soon", "steps": [{ "event": "a" }] }"#),
            "funnels[0].window",
        ),
        (
            funnel(
                r#"{ "id": "f", "steps": [{ "event": "a", "within": "1 week" }, { "event": "b" }] }"#,
            ),
            "funnels[0].steps[0].within",
        ),
        (
            funnel(
                r#"{ "id": "f", "steps": [{ "event": "a", "follows": "soon" }, { "event": "b" }] }"#,
            ),
            "funnels[0].steps[0].follows",
        ),
        (
            funnel(
                r#"{ "id": "f", "steps": [{ "event": "a" }], "exclude": [{ "event": "b", "after_step": 0 }] }"#,
            ),
            "funnels[0].exclude[0].after_step",
        ),
        (
            funnel(r#"{ "id": "f", "steps": [{ "event": "a" }], "hold": "cart_id" }"#),
            "funnels[0].hold",
        ),
        (r#"{ "site": "s", "variables": { "v": { "cookie": 1 } } }"#.into(), "variables.v.cookie"),
    ];
    for (config, expected) in &cases {
        assert_eq!(decoder_paths(config), [*expected], "decoder on {config}");
        assert_eq!(schema_paths(config), [*expected], "schema on {config}");
    }
}

#[test]
fn a_zero_duration_is_refused_by_the_schema_as_by_the_decoder() {
    let visibility = |d: &str| {
        format!(
            r#"{{ "site": "s", "triggers": [{{ "id": "v", "on": "visibility", "selector": ".a",
                "min_duration": {d} }}] }}"#
        )
    };
    for zero in [r#""0s""#, r#""0.0m""#, r#""00h""#, "0"] {
        let config = visibility(zero);
        assert_eq!(decoder_paths(&config), ["triggers[0].min_duration"], "decoder on {zero}");
        assert_eq!(schema_paths(&config), ["triggers[0].min_duration"], "schema on {zero}");
    }
    let window = r#"{ "site": "s", "funnels": [{ "id": "f", "window": "0s", "steps": [{ "event": "a" }] }] }"#;
    assert_eq!(schema_paths(window), ["funnels[0].window"]);
    for fine in [r#""0.5s""#, r#""1.0s""#, r#""10s""#, r#""0.05m""#, r#""2h""#, "250"] {
        let config = visibility(fine);
        assert_eq!(decoder_paths(&config), Vec::<String>::new(), "decoder on {fine}");
        assert_eq!(schema_paths(&config), Vec::<String>::new(), "schema on {fine}");
    }
}
