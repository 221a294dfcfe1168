//! Funnel semantics, rule by rule, on the state machine in `src/funnel.rs`.
#![cfg(not(target_arch = "wasm32"))]

use microfunnel::condition::Vars;
use microfunnel::config::{decode, Funnel};
use microfunnel::funnel::{advance, Attempt, Change, Reason, Seen};
use microfunnel::host::NativeHost;
use microfunnel::json::Value;

fn funnel(json: &str) -> Funnel {
    let config = format!(r#"{{ "site": "s", "funnels": [ {json} ] }}"#);
    let decoded = decode(&Value::parse(&config).unwrap(), &NativeHost::default());
    assert_eq!(decoded.errors, vec![], "config errors");
    decoded.config.funnels.into_iter().next().unwrap()
}

/// An event of a stream: name, `params.*` as pairs, time, session.
struct Ev(&'static str, &'static [(&'static str, &'static str)], f64, &'static str);

impl Vars for Ev {
    fn var(&self, name: &str) -> Option<Value> {
        let key = name.strip_prefix("params.")?;
        self.1.iter().find(|(k, _)| *k == key).map(|(_, v)| Value::from(*v))
    }
    fn element_matches(&self, _: &str, _: &str) -> Option<bool> {
        None
    }
}

fn ev(name: &'static str, at: f64) -> Ev {
    Ev(name, &[], at, "s1")
}

/// Runs a stream; returns each change as text: `2` for step 2, `2!` for a step that completes,
/// `x:window@2` for an abandonment.
fn run(f: &Funnel, stream: &[Ev]) -> Vec<String> {
    let host = NativeHost::default();
    let mut attempt: Option<Attempt> = None;
    let mut out = Vec::new();
    for e in stream {
        let seen = Seen { name: e.0, vars: e, at: e.2, session: e.3 };
        for change in advance(f, &mut attempt, &seen, &host).changes {
            out.push(match change {
                Change::Step { step, complete: true, .. } => format!("{step}!"),
                Change::Step { step, .. } => step.to_string(),
                Change::Abandon { reason, last_step } => {
                    format!("x:{}@{last_step}", reason_name(reason))
                }
            });
        }
    }
    out
}

fn reason_name(r: Reason) -> &'static str {
    r.name()
}

const ABC: &str = r#""id": "f", "steps": [ { "event": "a" }, { "event": "b" }, { "event": "c" } ]"#;

#[test]
fn closed_funnels_start_at_step_one_only() {
    let f = funnel(&format!("{{ {ABC} }}"));
    assert_eq!(
        run(&f, &[ev("b", 0.0), ev("c", 1.0), ev("a", 2.0), ev("b", 3.0), ev("c", 4.0)]),
        ["1", "2", "3!"]
    );
}

#[test]
fn open_funnels_are_entered_at_the_lowest_matching_step_and_counted_from_there() {
    let f = funnel(&format!(r#"{{ {ABC}, "entry": "open" }}"#));
    assert_eq!(run(&f, &[ev("b", 0.0), ev("c", 1.0)]), ["2", "3!"]);
}

#[test]
fn other_events_may_come_between_indirect_steps() {
    let f = funnel(&format!("{{ {ABC} }}"));
    assert_eq!(
        run(
            &f,
            &[ev("a", 0.0), ev("x", 1.0), ev("c", 2.0), ev("b", 3.0), ev("x", 4.0), ev("c", 5.0)]
        ),
        ["1", "2", "3!"]
    );
}

#[test]
fn one_event_moves_at_most_one_step() {
    let f = funnel(
        r#"{ "id": "f", "steps": [ { "event": "a" }, { "event": "a" }, { "event": "a" } ] }"#,
    );
    assert_eq!(run(&f, &[ev("a", 0.0), ev("a", 1.0)]), ["1", "2"]);
}

#[test]
fn a_direct_step_breaks_on_an_event_between_but_not_on_ignored_ones() {
    let f = funnel(
        r#"{ "id": "f", "steps": [ { "event": "a" }, { "event": "b", "follows": "directly" } ] }"#,
    );
    // scroll_depth is ignored between steps by default; `x` is not.
    assert_eq!(run(&f, &[ev("a", 0.0), ev("scroll_depth", 1.0), ev("b", 2.0)]), ["1", "2!"]);
    assert_eq!(run(&f, &[ev("a", 0.0), ev("x", 1.0), ev("b", 2.0)]), ["1"]);
    // A repeat of the prior step's event brings the direct step back within reach.
    assert_eq!(run(&f, &[ev("a", 0.0), ev("x", 1.0), ev("a", 2.0), ev("b", 3.0)]), ["1", "2!"]);
}

#[test]
fn ignore_between_is_configurable() {
    let f = funnel(
        r#"{ "id": "f", "ignore_between": ["x"], "steps": [ { "event": "a" }, { "event": "b", "follows": "directly" } ] }"#,
    );
    assert_eq!(run(&f, &[ev("a", 0.0), ev("x", 1.0), ev("b", 2.0)]), ["1", "2!"]);
    assert_eq!(run(&f, &[ev("a", 0.0), ev("scroll_depth", 1.0), ev("b", 2.0)]), ["1"]);
}

#[test]
fn any_order_funnels_complete_when_every_step_happened() {
    let f = funnel(&format!(r#"{{ {ABC}, "order": "any" }}"#));
    assert_eq!(
        run(&f, &[ev("c", 0.0), ev("c", 1.0), ev("a", 2.0), ev("b", 3.0)]),
        ["3", "1", "2!"]
    );
}

#[test]
fn within_is_inclusive_and_a_late_step_abandons_the_attempt() {
    let f =
        funnel(r#"{ "id": "f", "steps": [ { "event": "a" }, { "event": "b", "within": 1000 } ] }"#);
    assert_eq!(run(&f, &[ev("a", 0.0), ev("b", 1000.0)]), ["1", "2!"]);
    // Too late: abandoned, and the late event does not count even though it matches.
    assert_eq!(run(&f, &[ev("a", 0.0), ev("b", 1001.0)]), ["1", "x:within@1"]);
    // The abandonment is noticed at any later event, and the same event may enter again.
    assert_eq!(
        run(&f, &[ev("a", 0.0), ev("a", 5000.0), ev("b", 5500.0)]),
        ["1", "x:within@1", "1", "2!"]
    );
}

#[test]
fn the_window_bounds_the_time_from_entry_inclusive() {
    let f = funnel(&format!(r#"{{ {ABC}, "window": 10000 }}"#));
    assert_eq!(run(&f, &[ev("a", 0.0), ev("b", 5000.0), ev("c", 10000.0)]), ["1", "2", "3!"]);
    assert_eq!(
        run(&f, &[ev("a", 0.0), ev("b", 5000.0), ev("c", 10001.0)]),
        ["1", "2", "x:window@2"]
    );
}

#[test]
fn a_new_session_abandons_a_session_scoped_attempt_but_not_a_visitor_one() {
    let stream = [ev("a", 0.0), Ev("b", &[], 10.0, "s2"), Ev("c", &[], 20.0, "s2")];
    let session = funnel(&format!("{{ {ABC} }}"));
    assert_eq!(run(&session, &stream), ["1", "x:session@1"]);
    let visitor = funnel(&format!(r#"{{ {ABC}, "scope": "visitor" }}"#));
    assert_eq!(run(&visitor, &stream), ["1", "2", "3!"]);
}

#[test]
fn visitor_scope_defaults_to_a_seven_day_window() {
    let f = funnel(&format!(r#"{{ {ABC}, "scope": "visitor" }}"#));
    let week = 7.0 * 86_400_000.0;
    assert_eq!(
        run(&f, &[ev("a", 0.0), ev("b", week), ev("c", week + 1.0)]),
        ["1", "2", "x:window@2"]
    );
}

#[test]
fn exclusions_end_the_attempt_keeping_the_steps_reached() {
    let f = funnel(&format!(r#"{{ {ABC}, "exclude": [ {{ "event": "x" }} ] }}"#));
    assert_eq!(
        run(&f, &[ev("a", 0.0), ev("b", 1.0), ev("x", 2.0), ev("c", 3.0)]),
        ["1", "2", "x:exclusion@2"]
    );
}

#[test]
fn exclusions_between_two_steps_apply_only_there() {
    let f = funnel(&format!(
        r#"{{ {ABC}, "exclude": [ {{ "event": "x", "after_step": 2, "before_step": 3 }} ] }}"#
    ));
    assert_eq!(
        run(&f, &[ev("a", 0.0), ev("x", 1.0), ev("b", 2.0), ev("c", 3.0)]),
        ["1", "2", "3!"]
    );
    assert_eq!(
        run(&f, &[ev("a", 0.0), ev("b", 2.0), ev("x", 2.5), ev("c", 3.0)]),
        ["1", "2", "x:exclusion@2"]
    );
}

#[test]
fn held_properties_must_match_the_entry_step() {
    let f = funnel(&format!(r#"{{ {ABC}, "hold": ["params.item"] }}"#));
    let stream = [
        Ev("a", &[("item", "t2")], 0.0, "s1"),
        Ev("b", &[("item", "t3")], 1.0, "s1"),
        Ev("b", &[("item", "t2")], 2.0, "s1"),
        Ev("c", &[], 3.0, "s1"),
        Ev("c", &[("item", "t2")], 4.0, "s1"),
    ];
    assert_eq!(run(&f, &stream), ["1", "2", "3!"]);
}

#[test]
fn step_one_again_during_an_attempt_changes_nothing_and_after_completion_starts_anew() {
    let f = funnel(&format!("{{ {ABC} }}"));
    let stream =
        [ev("a", 0.0), ev("b", 1.0), ev("a", 2.0), ev("c", 3.0), ev("a", 4.0), ev("b", 5.0)];
    assert_eq!(run(&f, &stream), ["1", "2", "3!", "1", "2"]);
}

#[test]
fn step_conditions_read_the_event_params() {
    let f = funnel(
        r#"{ "id": "f", "steps": [ { "event": "a" },
            { "event": "b", "when": [ { "var": "params.cta", "op": "contains", "value": "checkout", "ignore_case": true } ] } ] }"#,
    );
    let stream = [
        ev("a", 0.0),
        Ev("b", &[("cta", "Home")], 1.0, "s1"),
        Ev("b", &[("cta", "Go to Checkout")], 2.0, "s1"),
    ];
    assert_eq!(run(&f, &stream), ["1", "2!"]);
}

#[test]
fn within_and_direct_need_a_sequence() {
    let config = r#"{ "site": "s", "funnels": [ { "id": "f", "order": "any",
        "steps": [ { "event": "a" }, { "event": "b", "within": "5m", "follows": "directly" } ] } ] }"#;
    let decoded = decode(&Value::parse(config).unwrap(), &NativeHost::default());
    let paths: Vec<&str> = decoded.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["funnels[0].steps[1].within", "funnels[0].steps[1].follows"]);
    assert!(decoded.config.funnels.is_empty());
}

#[test]
fn in_any_order_exclusion_ranges_count_the_steps_reached() {
    let f = funnel(&format!(
        r#"{{ {ABC}, "order": "any", "exclude": [ {{ "event": "x", "after_step": 2 }} ] }}"#
    ));
    // Step 3 first: one step reached, so `x` after two steps does not apply yet.
    assert_eq!(
        run(&f, &[ev("c", 0.0), ev("x", 1.0), ev("a", 2.0), ev("x", 3.0)]),
        ["3", "1", "x:exclusion@1"]
    );
}

#[test]
fn a_changed_exclusion_or_ignore_list_is_a_new_definition() {
    use microfunnel::funnel::fingerprint;
    let base = funnel(&format!("{{ {ABC} }}"));
    let excluded = funnel(&format!(r#"{{ {ABC}, "exclude": [ {{ "event": "x" }} ] }}"#));
    let ignoring = funnel(&format!(r#"{{ {ABC}, "ignore_between": ["x"] }}"#));
    assert_ne!(fingerprint(&base), fingerprint(&excluded));
    assert_ne!(fingerprint(&base), fingerprint(&ignoring));
    assert_eq!(fingerprint(&base), fingerprint(&funnel(&format!("{{ {ABC} }}"))));
}
