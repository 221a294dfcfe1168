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
use super::{storage, transport};
use crate::batch::{body, Queue, Sender};
use crate::config::{decode, Config};
use crate::engine::{Engine, Setup};
use crate::event::Page;
use crate::json::Value;
use crate::trigger::{Media, MediaAction, Observation};
use std::cell::{Cell, UnsafeCell};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlMediaElement};

/// Browsers refuse keepalive requests and beacons above 64 KiB in flight; we stay well under.
const MAX_BODY_BYTES: usize = 60_000;
/// How many send failures `microfunnel.queue()` remembers.
const MAX_FAILURES: usize = 10;

struct Tracker {
    engine: Engine,
    /// The loader's callbacks: funnel changes for the page, and the flush timer.
    notify: Option<js_sys::Function>,
    schedule: Option<js_sys::Function>,
    /// When the flush timer will fire, if it is set.
    timer_at: Option<f64>,
    queue: Queue,
    /// Media elements seen, with the source they last played, so that a new source is a new
    /// playback.
    media: Vec<(Element, String)>,
    failures: Vec<String>,
    /// The state text this tab last wrote or read, to notice another tab's writes cheaply.
    state_text: String,
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
/// `[kind, payload, time]` entries; `notify(name, params_json)` is called after each funnel
/// change; `schedule(ms)` sets the loader's flush timer; `loaded_at` is when the loader ran,
/// the time of the page view. Config errors are logged with their JSON path; the valid parts
/// run.
#[wasm_bindgen]
pub fn start(
    config_text: &str,
    early: js_sys::Array,
    notify: JsValue,
    schedule: JsValue,
    loaded_at: f64,
) {
    // SAFETY: only read while not busy; see `with`.
    if SLOT.busy.get() || unsafe { (*SLOT.tracker.get()).is_some() } {
        return;
    }
    let Some(config) = load_config(config_text) else { return };
    let Some(window) = web_sys::window() else { return };
    let Some(document) = window.document() else { return };
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
    let href = window.location().href().unwrap_or_default();
    let page = Page::new(&href, &document.title(), &document.referrer());
    let user_agent = window.navigator().user_agent().unwrap_or_default();
    let config_version = crate::funnel::fnv_hex(config_text);
    let setup = Setup { config, page, client_id, user_agent, stored, config_version };
    let tracker = Tracker {
        engine: Engine::new(setup, Box::new(BrowserHost)),
        notify: notify.dyn_into().ok(),
        schedule: schedule.dyn_into().ok(),
        timer_at: None,
        queue: Queue::default(),
        media: Vec::new(),
        failures: Vec::new(),
        state_text,
    };
    // SAFETY: not busy (checked above), and nothing else reaches the slot during start-up.
    unsafe { *SLOT.tracker.get() = Some(tracker) };
    run(&Observation::PageView, loaded_at);
    for entry in early.iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let kind = entry.get(0).as_string().unwrap_or_default();
        // Buffered events happened after the loader ran, so never before the page view.
        let time = entry.get(2).as_f64().unwrap_or_else(now).max(loaded_at);
        handle(&kind, entry.get(1), time);
    }
    // A visitor who scrolled while the module loaded has passed thresholds already.
    if let Some(percent) = scroll_percent().filter(|_| scrolled()) {
        run(&Observation::Scroll { percent }, now());
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

/// Handles one call from the loader: `"dom"` (a DOM event) or `"push"` (an object pushed to
/// the data layer or through `microfunnel.push`). `time` is when it happened.
#[wasm_bindgen]
pub fn handle(kind: &str, payload: JsValue, time: f64) {
    match kind {
        "dom" => {
            if let Ok(event) = payload.dyn_into::<Event>() {
                observe_dom(&event, time);
            }
        }
        "push" => {
            let push = to_value(&payload, Limits::PUSH);
            if push.as_obj().is_some() {
                run(&Observation::DataLayer { push: &push }, time);
            }
        }
        _ => {}
    }
}

fn observe_dom(event: &Event, time: f64) {
    let target = event.target().and_then(|t| t.dyn_into::<Element>().ok());
    match (event.type_().as_str(), target) {
        ("scroll", _) => {
            if let Some(percent) = scroll_percent() {
                run(&Observation::Scroll { percent }, time);
            }
        }
        ("click", Some(target)) => run(&Observation::Click { target: &DomElement(target) }, time),
        ("submit", Some(target)) => run(&Observation::Submit { form: &DomElement(target) }, time),
        ("play", Some(t)) => observe_media(MediaAction::Play, t, time),
        ("timeupdate", Some(t)) => observe_media(MediaAction::Progress, t, time),
        ("ended", Some(t)) => observe_media(MediaAction::Ended, t, time),
        ("visibilitychange", _) => {
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            if hidden {
                send(true);
            }
        }
        ("pagehide", _) => send(true),
        // Back from the back/forward cache: another page may have moved the shared state on.
        ("pageshow", _) => {
            with(sync_state);
        }
        _ => {}
    }
}

fn observe_media(action: MediaAction, target: Element, time: f64) {
    let Some(media) = target.dyn_ref::<HtmlMediaElement>() else { return };
    let (current_time, duration) = (media.current_time(), media.duration());
    let source = media.current_src();
    let key = with(|t| {
        let known = t.media.iter().position(|(m, _)| *m == target);
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
    let media = Media { key, action, current_time, duration, element: &element };
    run(&Observation::Media(media), time);
}

fn scroll_root() -> Option<Element> {
    let document = web_sys::window()?.document()?;
    document.scrolling_element().or_else(|| document.document_element())
}

fn scrolled() -> bool {
    scroll_root().is_some_and(|root| root.scroll_top() > 0)
}

/// How far down the page the bottom of the viewport is, in percent; `None` when the page
/// cannot scroll.
fn scroll_percent() -> Option<f64> {
    let root = scroll_root()?;
    let height = f64::from(root.scroll_height());
    let view = f64::from(root.client_height());
    if height <= view {
        return None;
    }
    Some(((f64::from(root.scroll_top()) + view) / height * 100.0).min(100.0))
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
        storage::set(&key(&t.engine.config().site, "state"), &text);
        t.state_text = text;
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
            t.queue.push(event.id.clone(), json, time);
            if event.name.starts_with("funnel_") {
                changes.push((event.name.clone(), event.params.to_json()));
            }
        }
        save_state(t);
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
/// beacons go first, since the browser may not let a fetch finish.
fn send(hiding: bool) {
    loop {
        let batch = with(|t| {
            t.timer_at = None;
            take_batch(t)
        });
        let Some(Some((endpoint, body_text, events, debug))) = batch else { return };
        if debug {
            log_debug(&[format!("sending {} events to {endpoint}", events.len())]);
        }
        if hiding && transport::beacon(&endpoint, &body_text) {
            continue;
        }
        transport::post(&endpoint, &body_text, move |outcome| delivered(outcome, events));
        if !hiding {
            // While the page lives, one request at a time is plenty; the rest goes next round.
            arm_timer();
            return;
        }
    }
}

type Batch = (String, String, Vec<(String, String)>, bool);

fn take_batch(t: &mut Tracker) -> Option<Batch> {
    if t.queue.is_empty() {
        return None;
    }
    let config = t.engine.config();
    let mut events = t.queue.take(config.batch.max_events);
    let sender = Sender {
        site: &config.site,
        client_id: t.engine.client_id(),
        session_id: t.engine.session_id(),
        config_version: t.engine.config_version(),
    };
    let mut text = body(&sender, now(), &events);
    while text.len() > MAX_BODY_BYTES && events.len() > 1 {
        let back = events.split_off(events.len() / 2);
        t.queue.restore(back, now());
        text = body(&sender, now(), &events);
    }
    Some((config.endpoint.clone(), text, events, t.engine.debug()))
}

fn delivered(outcome: transport::Outcome, events: Vec<(String, String)>) {
    use transport::Outcome::*;
    let n = events.len();
    let message = match outcome {
        Delivered => return,
        Refused(status) => {
            format!("the collector refused {n} events (HTTP {status}); they are dropped")
        }
        Failed(why) => {
            with(|t| {
                t.queue.restore(events, now());
                t.failures.push(why.clone());
                if t.failures.len() > MAX_FAILURES {
                    t.failures.remove(0);
                }
            });
            arm_timer();
            format!("sending {n} events failed ({why}); they stay queued")
        }
    };
    if with(|t| t.engine.debug()).unwrap_or(false) {
        log_debug(&[message]);
    }
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
        t.engine.reset_funnels();
        save_state(t);
    });
}

/// Every funnel's progress, as JSON text.
#[wasm_bindgen]
pub fn progress() -> String {
    with(|t| {
        sync_state(t);
        t.engine.progress(now()).to_json()
    })
    .unwrap_or_else(|| "[]".into())
}

/// The recent events, as JSON text.
#[wasm_bindgen]
pub fn events() -> String {
    with(|t| t.engine.recent().to_json()).unwrap_or_else(|| "[]".into())
}

/// Why a trigger or funnel did or did not fire last.
#[wasm_bindgen]
pub fn explain(id: &str) -> String {
    with(|t| t.engine.explain(id)).unwrap_or_else(|| "microfunnel is not started".into())
}

/// What waits to be sent, as JSON text.
#[wasm_bindgen]
pub fn queue() -> String {
    with(|t| {
        let mut v = Value::obj();
        v.set("waiting", Value::Arr(t.queue.ids().into_iter().map(Value::from).collect()));
        v.set("dropped", Value::Num(t.queue.dropped as f64));
        let failures = t.failures.iter().map(|f| Value::from(f.as_str())).collect();
        v.set("failures", Value::Arr(failures));
        v.to_json()
    })
    .unwrap_or_else(|| "{}".into())
}
