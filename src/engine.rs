//! The engine: observations in, events and funnel changes out.
//!
//! It knows nothing of the browser. The glue hands it observations with a timestamp; it returns
//! the events to queue, keeps the session and every funnel's progress, and explains its
//! decisions for the console.

use crate::condition::{first_failure, Vars};
use crate::config::Funnel;
use crate::config::{Config, Fire, TriggerKind, Variable, VariableSource};
use crate::dom::Element;
use crate::event::{query_param, Event, Page};
use crate::funnel::{self, Attempt, Change, Seen};
use crate::host::Host;
use crate::json::{obj, Value};
use crate::segment::{segment, Visit};
use crate::session::Session;
use crate::trigger::{recognise, Observation, PageMemory, Recognised};

/// What the engine starts from on a page load.
pub struct Setup {
    /// The valid parts of the configuration.
    pub config: Config,
    /// The page loaded.
    pub page: Page,
    /// The visitor's id, kept across visits.
    pub client_id: String,
    /// The browser's user agent, for the device category.
    pub user_agent: String,
    /// What [`Engine::state`] returned on an earlier page load, if anything.
    pub stored: Option<Value>,
    /// A fingerprint of the configuration, sent with every batch.
    pub config_version: String,
}

/// The tracker's logic for one page load.
pub struct Engine {
    config: Config,
    host: Box<dyn Host>,
    page: Page,
    user_agent: String,
    client_id: String,
    config_version: String,
    page_key: String,
    seq: u64,
    session: Option<Session>,
    data_layer: Value,
    memory: PageMemory,
    attempts: Vec<Option<Attempt>>,
    fingerprints: Vec<String>,
    debug: bool,
    log: Vec<String>,
    explanations: Vec<(String, String)>,
    dirty: bool,
}

impl Engine {
    /// Starts the engine for a page load, restoring the session and funnel progress.
    pub fn new(setup: Setup, host: Box<dyn Host>) -> Engine {
        let fingerprints: Vec<String> =
            setup.config.funnels.iter().map(funnel::fingerprint).collect();
        let stored = setup.stored.unwrap_or_default();
        let session = stored.get("session").and_then(Session::from_value);
        let attempts = setup
            .config
            .funnels
            .iter()
            .zip(&fingerprints)
            .map(|(f, fp)| {
                stored
                    .get("funnels")
                    .and_then(|all| all.get(&f.id))
                    .and_then(|v| Attempt::from_value(v, f, fp))
            })
            .collect();
        let page_key = host.random_id();
        Engine {
            attempts,
            fingerprints,
            config: setup.config,
            host,
            page: setup.page,
            user_agent: setup.user_agent,
            client_id: setup.client_id,
            config_version: setup.config_version,
            page_key,
            seq: 0,
            session,
            data_layer: Value::obj(),
            memory: PageMemory::default(),
            debug: false,
            log: Vec::new(),
            explanations: Vec::new(),
            dirty: false,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The visitor's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The configuration's fingerprint.
    pub fn config_version(&self) -> &str {
        &self.config_version
    }

    /// The current session's id, or empty before the first observation.
    pub fn session_id(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.id.as_str())
    }

    /// Turns debug output on or off.
    pub fn set_debug(&mut self, on: bool) {
        self.debug = on;
    }

    /// Whether debug output is on.
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// The debug lines produced since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// Whether the session or a funnel changed since the last call; clears the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::replace(&mut self.dirty, false)
    }

    /// Handles one observation at `now` (milliseconds since the epoch) and returns the events
    /// it produced, each followed by the funnel events it caused.
    pub fn observe(&mut self, observation: &Observation<'_>, now: f64) -> Vec<Event> {
        if let Observation::Route { new_url, title, page_view, .. } = *observation {
            if new_url == self.page.url {
                return Vec::new();
            }
            // A new page's referrer is the page the visitor came from, as for a real load; an
            // anchor in the same page keeps the page's own.
            let referrer = if page_view { &self.page.url } else { &self.page.referrer };
            self.page = Page::new(new_url, title, referrer);
            if page_view {
                self.memory.new_page();
            }
        }
        self.touch_session(now);
        // Attempts that ended since the last observation are reported now, whether or not this
        // observation makes an event of its own.
        let mut out = self.expire_funnels(now);
        if let Observation::DataLayer { push } = observation {
            self.data_layer.merge(push);
        }
        let mut made = Vec::new();
        for index in 0..self.config.triggers.len() {
            self.run_trigger(index, observation, now, &mut made);
        }
        for event in made {
            let funnel_events = self.advance_funnels(&event, now);
            out.push(self.stamp(event));
            for e in funnel_events {
                out.push(self.stamp(e));
            }
        }
        out
    }

    fn touch_session(&mut self, now: f64) {
        let idle = self.config.idle_timeout_ms;
        match &mut self.session {
            Some(s) if !s.expired(now, idle) => s.last_at = now,
            _ => {
                // The count comes from storage, which anything on the page can write: past its
                // largest it starts again (as `+` does in the release wasm, at no cost) rather
                // than overflow.
                let number = self.session.as_ref().map_or(1, |s| s.number.wrapping_add(1));
                let visit = Visit {
                    url: &self.page.url,
                    referrer: &self.page.referrer,
                    user_agent: &self.user_agent,
                    returning: number > 1,
                };
                let id = format!("s-{}", self.host.random_id());
                let mut segment = segment(&visit, &*self.host);
                // An A/B variant is whatever the variable named `variant` reads at the start.
                let scope = Scope {
                    page: &self.page,
                    data_layer: &self.data_layer,
                    variables: &self.config.variables,
                    host: &*self.host,
                    segment: None,
                    name: "",
                    vars: &Value::Null,
                    params: &Value::Null,
                    element: None,
                };
                if let Some(variant) = scope.var("variant").filter(|v| *v != Value::Null) {
                    segment.set("variant", variant);
                }
                if self.debug {
                    self.log.push(format!("session `{id}` starts"));
                }
                self.session = Some(Session { id, started_at: now, last_at: now, number, segment });
            }
        }
        self.dirty = true;
    }

    fn run_trigger(
        &mut self,
        index: usize,
        observation: &Observation<'_>,
        now: f64,
        made: &mut Vec<Event>,
    ) {
        let trigger = &self.config.triggers[index];
        let candidates = match recognise(trigger, index, observation, &mut self.memory) {
            Recognised::OtherKind => return,
            Recognised::No(why) => {
                let text = format!("did not fire: {why}");
                self.explain_set(index, text);
                return;
            }
            Recognised::Yes(candidates) => candidates,
        };
        for candidate in candidates {
            let trigger = &self.config.triggers[index];
            let segment = self.session.as_ref().map(|s| &s.segment);
            let scope = Scope {
                page: &self.page,
                data_layer: &self.data_layer,
                variables: &self.config.variables,
                host: &*self.host,
                segment,
                name: &candidate.name,
                vars: &candidate.vars,
                params: &candidate.params,
                element: candidate.element.as_deref(),
            };
            if let Some(why) = first_failure(&trigger.when, &trigger.unless, &scope, &*self.host) {
                let text = format!("did not fire `{}`: {why}", candidate.name);
                self.explain_set(index, text);
                continue;
            }
            let mut params = candidate.params.clone();
            for (key, template) in &trigger.params {
                params.set(key, template.render(&scope));
            }
            // Once per page or per element: remembered once the conditions held. Every time:
            // nothing to remember (the list would grow with every sighting).
            if let (Observation::Visible { key, .. }, TriggerKind::Visibility { fire, .. }) =
                (observation, &trigger.kind)
            {
                if *fire != Fire::EveryTime {
                    self.memory.mark_once(index, *key);
                }
            }
            let params = flat_params(params, self.config.max_text_length);
            let event = self.blank_event(&candidate.name, params, now);
            self.explain_set(index, format!("fired `{}`", candidate.name));
            made.push(event);
        }
    }

    fn explain_set(&mut self, index: usize, text: String) {
        let id = &self.config.triggers[index].id;
        if self.debug {
            self.log.push(format!("trigger `{id}` {text}"));
        }
        match self.explanations.iter_mut().find(|(k, _)| k == id) {
            Some(entry) => entry.1 = text,
            None => self.explanations.push((id.clone(), text)),
        }
    }

    /// An event of the tracker's own, not a trigger's (`events_dropped`): stamped like any
    /// other, on the current page, and seen by no funnel.
    pub fn notice(&mut self, name: &str, params: Value, now: f64) -> Event {
        let event = self.blank_event(name, params, now);
        self.stamp(event)
    }

    fn blank_event(&self, name: &str, params: Value, now: f64) -> Event {
        Event {
            id: String::new(),
            name: name.to_string(),
            ts: now,
            seq: 0,
            page: self.page.clone(),
            params,
            segment: self.session.as_ref().map(|s| s.segment.clone()).unwrap_or_default(),
            funnels: Vec::new(),
        }
    }

    /// Gives the event its id, order and the funnels' positions.
    fn stamp(&mut self, mut event: Event) -> Event {
        self.seq += 1;
        event.seq = self.seq;
        // As `u32`, whose formatting the module has anyway (a page makes fewer events).
        event.id = format!("{}-{}", self.page_key, self.seq as u32);
        event.funnels = self
            .config
            .funnels
            .iter()
            .zip(&self.attempts)
            .filter_map(|(f, a)| a.as_ref().map(|a| (f.id.clone(), a.step())))
            .collect();
        event
    }

    fn advance_funnels(&mut self, event: &Event, now: f64) -> Vec<Event> {
        let mut out = Vec::new();
        let session = self.session_id().to_string();
        for (i, funnel) in self.config.funnels.iter().enumerate() {
            let scope = Scope {
                page: &event.page,
                data_layer: &self.data_layer,
                variables: &self.config.variables,
                host: &*self.host,
                segment: Some(&event.segment),
                name: &event.name,
                vars: &Value::Null,
                params: &event.params,
                element: None,
            };
            let seen = Seen { name: &event.name, vars: &scope, at: now, session: &session };
            let advance = funnel::advance(funnel, &mut self.attempts[i], &seen, &*self.host);
            if let Some(why) = advance.why {
                if self.debug {
                    self.log.push(format!("funnel `{}` {why}", funnel.id));
                }
                set_explanation(&mut self.explanations, &funnel.id, why);
            }
            for change in advance.changes {
                self.dirty = true;
                let (line, events) = funnel_events(funnel, &change, event);
                if self.debug {
                    self.log.push(line.clone());
                }
                set_explanation(&mut self.explanations, &funnel.id, line);
                out.extend(events);
            }
        }
        out
    }

    /// Ends every expired attempt now (window, `within`, or a session that ended), as at a
    /// page load; returns the `funnel_abandon` events.
    pub fn expire_funnels(&mut self, now: f64) -> Vec<Event> {
        let session = self.session_id().to_string();
        let mut made = Vec::new();
        for (i, funnel) in self.config.funnels.iter().enumerate() {
            if let Some(change) = funnel::expire(funnel, &mut self.attempts[i], now, &session) {
                self.dirty = true;
                let trigger = self.blank_event("funnel_abandon", Value::obj(), now);
                made.extend(funnel_events(funnel, &change, &trigger).1);
            }
        }
        made.into_iter().map(|e| self.stamp(e)).collect()
    }

    /// Forgets every funnel's progress (`microfunnel.reset()`).
    pub fn reset_funnels(&mut self) {
        self.attempts.iter_mut().for_each(|a| *a = None);
        self.explanations.retain(|(id, _)| !self.config.funnels.iter().any(|f| &f.id == id));
        self.dirty = true;
    }

    /// Replaces the session and funnel progress with state another tab saved, so that two tabs
    /// of one site share one visitor state.
    pub fn adopt(&mut self, stored: &Value) {
        self.session = stored.get("session").and_then(Session::from_value).or(self.session.take());
        for ((f, fp), attempt) in
            self.config.funnels.iter().zip(&self.fingerprints).zip(&mut self.attempts)
        {
            *attempt = stored
                .get("funnels")
                .and_then(|all| all.get(&f.id))
                .and_then(|v| Attempt::from_value(v, f, fp));
        }
    }

    /// Every funnel's progress at `now`: step reached, next step, what it waits for, and the
    /// time left before the attempt expires.
    pub fn progress(&self, now: f64) -> Value {
        let rows = self
            .config
            .funnels
            .iter()
            .enumerate()
            .map(|(i, f)| progress_row(f, self.live_attempt(i, now).as_ref(), now))
            .collect();
        Value::Arr(rows)
    }

    /// Funnel `i`'s attempt as it stands at `now`: one past its bounds is over.
    fn live_attempt(&self, i: usize, now: f64) -> Option<Attempt> {
        let mut attempt = self.attempts[i].clone();
        funnel::expire(&self.config.funnels[i], &mut attempt, now, self.session_id());
        attempt
    }

    /// Why a trigger (or a funnel) did or did not fire on the last observation it considered;
    /// for a funnel, also where it stands at `now`.
    pub fn explain(&self, id: &str, now: f64) -> String {
        if let Some(i) = self.config.funnels.iter().position(|f| f.id == id) {
            return self.explain_funnel(i, now);
        }
        if let Some((_, text)) = self.explanations.iter().find(|(k, _)| k == id) {
            return format!("`{id}` {text}");
        }
        // (A funnel was answered above.)
        if self.config.triggers.iter().any(|t| t.id == id) {
            format!("`{id}` has not seen a matching observation on this page yet")
        } else {
            format!("`{id}` is not a trigger or funnel in the configuration")
        }
    }

    fn explain_funnel(&self, i: usize, now: f64) -> String {
        let f = &self.config.funnels[i];
        let attempt = self.live_attempt(i, now);
        let attempt = attempt.as_ref();
        let mut text = match attempt {
            Some(a) if a.complete => format!("`{}` is complete", f.id),
            Some(a) => format!("`{}` is at step {} of {}", f.id, a.step(), f.steps.len()),
            None => format!("`{}` has not been entered", f.id),
        };
        let waits = funnel::waiting_for(f, attempt);
        if !waits.is_empty() {
            text.push_str("; it waits for ");
            text.push_str(&crate::text::join(&waits, " or "));
        }
        if let Some((_, last)) = self.explanations.iter().find(|(k, _)| k == &f.id) {
            text.push_str("; last: ");
            text.push_str(last);
        }
        text
    }

    /// What must survive the page: the session and every funnel's attempt.
    pub fn state(&self) -> Value {
        let funnels = self
            .config
            .funnels
            .iter()
            .zip(&self.attempts)
            .zip(&self.fingerprints)
            .filter_map(|((f, a), fp)| a.as_ref().map(|a| (f.id.clone(), a.to_value(fp))))
            .collect();
        let mut state = Value::obj();
        if let Some(s) = &self.session {
            state.set("session", s.to_value());
        }
        state.set("funnels", Value::Obj(funnels));
        state
    }
}

/// The events that report a funnel change, and a line for debug output.
fn funnel_events(funnel: &Funnel, change: &Change, cause: &Event) -> (String, Vec<Event>) {
    let base = |name: &str, extra: Vec<(String, Value)>| {
        let mut params = vec![
            ("funnel".to_string(), Value::from(funnel.id.as_str())),
            ("funnel_name".into(), funnel.name.as_str().into()),
        ];
        params.extend(extra);
        Event { name: name.into(), params: Value::Obj(params), ..cause.clone() }
    };
    match *change {
        Change::Step { step, reached, elapsed_ms, since_prior_ms, complete } => {
            let step_name = funnel.steps[step - 1].name.as_str();
            let mut events = vec![base(
                "funnel_step",
                vec![
                    ("step".into(), Value::Num(step as f64)),
                    ("step_name".into(), step_name.into()),
                    ("reached".into(), Value::Num(reached as f64)),
                    ("elapsed_ms".into(), Value::Num(elapsed_ms)),
                    ("since_prior_ms".into(), Value::Num(since_prior_ms)),
                ],
            )];
            if complete {
                events.push(base(
                    "funnel_complete",
                    vec![
                        ("steps".into(), Value::Num(funnel.steps.len() as f64)),
                        ("elapsed_ms".into(), Value::Num(elapsed_ms)),
                    ],
                ));
            }
            let done = if complete { ", complete" } else { "" };
            (format!("funnel `{}` reached step {step} `{step_name}`{done}", funnel.id), events)
        }
        Change::Abandon { reason, last_step } => {
            let last_name = last_step.checked_sub(1).map_or("", |i| funnel.steps[i].name.as_str());
            let events = vec![base(
                "funnel_abandon",
                vec![
                    ("reason".into(), reason.name().into()),
                    ("last_step".into(), Value::Num(last_step as f64)),
                    ("last_step_name".into(), last_name.into()),
                ],
            )];
            (
                format!("funnel `{}` abandoned at step {last_step} ({})", funnel.id, reason.name()),
                events,
            )
        }
    }
}

fn progress_row(f: &Funnel, attempt: Option<&Attempt>, now: f64) -> Value {
    let step = attempt.map_or(0, Attempt::step);
    let complete = attempt.is_some_and(|a| a.complete);
    let next = match (f.order, attempt) {
        (_, Some(a)) if a.complete => Value::Null,
        (crate::config::Order::Sequence, _) => {
            f.steps.get(step).map_or(Value::Null, |s| s.name.as_str().into())
        }
        (crate::config::Order::Any, _) => {
            let left: Vec<Value> = f
                .steps
                .iter()
                .enumerate()
                .filter(|(i, _)| !attempt.is_some_and(|a| a.reached.contains(i)))
                .map(|(_, s)| s.name.as_str().into())
                .collect();
            Value::Arr(left)
        }
    };
    let left = attempt.filter(|a| !a.complete).and_then(|a| {
        let window = f.window_ms.map(|w| a.entered_at + w - now);
        let within = f.steps.get(a.step()).and_then(|s| s.within_ms).map(|w| a.last_at + w - now);
        let left = match (window, within) {
            (Some(x), Some(y)) => x.min(y),
            (x, y) => x.or(y)?,
        };
        Some(Value::Num(left.max(0.0)))
    });
    obj(vec![
        ("funnel", f.id.as_str().into()),
        ("name", f.name.as_str().into()),
        ("step", Value::Num(step as f64)),
        ("steps", Value::Num(f.steps.len() as f64)),
        ("reached", Value::Num(attempt.map_or(0, |a| a.reached.len()) as f64)),
        ("step_name", step.checked_sub(1).map_or(Value::Null, |i| f.steps[i].name.as_str().into())),
        ("next", next),
        ("waiting_for", Value::from(crate::text::join(&funnel::waiting_for(f, attempt), " or "))),
        ("complete", complete.into()),
        ("time_left_ms", left.unwrap_or(Value::Null)),
        ("css_class", f.css_class.into()),
    ])
}

/// The most params an event carries (GA4 keeps 25).
pub const MAX_PARAMS: usize = 50;

/// The most text all of an event's params carry together, in bytes, so that an event always
/// fits in a batch whatever its characters need in JSON (up to six bytes each).
pub const MAX_PARAMS_BYTES: usize = 4_000;

/// Params as the collector takes them: flat values (strings, numbers, booleans, null), with
/// nested objects and arrays written as JSON text, every text cut to `max_chars` characters
/// (`privacy.max_text_length`), all of them to [`MAX_PARAMS_BYTES`], and at most
/// [`MAX_PARAMS`] of them.
fn flat_params(params: Value, max_chars: usize) -> Value {
    let Value::Obj(pairs) = params else { return Value::obj() };
    let mut budget = MAX_PARAMS_BYTES;
    let mut cut = |text: String| {
        let kept = crate::text::clip(&text, crate::text::chars_len(&text, max_chars).min(budget));
        budget -= kept.len();
        Value::Str(kept.to_owned())
    };
    let flat = pairs
        .into_iter()
        .take(MAX_PARAMS)
        .map(|(key, value)| {
            let value = match value {
                Value::Arr(_) | Value::Obj(_) => cut(value.to_json()),
                Value::Str(text) => cut(text),
                other => other,
            };
            (key, value)
        })
        .collect();
    Value::Obj(flat)
}

fn set_explanation(list: &mut Vec<(String, String)>, id: &str, text: String) {
    match list.iter_mut().find(|(k, _)| k == id) {
        Some(entry) => entry.1 = text,
        None => list.push((id.to_string(), text)),
    }
}

/// The variables visible to a trigger's conditions and templates, or a funnel step's.
struct Scope<'a> {
    page: &'a Page,
    data_layer: &'a Value,
    variables: &'a [Variable],
    host: &'a dyn Host,
    segment: Option<&'a Value>,
    name: &'a str,
    vars: &'a Value,
    params: &'a Value,
    element: Option<&'a dyn Element>,
}

impl Vars for Scope<'_> {
    fn var(&self, name: &str) -> Option<Value> {
        let page = self.page;
        let text = |s: &str| Some(Value::from(s));
        match name {
            "event" | "event.name" => return text(self.name),
            "page.url" => return text(&page.url),
            "page.path" => return text(&page.path),
            "page.hostname" => return text(&page.hostname),
            "page.title" => return text(&page.title),
            "page.referrer" => return text(&page.referrer),
            // A web link to another host than the page's.
            "click.outbound" => {
                let url = self.vars.get("click.url")?.as_str()?;
                return Some(Value::Bool(
                    url.starts_with("http") && crate::event::split_url(url).0 != page.hostname,
                ));
            }
            _ => {}
        }
        if let Some(key) = name.strip_prefix("params.") {
            return self.params.get(key).cloned();
        }
        if let Some(path) = name.strip_prefix("dl.") {
            return self.data_layer.path(path).cloned();
        }
        if let Some(key) = name.strip_prefix("segment.") {
            return self.segment?.get(key).cloned();
        }
        if let Some(value) = self.vars.get(name) {
            return Some(value.clone());
        }
        let variable = self.variables.iter().find(|v| v.name == name)?;
        let found = match &variable.source {
            VariableSource::DataLayer(path) => self.data_layer.path(path).cloned(),
            VariableSource::UrlQuery(key) => {
                query_param(&page.url, key, self.host).map(Value::from)
            }
            VariableSource::Cookie(cookie) => self.host.cookie(cookie).map(Value::from),
            VariableSource::Constant(value) => Some(value.clone()),
        };
        found.or_else(|| Some(variable.default.clone()))
    }

    fn element_matches(&self, name: &str, selector: &str) -> Option<bool> {
        match name {
            "click.element" | "form.element" | "element" => Some(self.element?.matches(selector)),
            _ => None,
        }
    }
}
