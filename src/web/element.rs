//! `web_sys::Element` as the engine's [`Element`].

use crate::dom::Element;
use wasm_bindgen::JsCast;
use web_sys::{HtmlAnchorElement, HtmlFormElement};

/// A DOM element.
pub struct DomElement(pub web_sys::Element);

impl Element for DomElement {
    fn closest(&self, selector: &str) -> Option<Box<dyn Element>> {
        // An invalid selector throws in `closest`; config validation has already rejected
        // those, so an error here can only mean no match.
        let found = self.0.closest(selector).ok().flatten()?;
        Some(Box::new(DomElement(found)))
    }

    fn matches(&self, selector: &str) -> bool {
        self.0.matches(selector).unwrap_or(false)
    }

    fn tag(&self) -> String {
        self.0.tag_name().to_ascii_lowercase()
    }

    fn attr(&self, name: &str) -> Option<String> {
        self.0.get_attribute(name)
    }

    fn text(&self) -> String {
        // `textContent` rather than `innerText`: it does not force a layout on every click.
        // A click target may hold megabytes of text; only the start is ever shown, so it is
        // cut on the JavaScript side before anything is copied into the wasm.
        let text = js_sys::Reflect::get(&self.0, &"textContent".into()).unwrap_or_default();
        match text.dyn_ref::<js_sys::JsString>() {
            Some(text) => text.slice(0, 2000).into(),
            None => String::new(),
        }
    }

    fn url(&self) -> Option<String> {
        if let Some(a) = self.0.dyn_ref::<HtmlAnchorElement>() {
            return Some(a.href()).filter(|h| !h.is_empty());
        }
        if let Some(form) = self.0.dyn_ref::<HtmlFormElement>() {
            return Some(form.action());
        }
        None
    }

    fn clone_box(&self) -> Box<dyn Element> {
        Box::new(DomElement(self.0.clone()))
    }
}
