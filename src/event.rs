//! The events the tracker emits and the page they happened on.

use crate::json::{obj, Value};

/// The page an event happened on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The full URL.
    pub url: String,
    /// The path, starting with `/`.
    pub path: String,
    /// The hostname.
    pub hostname: String,
    /// The document title.
    pub title: String,
    /// The referrer, or empty.
    pub referrer: String,
}

impl Page {
    /// A page from its URL, title and referrer; path and hostname are read off the URL.
    pub fn new(url: &str, title: &str, referrer: &str) -> Page {
        let (hostname, path) = split_url(url);
        Page {
            url: url.to_string(),
            path: path.to_string(),
            hostname: hostname.to_string(),
            title: title.to_string(),
            referrer: referrer.to_string(),
        }
    }

    fn to_value(&self) -> Value {
        obj(vec![
            ("url", self.url.as_str().into()),
            ("path", self.path.as_str().into()),
            ("title", self.title.as_str().into()),
            ("referrer", self.referrer.as_str().into()),
        ])
    }
}

/// The hostname and the path of an absolute URL; the path without query or fragment.
pub fn split_url(url: &str) -> (&str, &str) {
    // `get` rather than indexing: the positions come from `find`, so they are always char
    // boundaries, and `get` keeps the panic machinery of string slicing out of the wasm.
    let after_scheme = crate::text::find(url, "://").and_then(|i| url.get(i + 3..)).unwrap_or(url);
    let host_end = after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at_checked(host_end).unwrap_or((after_scheme, ""));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => host.get(..i).unwrap_or(host),
        _ => host,
    };
    let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let path = match rest.get(..path_end) {
        Some(path) if !path.is_empty() => path,
        _ => "/",
    };
    (host, path)
}

/// The value of a query parameter in a URL, percent-decoded (`+` as space).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split('#').next()?.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// One tracked event, as sent to the collector.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// A unique id; the collector stores each id once.
    pub id: String,
    /// The event name.
    pub name: String,
    /// When it happened, in milliseconds since the epoch.
    pub ts: f64,
    /// Its order among this page's events.
    pub seq: u64,
    /// The page it happened on.
    pub page: Page,
    /// Its parameters.
    pub params: Value,
    /// The visit's segment: device, source, returning.
    pub segment: Value,
    /// Each funnel's step reached after this event (only funnels that were entered).
    pub funnels: Vec<(String, usize)>,
}

impl Event {
    /// The event as a JSON object of the wire format.
    pub fn to_value(&self) -> Value {
        let funnels =
            self.funnels.iter().map(|(id, step)| (id.clone(), Value::Num(*step as f64))).collect();
        obj(vec![
            ("id", self.id.as_str().into()),
            ("name", self.name.as_str().into()),
            ("ts", Value::Num(self.ts.floor())),
            ("seq", Value::Num(self.seq as f64)),
            ("page", self.page.to_value()),
            ("params", self.params.clone()),
            ("segment", self.segment.clone()),
            ("funnels", Value::Obj(funnels)),
        ])
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(split_url("https://shop.example:8443/a/b?x=1#f"), ("shop.example", "/a/b"));
        assert_eq!(split_url("http://127.0.0.1:8080"), ("127.0.0.1", "/"));
        assert_eq!(split_url("https://u:p@h.example/?q"), ("h.example", "/"));
    }

    #[test]
    fn query_params_are_decoded() {
        let url = "https://x.example/p?utm_source=news%20letter&q=a+b&empty=#utm_source=no";
        assert_eq!(query_param(url, "utm_source").as_deref(), Some("news letter"));
        assert_eq!(query_param(url, "q").as_deref(), Some("a b"));
        assert_eq!(query_param(url, "empty").as_deref(), Some(""));
        assert_eq!(query_param(url, "missing"), None);
        assert_eq!(query_param("https://x.example/%zz?k=%zz", "k").as_deref(), Some("%zz"));
    }
}
