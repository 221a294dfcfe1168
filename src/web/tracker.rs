//! The tracker in the page: the engine, the queue, the timer, and the functions the loader
//! calls. One per page, in a thread-local.
//!
//! No `RefCell` borrow is held across a call that can run page code: the engine runs inside a
//! borrow, but what it produces is sent and logged after the borrow ends.

use super::convert::to_value;
use super::element::DomElement;
use super::host::BrowserHost;
use super::listen::{install, Listeners};
use super::{storage, transport};
use crate::batch::{body, Queue, Sender};
use crate::config::{decode, Config};
use crate::engine::{Engine, Setup};
use crate::event::Page;
use crate::json::Value;
use crate::trigger::{Media, MediaAction, Observation};
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlMediaElement};

/// Browsers refuse keepalive requests and beacons above 64 KiB in flight; we stay well under.
const MAX_BODY_BYTES: usize = 60_000;

struct Tracker {
    engine: Engine,
    queue: Queue,
    timer: Option<Timeout>,
    media: Vec<Element>,
    failures: Vec<String>,
    _listeners: Option<Listeners>,
}

/// The one tracker of the page.
///
/// A plain static rather than `thread_local!`: wasm32-unknown-unknown without the atomics
/// feature has exactly one thread, and each `LocalKey::with` call site would cost its own
/// copy of the access code in the wasm.
struct Global(RefCell<Option<Tracker>>);

// SAFETY: this module is compiled only for wasm32-unknown-unknown without threads, so the
// static is never reached from two threads.
unsafe impl Sync for Global {}

static TRACKER: Global = Global(RefCell::new(None));

/// The kinds of DOM event the listeners report.
#[derive(Clone, Copy)]
pub enum Dom {
    Click,
    Submit,
    Scroll,
    Play,
    TimeUpdate,
    Ended,
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

/// Runs `f` on the tracker if it is started and not already busy; a re-entrant call (a page
/// handler reacting to something we did, inside our own call) is dropped, not a panic.
fn with<R>(f: impl FnOnce(&mut Tracker) -> R) -> Option<R> {
    let mut guard = TRACKER.0.try_borrow_mut().ok()?;
    guard.as_mut().map(f)
}

fn key(site: &str, what: &str) -> String {
    format!("mf:{site}:{what}")
}

/// Starts the tracker with the config's JSON text and the loader's queue of early calls
/// (`[kind, payload, time]` entries). Errors in the config are logged with their JSON path;
/// the valid parts run.
#[wasm_bindgen]
pub fn start(config_text: &str, early: js_sys::Array) {
    if TRACKER.0.try_borrow().map_or(true, |t| t.is_some()) {
        return;
    }
    let Some(config) = load_config(config_text) else { return };
    let (Some(window), Some(document)) =
        (web_sys::window(), web_sys::window().and_then(|w| w.document()))
    else {
        return;
    };
    let client_key = key(&config.site, "client");
    let client_id = storage::get(&client_key).unwrap_or_else(|| {
        let id = format!("c-{}", crate::host::Host::random_id(&BrowserHost));
        storage::set(&client_key, &id);
        id
    });
    let stored = storage::get(&key(&config.site, "state"))
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .map(|v| to_value(&v));
    let location = window.location();
    let page =
        Page::new(&location.href().unwrap_or_default(), &document.title(), &document.referrer());
    let user_agent = window.navigator().user_agent().unwrap_or_default();
    let setup = Setup { config, page, client_id, user_agent, stored };
    let engine = Engine::new(setup, Box::new(BrowserHost));
    let tracker = Tracker {
        engine,
        queue: Queue::default(),
        timer: None,
        media: Vec::new(),
        failures: Vec::new(),
        _listeners: Some(install(&window, &document)),
    };
    if let Ok(mut slot) = TRACKER.0.try_borrow_mut() {
        *slot = Some(tracker);
    }
    run(|engine, t| engine.observe(&Observation::PageView, t));
    for entry in early.iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let kind = entry.get(0).as_string().unwrap_or_default();
        handle(&kind, entry.get(1), entry.get(2).as_f64().unwrap_or_else(now));
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
    let decoded = decode(&to_value(&parsed), &BrowserHost);
    for error in &decoded.errors {
        log_error(&format!("config error at {error}"));
    }
    Some(decoded.config)
}

/// Handles one call from the loader: `"dom"` (an early DOM event), `"push"` (a data-layer or
/// `microfunnel.push` object). `time` is when it happened.
#[wasm_bindgen]
pub fn handle(kind: &str, payload: JsValue, time: f64) {
    match kind {
        "dom" => {
            let Ok(event) = payload.dyn_into::<Event>() else { return };
            let dom = match event.type_().as_str() {
                "click" => Dom::Click,
                "submit" => Dom::Submit,
                _ => return,
            };
            observe_dom(dom, &event, Some(time));
        }
        "push" => {
            let push = to_value(&payload);
            if push.as_obj().is_some() {
                run(|engine, t| {
                    engine.observe(&Observation::DataLayer { push: &push }, t.min(time))
                });
            }
        }
        _ => {}
    }
}

/// Turns a DOM event into an observation. `time` is given for events replayed from the
/// loader's queue.
pub fn observe_dom(kind: Dom, event: &Event, time: Option<f64>) {
    let time = time.unwrap_or_else(now);
    if let Dom::Scroll = kind {
        if let Some(percent) = scroll_percent() {
            run(|engine, _| engine.observe(&Observation::Scroll { percent }, time));
        }
        return;
    }
    let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
    let element = DomElement(target.clone());
    match kind {
        Dom::Click => {
            run(|engine, _| engine.observe(&Observation::Click { target: &element }, time))
        }
        Dom::Submit => {
            run(|engine, _| engine.observe(&Observation::Submit { form: &element }, time))
        }
        Dom::Play | Dom::TimeUpdate | Dom::Ended => observe_media(kind, target, time),
        Dom::Scroll => {}
    }
}

fn observe_media(kind: Dom, target: Element, time: f64) {
    let Some(media) = target.dyn_ref::<HtmlMediaElement>() else { return };
    let action = match kind {
        Dom::Play => MediaAction::Play,
        Dom::Ended => MediaAction::Ended,
        _ => MediaAction::Progress,
    };
    let (current_time, duration) = (media.current_time(), media.duration());
    let key = with(|t| match t.media.iter().position(|m| *m == target) {
        Some(i) => i as u32,
        None => {
            t.media.push(target.clone());
            (t.media.len() - 1) as u32
        }
    });
    let Some(key) = key else { return };
    let element = DomElement(target);
    let media = Media { key, action, current_time, duration, element: &element };
    run(|engine, _| engine.observe(&Observation::Media(media), time));
}

/// How far down the page the bottom of the viewport is, in percent; `None` when the page
/// cannot scroll.
fn scroll_percent() -> Option<f64> {
    let document = web_sys::window()?.document()?;
    let root = document.scrolling_element().or_else(|| document.document_element())?;
    let height = f64::from(root.scroll_height());
    let view = f64::from(root.client_height());
    if height <= view {
        return None;
    }
    Some(((f64::from(root.scroll_top()) + view) / height * 100.0).min(100.0))
}

/// Runs the engine on something observed, queues what it made, saves state, and schedules
/// or performs a send — logging only after the borrow ends.
fn run(f: impl FnOnce(&mut Engine, f64) -> Vec<crate::event::Event>) {
    let outcome = with(|t| {
        let time = now();
        let events = f(&mut t.engine, time);
        for event in &events {
            t.queue.push(event.id.clone(), event.to_value().to_json(), time);
        }
        if t.engine.take_dirty() {
            let site = &t.engine.config().site;
            storage::set(&key(site, "state"), &t.engine.state().to_json());
        }
        let due = t.queue.is_due(&t.engine.config().batch, time);
        (t.engine.take_log(), due)
    });
    let Some((log, due)) = outcome else { return };
    log_debug(&log);
    if due {
        send(false);
    } else {
        arm_timer();
    }
}

fn arm_timer() {
    let wait = with(|t| {
        if t.timer.is_some() {
            return None;
        }
        let due = t.queue.due_at(&t.engine.config().batch)?;
        Some((due - now()).max(0.0))
    });
    let Some(Some(wait)) = wait else { return };
    let timer = Timeout::new(wait as u32, || {
        with(|t| t.timer = None);
        send(false);
    });
    with(|t| t.timer = Some(timer));
}

/// Sends everything queued, in bodies under the keepalive budget. When the page is hiding,
/// beacons go first, since the browser may not let a fetch finish.
fn send(hiding: bool) {
    loop {
        let batch = with(|t| {
            t.timer = None;
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
    let message = match outcome {
        Delivered => None,
        Refused(status) => Some(format!(
            "the collector refused {} events (HTTP {status}); they are dropped",
            events.len()
        )),
        Failed(why) => {
            let n = events.len();
            with(|t| {
                t.queue.restore(events, now());
                t.failures.push(why.clone());
            });
            arm_timer();
            Some(format!("sending {n} events failed ({why}); they stay queued"))
        }
    };
    if let Some(message) = message {
        if with(|t| t.engine.debug()).unwrap_or(false) {
            log_debug(&[message]);
        }
    }
}

/// Called when the page is hidden or unloaded: everything queued goes now.
pub fn on_hide() {
    send(true);
}

/// Sends what is queued now.
#[wasm_bindgen]
pub fn flush() {
    send(false);
}

/// Turns debug output on or off.
#[wasm_bindgen]
pub fn debug(on: bool) {
    with(|t| t.engine.set_debug(on));
}

/// Every funnel's progress, as JSON text.
#[wasm_bindgen]
pub fn progress() -> String {
    with(|t| t.engine.progress(now()).to_json()).unwrap_or_else(|| "[]".into())
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
        v.set("failures", Value::Arr(t.failures.iter().map(|f| Value::from(f.as_str())).collect()));
        v.to_json()
    })
    .unwrap_or_else(|| "{}".into())
}
