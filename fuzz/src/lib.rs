//! What the tracker's engine must keep to on any input, as three entry points that take raw
//! bytes: [`config_decode`], [`condition_eval`] and [`engine_observe`].
//!
//! The cargo-fuzz targets in `fuzz/fuzz_targets/` call them, and so does the stable replay of
//! their corpora in `tests/fuzz_corpus.rs` (which includes this file as a module), so the two
//! check the same invariants. Each entry point accepts every input and panics only when an
//! invariant is broken; the message says which.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use microfunnel::batch::{body, Sender};
use microfunnel::condition::{first_failure, Condition, Vars};
use microfunnel::config::{decode, Config, Decoded, TriggerKind, MAX_TEXT_LENGTH};
use microfunnel::dom::fake::FakeElement;
use microfunnel::engine::{Engine, Setup, MAX_PARAMS, MAX_PARAMS_BYTES};
use microfunnel::event::{Event, Page};
use microfunnel::host::{Host, NativeHost};
use microfunnel::json::{obj, Value};
use microfunnel::trigger::{Media, MediaAction, Observation};

/// The configurations [`engine_observe`] runs: the demo's, and one with every feature.
pub const CONFIGS: &[&str] =
    &[include_str!("../../www/config.json"), include_str!("../configs/every-feature.json")];

/// The first instant of every simulated page, in milliseconds since the epoch.
pub const T0: f64 = 1_764_780_000_000.0;

// ---------------------------------------------------------------------------------------------
// The host

/// The native host with every regex compiled once: the test twin compiles a pattern at every
/// evaluation, which in a debug build costs more than the rest of an observation.
#[derive(Default)]
pub struct FuzzHost {
    inner: NativeHost,
    compiled: RefCell<HashMap<(String, bool), Option<regex::Regex>>>,
}

impl FuzzHost {
    fn with_cookie() -> FuzzHost {
        let inner = NativeHost { cookies: vec![("consent".into(), "yes%20please".into())] };
        FuzzHost { inner, compiled: RefCell::default() }
    }

    fn compiled<T>(
        &self,
        pattern: &str,
        ignore_case: bool,
        then: impl Fn(&regex::Regex) -> T,
    ) -> Option<T> {
        let mut compiled = self.compiled.borrow_mut();
        let regex = compiled.entry((pattern.to_owned(), ignore_case)).or_insert_with(|| {
            regex::RegexBuilder::new(pattern).case_insensitive(ignore_case).build().ok()
        });
        regex.as_ref().map(then)
    }
}

impl Host for FuzzHost {
    fn regex_is_valid(&self, pattern: &str, ignore_case: bool) -> bool {
        self.compiled(pattern, ignore_case, |_| ()).is_some()
    }

    fn regex_find(&self, pattern: &str, ignore_case: bool, text: &str) -> bool {
        self.compiled(pattern, ignore_case, |re| re.is_match(text)).unwrap_or(false)
    }

    fn selector_is_valid(&self, selector: &str) -> bool {
        self.inner.selector_is_valid(selector)
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.inner.cookie(name)
    }

    fn random_id(&self) -> String {
        self.inner.random_id()
    }

    fn lowercase(&self, text: &str) -> String {
        self.inner.lowercase(text)
    }

    fn decode(&self, text: &str) -> String {
        self.inner.decode(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared checks

/// The collector's rule for event names (`^[A-Za-z][A-Za-z0-9_]{0,39}$`): an event the page
/// sends under any other name gets its whole batch refused with `400`.
pub fn is_event_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.len() <= 40
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `text` with serde_json, failing with `what` when it is not JSON.
fn json(text: &str, what: &str) -> serde_json::Value {
    match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => panic!("{what} is not valid JSON ({err}): {text}"),
    }
}

/// Whether a JSON path of a config error (`triggers[2].when[0].value`, or `$` for the root)
/// names a place that exists in `root`. Keys may themselves hold `.` or `[`, so every key that
/// fits is tried.
pub fn path_resolves(root: &Value, path: &str) -> bool {
    path == "$" || walk(root, path, true)
}

fn walk(here: &Value, rest: &str, first: bool) -> bool {
    if rest.is_empty() {
        return true;
    }
    let by_index = rest.strip_prefix('[').is_some_and(|tail| {
        let Some(end) = tail.find(']') else { return false };
        let Ok(i) = tail[..end].parse::<usize>() else { return false };
        let Value::Arr(items) = here else { return false };
        items.get(i).is_some_and(|item| walk(item, &tail[end + 1..], false))
    });
    let key_part = if first { Some(rest) } else { rest.strip_prefix('.') };
    let Some(rest) = key_part.filter(|_| !by_index) else { return by_index };
    let Value::Obj(pairs) = here else { return false };
    pairs.iter().any(|(key, value)| {
        rest.strip_prefix(key.as_str()).is_some_and(|tail| {
            (tail.is_empty() || tail.starts_with(['.', '['])) && walk(value, tail, false)
        })
    })
}

/// Every name an event of this trigger can carry.
fn emitted_names(kind: &TriggerKind, event: Option<&str>) -> Vec<String> {
    let named = |default: &str| vec![event.unwrap_or(default).to_string()];
    match kind {
        TriggerKind::PageView => named("page_view"),
        TriggerKind::Click => named("click"),
        TriggerKind::Scroll { .. } => named("scroll_depth"),
        TriggerKind::Download { .. } => named("file_download"),
        TriggerKind::Form { start: false } => named("form_submit"),
        TriggerKind::Form { start: true } => named("form_start"),
        TriggerKind::DataLayer { name } => named(name),
        TriggerKind::HistoryChange => named("history_change"),
        TriggerKind::Visibility { .. } => named("element_visible"),
        TriggerKind::JsError => named("js_error"),
        TriggerKind::Timer { .. } => named("timer"),
        TriggerKind::Video { .. } => {
            let prefix = event.unwrap_or("video");
            let kinds = ["start", "progress", "complete", "pause", "seek"];
            kinds.iter().map(|s| format!("{prefix}_{s}")).collect()
        }
    }
}

/// What a decoded configuration promises, whatever the input was.
pub fn check_decoded(root: &Value, decoded: &Decoded) {
    for error in &decoded.errors {
        // The one error about a key that is absent: the site name is required.
        let absent_site = error.path == "site" && root.get("site").is_none();
        assert!(
            absent_site || path_resolves(root, &error.path),
            "error path `{}` names no place in the config: {error}",
            error.path
        );
        let message = &error.message;
        assert!(!message.is_empty(), "empty message at `{}`", error.path);
        assert!(!message.ends_with('.'), "message ends with a period: {error}");
        assert!(!message.starts_with(char::is_uppercase), "message is capitalised: {error}");
    }
    check_config(&decoded.config);
    if !decoded.errors.is_empty() {
        return;
    }
    // Without errors, nothing was left out.
    for (key, kept) in
        [("triggers", decoded.config.triggers.len()), ("funnels", decoded.config.funnels.len())]
    {
        if let Some(Value::Arr(items)) = root.get(key) {
            assert_eq!(items.len(), kept, "`{key}` lost items without an error");
        }
    }
}

/// What every configuration that decoding lets through must hold to.
pub fn check_config(config: &Config) {
    assert!((1..=500).contains(&config.batch.max_events), "batch size {}", config.batch.max_events);
    let mut ids = HashSet::new();
    for trigger in &config.triggers {
        assert!(ids.insert(&trigger.id), "trigger id `{}` twice", trigger.id);
        for name in emitted_names(&trigger.kind, trigger.event.as_deref()) {
            assert!(is_event_name(&name), "trigger `{}` emits `{name}`", trigger.id);
            assert!(!name.starts_with("funnel_"), "trigger `{}` emits `{name}`", trigger.id);
        }
    }
    let mut ids = HashSet::new();
    for funnel in &config.funnels {
        assert!(ids.insert(&funnel.id), "funnel id `{}` twice", funnel.id);
        assert!(!funnel.steps.is_empty(), "funnel `{}` has no steps", funnel.id);
        for x in &funnel.exclude {
            for bound in [x.after_step, x.before_step].into_iter().flatten() {
                assert!((1..=funnel.steps.len()).contains(&bound), "funnel `{}`", funnel.id);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Config decoding

/// Decodes `bytes` as a configuration and checks what decoding promises: every error names a
/// place in the document (or is the missing site name), with a message in the project's
/// style; the decoded parts are valid (unique ids, event names the collector accepts, funnels
/// with steps, exclusion ranges inside the funnel); without errors nothing was dropped; and
/// decoding the same document twice gives the same answer. Returns whether it decoded cleanly.
pub fn config_decode(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else { return false };
    let Ok(root) = Value::parse(text) else { return false };
    let host = FuzzHost::default();
    let decoded = decode(&root, &host);
    check_decoded(&root, &decoded);
    assert_eq!(decode(&root, &host).errors, decoded.errors, "decoding is not repeatable");
    decoded.errors.is_empty()
}

// ---------------------------------------------------------------------------------------------
// Conditions over data-layer values

/// The variables a data-layer event sees, read the way the engine reads them.
struct PushVars<'a> {
    model: &'a Value,
    push: &'a Value,
}

impl Vars for PushVars<'_> {
    fn var(&self, name: &str) -> Option<Value> {
        if name == "event" || name == "event.name" {
            return self.push.get("event").cloned();
        }
        if let Some(key) = name.strip_prefix("params.") {
            return self.push.get(key).filter(|_| key != "event").cloned();
        }
        self.model.path(name.strip_prefix("dl.")?).cloned()
    }

    fn element_matches(&self, _: &str, _: &str) -> Option<bool> {
        None
    }
}

/// Whether the engine's scope reads `var` exactly as [`PushVars`] does.
fn read_alike(var: &str) -> bool {
    var == "event" || var == "event.name" || var.starts_with("params.") || var.starts_with("dl.")
}

/// Whether `model` shows everything `push` set, as a data-layer merge must.
fn shows(model: &Value, push: &Value) -> bool {
    match push {
        Value::Obj(pairs) => {
            pairs.iter().all(|(key, value)| model.get(key).is_some_and(|here| shows(here, value)))
        }
        other => model == other,
    }
}

/// Runs conditions over data-layer pushes. The first line of `bytes` is a JSON list of
/// conditions, each further line a JSON value pushed to the data layer.
///
/// The conditions become a data-layer trigger's `when`, a second trigger's `unless` and a funnel
/// step's `when`. For every push it checks that the merged model shows what was pushed and
/// that pushing it again changes nothing; that each condition and its `not_` form disagree;
/// that `first_failure` agrees with the conditions one by one; and that the engine fires the
/// trigger exactly when the conditions hold.
pub fn condition_eval(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let Some(Ok(conditions)) = lines.next().map(Value::parse) else { return };
    let root = obj(vec![
        ("site", "fuzz".into()),
        (
            "variables",
            obj(vec![
                ("plan", obj(vec![("data_layer", "user.plan".into())])),
                ("q", obj(vec![("url_query", "q".into())])),
            ]),
        ),
        (
            "triggers",
            Value::Arr(vec![
                obj(vec![
                    ("id", "t".into()),
                    ("on", "data_layer".into()),
                    ("name", "e".into()),
                    ("when", conditions.clone()),
                ]),
                obj(vec![
                    ("id", "u".into()),
                    ("on", "data_layer".into()),
                    ("name", "e".into()),
                    ("event", "e_unless".into()),
                    ("unless", conditions.clone()),
                ]),
            ]),
        ),
        (
            "funnels",
            Value::Arr(vec![obj(vec![
                ("id", "f".into()),
                (
                    "steps",
                    Value::Arr(vec![
                        obj(vec![("event", "e".into()), ("when", conditions)]),
                        obj(vec![("event", "e_unless".into())]),
                    ]),
                ),
            ])]),
        ),
    ]);
    let host = FuzzHost::default();
    let decoded = decode(&root, &host);
    check_decoded(&root, &decoded);
    let when: Vec<Condition> = decoded
        .config
        .triggers
        .iter()
        .find(|t| t.id == "t")
        .map(|t| t.when.clone())
        .unwrap_or_default();
    let fires = decoded.config.triggers.iter().any(|t| t.id == "t");
    let mut engine = new_engine(decoded.config, "https://fuzz.test/p?q=1", None);
    let mut model = Value::obj();

    for line in lines {
        let Ok(push) = Value::parse(line) else { continue };
        // The glue passes objects only; see `src/web/tracker.rs`.
        if push.as_obj().is_none() {
            continue;
        }
        model.merge(&push);
        assert!(shows(&model, &push), "the model does not show the push {}", push.to_json());
        let mut again = model.clone();
        again.merge(&push);
        assert_eq!(again, model, "pushing {} twice changed the model", push.to_json());
        json(&model.to_json(), "the data-layer model");

        let vars = PushVars { model: &model, push: &push };
        let mut all_hold = true;
        for c in &when {
            let holds = c.holds(&vars, &host);
            let negated = Condition { negate: !c.negate, ..c.clone() };
            assert_ne!(holds, negated.holds(&vars, &host), "`{}` and its negation", c.describe());
            all_hold &= holds;
        }
        assert_eq!(
            first_failure(&when, &[], &vars, &host).is_none(),
            all_hold,
            "first_failure disagrees with the conditions"
        );

        let events = engine.observe(&Observation::DataLayer { push: &push }, T0);
        for event in &events {
            check_event_alone(event);
        }
        let fired = events.iter().any(|e| e.name == "e");
        let is_e = push.get("event") == Some(&Value::from("e"));
        if fires && when.iter().all(|c| read_alike(&c.var)) {
            assert_eq!(fired, is_e && all_hold, "the engine disagrees on {}", push.to_json());
        }
        if !is_e {
            assert!(events.is_empty(), "a push of another event fired: {}", push.to_json());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The engine, observation by observation

/// Reads choices off the fuzzer's bytes; at the end every choice is the first.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn pick<'t, T>(&mut self, list: &'t [T]) -> &'t T {
        &list[usize::from(self.byte().unwrap_or(0)) % list.len()]
    }
}

/// Steps of the simulated clock, picked per observation: none, a frame, a click's pace, past
/// a `within`, past the session's idle time, past a visitor window, and the clock set back.
const DELTAS: &[f64] = &[
    0.0,
    1.0,
    16.0,
    250.0,
    1_000.0,
    5_000.0,
    60_000.0,
    61_000.0,
    600_001.0,
    1_800_001.0,
    31.0 * 60_000.0,
    2.0 * 3_600_000.0,
    8.0 * 86_400_000.0,
    -1_000.0,
    -3_600_000.0,
    0.5,
];

const URLS: &[&str] = &[
    "https://shop.test/",
    "https://shop.test/index.html?utm_source=news&utm_medium=email&v=b",
    "https://shop.test/product.html?gclid=x&q=%E2%82%AC+1",
    "https://shop.test/checkout.html#pay",
    "http://[::1]:8080/a/b?x=%zz&&=&q",
    "",
];

const SCROLLS: &[f64] = &[0.0, 10.0, 25.0, 49.9, 50.0, 75.0, 90.0, 100.0, 250.0, -5.0, f64::NAN];
const MEDIA_TIMES: &[f64] = &[0.0, 1.0, 5.9, 6.0, 30.0, 59.0, 60.0, 1e9, -1.0, f64::NAN];
const DURATIONS: &[f64] = &[60.0, 0.0, f64::INFINITY, f64::NAN, -1.0, 1e-300];
const NAMES: &[&str] =
    &["view_item", "add_to_cart", "purchase", "begin_checkout", "sign_up", "funnel_step", "", "e"];

fn elements() -> Vec<FakeElement> {
    let cta = FakeElement::new("a")
        .attr("class", "btn-primary")
        .attr("data-cta", "")
        .url("https://shop.test/checkout.html")
        .text("Proceed to Checkout");
    let form = FakeElement::new("form").attr("id", "newsletter").url("https://shop.test/thanks");
    vec![
        FakeElement::new("span").text("  Proceed\n to   checkout ").inside(cta.clone()),
        cta,
        FakeElement::new("a").url("https://shop.test/pricing.html").text("Pricing"),
        FakeElement::new("a").url("https://shop.test/files/Spec.Sheet.PDF?x=1").text("Spec"),
        FakeElement::new("a").url("https://shop.test/get").attr("download", "report.zip"),
        FakeElement::new("a").url("https://shop.test/x").attr("download", ""),
        FakeElement::new("button").text(&"a".repeat(5_000)),
        FakeElement::new("p").text("é\u{2028}\"<script>").inside(FakeElement::new("section")),
        FakeElement::new("button").attr("type", "submit").inside(form.clone()),
        form,
        FakeElement::new("form").attr("name", "other"),
        FakeElement::new("video").attr("title", "Trailrunner"),
    ]
}

fn new_engine(config: Config, url: &str, stored: Option<Value>) -> Engine {
    let host = FuzzHost::with_cookie();
    let setup = Setup {
        config,
        page: Page::new(url, "Title \"quoted\"", "https://www.google.com/"),
        client_id: "c-fuzz".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        stored,
        config_version: "fuzz".into(),
    };
    Engine::new(setup, Box::new(host))
}

/// What one event must hold to on its own: a name the collector accepts, flat params within
/// the limits, and JSON that parses with the integers the collector requires.
fn check_event_alone(event: &Event) {
    let what = format!("event `{}`", event.name);
    assert!(is_event_name(&event.name), "{what}: not a valid name");
    assert!(event.id.chars().count() <= 64, "{what}: id `{}` too long", event.id);
    let Value::Obj(params) = &event.params else { panic!("{what}: params are not an object") };
    let funnel_event = event.name.starts_with("funnel_");
    if !funnel_event {
        assert!(params.len() <= MAX_PARAMS, "{what}: {} params", params.len());
        let mut total = 0;
        for (key, value) in params {
            if let Value::Str(text) = value {
                assert!(text.chars().count() <= MAX_TEXT_LENGTH, "{what}: param `{key}` too long");
                total += text.len();
            }
        }
        assert!(total <= MAX_PARAMS_BYTES, "{what}: params carry {total} bytes");
    }
    for (key, value) in params {
        assert!(!matches!(value, Value::Arr(_) | Value::Obj(_)), "{what}: param `{key}` nested");
    }
    let text = event.to_value().to_json();
    let parsed = json(&text, &what);
    for key in ["ts", "seq"] {
        assert!(parsed[key].as_i64().is_some_and(|n| n >= 0), "{what}: `{key}` in {text}");
    }
}

/// One simulated page and what has been seen on it.
struct Run {
    config: Config,
    engine: Engine,
    seq: u64,
    ids: HashSet<String>,
    now: f64,
}

impl Run {
    fn load(config: Config, url: &str, stored: Option<Value>, now: f64) -> Run {
        let engine = new_engine(config.clone(), url, stored);
        Run { config, engine, seq: 0, ids: HashSet::new(), now }
    }

    /// Checks the events of one observation, in the order they came.
    fn check_events(&mut self, events: &[Event]) {
        for event in events {
            check_event_alone(event);
            self.seq += 1;
            assert_eq!(event.seq, self.seq, "`{}` out of order", event.name);
            assert!(self.ids.insert(event.id.clone()), "id `{}` twice", event.id);
            for (id, step) in &event.funnels {
                let funnel = self.config.funnels.iter().find(|f| &f.id == id);
                let Some(funnel) = funnel else { panic!("unknown funnel `{id}` on an event") };
                assert!((1..=funnel.steps.len()).contains(step), "funnel `{id}` at step {step}");
            }
            if event.name.starts_with("funnel_") {
                self.check_funnel_event(event);
            }
        }
        self.check_batch(events);
    }

    fn check_funnel_event(&self, event: &Event) {
        let param = |key: &str| event.params.get(key).cloned().unwrap_or_default();
        let id = param("funnel").to_text();
        let Some(funnel) = self.config.funnels.iter().find(|f| f.id == id) else {
            panic!("`{}` names no funnel: {}", event.name, event.params.to_json());
        };
        let n = funnel.steps.len() as f64;
        let number = |key: &str| param(key).as_f64().unwrap_or(f64::NAN);
        match event.name.as_str() {
            "funnel_step" => {
                let step = number("step");
                assert!((1.0..=n).contains(&step), "funnel `{id}` step {step} of {n}");
                let reached = number("reached");
                assert!((1.0..=n).contains(&reached), "funnel `{id}` reached {reached} of {n}");
                let name = &funnel.steps[step as usize - 1].name;
                assert_eq!(param("step_name"), Value::from(name.as_str()));
            }
            "funnel_complete" => assert_eq!(number("steps"), n),
            "funnel_abandon" => {
                let last = number("last_step");
                assert!((0.0..=n).contains(&last), "funnel `{id}` abandoned at {last} of {n}");
                let reason = param("reason").to_text();
                assert!(["window", "within", "exclusion", "session"].contains(&reason.as_str()));
            }
            other => panic!("unknown funnel event `{other}`"),
        }
    }

    /// The events as the page sends them: one batch body, valid JSON.
    fn check_batch(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let items: Vec<(String, String)> =
            events.iter().map(|e| (e.id.clone(), e.to_value().to_json())).collect();
        let sender = Sender {
            site: &self.config.site,
            client_id: self.engine.client_id(),
            session_id: self.engine.session_id(),
            config_version: self.engine.config_version(),
        };
        let parsed = json(&body(&sender, self.now, &items), "a batch body");
        assert_eq!(parsed["events"].as_array().map(Vec::len), Some(events.len()));
    }

    /// What must hold between observations: progress in range, explanations for every id, a
    /// state that survives a page load unchanged, and debug lines that are not empty.
    fn check_between(&mut self) {
        let progress = self.engine.progress(self.now);
        json(&progress.to_json(), "progress()");
        let Value::Arr(rows) = &progress else { panic!("progress() is not a list") };
        assert_eq!(rows.len(), self.config.funnels.len());
        for (row, funnel) in rows.iter().zip(&self.config.funnels) {
            let n = funnel.steps.len() as f64;
            for key in ["step", "reached"] {
                let value = row.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
                assert!((0.0..=n).contains(&value), "progress of `{}`: {key} {value}", funnel.id);
            }
        }
        for id in self
            .config
            .triggers
            .iter()
            .map(|t| &t.id)
            .chain(self.config.funnels.iter().map(|f| &f.id))
        {
            assert!(!self.engine.explain(id, self.now).is_empty());
        }
        assert!(!self.engine.explain("no such id", self.now).is_empty());
        for line in self.engine.take_log() {
            assert!(!line.is_empty(), "an empty debug line");
        }

        // As the page does, the state is written (and here read back) only when it changed.
        if !self.engine.take_dirty() {
            return;
        }
        let state = self.engine.state();
        let text = state.to_json();
        json(&text, "state()");
        let stored = Value::parse(&text).expect("state is JSON");
        let reloaded = new_engine(self.config.clone(), "https://shop.test/", Some(stored.clone()));
        assert_eq!(reloaded.state().to_json(), text, "state changed across a page load");
        let mut adopted = new_engine(self.config.clone(), "https://shop.test/", None);
        adopted.adopt(&stored);
        assert_eq!(adopted.state().to_json(), text, "state changed when another tab adopted it");
    }
}

/// Replaces parts of a stored state with values the engine never wrote: what another version
/// of the tracker, or the page itself, may have left in storage.
fn corrupt(state: &mut Value, input: &mut Bytes<'_>, config: &Config) {
    const NUMBERS: &[f64] = &[4_294_967_295.0, 4_294_967_296.0, 1e300, -1.0, 0.5, -0.0, 1e19];
    let number = Value::Num(*input.pick(NUMBERS));
    match input.byte().unwrap_or(0) % 8 {
        0 => {
            let mut session = state.get("session").cloned().unwrap_or_else(Value::obj);
            let key = *input.pick(&["number", "last_at", "started_at", "id", "segment"]);
            session.set(key, number);
            state.set("session", session);
        }
        1 => *state = Value::Arr(vec![Value::Null]),
        2 => state.set("funnels", number),
        _ => {
            let Some(funnel) = config.funnels.get(usize::from(input.byte().unwrap_or(0))) else {
                return;
            };
            let last = funnel.steps.len() as f64 - 1.0;
            let lists: [&[f64]; 7] = [
                &[last, 0.0],
                &[0.0, 0.0],
                &[last + 1.0],
                &[0.5],
                &[],
                &[last, last - 1.0],
                &[-0.5],
            ];
            let reached = Value::Arr(input.pick(&lists).iter().map(|&n| Value::Num(n)).collect());
            let mut funnels = state.get("funnels").cloned().unwrap_or_else(Value::obj);
            let mut attempt = funnels.get(&funnel.id).cloned().unwrap_or_else(|| {
                obj(vec![
                    ("entered_at", Value::Num(T0)),
                    ("last_at", Value::Num(T0)),
                    ("session", "s-x".into()),
                    ("held", Value::Arr(vec![Value::Null; funnel.hold.len()])),
                    ("def", microfunnel::funnel::fingerprint(funnel).into()),
                ])
            });
            match input.byte().unwrap_or(0) % 4 {
                0 => attempt.set("entered_at", number),
                1 => attempt.set("held", Value::Arr(Vec::new())),
                _ => attempt.set("reached", reached),
            }
            funnels.set(&funnel.id, attempt);
            state.set("funnels", funnels);
        }
    }
}

/// Runs a page of observations read off `bytes`. The first byte picks a configuration of
/// [`CONFIGS`]; each further byte picks an observation (its low four bits) and how far the
/// clock moves before it (its high four bits), and the bytes after it its details.
///
/// Besides the checks of every event ([`Run::check_events`]) and between observations
/// ([`Run::check_between`]), page loads restore the state saved, and some restore a state
/// with parts replaced by values the engine never writes: it must take them without panic
/// and go on keeping every invariant.
pub fn engine_observe(bytes: &[u8]) {
    let mut input = Bytes(bytes);
    let config_text = *input.pick(CONFIGS);
    let root = Value::parse(config_text).expect("the fuzz configs are JSON");
    let decoded = decode(&root, &FuzzHost::default());
    assert_eq!(decoded.errors, vec![], "the fuzz configs are valid");
    let config = decoded.config;
    let elements = elements();
    let mut run = Run::load(config.clone(), URLS[0], None, T0);

    while let Some(b) = input.byte() {
        run.now += DELTAS[usize::from(b >> 4)];
        let now = run.now;
        let events = match b & 15 {
            0 => run.engine.observe(&Observation::PageView, now),
            1 => {
                let (old_url, new_url) = (*input.pick(URLS), *input.pick(URLS));
                let source = *input.pick(&["pushState", "replaceState", "popstate", "hashchange"]);
                let page_view = input.byte().unwrap_or(0) & 1 == 0;
                let route = Observation::Route { old_url, new_url, title: "T", source, page_view };
                run.engine.observe(&route, now)
            }
            2 => {
                let target = input.pick(&elements);
                run.engine.observe(&Observation::Click { target }, now)
            }
            3 => {
                let element: &FakeElement = input.pick(&elements);
                let trigger = *input.pick(&["seen_once", "seen_each", "cta", "nope"]);
                let key = u32::from(input.byte().unwrap_or(0) % 4);
                run.engine.observe(&Observation::Visible { element, trigger, key: key.into() }, now)
            }
            4 => {
                let percent = *input.pick(SCROLLS);
                run.engine.observe(&Observation::Scroll { percent }, now)
            }
            5 => {
                let actions = [
                    MediaAction::Play,
                    MediaAction::Progress,
                    MediaAction::Ended,
                    MediaAction::Pause,
                    MediaAction::Seek,
                ];
                let action = *input.pick(&actions);
                let element: &FakeElement = input.pick(&elements);
                let media = Media {
                    key: u32::from(input.byte().unwrap_or(0) % 3),
                    action,
                    current_time: *input.pick(MEDIA_TIMES),
                    duration: *input.pick(DURATIONS),
                    source: "https://shop.test/v.webm",
                    provider: "html5",
                    title: "",
                    element,
                };
                run.engine.observe(&Observation::Media(media), now)
            }
            6 => {
                let form = input.pick(&elements);
                run.engine.observe(&Observation::Submit { form, start: false }, now)
            }
            7..=9 => {
                let push = push_from(&mut input);
                run.engine.observe(&Observation::DataLayer { push: &push }, now)
            }
            10 => {
                run.engine.reset_funnels();
                Vec::new()
            }
            11 => {
                let stored = Value::parse(&run.engine.state().to_json()).ok();
                let url = *input.pick(URLS);
                run = Run::load(config.clone(), url, stored, now);
                Vec::new()
            }
            12 => {
                let mut stored = run.engine.state();
                corrupt(&mut stored, &mut input, &config);
                run = Run::load(config.clone(), URLS[0], Some(stored), now);
                Vec::new()
            }
            13 if input.byte().unwrap_or(0) & 1 == 0 => {
                let on = !run.engine.debug();
                run.engine.set_debug(on);
                Vec::new()
            }
            13 if input.byte().unwrap_or(0) & 1 == 0 => {
                let trigger = *input.pick(&["ticks", "errors", "nope"]);
                let count = *input.pick(&[1.0, 2.0, 1e9, -1.0, f64::NAN]);
                run.engine.observe(&Observation::Timer { trigger, count }, now)
            }
            13 => {
                let message = *input.pick(&["", "TypeError: x is undefined", "\u{2028}<b>"]);
                let source = *input.pick(URLS);
                let line = *input.pick(MEDIA_TIMES);
                run.engine.observe(&Observation::Error { message, source, line }, now)
            }
            14 => run.engine.expire_funnels(now),
            _ => {
                let mut stored = run.engine.state();
                corrupt(&mut stored, &mut input, &config);
                run.engine.adopt(&stored);
                Vec::new()
            }
        };
        run.check_events(&events);
        run.check_between();
    }
}

/// A data-layer push read off the fuzzer's bytes: an event name and a few typical keys.
fn push_from(input: &mut Bytes<'_>) -> Value {
    let mut push = obj(vec![("event", Value::from(*input.pick(NAMES)))]);
    let flags = input.byte().unwrap_or(0);
    if flags & 1 != 0 {
        push.set("item", Value::from(*input.pick(&["sku-1", "sku-2", ""])));
    }
    if flags & 2 != 0 {
        push.set("value", Value::Num(*input.pick(&[0.0, 9.99, 10.0, 129.0, -1.0, 1e21])));
    }
    if flags & 4 != 0 {
        let currency = *input.pick(&["EUR", "eur", "usd"]);
        push.set(
            "ecommerce",
            obj(vec![("value", Value::Num(12.5)), ("currency", currency.into())]),
        );
    }
    if flags & 8 != 0 {
        push.set("user", obj(vec![("plan", Value::from(*input.pick(&["pro", "", "free"])))]));
    }
    if flags & 16 != 0 {
        push.set("total", Value::from(*input.pick(&["999", "1e3", "12px", " 7 "])));
    }
    if flags & 32 != 0 {
        push.set("__proto__", obj(vec![("polluted", true.into())]));
    }
    if flags & 64 != 0 {
        let big = Value::Arr(vec![Value::from("x".repeat(30)); 40]);
        push.set("items", big);
    }
    if flags & 128 != 0 {
        push.set("user", Value::Null);
    }
    push
}
