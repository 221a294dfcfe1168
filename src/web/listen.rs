//! The DOM listeners that feed the engine.
//!
//! One closure serves every event type and dispatches on `event.type`: each distinct closure
//! type costs its own glue in the wasm, and a string comparison per event costs nothing.
//! The closure and its registrations live in [`Listeners`], which unregisters them when dropped.

use super::tracker::{observe_dom, on_hide, Dom};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{AddEventListenerOptions, Event, EventTarget};

/// Every listener the tracker holds, kept for the page's life.
pub struct Listeners {
    callback: Closure<dyn FnMut(Event)>,
    registered: Vec<(EventTarget, &'static str)>,
}

/// Events listened to on the document, in the capture phase: media events do not bubble, and
/// a page handler that stops a click's propagation must not hide it from us.
const ON_DOCUMENT: &[&str] =
    &["click", "submit", "play", "timeupdate", "ended", "visibilitychange"];
/// Events listened to on the window.
const ON_WINDOW: &[&str] = &["scroll", "pagehide"];

/// Registers the listeners.
pub fn install(window: &EventTarget, document: &EventTarget) -> Listeners {
    let callback = Closure::<dyn FnMut(Event)>::new(dispatch);
    let options = AddEventListenerOptions::new();
    options.set_capture(true);
    // Passive: we never call `preventDefault`, and the browser may scroll without waiting.
    options.set_passive(true);
    let function = callback.as_ref().unchecked_ref();
    let mut registered = Vec::new();
    for (target, names) in [(document, ON_DOCUMENT), (window, ON_WINDOW)] {
        for &name in names {
            let added = target.add_event_listener_with_callback_and_add_event_listener_options(
                name, function, &options,
            );
            if added.is_ok() {
                registered.push((target.clone(), name));
            }
        }
    }
    Listeners { callback, registered }
}

fn dispatch(event: Event) {
    let kind = match event.type_().as_str() {
        "click" => Dom::Click,
        "submit" => Dom::Submit,
        "play" => Dom::Play,
        "timeupdate" => Dom::TimeUpdate,
        "ended" => Dom::Ended,
        "scroll" => Dom::Scroll,
        "pagehide" => return on_hide(),
        "visibilitychange" => {
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            if hidden {
                on_hide();
            }
            return;
        }
        _ => return,
    };
    observe_dom(kind, &event, None);
}

impl Drop for Listeners {
    fn drop(&mut self) {
        let function = self.callback.as_ref().unchecked_ref();
        for (target, name) in &self.registered {
            let _ = target.remove_event_listener_with_callback_and_bool(name, function, true);
        }
    }
}
