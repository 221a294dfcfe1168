//! The configuration: its model and its decoding from JSON, with a JSON path on every error.
//!
//! Decoding never stops at the first problem. Each trigger, condition and funnel is checked on
//! its own; one that is broken is reported and left out, and the rest still run. That is why
//! this is written by hand rather than derived: a derived decoder gives up at the first error.

use crate::condition::{Condition, Op};
use crate::host::Host;
use crate::json::Value;
use crate::template::Template;

/// A problem in the configuration, located by its JSON path (`triggers[2].selector`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// Where the problem is, as a JSON path from the root.
    pub path: String,
    /// What is wrong, lowercase, with the offending value in backticks.
    pub message: String,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The whole configuration, holding only its valid parts.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The site's name, sent with every batch.
    pub site: String,
    /// Where batches are posted.
    pub endpoint: String,
    /// When a batch is sent.
    pub batch: BatchPolicy,
    /// After how long without activity a session ends.
    pub idle_timeout_ms: f64,
    /// The most characters a text param carries (`privacy.max_text_length`).
    pub max_text_length: usize,
    /// User-defined variables, by name.
    pub variables: Vec<Variable>,
    /// The triggers that decoded without error, in config order.
    pub triggers: Vec<Trigger>,
    /// The funnels that decoded without error, in config order.
    pub funnels: Vec<Funnel>,
}

/// When the queue is sent: after `max_events` events or `max_wait_ms` after the first one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchPolicy {
    /// Send as soon as this many events wait.
    pub max_events: usize,
    /// Send at the latest this long after the oldest waiting event was queued.
    pub max_wait_ms: f64,
}

impl Default for BatchPolicy {
    fn default() -> BatchPolicy {
        BatchPolicy { max_events: 20, max_wait_ms: 5000.0 }
    }
}

/// A user-defined variable, referenced by its bare name in conditions and templates.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    /// The name it is referenced by.
    pub name: String,
    /// Where its value comes from.
    pub source: VariableSource,
    /// The value when the source has none.
    pub default: Value,
}

/// Where a user-defined variable reads its value.
#[derive(Clone, Debug, PartialEq)]
pub enum VariableSource {
    /// A dotted path into the merged data-layer model.
    DataLayer(String),
    /// A query parameter of the page URL.
    UrlQuery(String),
    /// A first-party cookie.
    Cookie(String),
    /// A fixed value.
    Constant(Value),
}

/// One trigger: what it listens to, the event it makes, and when it may fire.
#[derive(Clone, Debug)]
pub struct Trigger {
    /// The trigger's id, used by `explain` and in debug output.
    pub id: String,
    /// What it listens to, with the options of that kind.
    pub kind: TriggerKind,
    /// The event name it emits instead of the default of its kind.
    pub event: Option<String>,
    /// For element triggers: the element must be, or be inside, one matching this selector.
    pub selector: Option<String>,
    /// Params added to (or overriding) the kind's defaults, as templates.
    pub params: Vec<(String, Template)>,
    /// Conditions that must all hold.
    pub when: Vec<Condition>,
    /// Conditions of which none may hold (exceptions).
    pub unless: Vec<Condition>,
}

/// The kinds of trigger and their options.
#[derive(Clone, Debug, PartialEq)]
pub enum TriggerKind {
    /// Each page load.
    PageView,
    /// A click on an element.
    Click,
    /// Vertical scroll depth thresholds, in percent, each once per page.
    Scroll { percent: Vec<f64> },
    /// Media start, progress thresholds in percent, and complete; with `pause_and_seek`,
    /// each pause and seek of a playback too.
    Video { progress_percent: Vec<f64>, pause_and_seek: bool },
    /// A click on a link to a file with one of these extensions (lowercase), or with a
    /// `download` attribute when `download_attribute` is on.
    Download { extensions: Vec<String>, download_attribute: bool },
    /// A form submission, or with `start` the first input into a form on this page (typing,
    /// a choice), once per form.
    Form { start: bool },
    /// A data-layer push whose `event` equals this name.
    DataLayer { name: String },
    /// A URL change without a page load (`pushState`, `replaceState`, `popstate`,
    /// `hashchange`).
    HistoryChange,
    /// An element matching the trigger's selector has been at least `percent` visible for
    /// `min_ms` without a break. The loader watches (IntersectionObserver, and a
    /// MutationObserver for elements added later); the engine applies `fire`.
    Visibility { percent: f64, min_ms: f64, fire: Fire },
    /// An uncaught JavaScript error in the page (`window` `error` events; at most 20 a page).
    JsError,
    /// Every `interval_ms` after the page view, at most `limit` times a page (0: no limit).
    Timer { interval_ms: f64, limit: f64 },
}

/// How often a visibility trigger fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fire {
    /// Once per page (a virtual page view is a new page), whichever element.
    OncePerPage,
    /// Once per element per page.
    OncePerElement,
    /// Each time an element comes into view again.
    EveryTime,
}

/// How a funnel may be entered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Entry {
    /// Only at step 1.
    Closed,
    /// At any step, counted from there.
    Open,
}

/// In which order a funnel's steps must happen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Order {
    /// In the order listed (the default).
    Sequence,
    /// In any order; the funnel is complete when every step has happened.
    Any,
}

/// What an attempt at a funnel is bounded by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scope {
    /// One session: a new session ends the attempt.
    Session,
    /// The visitor across sessions, bounded by the window (7 days unless set).
    Visitor,
}

/// How a step relates to the step before it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Follows {
    /// Other events may come between the two steps.
    Indirectly,
    /// Nothing but ignored events may come between the two steps.
    Directly,
}

/// A funnel: steps evaluated in the page, event by event.
#[derive(Clone, Debug)]
pub struct Funnel {
    /// The funnel's id, used in events and storage.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Closed or open entry.
    pub entry: Entry,
    /// Sequence or any order.
    pub order: Order,
    /// Session or visitor.
    pub scope: Scope,
    /// The longest time from entry to completion, inclusive.
    pub window_ms: Option<f64>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Events that end an attempt in progress.
    pub exclude: Vec<Exclusion>,
    /// Variables whose value at entry every later step must share (`params.item_id`).
    pub hold: Vec<String>,
    /// Events that do not count as "between" for `directly` steps.
    pub ignore_between: Vec<String>,
    /// Whether the page's `<html>` gets a class per step reached.
    pub css_class: bool,
}

/// One funnel step.
#[derive(Clone, Debug)]
pub struct Step {
    /// Its display name.
    pub name: String,
    /// The event that reaches it.
    pub event: String,
    /// Conditions on that event.
    pub when: Vec<Condition>,
    /// The longest time since the prior step, inclusive.
    pub within_ms: Option<f64>,
    /// Whether other events may come between the prior step and this one.
    pub follows: Follows,
}

/// An event that ends a funnel attempt, keeping the steps it reached.
#[derive(Clone, Debug)]
pub struct Exclusion {
    /// The event's name.
    pub event: String,
    /// Conditions on that event.
    pub when: Vec<Condition>,
    /// Only after this step (counting from 1) has been reached, if set.
    pub after_step: Option<usize>,
    /// Only before this step (counting from 1) has been reached, if set.
    pub before_step: Option<usize>,
}

/// Events that by default do not break a `directly` step: they happen on their own while a
/// visitor reads or watches, not as a choice between two steps.
pub const DEFAULT_IGNORE_BETWEEN: &[&str] = &["scroll_depth", "video_progress"];

/// The outcome of decoding: the valid parts and every problem found.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The configuration, without the parts that had errors.
    pub config: Config,
    /// Every problem, in document order.
    pub errors: Vec<ConfigError>,
}

/// Decodes a parsed configuration. `host` checks what only the page can (selectors, regexes).
pub fn decode(root: &Value, host: &dyn Host) -> Decoded {
    let mut d = Decoder { errors: Vec::new(), host };
    let config = d.config(root);
    Decoded { config, errors: d.errors }
}

struct Decoder<'h> {
    errors: Vec<ConfigError>,
    host: &'h dyn Host,
}

// The keys each object of the config may have, and the names of each choice: the decoder and
// the JSON Schema (`crate::schema`, native only) both read them, so the two cannot drift.

/// The top level.
pub const ROOT_KEYS: &[&str] = &[
    "$schema",
    "site",
    "collector",
    "session",
    "consent",
    "privacy",
    "variables",
    "triggers",
    "funnels",
    // Read by the loader, which hands the config to its preset's add-on first (www/src/ga4.js).
    "preset",
];
/// `collector`, and `collector.batch`.
pub const COLLECTOR_KEYS: &[&str] = &["endpoint", "batch"];
/// `collector.batch`.
pub const BATCH_KEYS: &[&str] = &["max_events", "max_wait_ms"];
/// `session`.
pub const SESSION_KEYS: &[&str] = &["idle_timeout_min"];
/// `consent`.
pub const CONSENT_KEYS: &[&str] =
    &["default", "wait_for_update_ms", "honor_gpc", "honor_dnt", "cookieless"];
/// `privacy`.
pub const PRIVACY_KEYS: &[&str] = &["redact_query_params", "max_text_length"];
/// The longest `privacy.max_text_length`, and the default.
pub const MAX_TEXT_LENGTH: usize = 500;
/// `consent.default`.
pub const CONSENT_STATES: &[(&str, ())] = &[("granted", ()), ("denied", ())];
/// A variable: one source, and a default.
pub const VARIABLE_KEYS: &[&str] = &["data_layer", "url_query", "cookie", "constant", "default"];
/// Every trigger, whatever its type.
pub const TRIGGER_KEYS: &[&str] = &["id", "on", "event", "selector", "params", "when", "unless"];
/// The trigger types, each with the keys of its own.
pub const TRIGGER_TYPES: &[(&str, &[&str])] = &[
    ("page_view", &[]),
    ("click", &[]),
    ("scroll", &["percent"]),
    ("video", &["progress_percent", "pause_and_seek"]),
    ("download", &["extensions", "download_attribute"]),
    ("form_submit", &[]),
    ("form_start", &[]),
    ("data_layer", &["name"]),
    ("history_change", &[]),
    ("visibility", &["percent", "min_duration", "fire"]),
    ("js_error", &[]),
    ("dom_ready", &[]),
    ("window_loaded", &[]),
    ("timer", &["interval", "limit"]),
];
/// A visibility trigger's `fire`.
pub const FIRES: &[(&str, Fire)] = &[
    ("once_per_page", Fire::OncePerPage),
    ("once_per_element", Fire::OncePerElement),
    ("every_time", Fire::EveryTime),
];
/// A condition.
pub const CONDITION_KEYS: &[&str] = &["var", "op", "value", "ignore_case"];
/// A funnel.
pub const FUNNEL_KEYS: &[&str] = &[
    "id",
    "name",
    "entry",
    "order",
    "scope",
    "window",
    "steps",
    "exclude",
    "hold",
    "ignore_between",
    "css_class",
];
/// A funnel's `entry`; the first is the default.
pub const ENTRIES: &[(&str, Entry)] = &[("closed", Entry::Closed), ("open", Entry::Open)];
/// A funnel's `order`; the first is the default.
pub const ORDERS: &[(&str, Order)] = &[("sequence", Order::Sequence), ("any", Order::Any)];
/// A funnel's `scope`; the first is the default.
pub const SCOPES: &[(&str, Scope)] = &[("session", Scope::Session), ("visitor", Scope::Visitor)];
/// A funnel step.
pub const STEP_KEYS: &[&str] = &["name", "event", "when", "within", "follows"];
/// A step's `follows`.
pub const FOLLOWS: &[(&str, Follows)] =
    &[("indirectly", Follows::Indirectly), ("directly", Follows::Directly)];
/// A funnel exclusion.
pub const EXCLUSION_KEYS: &[&str] = &["event", "when", "after_step", "before_step"];

impl Decoder<'_> {
    /// A value of the wrong JSON type: "expected X, found a number".
    fn wrong(&mut self, path: &str, expected: &str, found: &Value) {
        self.error(path, format!("expected {expected}, found {}", kind_of(found)));
    }

    fn error(&mut self, path: &str, message: String) {
        self.errors.push(ConfigError { path: path.to_string(), message });
    }

    fn config(&mut self, root: &Value) -> Config {
        let mut config = Config {
            idle_timeout_ms: 30.0 * 60_000.0,
            max_text_length: MAX_TEXT_LENGTH,
            ..Config::default()
        };
        let Some(pairs) = self.object(root, "$", ROOT_KEYS) else {
            return config;
        };
        config.endpoint = "/collect".to_string();
        for (key, value) in pairs {
            let path = key.clone();
            match key.as_str() {
                "site" => config.site = self.string(value, &path).unwrap_or_default(),
                "collector" => self.collector(value, &path, &mut config),
                "session" => self.session(value, &path, &mut config),
                "consent" => self.consent(value, &path),
                "privacy" => self.privacy(value, &path, &mut config),
                "variables" => config.variables = self.variables(value, &path),
                "triggers" => {
                    config.triggers = self.list(value, &path, Self::trigger);
                    self.drop_duplicates(value, &path, &mut config.triggers, |t| &t.id);
                }
                "funnels" => {
                    config.funnels = self.list(value, &path, Self::funnel);
                    self.drop_duplicates(value, &path, &mut config.funnels, |f| &f.id);
                }
                _ => {}
            }
        }
        if config.site.is_empty() || config.site.len() > 128 {
            self.error("site", "a site name of 1 to 128 characters is required".into());
        }
        config
    }

    /// Reports every item whose id an earlier item already has, and leaves it out: two
    /// triggers or funnels under one id would share their explanations and stored progress.
    fn drop_duplicates<T>(
        &mut self,
        list: &Value,
        path: &str,
        items: &mut Vec<T>,
        id: fn(&T) -> &String,
    ) {
        let Value::Arr(raw) = list else { return };
        let mut seen: Vec<String> = Vec::new();
        items.retain(|item| {
            let item_id = id(item).clone();
            let keep = !seen.contains(&item_id);
            seen.push(item_id);
            keep
        });
        let mut ids: Vec<&str> = Vec::new();
        for (i, item) in raw.iter().enumerate() {
            let Some(item_id) = item.get("id").and_then(Value::as_str) else { continue };
            if ids.contains(&item_id) {
                let here = join(&index(path, i), "id");
                self.error(
                    &here,
                    format!("id `{item_id}` is used more than once; this one is left out"),
                );
            }
            ids.push(item_id);
        }
    }

    fn collector(&mut self, value: &Value, path: &str, config: &mut Config) {
        let Some(pairs) = self.object(value, path, COLLECTOR_KEYS) else { return };
        for (key, value) in pairs {
            let path = join(path, key);
            match key.as_str() {
                "endpoint" => {
                    if let Some(endpoint) = self.string(value, &path) {
                        config.endpoint = endpoint;
                    }
                }
                "batch" => self.batch(value, &path, &mut config.batch),
                _ => {}
            }
        }
    }

    fn batch(&mut self, value: &Value, path: &str, batch: &mut BatchPolicy) {
        let Some(pairs) = self.object(value, path, BATCH_KEYS) else { return };
        for (key, value) in pairs {
            let path = join(path, key);
            let Some(n) = self.number(value, &path, 1.0, 1000.0 * 60.0 * 60.0) else { continue };
            match key.as_str() {
                "max_events" => batch.max_events = (n as usize).min(500),
                "max_wait_ms" => batch.max_wait_ms = n,
                _ => {}
            }
        }
    }

    fn session(&mut self, value: &Value, path: &str, config: &mut Config) {
        let Some(pairs) = self.object(value, path, SESSION_KEYS) else { return };
        let Some((_, value)) = pairs.iter().find(|(k, _)| k == "idle_timeout_min") else { return };
        if let Some(min) = self.number(value, &join(path, "idle_timeout_min"), 1.0, 24.0 * 60.0) {
            config.idle_timeout_ms = min * 60_000.0;
        }
    }

    /// Checked only: the loader reads `consent` itself, before the module starts.
    fn consent(&mut self, value: &Value, path: &str) {
        let Some(pairs) = self.object(value, path, CONSENT_KEYS) else { return };
        for (key, value) in pairs {
            let path = join(path, key);
            match key.as_str() {
                "default" => {
                    self.one_of(value, &path, CONSENT_STATES);
                }
                "wait_for_update_ms" => {
                    self.number(value, &path, 0.0, 60_000.0);
                }
                _ => {
                    self.boolean(value, &path);
                }
            }
        }
    }

    /// `redact_query_params` is checked only: the loader applies it to every body it sends.
    fn privacy(&mut self, value: &Value, path: &str, config: &mut Config) {
        let Some(pairs) = self.object(value, path, PRIVACY_KEYS) else { return };
        for (key, value) in pairs {
            let path = join(path, key);
            match key.as_str() {
                "max_text_length" => {
                    if let Some(n) = self.number(value, &path, 1.0, MAX_TEXT_LENGTH as f64) {
                        config.max_text_length = n as usize;
                    }
                }
                "redact_query_params" => {
                    self.strings(value, &path);
                }
                _ => {}
            }
        }
    }

    fn variables(&mut self, value: &Value, path: &str) -> Vec<Variable> {
        let Some(pairs) = self.object(value, path, &[]) else { return Vec::new() };
        let mut out = Vec::new();
        for (name, def) in pairs {
            let path = join(path, name);
            let before = self.errors.len();
            let variable = self.variable(name, def, &path);
            // A variable with any error is left out, like a trigger: it would read wrong values.
            if let Some(variable) = variable.filter(|_| self.errors.len() == before) {
                out.push(variable);
            }
        }
        out
    }

    fn variable(&mut self, name: &str, def: &Value, path: &str) -> Option<Variable> {
        let pairs = self.object(def, path, VARIABLE_KEYS)?;
        let mut source = None;
        let mut default = Value::Null;
        for (key, value) in pairs {
            let here = join(path, key);
            let text = || value.as_str().map(str::to_string);
            let found = match key.as_str() {
                "default" => {
                    default = value.clone();
                    continue;
                }
                "constant" => Some(VariableSource::Constant(value.clone())),
                "data_layer" => text().map(VariableSource::DataLayer),
                "url_query" => text().map(VariableSource::UrlQuery),
                _ => text().map(VariableSource::Cookie),
            };
            if found.is_none() {
                self.wrong(&here, "a string", value);
            } else if source.is_some() {
                self.error(&here, "a variable has exactly one source".into());
            } else {
                source = found;
            }
        }
        if source.is_none() && !self.errors.iter().any(|e| e.path.starts_with(path)) {
            self.error(
                path,
                "a variable needs a source: data_layer, url_query, cookie or constant".into(),
            );
        }
        Some(Variable { name: name.to_string(), source: source?, default })
    }

    fn list<T>(
        &mut self,
        value: &Value,
        path: &str,
        item: fn(&mut Self, &Value, &str) -> Option<T>,
    ) -> Vec<T> {
        let Value::Arr(items) = value else {
            self.wrong(path, "an array", value);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, value) in items.iter().enumerate() {
            let path = index(path, i);
            let before = self.errors.len();
            if let Some(parsed) = item(self, value, &path) {
                // An item with any error is left out whole, so a half-understood trigger never runs.
                if self.errors.len() == before {
                    out.push(parsed);
                }
            }
        }
        out
    }

    fn trigger(&mut self, value: &Value, path: &str) -> Option<Trigger> {
        let on = value.get("on").and_then(Value::as_str);
        let mut keys = TRIGGER_KEYS.to_vec();
        if let Some((_, own)) = TRIGGER_TYPES.iter().find(|(name, _)| Some(*name) == on) {
            keys.extend_from_slice(own);
        }
        let pairs = self.object(value, path, &keys)?;
        let id = self.required_string(value, path, "id")?;
        let on = self.required_string(value, path, "on")?;
        let kind = self.trigger_kind(&on, value, path)?;
        let mut trigger = Trigger {
            id,
            kind,
            event: None,
            selector: None,
            params: Vec::new(),
            when: Vec::new(),
            unless: Vec::new(),
        };
        for (key, value) in pairs {
            let here = join(path, key);
            match key.as_str() {
                "event" => trigger.event = self.event_name(value, &here),
                "selector" => trigger.selector = self.selector(value, &here),
                "params" => trigger.params = self.params(value, &here),
                "when" => trigger.when = self.conditions(value, &here),
                "unless" => trigger.unless = self.conditions(value, &here),
                _ => {}
            }
        }
        if let (TriggerKind::Video { .. }, Some(prefix)) = (&trigger.kind, &trigger.event) {
            // A video trigger's `event` is a prefix: its events are `{event}_start`,
            // `_progress` and `_complete`, and the longest must be a valid name too, or the
            // collector refuses every batch that carries one.
            let longest = format!("{prefix}_progress");
            self.event_name(&Value::Str(longest), &join(path, "event"))?;
        }
        Some(trigger)
    }

    fn trigger_kind(&mut self, on: &str, value: &Value, path: &str) -> Option<TriggerKind> {
        let kind = match on {
            "page_view" => TriggerKind::PageView,
            "click" => TriggerKind::Click,
            "form_submit" => TriggerKind::Form { start: false },
            "form_start" => TriggerKind::Form { start: true },
            "history_change" => TriggerKind::HistoryChange,
            "visibility" => self.visibility(value, path)?,
            "js_error" => TriggerKind::JsError,
            // The loader hands both stages over as data-layer events of these names.
            "dom_ready" | "window_loaded" => TriggerKind::DataLayer { name: on.into() },
            "timer" => {
                let Some(interval) = value.get("interval") else {
                    self.error(path, "`interval` is required".into());
                    return None;
                };
                let interval_ms = self.duration(interval, &join(path, "interval"))?;
                let limit = match value.get("limit") {
                    Some(v) => self.number(v, &join(path, "limit"), 0.0, 1e6)?,
                    None => 0.0,
                };
                TriggerKind::Timer { interval_ms, limit }
            }
            "scroll" => TriggerKind::Scroll {
                percent: self.percents(value, path, "percent", &[25.0, 50.0, 75.0, 90.0])?,
            },
            "video" => TriggerKind::Video {
                progress_percent: self.percents(
                    value,
                    path,
                    "progress_percent",
                    &[10.0, 25.0, 50.0, 75.0],
                )?,
                pause_and_seek: self.flag(value, path, "pause_and_seek", false)?,
            },
            "download" => self.download(value, path)?,
            "data_layer" => {
                let name = self.required_string(value, path, "name")?;
                // The pushed name becomes the event's name unless `event` renames it.
                if value.get("event").is_none() {
                    self.event_name(&Value::from(name.as_str()), &join(path, "name"))?;
                }
                TriggerKind::DataLayer { name }
            }
            other => {
                let mut known = String::new();
                for (name, _) in TRIGGER_TYPES {
                    if !known.is_empty() {
                        known.push_str(", ");
                    }
                    known.push_str(name);
                }
                self.error(
                    &join(path, "on"),
                    format!("unknown trigger type `{other}`; known: {known}"),
                );
                return None;
            }
        };
        Some(kind)
    }

    fn visibility(&mut self, value: &Value, path: &str) -> Option<TriggerKind> {
        if value.get("selector").is_none() {
            self.error(path, "`selector` is required".into());
            return None;
        }
        let mut kind = (50.0, 0.0, Fire::OncePerPage);
        if let Some(v) = value.get("percent") {
            kind.0 = self.number(v, &join(path, "percent"), 1.0, 100.0)?;
        }
        if let Some(v) = value.get("min_duration") {
            kind.1 = self.duration(v, &join(path, "min_duration"))?;
        }
        if let Some(v) = value.get("fire") {
            kind.2 = self.one_of(v, &join(path, "fire"), FIRES)?;
        }
        Some(TriggerKind::Visibility { percent: kind.0, min_ms: kind.1, fire: kind.2 })
    }

    fn download(&mut self, value: &Value, path: &str) -> Option<TriggerKind> {
        let mut extensions: Vec<String> =
            ["pdf", "zip", "csv", "xlsx", "docx", "pptx", "txt", "mp3", "mp4", "dmg", "exe"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        if let Some(list) = value.get("extensions") {
            let here = join(path, "extensions");
            extensions = self.strings(list, &here)?;
            extensions = extensions
                .into_iter()
                .map(|e| e.strip_prefix('.').unwrap_or(&e).to_ascii_lowercase())
                .collect();
        }
        let download_attribute = self.flag(value, path, "download_attribute", true)?;
        Some(TriggerKind::Download { extensions, download_attribute })
    }

    fn percents(
        &mut self,
        value: &Value,
        path: &str,
        key: &str,
        default: &[f64],
    ) -> Option<Vec<f64>> {
        let Some(list) = value.get(key) else { return Some(default.to_vec()) };
        let here = join(path, key);
        let Value::Arr(items) = list else {
            self.wrong(&here, "an array of percents", list);
            return None;
        };
        let mut out = Vec::new();
        let before = self.errors.len();
        for (i, item) in items.iter().enumerate() {
            out.extend(self.number(item, &index(&here, i), 0.0, 100.0));
        }
        if self.errors.len() > before {
            return None;
        }
        sort_small(&mut out);
        out.dedup();
        Some(out)
    }

    fn event_name(&mut self, value: &Value, path: &str) -> Option<String> {
        let name = self.string(value, path)?;
        if name.starts_with("funnel_") {
            self.error(
                path,
                format!("`{name}`: names starting with `funnel_` are the tracker's own"),
            );
            return None;
        }
        let valid = name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.error(
                path,
                format!("`{name}` is not a valid event name: a letter, then letters, digits or `_`, at most 40"),
            );
            return None;
        }
        Some(name)
    }

    /// The boolean at `key` of `value`, `default` when absent; an error if not a boolean.
    fn flag(&mut self, value: &Value, path: &str, key: &str, default: bool) -> Option<bool> {
        match value.get(key) {
            None => Some(default),
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.wrong(&join(path, key), "a boolean", other);
                None
            }
        }
    }

    fn selector(&mut self, value: &Value, path: &str) -> Option<String> {
        let selector = self.string(value, path)?;
        if !self.host.selector_is_valid(&selector) {
            self.error(path, format!("`{selector}` is not a valid CSS selector"));
            return None;
        }
        Some(selector)
    }

    fn params(&mut self, value: &Value, path: &str) -> Vec<(String, Template)> {
        let Some(pairs) = self.object(value, path, &[]) else { return Vec::new() };
        let mut out = Vec::new();
        for (key, value) in pairs {
            let here = join(path, key);
            match value {
                Value::Str(text) => match Template::parse(text) {
                    Ok(t) => out.push((key.clone(), t)),
                    Err(message) => self.error(&here, message),
                },
                Value::Num(_) | Value::Bool(_) => {
                    out.push((key.clone(), Template::constant(value.clone())))
                }
                other => self.wrong(&here, "a string template", other),
            }
        }
        out
    }

    fn conditions(&mut self, value: &Value, path: &str) -> Vec<Condition> {
        self.list(value, path, Self::condition)
    }

    fn condition(&mut self, value: &Value, path: &str) -> Option<Condition> {
        self.object(value, path, CONDITION_KEYS)?;
        let var = self.required_string(value, path, "var")?;
        let op_name = self.required_string(value, path, "op")?;
        let Some((op, negate)) = Op::parse(&op_name) else {
            let known = "equals, contains, starts_with, ends_with, matches_regex, matches_css, lt, lte, gt, gte (each also with not_)";
            self.error(&join(path, "op"), format!("unknown operator `{op_name}`; known: {known}"));
            return None;
        };
        let Some(operand) = value.get("value") else {
            self.error(path, "a condition needs a `value`".into());
            return None;
        };
        let ignore_case = self.flag(value, path, "ignore_case", false)?;
        let here = join(path, "value");
        let operand = self.operand(op, operand, &here, ignore_case)?;
        Some(Condition { var, op, negate, value: operand, ignore_case })
    }

    fn operand(&mut self, op: Op, value: &Value, path: &str, ignore_case: bool) -> Option<Value> {
        if op.is_numeric() {
            let Some(n) = value.to_number() else {
                self.error(path, format!("operator needs a number, found {}", kind_of(value)));
                return None;
            };
            return Some(Value::Num(n));
        }
        let text = match value {
            Value::Str(s) => s.clone(),
            Value::Num(_) | Value::Bool(_) => value.to_text(),
            other => {
                self.wrong(path, "a string", other);
                return None;
            }
        };
        if op == Op::MatchesRegex && !self.host.regex_is_valid(&text, ignore_case) {
            self.error(path, format!("`{text}` is not a valid regular expression"));
            return None;
        }
        if op == Op::MatchesRegex && crate::text::repeats_a_repetition(&text) {
            self.error(
                path,
                format!("`{text}` repeats a repetition, which can hang the page: unnest it"),
            );
            return None;
        }
        if op == Op::MatchesCss && !self.host.selector_is_valid(&text) {
            self.error(path, format!("`{text}` is not a valid CSS selector"));
            return None;
        }
        Some(Value::Str(text))
    }

    fn funnel(&mut self, value: &Value, path: &str) -> Option<Funnel> {
        let before = self.errors.len();
        self.object(value, path, FUNNEL_KEYS)?;
        let id = self.required_string(value, path, "id")?;
        let name = match value.get("name") {
            Some(v) => self.string(v, &join(path, "name"))?,
            None => id.clone(),
        };
        let entry = self.choice(value, path, "entry", ENTRIES)?;
        let order = self.choice(value, path, "order", ORDERS)?;
        let scope = self.choice(value, path, "scope", SCOPES)?;
        let window_ms = match value.get("window") {
            Some(v) => Some(self.duration(v, &join(path, "window"))?),
            None if scope == Scope::Visitor => Some(7.0 * 86_400_000.0),
            None => None,
        };
        let Some(steps) = value.get("steps") else {
            self.error(path, "a funnel needs `steps`".into());
            return None;
        };
        let steps = self.list(steps, &join(path, "steps"), Self::step);
        if steps.is_empty() {
            self.error(&join(path, "steps"), "a funnel needs at least one valid step".into());
            return None;
        }
        let mut funnel = Funnel {
            id,
            name,
            entry,
            order,
            scope,
            window_ms,
            steps,
            exclude: Vec::new(),
            hold: Vec::new(),
            ignore_between: DEFAULT_IGNORE_BETWEEN.iter().map(|s| s.to_string()).collect(),
            css_class: false,
        };
        if let Some(list) = value.get("exclude") {
            funnel.exclude = self.list(list, &join(path, "exclude"), Self::exclusion);
        }
        if let Some(list) = value.get("hold") {
            funnel.hold = self.strings(list, &join(path, "hold"))?;
        }
        if let Some(list) = value.get("ignore_between") {
            funnel.ignore_between = self.strings(list, &join(path, "ignore_between"))?;
        }
        if let Some(flag) = value.get("css_class") {
            funnel.css_class = self.boolean(flag, &join(path, "css_class"))?;
        }
        // The rules across keys index the steps and exclusions that decoded: only when none
        // was left out do those indexes name the items as written.
        if self.errors.len() == before {
            self.check_funnel(&funnel, path)?;
        }
        Some(funnel)
    }

    /// Rules that span several keys of a funnel.
    fn check_funnel(&mut self, funnel: &Funnel, path: &str) -> Option<()> {
        let before = self.errors.len();
        let steps = funnel.steps.len();
        if funnel.order == Order::Any {
            for (i, step) in funnel.steps.iter().enumerate() {
                let here = index(&join(path, "steps"), i);
                if step.within_ms.is_some() {
                    self.error(
                        &join(&here, "within"),
                        "`within` needs steps in sequence, not `order: any`".into(),
                    );
                }
                if step.follows == Follows::Directly {
                    self.error(
                        &join(&here, "follows"),
                        "`directly` needs steps in sequence, not `order: any`".into(),
                    );
                }
            }
        }
        for (i, exclusion) in funnel.exclude.iter().enumerate() {
            let here = index(&join(path, "exclude"), i);
            for (key, bound) in
                [("after_step", exclusion.after_step), ("before_step", exclusion.before_step)]
            {
                if bound.is_some_and(|b| b == 0 || b > steps) {
                    self.error(
                        &join(&here, key),
                        format!("the funnel has steps 1 to {}", steps as u32),
                    );
                }
            }
        }
        (self.errors.len() == before).then_some(())
    }

    fn step(&mut self, value: &Value, path: &str) -> Option<Step> {
        let pairs = self.object(value, path, STEP_KEYS)?;
        let event = self.required_string(value, path, "event")?;
        let event = self.event_name(&Value::Str(event), &join(path, "event"))?;
        let mut step = Step {
            name: event.clone(),
            event,
            when: Vec::new(),
            within_ms: None,
            follows: Follows::Indirectly,
        };
        for (key, value) in pairs {
            let here = join(path, key);
            match key.as_str() {
                "name" => step.name = self.string(value, &here)?,
                "when" => step.when = self.conditions(value, &here),
                "within" => step.within_ms = Some(self.duration(value, &here)?),
                "follows" => step.follows = self.one_of(value, &here, FOLLOWS)?,
                _ => {}
            }
        }
        Some(step)
    }

    fn exclusion(&mut self, value: &Value, path: &str) -> Option<Exclusion> {
        let pairs = self.object(value, path, EXCLUSION_KEYS)?;
        let event = self.required_string(value, path, "event")?;
        let mut exclusion =
            Exclusion { event, when: Vec::new(), after_step: None, before_step: None };
        for (key, value) in pairs {
            let here = join(path, key);
            match key.as_str() {
                "when" => exclusion.when = self.conditions(value, &here),
                "after_step" => {
                    exclusion.after_step = Some(self.number(value, &here, 1.0, 1000.0)? as usize)
                }
                "before_step" => {
                    exclusion.before_step = Some(self.number(value, &here, 1.0, 1000.0)? as usize)
                }
                _ => {}
            }
        }
        Some(exclusion)
    }

    /// An optional key whose value is one of a few names; absent means the first option.
    fn choice<T: Copy>(
        &mut self,
        value: &Value,
        path: &str,
        key: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        match value.get(key) {
            None => Some(options[0].1),
            Some(v) => self.one_of(v, &join(path, key), options),
        }
    }

    fn one_of<T: Copy>(&mut self, value: &Value, path: &str, options: &[(&str, T)]) -> Option<T> {
        let text = value.as_str().unwrap_or("");
        if let Some((_, option)) = options.iter().find(|(name, _)| *name == text) {
            return Some(*option);
        }
        let mut names = String::new();
        for (name, _) in options {
            names.push_str(if names.is_empty() { "`" } else { "`, `" });
            names.push_str(name);
        }
        self.error(path, format!("expected one of {names}`, found `{}`", value.to_text()));
        None
    }

    fn boolean(&mut self, value: &Value, path: &str) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(path, "a boolean", other);
                None
            }
        }
    }

    /// A duration: milliseconds as a number, or text such as `90s`, `30m`, `2h`, `7d`.
    fn duration(&mut self, value: &Value, path: &str) -> Option<f64> {
        if let Value::Num(ms) = value {
            if *ms > 0.0 {
                return Some(*ms);
            }
        }
        let text = value.as_str().unwrap_or("");
        let unit_ms = match text.chars().last() {
            Some('s') => 1000.0,
            Some('m') => 60_000.0,
            Some('h') => 3_600_000.0,
            Some('d') => 86_400_000.0,
            _ => 0.0,
        };
        let amount = text.get(..text.len().saturating_sub(1)).and_then(crate::json::parse_number);
        match amount {
            Some(n) if unit_ms > 0.0 && n > 0.0 => Some(n * unit_ms),
            _ => {
                let found = value.to_text();
                self.error(
                    path,
                    format!("`{found}` is not a duration: use milliseconds or 90s, 30m, 2h, 7d"),
                );
                None
            }
        }
    }

    fn object<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        allowed: &[&str],
    ) -> Option<&'v [(String, Value)]> {
        let Some(pairs) = value.as_obj() else {
            self.wrong(path, "an object", value);
            return None;
        };
        if !allowed.is_empty() {
            for (key, _) in pairs {
                if !allowed.contains(&key.as_str()) {
                    let here = if path == "$" { key.clone() } else { join(path, key) };
                    let hint = closest_key(key, allowed)
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    self.error(&here, format!("unknown key `{key}`{hint}"));
                }
            }
        }
        // Unknown keys are reported but the known ones still apply; `list` leaves out an item
        // that had any error, so a trigger with a typo never runs half-understood.
        Some(pairs)
    }

    fn required_string(&mut self, value: &Value, path: &str, key: &str) -> Option<String> {
        let here = join(path, key);
        match value.get(key) {
            Some(v) => self.string(v, &here),
            None => {
                self.error(path, format!("`{key}` is required"));
                None
            }
        }
    }

    fn string(&mut self, value: &Value, path: &str) -> Option<String> {
        match value {
            Value::Str(s) if !s.is_empty() => Some(s.clone()),
            Value::Str(_) => {
                self.error(path, "expected a non-empty string".into());
                None
            }
            other => {
                self.wrong(path, "a string", other);
                None
            }
        }
    }

    fn strings(&mut self, value: &Value, path: &str) -> Option<Vec<String>> {
        let Value::Arr(items) = value else {
            self.wrong(path, "an array of strings", value);
            return None;
        };
        items.iter().enumerate().map(|(i, v)| self.string(v, &index(path, i))).collect()
    }

    fn number(&mut self, value: &Value, path: &str, min: f64, max: f64) -> Option<f64> {
        match value {
            Value::Num(n) if (min..=max).contains(n) => Some(*n),
            Value::Num(n) => {
                let shown = Value::Num(*n).to_json();
                self.error(
                    path,
                    format!(
                        "`{shown}` is out of range: {} to {}",
                        Value::Num(min).to_json(),
                        Value::Num(max).to_json()
                    ),
                );
                None
            }
            other => {
                self.wrong(path, "a number", other);
                None
            }
        }
    }
}

/// `path.key`: one function instead of a formatting call at every site.
fn join(path: &str, key: &str) -> String {
    let mut out = String::with_capacity(path.len() + key.len() + 1);
    out.push_str(path);
    out.push('.');
    out.push_str(key);
    out
}

/// `path[i]`.
fn index(path: &str, i: usize) -> String {
    let mut out = String::from(path);
    out.push('[');
    let mut digits = Vec::new();
    let mut n = i;
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits.iter().rev().map(|&d| char::from(d)));
    out.push(']');
    out
}

/// Sorts a short list of numbers; the standard sort would add kilobytes to the wasm for lists
/// of four.
fn sort_small(list: &mut [f64]) {
    for i in 1..list.len() {
        let mut j = i;
        while j > 0 && list[j - 1] > list[j] {
            list.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The JSON kind of a value, for error messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Num(_) => "a number",
        Value::Str(_) => "a string",
        Value::Arr(_) => "an array",
        Value::Obj(_) => "an object",
    }
}

/// The allowed key that a typo most likely meant: the one sharing the longest start with it,
/// if that start is most of the key (`selectr` → `selector`, `max_event` → `max_events`).
/// Cheaper in the wasm than an edit distance, and right for the usual slips at the end.
fn closest_key<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let shared = |k: &str| key.bytes().zip(k.bytes()).take_while(|(a, b)| a == b).count();
    let best = allowed.iter().copied().max_by_key(|k| shared(k))?;
    let n = shared(best);
    (n >= 3 && n + 2 >= key.len().max(best.len())).then_some(best)
}
