//! The tracker in the page: the engine, the queue, and the functions the loader calls.
//!
//! The loader owns every DOM listener and the one timer, and calls in here inside `try`: an
//! exception can then never reach the page, and if one ever unwinds through a call of ours the
//! loader calls [`unstick`] so that the tracker keeps working. The tracker itself lives in a
//! slot with a busy flag: a re-entrant call (page code that reacts, inside our own call, to
//! something we did) is dropped instead of aliasing the tracker.
//!
//! Page code (callbacks, the data layer) is only ever called after the slot is released.

use super::convert::{to_value, Limits};
use super::element::DomElement;
use super::host::BrowserHost;
use super::storage;
use crate::batch::{body, outcome, Outcome, Queue, Sender};
use crate::config::{decode, Config, TriggerKind};
use crate::engine::{Engine, Setup};
use crate::event::Page;
use crate::json::Value;
use crate::trigger::{Media, MediaAction, Observation};
use std::cell::{Cell, UnsafeCell};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

/// Browsers refuse keepalive requests and beacons above 64 KiB in flight; we stay well under.
const MAX_BODY_BYTES: usize = 60_000;
/// How many send failures `microfunnel.queue()` remembers.
const MAX_FAILURES: usize = 10;
/// How many of this page's events `microfunnel.events()` shows.
const RECENT_EVENTS: usize = 100;

struct Tracker {
    engine: Engine,
    /// The loader's callbacks: funnel changes for the page, the flush timer, and sending.
    notify: Option<js_sys::Function>,
    schedule: Option<js_sys::Function>,
    transmit: Option<js_sys::Function>,
    /// Batches handed to the loader and not answered yet, by number.
    in_flight: Vec<(u32, Vec<(String, String)>)>,
    next_batch: u32,
    /// When the flush timer will fire, if it is set.
    timer_at: Option<f64>,
    queue: Queue,
    /// Media elements seen, with the source they last played, so that a new source is a new
    /// playback.
    media: Vec<(Element, String)>,
    failures: Vec<String>,
    /// This page's most recent events, as JSON, for `microfunnel.events()`.
    recent: Vec<String>,
    /// The state text this tab last wrote or read, to notice another tab's writes cheaply.
    state_text: String,
    /// How many of `queue.dropped` an `events_dropped` event has reported.
    reported_dropped: u64,
    /// When the queue was last kept in storage (see [`keep_queue`]), if it is there.
    kept_at: Option<f64>,
}

/// The one tracker of the page, behind a busy flag.
struct Slot {
    busy: Cell<bool>,
    tracker: UnsafeCell<Option<Tracker>>,
}

// SAFETY: this module is compiled only for wasm32-unknown-unknown without threads, so the
// static is never reached from two threads.
unsafe impl Sync for Slot {}

static SLOT: Slot = Slot { busy: Cell::new(false), tracker: UnsafeCell::new(None) };

/// Runs `f` on the tracker if it is started and not busy.
fn with<R>(f: impl FnOnce(&mut Tracker) -> R) -> Option<R> {
    if SLOT.busy.replace(true) {
        return None;
    }
    // SAFETY: the busy flag guarantees this is the only reference to the tracker; it is
    // cleared below, or by `unstick` when an exception unwound through `f`.
    let result = unsafe { (*SLOT.tracker.get()).as_mut().map(f) };
    SLOT.busy.set(false);
    result
}

/// Clears the busy flag after an exception unwound through one of our calls. The loader calls
/// it only from its outermost `catch`, when no call of ours is running.
#[wasm_bindgen]
pub fn unstick() {
    SLOT.busy.set(false);
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn log_error(text: &str) {
    web_sys::console::error_1(&format!("microfunnel: {text}").into());
}

fn log_debug(lines: &[String]) {
    for line in lines {
        web_sys::console::log_1(&format!("[microfunnel] {line}").into());
    }
}

fn key(site: &str, what: &str) -> String {
    format!("mf:{site}:{what}")
}

fn read_state(site: &str) -> Option<(String, Value)> {
    let text = storage::get(&key(site, "state"))?;
    let parsed = js_sys::JSON::parse(&text).ok()?;
    Some((text, to_value(&parsed, Limits::CONFIG)))
}

/// Starts the tracker. `config_text` is the config's JSON; `early` the loader's buffer of
/// `[kind, payload, time]` entries; `loaded_at` is when the loader ran, the time of the page
/// view. Config errors are logged with their JSON path; the valid parts run.
///
/// `callbacks` are the loader's functions, in this order:
/// - `notify(name, params_json)`, after each funnel change;
/// - `schedule(ms)`, to set the flush timer;
/// - `transmit(endpoint, body, beacon, batch)`, to send a body (by beacon first when `beacon`
///   is set); it returns `true` when a beacon took it, and otherwise answers [`delivered`]
///   once the request ends;
/// - `watch(watches_json)`, once after the page view when the config has visibility or timer
///   triggers: `[[trigger_id, selector, ratio, min_ms], ...]` for each visibility trigger,
///   answered by `handle("visible", ...)`, and `[trigger_id, null, limit, interval_ms]` for each
///   timer, answered by `handle("timer", ...)`.
///
/// `page` is `[url, title, referrer, user_agent, debug]`, read by the loader; `debug` is
/// whether `microfunnel.debug(true)` was called on an earlier page.
#[wasm_bindgen]
pub fn start(
    config_text: &str,
    early: js_sys::Array,
    callbacks: js_sys::Array,
    loaded_at: f64,
    page: js_sys::Array,
) {
    // SAFETY: only read while not busy; see `with`.
    if SLOT.busy.get() || unsafe { (*SLOT.tracker.get()).is_some() } {
        return;
    }
    let Some(config) = load_config(config_text) else { return };
    let client_key = key(&config.site, "client");
    let client_id = storage::get(&client_key).unwrap_or_else(|| {
        let id = format!("c-{}", crate::host::Host::random_id(&BrowserHost));
        storage::set(&client_key, &id);
        id
    });
    let (state_text, stored) = match read_state(&config.site) {
        Some((text, value)) => (text, Some(value)),
        None => (String::new(), None),
    };
    let text = |i| page.get(i).as_string().unwrap_or_default();
    let user_agent = text(3);
    let debug = page.get(4).is_truthy();
    let page = Page::new(&text(0), &text(1), &text(2));
    let config_version = crate::funnel::fnv_hex(config_text);
    let setup = Setup { config, page, client_id, user_agent, stored, config_version };
    let mut engine = Engine::new(setup, Box::new(BrowserHost));
    engine.set_debug(debug);
    let tracker = Tracker {
        engine,
        notify: callbacks.get(0).dyn_into().ok(),
        schedule: callbacks.get(1).dyn_into().ok(),
        transmit: callbacks.get(2).dyn_into().ok(),
        in_flight: Vec::new(),
        next_batch: 0,
        timer_at: None,
        queue: Queue::default(),
        media: Vec::new(),
        failures: Vec::new(),
        recent: Vec::new(),
        state_text,
        reported_dropped: 0,
        kept_at: None,
    };
    // What the loader is to watch for the visibility and timer triggers (see `watch` above).
    let mut watches = Vec::new();
    for t in &tracker.engine.config().triggers {
        let id = t.id.as_str().into();
        let watch = match t.kind {
            TriggerKind::Visibility { percent, min_ms, .. } => {
                let selector = t.selector.as_deref().unwrap_or_default();
                [id, selector.into(), (percent / 100.0).into(), min_ms.into()]
            }
            TriggerKind::Timer { interval_ms, limit } => {
                [id, Value::Null, limit.into(), interval_ms.into()]
            }
            _ => continue,
        };
        watches.push(Value::Arr(watch.into()));
    }
    // SAFETY: not busy (checked above), and nothing else reaches the slot during start-up.
    unsafe { *SLOT.tracker.get() = Some(tracker) };
    run(&Observation::PageView, loaded_at);
    if let (false, Ok(watch)) =
        (watches.is_empty(), callbacks.get(3).dyn_into::<js_sys::Function>())
    {
        let _ = watch.call1(&JsValue::NULL, &Value::Arr(watches).to_json().into());
    }
    for entry in early.iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let kind = entry.get(0).as_string().unwrap_or_default();
        // Buffered events happened after the loader ran, so never before the page view.
        let time = entry.get(2).as_f64().unwrap_or_else(now).max(loaded_at);
        handle(&kind, entry.get(1), time);
    }
}

fn load_config(text: &str) -> Option<Config> {
    let parsed = match js_sys::JSON::parse(text) {
        Ok(v) => v,
        Err(e) => {
            let message =
                js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string());
            log_error(&format!("the config is not valid JSON: {}", message.unwrap_or_default()));
            return None;
        }
    };
    let decoded = decode(&to_value(&parsed, Limits::CONFIG), &BrowserHost);
    for error in &decoded.errors {
        log_error(&format!("config error at {error}"));
    }
    Some(decoded.config)
}

/// Handles one call from the loader. `time` is when it happened; `payload` depends on `kind`:
/// - `"click"`, `"submit"`: the event's target element; `"form_start"`: the form of the
///   visitor's first input into it on this page;
/// - `"scroll"`: how far down the page the bottom of the viewport is, in percent;
/// - `"play"`, `"timeupdate"`, `"ended"`, `"pause"`, `"seeked"`: `[element, current_time,
///   duration, source, provider, title]` (`html5` from the loader, `youtube` from its YouTube
///   add-on);
/// - `"push"`: an object pushed to the data layer or through `microfunnel.push`;
/// - `"visible"`: `[element, trigger_id, key]` when an element has been on screen as a
///   visibility trigger asks (`key` tells elements apart);
/// - `"timer"`: `[trigger_id, count]` each time a timer trigger's interval passes;
/// - `"error"`: `[message, source, line]` of an uncaught error in the page;
/// - `"route"`: `[url, title, source, page_view, old_url]` after a URL change without a page
///   load;
/// - `"hide"`: the page is hidden or unloading; `"show"`: it came back from the
///   back/forward cache, where another page may have moved the shared state on.
#[wasm_bindgen]
pub fn handle(kind: &str, payload: JsValue, time: f64) {
    match kind {
        "click" | "submit" | "form_start" => {
            let Ok(target) = payload.dyn_into::<Element>() else { return };
            let element = DomElement(target);
            let observation = match kind {
                "click" => Observation::Click { target: &element },
                _ => Observation::Submit { form: &element, start: kind != "submit" },
            };
            run(&observation, time);
        }
        "scroll" => {
            if let Some(percent) = payload.as_f64() {
                run(&Observation::Scroll { percent }, time);
            }
        }
        "play" => observe_media(MediaAction::Play, payload, time),
        "timeupdate" => observe_media(MediaAction::Progress, payload, time),
        "ended" => observe_media(MediaAction::Ended, payload, time),
        "pause" => observe_media(MediaAction::Pause, payload, time),
        "seeked" => observe_media(MediaAction::Seek, payload, time),
        "push" => {
            let push = to_value(&payload, Limits::PUSH);
            if push.as_obj().is_some() {
                run(&Observation::DataLayer { push: &push }, time);
            }
        }
        "visible" => {
            let fields: js_sys::Array = payload.unchecked_into();
            let Ok(target) = fields.get(0).dyn_into::<Element>() else { return };
            let trigger = fields.get(1).as_string().unwrap_or_default();
            let key = fields.get(2).as_f64().unwrap_or_default();
            let element = DomElement(target);
            run(&Observation::Visible { element: &element, trigger: &trigger, key }, time);
        }
        "timer" => {
            let fields: js_sys::Array = payload.unchecked_into();
            let trigger = fields.get(0).as_string().unwrap_or_default();
            let count = fields.get(1).as_f64().unwrap_or_default();
            run(&Observation::Timer { trigger: &trigger, count }, time);
        }
        "error" => {
            let fields: js_sys::Array = payload.unchecked_into();
            let text = |i| fields.get(i).as_string().unwrap_or_default();
            let (message, source) = (text(0), text(1));
            let line = fields.get(2).as_f64().unwrap_or_default();
            run(&Observation::Error { message: &message, source: &source, line }, time);
        }
        "route" => {
            let fields: js_sys::Array = payload.unchecked_into();
            let text = |i| fields.get(i).as_string().unwrap_or_default();
            let (new_url, title, source, old_url) = (text(0), text(1), text(2), text(4));
            let page_view = fields.get(3).is_truthy();
            let route = Observation::Route {
                old_url: &old_url,
                new_url: &new_url,
                title: &title,
                source: &source,
                page_view,
            };
            run(&route, time);
        }
        "hide" => send(true),
        "show" => {
            with(sync_state);
        }
        _ => {}
    }
}

fn observe_media(action: MediaAction, payload: JsValue, time: f64) {
    let fields: js_sys::Array = payload.unchecked_into();
    let Ok(target) = fields.get(0).dyn_into::<Element>() else { return };
    let number = |i| fields.get(i).as_f64().unwrap_or(f64::NAN);
    let (current_time, duration) = (number(1), number(2));
    let text = |i| fields.get(i).as_string().unwrap_or_default();
    let (source, provider, title) = (text(3), text(4), text(5));
    let key = with(|t| {
        // The element's latest entry: after a source change the first one holds the old
        // source, and matching it would make every later event a new playback (and a new
        // entry, without end).
        let known = t.media.iter().rposition(|(m, _)| *m == target);
        match known {
            // A new source in the same element is a new playback, under a new key.
            Some(i) if t.media[i].1 == source => i as u32,
            _ => {
                t.media.push((target.clone(), source.clone()));
                (t.media.len() - 1) as u32
            }
        }
    });
    let Some(key) = key else { return };
    let element = DomElement(target);
    let media = Media {
        key,
        action,
        current_time,
        duration,
        source: &source,
        provider: &provider,
        title: &title,
        element: &element,
    };
    run(&Observation::Media(media), time);
}

/// Takes another tab's newer state as the truth, so that two tabs of one site share one
/// visitor state and no tab reports a step another already reported.
fn sync_state(t: &mut Tracker) {
    let site = t.engine.config().site.clone();
    let Some(text) = storage::get(&key(&site, "state")) else { return };
    if text == t.state_text {
        return;
    }
    if let Ok(parsed) = js_sys::JSON::parse(&text) {
        t.engine.adopt(&to_value(&parsed, Limits::CONFIG));
    }
    t.state_text = text;
}

fn save_state(t: &mut Tracker) {
    if t.engine.take_dirty() {
        let text = t.engine.state().to_json();
        // When storage refuses (full, disabled), the text we last saw stays the reference:
        // otherwise the next sync would take the older stored state for another tab's newer.
        if storage::set(&key(&t.engine.config().site, "state"), &text) {
            t.state_text = text;
        }
    }
}

/// Runs the engine on one observation, queues what it made, saves state, then, with the slot
/// released, tells the page about funnel changes and sends or schedules.
///
/// Deliberately not generic: every caller shares one copy of the engine's code in the wasm.
fn run(observation: &Observation<'_>, time: f64) {
    let outcome = with(|t| {
        sync_state(t);
        let events = t.engine.observe(observation, time);
        let mut changes = Vec::new();
        for event in &events {
            let json = event.to_value().to_json();
            if json.len() > MAX_BODY_BYTES / 2 {
                // An event this big would block every batch it is in. Params are cut to a
                // bounded length, so only a pathological page gets here; it is counted.
                t.queue.dropped += 1;
                continue;
            }
            if t.recent.len() == RECENT_EVENTS {
                t.recent.remove(0);
            }
            t.recent.push(json.clone());
            t.queue.push(event.id.clone(), json, time);
            if event.name.starts_with("funnel_") {
                changes.push((event.name.clone(), event.params.to_json()));
            }
        }
        save_state(t);
        if !events.is_empty() {
            keep_queue(t, false);
        }
        let due = t.queue.is_due(&t.engine.config().batch, now());
        (t.engine.take_log(), due, changes, t.notify.clone())
    });
    let Some((log, due, changes, notify)) = outcome else { return };
    log_debug(&log);
    if let Some(notify) = notify {
        for (name, params) in changes {
            let _ = notify.call2(&JsValue::NULL, &name.into(), &params.into());
        }
    }
    if due {
        send(false);
    } else {
        arm_timer();
    }
}

/// Asks the loader for a flush when the queue is due, unless an earlier one is set.
fn arm_timer() {
    let request = with(|t| {
        let due = t.queue.due_at(&t.engine.config().batch)?;
        if t.timer_at.is_some_and(|at| at <= due) {
            return None;
        }
        t.timer_at = Some(due);
        Some((t.schedule.clone()?, (due - now()).max(0.0)))
    });
    if let Some(Some((schedule, wait))) = request {
        let _ = schedule.call1(&JsValue::NULL, &wait.into());
    }
}

/// Sends everything queued, in bodies under the keepalive budget. When the page is hiding,
/// everything goes at once, by beacon first, since the browser may not let a fetch finish.
fn send(hiding: bool) {
    loop {
        let batch = with(|t| {
            t.timer_at = None;
            let batch = take_batch(t);
            // A page that hides sends everything: what it keeps is written once, at the end.
            if !hiding || batch.is_none() {
                keep_queue(t, true);
            }
            batch
        });
        let Some(Some(batch)) = batch else { return };
        if batch.debug {
            log_debug(&[format!("sending batch {} to {}", batch.number, batch.endpoint)]);
        }
        let args = js_sys::Array::of4(
            &batch.endpoint.into(),
            &batch.body.into(),
            &hiding.into(),
            &batch.number.into(),
        );
        let taken = batch.transmit.apply(&JsValue::NULL, &args).is_ok_and(|v| v.is_truthy());
        if taken {
            delivered(batch.number, 200);
        }
        if !hiding {
            // While the page lives, one request at a time is plenty; the rest goes next round.
            arm_timer();
            return;
        }
    }
}

struct Batch {
    number: u32,
    endpoint: String,
    body: String,
    transmit: js_sys::Function,
    debug: bool,
}

fn take_batch(t: &mut Tracker) -> Option<Batch> {
    if t.queue.is_empty() {
        return None;
    }
    let transmit = t.transmit.clone()?;
    let mut events = t.queue.take(fit(t.queue.items(), t.engine.config().batch.max_events));
    // What was lost on the way is news for the collector too: the next batch carries an
    // `events_dropped` event with the page's total so far, so that the last one to arrive
    // tells it all even when an earlier one was itself dropped.
    if t.queue.dropped > t.reported_dropped {
        t.reported_dropped = t.queue.dropped;
        let params = Value::Obj(vec![("dropped".into(), Value::Num(t.queue.dropped as f64))]);
        let notice = t.engine.notice("events_dropped", params, now());
        events.push((notice.id.clone(), notice.to_value().to_json()));
    }
    let text = body(&sender(t), now(), &events);
    let endpoint = t.engine.config().endpoint.clone();
    let number = t.next_batch;
    t.next_batch += 1;
    t.in_flight.push((number, events));
    Some(Batch { number, endpoint, body: text, transmit, debug: t.engine.debug() })
}

fn sender(t: &Tracker) -> Sender<'_> {
    Sender {
        site: &t.engine.config().site,
        client_id: t.engine.client_id(),
        session_id: t.engine.session_id(),
        config_version: t.engine.config_version(),
    }
}

/// How many of `items`, from the first, go in one body: at most `max`, and no more than half
/// the keepalive budget of JSON, so that a body stays under it whatever the loader's filters
/// do. At least one, which always fits: a larger event is never queued.
fn fit(items: &[(String, String)], max: usize) -> usize {
    let mut bytes = 0;
    let over = items.iter().take(max).position(|(_, json)| {
        bytes += json.len();
        bytes > MAX_BODY_BYTES / 2
    });
    over.map_or(items.len().min(max), |n| n.max(1))
}

/// Keeps what waits in the queue in the browser's storage too, through the loader
/// (`transmit(endpoint, bodies, false, -1)`, one body per line, none when nothing waits), so
/// that a tab that dies without a page-hide event (a crash, a discarded background tab) leaves
/// its events for the next page of the site, which sends them as it sends every pending body;
/// the collector ignores the ids it already has. A queue past 8 KB (a collector down for a
/// while) is rewritten on a new event at most once a second, but always when events leave it
/// or come back to it (`now`).
fn keep_queue(t: &mut Tracker, now: bool) {
    let time = self::now();
    let empty = t.queue.is_empty();
    match t.kept_at {
        None if empty => return,
        // TODO: the newest events of a big queue wait in memory only until the next send.
        Some(at) if !now && t.queue.bytes() > 8_000 && time - at < 1000.0 => return,
        _ => {}
    }
    let Some(transmit) = t.transmit.clone() else { return };
    t.kept_at = (!empty).then_some(time);
    let mut bodies = String::new();
    let mut rest = t.queue.items();
    while !rest.is_empty() {
        let Some((now, later)) = rest.split_at_checked(fit(rest, usize::MAX)) else { break };
        if !bodies.is_empty() {
            bodies.push('\n');
        }
        bodies += &body(&sender(t), time, now);
        rest = later;
    }
    let args = js_sys::Array::of4(
        &t.engine.config().endpoint.as_str().into(),
        &bodies.into(),
        &false.into(),
        &(-1).into(),
    );
    let _ = transmit.apply(&JsValue::NULL, &args);
}

/// The loader's answer for a batch: the HTTP status, or `0` when the request failed.
#[wasm_bindgen]
pub fn delivered(batch: u32, status: u32) {
    let message = with(|t| {
        let at = t.in_flight.iter().position(|(n, _)| *n == batch)?;
        let (_, events) = t.in_flight.remove(at);
        let n = events.len();
        let verdict = outcome(status);
        if verdict == Outcome::Delivered {
            return None;
        }
        t.failures.push(format!("HTTP {status}"));
        if t.failures.len() > MAX_FAILURES {
            t.failures.remove(0);
        }
        let text = if verdict == Outcome::Refused {
            t.queue.dropped += n as u64;
            "refused; dropped"
        } else {
            t.queue.restore(events, now());
            keep_queue(t, true);
            "failed; queued again"
        };
        let text = format!("batch of {n} events: HTTP {status}, {text}");
        t.engine.debug().then_some(text)
    });
    if let Some(Some(message)) = message {
        log_debug(&[message]);
    }
    arm_timer();
}

/// Sends what is queued now; also the loader's timer callback.
#[wasm_bindgen]
pub fn flush() {
    send(false);
}

/// Turns debug output on or off.
#[wasm_bindgen]
pub fn debug(on: bool) {
    with(|t| t.engine.set_debug(on));
}

/// Forgets every funnel's progress.
#[wasm_bindgen]
pub fn reset() {
    with(|t| {
        sync_state(t);
        t.engine.reset_funnels();
        save_state(t);
    });
}

/// The console's questions, one export for all (each export costs its own glue), answered
/// in text; empty while the tracker is busy or not started:
/// - `progress`: every funnel's progress, as JSON;
/// - `events`: this page's recent events, as JSON;
/// - `queue`: what waits to be sent (ids), how many were dropped, and the last send failures,
///   as JSON;
/// - `explain`: why the trigger or funnel `id` did or did not fire last.
#[wasm_bindgen]
pub fn ask(what: &str, id: &str) -> String {
    with(|t| match what {
        "progress" => {
            sync_state(t);
            t.engine.progress(now()).to_json()
        }
        "events" => format!("[{}]", crate::text::join(&t.recent, ",")),
        "queue" => {
            let strings = |list: Vec<&str>| Value::Arr(list.into_iter().map(Value::from).collect());
            crate::json::obj(vec![
                ("waiting", strings(t.queue.ids())),
                ("dropped", Value::Num(t.queue.dropped as f64)),
                ("failures", strings(t.failures.iter().map(String::as_str).collect())),
            ])
            .to_json()
        }
        _ => t.engine.explain(id, now()),
    })
    .unwrap_or_default()
}
