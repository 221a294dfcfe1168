//! The DOM listeners that feed the engine. Each is a handle that unregisters when dropped.

use super::tracker::{observe_dom, on_hide, Dom};
use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use web_sys::{Document, Window};

/// Every listener the tracker holds, kept alive for the page's life.
pub struct Listeners {
    _handles: Vec<EventListener>,
}

fn capture() -> EventListenerOptions {
    // Capture phase on the document: media events do not bubble, and a page's own handler
    // that stops propagation of a click must not hide the click from us.
    EventListenerOptions { phase: EventListenerPhase::Capture, passive: true }
}

/// Registers the listeners.
pub fn install(window: &Window, document: &Document) -> Listeners {
    let mut handles = Vec::new();
    for (name, kind) in [
        ("click", Dom::Click),
        ("submit", Dom::Submit),
        ("play", Dom::Play),
        ("timeupdate", Dom::TimeUpdate),
        ("ended", Dom::Ended),
    ] {
        handles.push(EventListener::new_with_options(document, name, capture(), move |e| {
            observe_dom(kind, e, None)
        }));
    }
    handles.push(EventListener::new_with_options(window, "scroll", capture(), |e| {
        observe_dom(Dom::Scroll, e, None)
    }));
    handles.push(EventListener::new(document, "visibilitychange", |_| {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
        if hidden {
            on_hide();
        }
    }));
    handles.push(EventListener::new(window, "pagehide", |_| on_hide()));
    Listeners { _handles: handles }
}
