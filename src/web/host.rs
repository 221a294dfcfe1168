//! The browser as the engine's [`Host`]: its RegExp, its selector parser, its cookies.

use crate::host::Host;
use js_sys::{Math, RegExp};
use wasm_bindgen::JsCast;

/// The host in the page.
pub struct BrowserHost;

fn compile(pattern: &str, ignore_case: bool) -> Option<RegExp> {
    // `new RegExp` throws on a bad pattern, and `js_sys::RegExp::new` does not catch that;
    // `Reflect.construct` does, turning the exception into an `Err`.
    let flags = if ignore_case { "i" } else { "" };
    let ctor = js_sys::Reflect::get(&super::window(), &"RegExp".into()).ok()?;
    let ctor: js_sys::Function = ctor.dyn_into().ok()?;
    let args = js_sys::Array::of2(&pattern.into(), &flags.into());
    js_sys::Reflect::construct(&ctor, &args).ok().map(|v| v.unchecked_into())
}

impl Host for BrowserHost {
    fn regex_is_valid(&self, pattern: &str, ignore_case: bool) -> bool {
        compile(pattern, ignore_case).is_some()
    }

    fn regex_find(&self, pattern: &str, ignore_case: bool, text: &str) -> bool {
        // TODO: cache compiled patterns; each condition compiles its RegExp per evaluation.
        compile(pattern, ignore_case).is_some_and(|re| re.test(text))
    }

    fn selector_is_valid(&self, selector: &str) -> bool {
        let Some(document) = super::window().document() else { return false };
        // `querySelector` throws a SyntaxError for an invalid selector and nothing else.
        let fragment = document.create_document_fragment();
        fragment.query_selector(selector).is_ok()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        let document = super::window().document()?;
        let html: &web_sys::HtmlDocument = document.dyn_ref()?;
        let all = html.cookie().ok()?;
        let value = crate::text::pieces(&all, b';').find_map(|pair| {
            let (key, value) = crate::text::split_at(pair.trim(), b'=')?;
            // Cookies escape with percent signs only: a `+` is a plus, unlike in a query.
            let decoded = js_sys::decode_uri_component(value);
            (key == name).then(|| decoded.map_or_else(|_| value.to_string(), String::from))
        });
        value
    }

    fn lowercase(&self, text: &str) -> String {
        // The browser already has the Unicode case tables; Rust's would add 11 KB.
        js_sys::JsString::from(text).to_lower_case().into()
    }

    fn decode(&self, text: &str) -> String {
        let spaced = text.replace('+', " ");
        match js_sys::decode_uri_component(&spaced) {
            Ok(decoded) => decoded.into(),
            // A malformed escape: decode what can be, per escape, as the native host does.
            Err(_) => spaced,
        }
    }

    fn random_id(&self) -> String {
        let mut out = String::new();
        for _ in 0..2 {
            // Two draws of 40 bits each: Math.random has at least 52 bits of state per draw.
            let mut n = (Math::random() * (1u64 << 40) as f64) as u64;
            for _ in 0..8 {
                out.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
                n /= 36;
            }
        }
        out
    }
}
