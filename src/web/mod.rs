//! The browser glue: listeners, storage, transport and the functions the loader calls.
//!
//! Everything here is thin. It turns DOM events into [`Observation`]s for the engine, keeps
//! the queue moving, and never throws into the host page: every exported function catches its
//! own failures and logs them once.
//!
//! [`Observation`]: crate::trigger::Observation

mod convert;
mod element;
mod host;
mod storage;
mod tracker;

/// Talc instead of the default dlmalloc: the same job in a fraction of the bytes.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use tracker::{ask, debug, delivered, flush, handle, reset, start, unstick};

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The page's `window`, read once: web-sys's `window()` looks through four globals
    /// (`globalThis`, `self`, `window`, `global`), an import and a getter each.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: web_sys::Window;
}

/// The page's `window`.
fn window() -> web_sys::Window {
    WINDOW.with(Clone::clone)
}

/// Entry points for the browser tests in `tests/web.rs`; not part of the public API.
#[doc(hidden)]
pub mod testing {
    use crate::dom::Element;
    use crate::host::Host;
    use crate::json::Value;

    /// The page's host.
    pub fn browser_host() -> impl Host {
        super::host::BrowserHost
    }

    /// A DOM element as the engine sees it.
    pub fn dom_element(element: web_sys::Element) -> impl Element {
        super::element::DomElement(element)
    }

    /// A JavaScript value as the engine sees it.
    pub fn to_value(value: &wasm_bindgen::JsValue) -> Value {
        super::convert::to_value(value, super::convert::Limits::PUSH)
    }
}
