//! The engine end to end, natively: config in, observations in, events and funnels out.
#![cfg(not(target_arch = "wasm32"))]

use microfunnel::config::decode;
use microfunnel::dom::fake::FakeElement;
use microfunnel::engine::{Engine, Setup};
use microfunnel::event::{Event, Page};
use microfunnel::host::NativeHost;
use microfunnel::json::Value;
use microfunnel::trigger::{Media, MediaAction, Observation};

const DEMO: &str = r#"{
  "site": "demo-shop",
  "collector": { "endpoint": "/collect", "batch": { "max_events": 20, "max_wait_ms": 2000 } },
  "session": { "idle_timeout_min": 30 },
  "triggers": [
    { "id": "pageviews", "on": "page_view" },
    { "id": "cta", "on": "click", "selector": "[data-cta], .btn-primary", "event": "click_cta",
      "params": { "cta_text": "{{click.text}}", "cta_url": "{{click.url}}" } },
    { "id": "read", "on": "scroll", "percent": [25, 50, 75, 90] },
    { "id": "video", "on": "video", "selector": "video", "progress_percent": [10, 25, 50, 75] },
    { "id": "files", "on": "download", "extensions": ["pdf", "zip", "csv"] },
    { "id": "newsletter", "on": "form_submit", "selector": "form#newsletter", "event": "subscribe_newsletter" },
    { "id": "view_item", "on": "data_layer", "name": "view_item" },
    { "id": "cart", "on": "data_layer", "name": "add_to_cart" }
  ],
  "funnels": [
    { "id": "checkout", "name": "Checkout", "entry": "closed", "scope": "session", "window": "30m",
      "steps": [
        { "name": "Landing", "event": "page_view",
          "when": [{ "var": "page.path", "op": "matches_regex", "value": "^/(index\\.html)?$" }] },
        { "name": "Product detail", "event": "view_item" },
        { "name": "Add to cart", "event": "add_to_cart", "within": "10m" },
        { "name": "Checkout", "event": "click_cta",
          "when": [{ "var": "params.cta_text", "op": "contains", "value": "checkout", "ignore_case": true }] }
      ] }
  ]
}"#;

const T0: f64 = 1_764_780_000_000.0;

fn engine_on(config: &str, url: &str, stored: Option<Value>) -> Engine {
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    assert_eq!(decoded.errors, vec![], "config errors");
    let setup = Setup {
        config: decoded.config,
        page: Page::new(url, "Title", ""),
        client_id: "c-1".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        stored,
        config_version: "test".into(),
    };
    Engine::new(setup, Box::new(NativeHost::default()))
}

fn names(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_str()).collect()
}

fn param<'a>(event: &'a Event, key: &str) -> &'a Value {
    event.params.get(key).unwrap_or(&Value::Null)
}

fn push(json: &str) -> Value {
    Value::parse(json).unwrap()
}

#[test]
fn click_on_span_inside_cta_counts_for_the_cta() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    let cta = FakeElement::new("a")
        .attr("data-cta", "")
        .attr("id", "hero")
        .url("http://shop.test/product.html");
    let span = FakeElement::new("span")
        .text("  Shop the\n Trailrunner ")
        .inside(cta.text("Shop the Trailrunner"));
    let out = e.observe(&Observation::Click { target: &span }, T0);
    assert_eq!(names(&out), ["click_cta"]);
    assert_eq!(param(&out[0], "cta_text"), &Value::from("Shop the Trailrunner"));
    assert_eq!(param(&out[0], "cta_url"), &Value::from("http://shop.test/product.html"));
    assert_eq!(param(&out[0], "click_id"), &Value::from("hero"));
}

#[test]
fn click_outside_any_cta_makes_no_event_and_explain_says_why() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    let p = FakeElement::new("p").text("just text");
    assert!(e.observe(&Observation::Click { target: &p }, T0).is_empty());
    let why = e.explain("cta", T0);
    assert!(why.contains("not inside `[data-cta], .btn-primary`"), "{why}");
}

#[test]
fn scroll_thresholds_fire_once_per_page_and_all_that_were_passed() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    let at = |p: f64| Observation::Scroll { percent: p };
    assert!(e.observe(&at(10.0), T0).is_empty());
    let jump = e.observe(&at(80.0), T0 + 1.0);
    let thresholds: Vec<&Value> = jump.iter().map(|ev| param(ev, "percent_scrolled")).collect();
    assert_eq!(thresholds, [&Value::Num(25.0), &Value::Num(50.0), &Value::Num(75.0)]);
    assert!(e.observe(&at(30.0), T0 + 2.0).is_empty());
    assert!(e.observe(&at(79.0), T0 + 3.0).is_empty());
    assert_eq!(names(&e.observe(&at(95.0), T0 + 4.0)), ["scroll_depth"]);
}

#[test]
fn downloads_match_extensions_case_insensitively_with_query_and_fragment() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    let cases = [
        ("http://shop.test/files/REPORT.PDF?v=3#page=2", None, Some(("REPORT.PDF", "pdf"))),
        ("http://shop.test/a/spec.pdf", None, Some(("spec.pdf", "pdf"))),
        ("http://shop.test/export?format=csv", None, None),
        ("http://shop.test/pdf/", None, None),
        ("http://shop.test/get?id=7", Some("brochure.docx"), Some(("brochure.docx", "docx"))),
    ];
    for (url, download, expected) in cases {
        let mut link = FakeElement::new("a").attr("href", url).url(url).text("Get it");
        if let Some(name) = download {
            link = link.attr("download", name);
        }
        let out = e.observe(&Observation::Click { target: &link }, T0);
        let got: Vec<_> = out.iter().filter(|ev| ev.name == "file_download").collect();
        match expected {
            None => assert!(got.is_empty(), "{url} is not a download"),
            Some((file, ext)) => {
                assert_eq!(got.len(), 1, "{url}");
                assert_eq!(param(got[0], "file_name"), &Value::from(file), "{url}");
                assert_eq!(param(got[0], "file_extension"), &Value::from(ext), "{url}");
                assert_eq!(param(got[0], "link_url"), &Value::from(url));
            }
        }
    }
}

fn media(action: MediaAction, current_time: f64, video: &FakeElement) -> Observation<'_> {
    let source = "http://shop.test/v.webm";
    Observation::Media(Media {
        key: 0,
        action,
        current_time,
        duration: 10.0,
        source,
        provider: "html5",
        title: "Trailrunner in action",
        element: video,
    })
}

#[test]
fn video_start_progress_and_complete_each_once_per_playback() {
    let mut e = engine_on(DEMO, "http://shop.test/product.html", None);
    let video = FakeElement::new("video");
    let mut all = Vec::new();
    for (action, t) in [
        (MediaAction::Play, 0.0),
        (MediaAction::Progress, 0.5),
        (MediaAction::Progress, 1.2),
        (MediaAction::Progress, 2.0),
        (MediaAction::Play, 2.0),
        (MediaAction::Progress, 2.6),
        (MediaAction::Progress, 5.6),
        (MediaAction::Progress, 5.7),
    ] {
        all.extend(e.observe(&media(action, t, &video), T0));
    }
    assert_eq!(names(&all), ["video_start", "video_progress", "video_progress", "video_progress"]);
    let percents: Vec<&Value> = all[1..].iter().map(|ev| param(ev, "video_percent")).collect();
    assert_eq!(percents, [&Value::Num(10.0), &Value::Num(25.0), &Value::Num(50.0)]);
    assert_eq!(param(&all[0], "video_title"), &Value::from("Trailrunner in action"));
    assert_eq!(param(&all[0], "video_url"), &Value::from("http://shop.test/v.webm"));
    let end = e.observe(&media(MediaAction::Ended, 10.0, &video), T0);
    assert_eq!(names(&end), ["video_complete"]);
    // A replay is a new playback: it starts again.
    assert_eq!(names(&e.observe(&media(MediaAction::Play, 0.0, &video), T0)), ["video_start"]);
}

#[test]
fn pause_and_seek_are_reported_when_asked_and_never_change_progress() {
    // Thresholds 25/50/75: play to 20 %, pause, play, seek to 80 %, pause at the end, ended.
    let run = |pause_and_seek: bool| {
        let config = format!(
            r#"{{ "site": "s", "collector": {{ "endpoint": "/c" }}, "triggers": [
              {{ "id": "v", "on": "video", "progress_percent": [25, 50, 75],
                 "pause_and_seek": {pause_and_seek} }} ] }}"#
        );
        let mut e = engine_on(&config, "http://shop.test/", None);
        let video = FakeElement::new("video");
        let steps = [
            (MediaAction::Play, 0.0),
            (MediaAction::Progress, 2.0),
            (MediaAction::Pause, 2.0),
            (MediaAction::Play, 2.0),
            (MediaAction::Seek, 8.0),
            (MediaAction::Progress, 8.0),
            (MediaAction::Pause, 10.0),
            // A looping video seeks to the start: not a seek the visitor made.
            (MediaAction::Seek, 0.0),
            (MediaAction::Ended, 10.0),
        ];
        let mut out = Vec::new();
        for (action, at) in steps {
            for event in e.observe(&media(action, at, &video), T0) {
                out.push(format!("{} {}", event.name, param(&event, "video_percent").to_text()));
            }
        }
        out
    };
    let plain = run(false);
    assert_eq!(
        plain,
        [
            "video_start 0",
            "video_progress 25",
            "video_progress 50",
            "video_progress 75",
            "video_complete 100"
        ]
    );
    let detailed = run(true);
    assert_eq!(
        detailed,
        [
            "video_start 0",
            "video_pause 20",
            "video_seek 80",
            "video_progress 25",
            "video_progress 50",
            "video_progress 75",
            "video_complete 100"
        ]
    );
    let progress = |all: &[String]| -> Vec<String> {
        all.iter().filter(|e| !e.contains("_pause") && !e.contains("_seek")).cloned().collect()
    };
    assert_eq!(progress(&detailed), plain);
}

#[test]
fn form_submit_matches_the_selector_and_carries_the_form_id() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    let form =
        FakeElement::new("form").attr("id", "newsletter").url("http://shop.test/thanks.html");
    let out = e.observe(&Observation::Submit { form: &form, start: false }, T0);
    assert_eq!(names(&out), ["subscribe_newsletter"]);
    assert_eq!(param(&out[0], "form_id"), &Value::from("newsletter"));
    let other = FakeElement::new("form").attr("id", "search");
    assert!(e.observe(&Observation::Submit { form: &other, start: false }, T0).is_empty());
}

#[test]
fn form_start_and_form_submit_are_told_apart_and_each_matches_its_selector() {
    let config = r#"{ "site": "s", "collector": { "endpoint": "/c" }, "triggers": [
      { "id": "begun", "on": "form_start", "selector": "form#signup" },
      { "id": "sent", "on": "form_submit" } ] }"#;
    let mut e = engine_on(config, "http://shop.test/", None);
    let signup = FakeElement::new("form").attr("id", "signup").url("http://shop.test/join");
    let out = e.observe(&Observation::Submit { form: &signup, start: true }, T0);
    assert_eq!(names(&out), ["form_start"]);
    assert_eq!(param(&out[0], "form_id"), &Value::from("signup"));
    assert_eq!(param(&out[0], "form_destination"), &Value::from("http://shop.test/join"));
    let out = e.observe(&Observation::Submit { form: &signup, start: false }, T0);
    assert_eq!(names(&out), ["form_submit"]);
    let search = FakeElement::new("form").attr("id", "search");
    assert!(e.observe(&Observation::Submit { form: &search, start: true }, T0).is_empty());
}

#[test]
fn dom_ready_and_window_loaded_fire_on_the_loaders_stage_events_only() {
    let config = r#"{ "site": "s", "collector": { "endpoint": "/c" }, "triggers": [
      { "id": "ready", "on": "dom_ready" },
      { "id": "loaded", "on": "window_loaded", "event": "page_loaded" } ] }"#;
    let mut e = engine_on(config, "http://shop.test/", None);
    let stage = |name: &str| push(&format!(r#"{{"event": "{name}"}}"#));
    let ready = stage("dom_ready");
    assert_eq!(names(&e.observe(&Observation::DataLayer { push: &ready }, T0)), ["dom_ready"]);
    let loaded = stage("window_loaded");
    assert_eq!(names(&e.observe(&Observation::DataLayer { push: &loaded }, T0)), ["page_loaded"]);
    let other = stage("add_to_cart");
    assert!(e.observe(&Observation::DataLayer { push: &other }, T0).is_empty());
}

#[test]
fn click_outbound_is_true_only_for_a_web_link_to_another_host() {
    let config = r#"{ "site": "s", "collector": { "endpoint": "/c" }, "triggers": [
      { "id": "out", "on": "click", "selector": "a", "event": "click",
        "when": [{ "var": "click.outbound", "op": "equals", "value": true }] } ] }"#;
    let mut e = engine_on(config, "http://shop.test/", None);
    let link = |url: &str| FakeElement::new("a").url(url);
    let clicked = |e: &mut Engine, url: &str| {
        names(&e.observe(&Observation::Click { target: &link(url) }, T0)).len()
    };
    assert_eq!(clicked(&mut e, "https://partner.example/offer?x=1"), 1);
    assert_eq!(clicked(&mut e, "http://shop.test/product.html"), 0);
    assert_eq!(clicked(&mut e, "https://shop.test:443/secure"), 0);
    assert_eq!(clicked(&mut e, "mailto:help@shop.test"), 0);
    assert_eq!(clicked(&mut e, "tel:+15550100"), 0);
}

#[test]
fn the_demo_funnel_steps_in_order_and_completes() {
    let mut landing = engine_on(DEMO, "http://shop.test/", None);
    let out = landing.observe(&Observation::PageView, T0);
    assert_eq!(names(&out), ["page_view", "funnel_step"]);
    assert_eq!(param(&out[1], "step"), &Value::Num(1.0));
    assert_eq!(out[0].funnels, vec![("checkout".to_string(), 1)]);

    // Progress survives a page load through the stored state.
    let mut product = engine_on(DEMO, "http://shop.test/product.html", Some(landing.state()));
    assert_eq!(names(&product.observe(&Observation::PageView, T0 + 1000.0)), ["page_view"]);
    let out = product.observe(
        &Observation::DataLayer { push: &push(r#"{"event":"view_item","item_id":"t2"}"#) },
        T0 + 2000.0,
    );
    assert_eq!(names(&out), ["view_item", "funnel_step"]);
    assert_eq!(param(&out[0], "item_id"), &Value::from("t2"));
    assert_eq!(param(&out[1], "step_name"), &Value::from("Product detail"));
    assert_eq!(param(&out[1], "elapsed_ms"), &Value::Num(2000.0));

    // Going back to the landing page does not restart the attempt in progress.
    let mut again = engine_on(DEMO, "http://shop.test/", Some(product.state()));
    assert_eq!(names(&again.observe(&Observation::PageView, T0 + 3000.0)), ["page_view"]);

    let mut product = engine_on(DEMO, "http://shop.test/product.html", Some(again.state()));
    product.observe(&Observation::PageView, T0 + 4000.0);
    let out = product.observe(
        &Observation::DataLayer { push: &push(r#"{"event":"add_to_cart"}"#) },
        T0 + 5000.0,
    );
    assert_eq!(names(&out), ["add_to_cart", "funnel_step"]);
    assert_eq!(param(&out[1], "since_prior_ms"), &Value::Num(3000.0));

    let link = FakeElement::new("a")
        .attr("data-cta", "")
        .text("Checkout")
        .url("http://shop.test/checkout.html");
    let out = product.observe(&Observation::Click { target: &link }, T0 + 6000.0);
    assert_eq!(names(&out), ["click_cta", "funnel_step", "funnel_complete"]);
    assert_eq!(param(&out[2], "elapsed_ms"), &Value::Num(6000.0));
    let rows = product.progress(T0 + 7000.0);
    let row = &rows.as_array()[0];
    assert_eq!(row.get("step"), Some(&Value::Num(4.0)));
    assert_eq!(row.get("complete"), Some(&Value::Bool(true)));
    assert_eq!(row.get("next"), Some(&Value::Null));
}

#[test]
fn a_step_outside_its_within_limit_ends_the_attempt() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    e.observe(&Observation::PageView, T0);
    e.observe(&Observation::DataLayer { push: &push(r#"{"event":"view_item"}"#) }, T0 + 1000.0);
    // `within: 10m` is inclusive: exactly ten minutes still counts...
    let mut inclusive = engine_on(DEMO, "http://shop.test/p", Some(e.state()));
    let late = T0 + 1000.0 + 600_000.0;
    let out = inclusive
        .observe(&Observation::DataLayer { push: &push(r#"{"event":"add_to_cart"}"#) }, late);
    assert_eq!(names(&out), ["add_to_cart", "funnel_step"]);
    // ...one millisecond more does not, and the attempt is over.
    let mut too_late = engine_on(DEMO, "http://shop.test/p", Some(e.state()));
    let out = too_late
        .observe(&Observation::DataLayer { push: &push(r#"{"event":"add_to_cart"}"#) }, late + 1.0);
    // The attempt had ended before this event: its abandonment comes first.
    assert_eq!(names(&out), ["funnel_abandon", "add_to_cart"]);
    assert_eq!(param(&out[0], "reason"), &Value::from("within"));
    assert_eq!(param(&out[0], "last_step"), &Value::Num(2.0));
    assert_eq!(too_late.progress(late + 2.0).as_array()[0].get("step"), Some(&Value::Num(0.0)));
}

#[test]
fn a_new_session_after_the_idle_timeout_ends_the_attempt() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    e.observe(&Observation::PageView, T0);
    let mut later = engine_on(DEMO, "http://shop.test/product.html", Some(e.state()));
    let out = later.observe(
        &Observation::DataLayer { push: &push(r#"{"event":"view_item"}"#) },
        T0 + 31.0 * 60_000.0,
    );
    assert_eq!(names(&out), ["funnel_abandon", "view_item"]);
    assert_eq!(param(&out[0], "reason"), &Value::from("session"));
    let started = later.state().path("session.started_at").cloned();
    assert_eq!(started, Some(Value::Num(T0 + 31.0 * 60_000.0)), "a new session started");
    assert_eq!(out[1].segment.get("returning"), Some(&Value::Bool(true)));
}

#[test]
fn open_funnels_may_be_entered_at_any_step() {
    let config = r#"{ "site": "s", "triggers": [ { "id": "dl", "on": "data_layer", "name": "b" } ],
      "funnels": [ { "id": "f", "entry": "open", "steps": [
        { "event": "a" }, { "event": "b" }, { "event": "page_view" } ] } ] }"#;
    let mut e = engine_on(config, "http://s.test/", None);
    let out = e.observe(&Observation::DataLayer { push: &push(r#"{"event":"b"}"#) }, T0);
    assert_eq!(names(&out), ["b", "funnel_step"]);
    assert_eq!(param(&out[1], "step"), &Value::Num(2.0));
    // The closed twin ignores the same event.
    let closed = config.replace("\"open\"", "\"closed\"");
    let mut e = engine_on(&closed, "http://s.test/", None);
    assert_eq!(
        names(&e.observe(&Observation::DataLayer { push: &push(r#"{"event":"b"}"#) }, T0)),
        ["b"]
    );
}

#[test]
fn progress_saved_under_another_funnel_definition_is_not_applied() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    e.observe(&Observation::PageView, T0);
    let changed = DEMO.replace(
        "\"Product detail\", \"event\": \"view_item\"",
        "\"Product detail\", \"event\": \"view_product\"",
    );
    let fresh = engine_on(&changed, "http://shop.test/product.html", Some(e.state()));
    assert_eq!(fresh.progress(T0).as_array()[0].get("step"), Some(&Value::Num(0.0)));
}

#[test]
fn every_event_has_a_unique_id_and_increasing_seq() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    let mut all = e.observe(&Observation::PageView, T0);
    for p in [30.0, 60.0, 80.0, 95.0] {
        all.extend(e.observe(&Observation::Scroll { percent: p }, T0));
    }
    let mut ids: Vec<&str> = all.iter().map(|ev| ev.id.as_str()).collect();
    let seqs: Vec<u64> = all.iter().map(|ev| ev.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len());
}

#[test]
fn data_layer_variables_read_the_merged_model() {
    let config = r#"{ "site": "s",
      "variables": { "plan": { "data_layer": "ecommerce.plan", "default": "free" } },
      "triggers": [ { "id": "buy", "on": "data_layer", "name": "purchase",
        "params": { "plan": "{{plan}}", "label": "plan={{plan}}" },
        "when": [{ "var": "dl.ecommerce.value", "op": "gte", "value": 100 }] } ] }"#;
    let mut e = engine_on(config, "http://s.test/", None);
    e.observe(
        &Observation::DataLayer { push: &push(r#"{"ecommerce":{"plan":"team","value":50}}"#) },
        T0,
    );
    assert!(e
        .observe(&Observation::DataLayer { push: &push(r#"{"event":"purchase"}"#) }, T0)
        .is_empty());
    let out = e.observe(
        &Observation::DataLayer {
            push: &push(r#"{"event":"purchase","ecommerce":{"value":120}}"#),
        },
        T0,
    );
    assert_eq!(names(&out), ["purchase"]);
    assert_eq!(param(&out[0], "plan"), &Value::from("team"));
    assert_eq!(param(&out[0], "label"), &Value::from("plan=team"));
}

trait AsArray {
    fn as_array(&self) -> &[Value];
}

impl AsArray for Value {
    fn as_array(&self) -> &[Value] {
        match self {
            Value::Arr(items) => items,
            _ => panic!("not an array: {self:?}"),
        }
    }
}

#[test]
fn nested_and_long_data_layer_values_become_flat_bounded_params() {
    let config = r#"{ "site": "s", "triggers": [ { "id": "buy", "on": "data_layer", "name": "purchase" } ] }"#;
    let mut e = engine_on(config, "http://s.test/", None);
    let long = "x".repeat(2000);
    let pushed = format!(
        r#"{{"event":"purchase","ecommerce":{{"items":[{{"id":"t2"}}]}},"note":"{long}","n":3}}"#
    );
    let out = e.observe(&Observation::DataLayer { push: &push(&pushed) }, T0);
    assert_eq!(param(&out[0], "ecommerce"), &Value::from(r#"{"items":[{"id":"t2"}]}"#));
    assert_eq!(param(&out[0], "note").as_str().map(str::len), Some(500));
    assert_eq!(param(&out[0], "n"), &Value::Num(3.0));
}

#[test]
fn progress_of_a_funnel_whose_id_has_a_dot_survives_a_reload() {
    let config = DEMO.replace(r#""id": "checkout""#, r#""id": "checkout.v2""#);
    let mut e = engine_on(&config, "http://shop.test/", None);
    e.observe(&Observation::PageView, T0);
    let reloaded = engine_on(&config, "http://shop.test/product.html", Some(e.state()));
    assert_eq!(reloaded.progress(T0 + 1.0).as_array()[0].get("step"), Some(&Value::Num(1.0)));
}

#[test]
fn a_stored_attempt_at_the_last_step_is_complete_whatever_it_claims() {
    let mut e = engine_on(DEMO, "http://shop.test/", None);
    e.observe(&Observation::PageView, T0);
    // A state written by a broken or hostile script: last step reached, "not complete".
    let mut state = e.state();
    let text = state
        .to_json()
        .replace(r#""reached":[0]"#, r#""reached":[3]"#)
        .replace(r#""complete":true"#, r#""complete":false"#);
    state = Value::parse(&text).unwrap();
    let mut reloaded = engine_on(DEMO, "http://shop.test/", Some(state));
    let row = &reloaded.progress(T0 + 1.0).as_array()[0].clone();
    assert_eq!(row.get("complete"), Some(&Value::Bool(true)));
    // And events keep flowing through it without a panic.
    let out = reloaded
        .observe(&Observation::DataLayer { push: &push(r#"{"event":"view_item"}"#) }, T0 + 2.0);
    assert_eq!(names(&out), ["view_item"]);
}

#[test]
fn the_variant_variable_is_part_of_the_segment() {
    let config = r#"{ "site": "s", "variables": { "variant": { "url_query": "ab", "default": "control" } },
        "triggers": [ { "id": "pv", "on": "page_view" } ] }"#;
    let mut b = engine_on(config, "http://s.test/?ab=b", None);
    let out = b.observe(&Observation::PageView, T0);
    assert_eq!(out[0].segment.get("variant"), Some(&Value::from("b")));
    let mut control = engine_on(config, "http://s.test/", None);
    let out = control.observe(&Observation::PageView, T0);
    assert_eq!(out[0].segment.get("variant"), Some(&Value::from("control")));
    assert_eq!(out[0].segment.get("device"), Some(&Value::from("desktop")));
    assert_eq!(out[0].segment.get("landing"), Some(&Value::from("/")));
}

#[test]
fn params_of_one_event_stay_within_a_text_budget_whatever_their_characters() {
    let config =
        r#"{ "site": "s", "triggers": [ { "id": "big", "on": "data_layer", "name": "big" } ] }"#;
    let mut e = engine_on(config, "http://s.test/", None);
    let control = "\\u0001".repeat(500);
    let fields: Vec<String> = (0..50).map(|i| format!(r#""p{i}":"{control}""#)).collect();
    let pushed = format!(r#"{{"event":"big",{}}}"#, fields.join(","));
    let out = e.observe(&Observation::DataLayer { push: &push(&pushed) }, T0);
    let json = out[0].to_value().to_json();
    assert!(json.len() < 30_000, "{} bytes", json.len());
    assert_eq!(param(&out[0], "p0").as_str().map(str::len), Some(500));
}

#[test]
fn an_abandonment_is_reported_at_the_next_observation_even_without_a_page_view_trigger() {
    let config = r#"{ "site": "s", "triggers": [ { "id": "a", "on": "data_layer", "name": "a" } ],
        "funnels": [ { "id": "f", "window": "1m", "steps": [ { "event": "a" }, { "event": "b" } ] } ] }"#;
    let mut e = engine_on(config, "http://s.test/", None);
    e.observe(&Observation::DataLayer { push: &push(r#"{"event":"a"}"#) }, T0);
    let mut next = engine_on(config, "http://s.test/next", Some(e.state()));
    let out = next.observe(&Observation::PageView, T0 + 120_000.0);
    assert_eq!(names(&out), ["funnel_abandon"]);
    assert_eq!(param(&out[0], "reason"), &Value::from("window"));
}

fn route<'a>(old: &'a str, new: &'a str, source: &'a str, page_view: bool) -> Observation<'a> {
    Observation::Route { old_url: old, new_url: new, title: "Route", source, page_view }
}

const SPA: &str = r#"{
  "site": "spa",
  "triggers": [
    { "id": "pv", "on": "page_view" },
    { "id": "routes", "on": "history_change",
      "unless": [{ "var": "params.source", "op": "equals", "value": "replaceState" }] },
    { "id": "read", "on": "scroll", "percent": [50] },
    { "id": "pricing", "on": "click", "event": "pricing_click",
      "when": [{ "var": "page.path", "op": "equals", "value": "/pricing" }] }
  ]
}"#;

#[test]
fn a_route_change_is_one_virtual_page_view_of_the_new_path_with_the_old_page_as_referrer() {
    let mut e = engine_on(SPA, "http://app.test/", None);
    e.observe(&Observation::PageView, T0);
    let out = e.observe(
        &route("http://app.test/", "http://app.test/pricing?x=1", "pushState", true),
        T0 + 1.0,
    );
    assert_eq!(names(&out), ["page_view", "history_change"]);
    assert_eq!(out[0].page.path, "/pricing");
    assert_eq!(out[0].page.url, "http://app.test/pricing?x=1");
    assert_eq!(out[0].page.referrer, "http://app.test/");
    assert_eq!(out[0].page.title, "Route");
    assert_eq!(param(&out[1], "old_url"), &Value::from("http://app.test/"));
    assert_eq!(param(&out[1], "new_url"), &Value::from("http://app.test/pricing?x=1"));
    assert_eq!(param(&out[1], "source"), &Value::from("pushState"));

    // Later events carry the new page, and conditions read it.
    let button = FakeElement::new("button").text("Buy");
    let click = e.observe(&Observation::Click { target: &button }, T0 + 2.0);
    assert_eq!(names(&click), ["pricing_click"]);
    assert_eq!(click[0].page.path, "/pricing");

    // The same URL again (a router's replaceState of its state only) is nothing at all.
    let same = route("http://app.test/", "http://app.test/pricing?x=1", "replaceState", true);
    assert!(e.observe(&same, T0 + 3.0).is_empty());
}

#[test]
fn an_anchor_in_the_page_is_a_history_change_but_not_a_page_view() {
    let mut e = engine_on(SPA, "http://app.test/docs", None);
    e.observe(&Observation::PageView, T0);
    let out = e.observe(
        &route("http://app.test/docs", "http://app.test/docs#faq", "hashchange", false),
        T0 + 1.0,
    );
    assert_eq!(names(&out), ["history_change"]);
    assert_eq!(out[0].page.path, "/docs");
    // The trigger's `unless` reads the history params: a replaceState that moves the URL still
    // makes a page view, but this trigger leaves it out.
    let out = e.observe(
        &route("http://app.test/docs#faq", "http://app.test/blog", "replaceState", true),
        T0 + 2.0,
    );
    assert_eq!(names(&out), ["page_view"]);
}

#[test]
fn scroll_thresholds_start_again_on_each_virtual_page_but_not_on_an_anchor() {
    let mut e = engine_on(SPA, "http://app.test/", None);
    assert_eq!(names(&e.observe(&Observation::Scroll { percent: 60.0 }, T0)), ["scroll_depth"]);
    e.observe(&route("http://app.test/", "http://app.test/#top", "hashchange", false), T0 + 1.0);
    assert!(e.observe(&Observation::Scroll { percent: 70.0 }, T0 + 2.0).is_empty());
    e.observe(
        &route("http://app.test/#top", "http://app.test/#/cart", "hashchange", true),
        T0 + 3.0,
    );
    assert_eq!(
        names(&e.observe(&Observation::Scroll { percent: 70.0 }, T0 + 4.0)),
        ["scroll_depth"]
    );
}

const SEEN: &str = r##"{
  "site": "seen",
  "triggers": [
    { "id": "pricing", "on": "visibility", "selector": ".pricing", "percent": 60 },
    { "id": "cards", "on": "visibility", "selector": ".card", "fire": "once_per_element",
      "event": "card_seen" },
    { "id": "banner", "on": "visibility", "selector": "#banner", "fire": "every_time",
      "min_duration": "2s", "when": [{ "var": "element", "op": "matches_css", "value": ".promo" }] }
  ]
}"##;

fn seen<'a>(element: &'a FakeElement, trigger: &'a str, key: u32) -> Observation<'a> {
    Observation::Visible { element, trigger, key: f64::from(key) }
}

#[test]
fn visibility_fires_once_per_page_per_element_or_every_time_as_configured() {
    let mut e = engine_on(SEEN, "http://shop.test/", None);
    let pricing = FakeElement::new("section")
        .attr("id", "plans")
        .attr("class", "pricing")
        .text(" Plans  and prices ");
    let out = e.observe(&seen(&pricing, "pricing", 1), T0);
    assert_eq!(names(&out), ["element_visible"]);
    assert_eq!(param(&out[0], "element_id"), &Value::from("plans"));
    assert_eq!(param(&out[0], "element_text"), &Value::from("Plans and prices"));
    assert_eq!(param(&out[0], "percent_visible"), &Value::Num(60.0));
    // Once per page: another element of the same trigger does not fire again.
    assert!(e.observe(&seen(&pricing, "pricing", 2), T0 + 1.0).is_empty());

    let card = FakeElement::new("div").attr("class", "card");
    assert_eq!(names(&e.observe(&seen(&card, "cards", 3), T0 + 2.0)), ["card_seen"]);
    assert!(e.observe(&seen(&card, "cards", 3), T0 + 3.0).is_empty());
    assert_eq!(names(&e.observe(&seen(&card, "cards", 4), T0 + 4.0)), ["card_seen"]);

    // Every time, and conditions can test the element itself.
    let banner = FakeElement::new("div").attr("id", "banner").attr("class", "promo");
    for at in 0..3 {
        assert_eq!(
            names(&e.observe(&seen(&banner, "banner", 5), T0 + 10.0 + f64::from(at))),
            ["element_visible"]
        );
    }
    let plain = FakeElement::new("div").attr("id", "banner");
    assert!(e.observe(&seen(&plain, "banner", 6), T0 + 20.0).is_empty());

    // A report for a trigger id that is not a visibility trigger makes nothing.
    assert!(e.observe(&seen(&card, "nope", 7), T0 + 21.0).is_empty());

    // A virtual page view is a new page: once per page starts again.
    e.observe(&route("http://shop.test/", "http://shop.test/plans", "pushState", true), T0 + 30.0);
    assert_eq!(names(&e.observe(&seen(&pricing, "pricing", 1), T0 + 31.0)), ["element_visible"]);
}

#[test]
fn an_uncaught_error_becomes_a_js_error_event_with_message_source_and_line() {
    let config = r#"{ "site": "s", "triggers": [{ "id": "errors", "on": "js_error",
        "unless": [{ "var": "params.error_source", "op": "contains", "value": "extension://" }] }] }"#;
    let mut e = engine_on(config, "http://shop.test/", None);
    let long = format!("TypeError: x is undefined {}", "y".repeat(500));
    let error =
        Observation::Error { message: &long, source: "http://shop.test/app.js", line: 42.0 };
    let out = e.observe(&error, T0);
    assert_eq!(names(&out), ["js_error"]);
    let message = param(&out[0], "error_message").as_str().unwrap();
    assert!(message.starts_with("TypeError: x is undefined yyy"));
    assert_eq!(message.chars().count(), 100);
    assert_eq!(param(&out[0], "error_source"), &Value::from("http://shop.test/app.js"));
    assert_eq!(param(&out[0], "error_line"), &Value::Num(42.0));
    let foreign =
        Observation::Error { message: "x", source: "chrome-extension://abc/x.js", line: 1.0 };
    assert!(e.observe(&foreign, T0 + 1.0).is_empty());
}

#[test]
fn a_timer_fires_with_its_count_for_its_own_trigger_only() {
    let config = r#"{ "site": "s", "triggers": [
        { "id": "engaged", "on": "timer", "interval": "30s", "limit": 2, "event": "engaged_30s" },
        { "id": "pricing_timer", "on": "timer", "interval": 5000,
          "when": [{ "var": "page.path", "op": "equals", "value": "/pricing" }] }
    ] }"#;
    let mut e = engine_on(config, "http://shop.test/", None);
    let tick = |trigger, count| Observation::Timer { trigger, count };
    let out = e.observe(&tick("engaged", 1.0), T0 + 30_000.0);
    assert_eq!(names(&out), ["engaged_30s"]);
    assert_eq!(param(&out[0], "timer_count"), &Value::Num(1.0));
    assert_eq!(param(&out[0], "timer_interval_ms"), &Value::Num(30_000.0));
    // The other timer's condition fails on this page; an unknown id makes nothing.
    assert!(e.observe(&tick("pricing_timer", 1.0), T0 + 31_000.0).is_empty());
    assert!(e.observe(&tick("nope", 1.0), T0 + 32_000.0).is_empty());
}

#[test]
fn once_per_page_visibility_waits_for_an_element_that_meets_the_conditions() {
    // The README's own pattern: a selector for every plan, a condition on the element. The
    // first plan seen fails the condition; the featured plan seen after it must still fire.
    let config = r#"{ "site": "s", "triggers": [
        { "id": "featured", "on": "visibility", "selector": ".plan",
          "when": [{ "var": "element", "op": "matches_css", "value": ".featured" }] }
    ] }"#;
    let mut e = engine_on(config, "http://shop.test/", None);
    let basic = FakeElement::new("div").attr("class", "plan");
    let featured = FakeElement::new("div").attr("class", "plan featured");
    assert!(e.observe(&seen(&basic, "featured", 1), T0).is_empty());
    assert_eq!(names(&e.observe(&seen(&featured, "featured", 2), T0 + 1.0)), ["element_visible"]);
    assert!(e.observe(&seen(&featured, "featured", 2), T0 + 2.0).is_empty());
}

#[test]
fn an_anchor_in_the_page_keeps_the_pages_referrer() {
    let decoded = decode(&Value::parse(SPA).unwrap(), &NativeHost::default());
    let setup = Setup {
        config: decoded.config,
        page: Page::new("http://app.test/pricing", "Pricing", "https://search.test/?q=plans"),
        client_id: "c-1".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        stored: None,
        config_version: "test".into(),
    };
    let mut e = Engine::new(setup, Box::new(NativeHost::default()));
    e.observe(&Observation::PageView, T0);
    // The same page, scrolled to an anchor: not a new page, so not a new referrer.
    let anchor = route("http://app.test/pricing", "http://app.test/pricing#faq", "popstate", false);
    e.observe(&anchor, T0 + 1.0);
    let button = FakeElement::new("button").text("Buy");
    let out = e.observe(&Observation::Click { target: &button }, T0 + 2.0);
    assert_eq!(names(&out), ["pricing_click"]);
    assert_eq!(out[0].page.url, "http://app.test/pricing#faq");
    assert_eq!(out[0].page.referrer, "https://search.test/?q=plans");
    // A route to another page has the page before as its referrer.
    e.observe(
        &route("http://app.test/pricing#faq", "http://app.test/cart", "pushState", true),
        T0 + 3.0,
    );
    let out = e.observe(&Observation::PageView, T0 + 4.0);
    assert_eq!(out[0].page.referrer, "http://app.test/pricing#faq");
}
