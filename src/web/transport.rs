//! Sending batches: `fetch` with `keepalive` while the page lives, `sendBeacon` when it hides.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RequestInit, Response};

/// How a send ended.
pub enum Outcome {
    /// The collector stored the batch.
    Delivered,
    /// The collector refused it for good (a 4xx other than 408 and 429): resending cannot help.
    Refused(u16),
    /// It may succeed later: a network error, a 5xx, 408 or 429.
    Failed(String),
}

/// Posts `body` as `text/plain` (no CORS preflight) and calls `done` with the outcome.
pub fn post(endpoint: &str, body: &str, done: impl FnOnce(Outcome) + 'static) {
    let Some(window) = web_sys::window() else { return done(Outcome::Failed("no window".into())) };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    // `keepalive` lets the request outlive the page; web-sys gates its setter behind an
    // unstable flag, so it is set as a plain property.
    let _ = Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
    let headers = js_sys::Object::new();
    let _ = Reflect::set(&headers, &"Content-Type".into(), &"text/plain;charset=UTF-8".into());
    init.set_headers(&headers);
    let promise = window.fetch_with_str_and_init(endpoint, &init);
    settle(promise, done);
}

fn settle(promise: Promise, done: impl FnOnce(Outcome) + 'static) {
    // `allSettled` resolves exactly once whether the fetch succeeded or not, so a single
    // self-freeing callback suffices and nothing leaks when one branch never runs.
    let settled = Promise::all_settled(&js_sys::Array::of1(&promise));
    let callback = Closure::once_into_js(move |results: JsValue| {
        let result = Reflect::get_u32(&results, 0).unwrap_or(JsValue::UNDEFINED);
        let value = Reflect::get(&result, &"value".into()).unwrap_or(JsValue::UNDEFINED);
        let outcome = match value.dyn_into::<Response>() {
            Ok(r) if r.ok() => Outcome::Delivered,
            Ok(r) if matches!(r.status(), 408 | 429) || r.status() >= 500 => {
                Outcome::Failed(format!("HTTP {}", r.status()))
            }
            Ok(r) => Outcome::Refused(r.status()),
            Err(_) => {
                let reason = Reflect::get(&result, &"reason".into()).unwrap_or(JsValue::UNDEFINED);
                let message =
                    Reflect::get(&reason, &"message".into()).ok().and_then(|m| m.as_string());
                Outcome::Failed(message.unwrap_or_else(|| "network error".into()))
            }
        };
        done(outcome);
    });
    // `Promise::then` wants a `Closure`, which would have to be leaked; a self-freeing
    // `once_into_js` function is passed through `then` by hand instead.
    if let Ok(then) = Reflect::get(&settled, &"then".into()) {
        let _ = then.unchecked_ref::<Function>().call1(&settled, &callback);
    }
}

/// Hands `body` to the browser to send even as the page unloads. Returns whether the browser
/// took it; it refuses payloads over its in-flight budget (64 KiB).
pub fn beacon(endpoint: &str, body: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    window.navigator().send_beacon_with_opt_str(endpoint, Some(body)).unwrap_or(false)
}
