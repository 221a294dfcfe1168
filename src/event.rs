//! The events the tracker emits and the page they happened on.

use crate::host::Host;
use crate::json::{obj, Value};
use crate::text::{clip, find, pieces, position, rsplit_at, split_at};

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
    /// A page from its URL, title and referrer; path and hostname are read off the URL. Each
    /// is cut to GA4's lengths, in bytes (URL 1,000, title 300, referrer 420).
    pub fn new(url: &str, title: &str, referrer: &str) -> Page {
        let (hostname, path) = split_url(url);
        Page {
            url: clip(url, 1000).to_string(),
            path: clip(path, 1000).to_string(),
            hostname: hostname.to_string(),
            title: clip(title, 300).to_string(),
            referrer: clip(referrer, 420).to_string(),
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
    let after_scheme = find(url, "://").and_then(|i| url.get(i + 3..)).unwrap_or(url);
    let host_end = position(after_scheme, |b| matches!(b, b'/' | b'?' | b'#'));
    let (authority, rest) = match host_end {
        Some(at) => (after_scheme.get(..at).unwrap_or(""), after_scheme.get(at..).unwrap_or("")),
        None => (after_scheme, ""),
    };
    let host = rsplit_at(authority, b'@').map_or(authority, |(_, host)| host);
    let host = match rsplit_at(host, b':') {
        Some((name, _)) if !host.ends_with(']') => name,
        _ => host,
    };
    let path = match position(rest, |b| b == b'?' || b == b'#') {
        Some(at) => rest.get(..at).unwrap_or(""),
        None => rest,
    };
    (host, if path.is_empty() { "/" } else { path })
}

/// The value of a query parameter in a URL, decoded by the host (`+` as a space).
pub fn query_param(url: &str, name: &str, host: &dyn Host) -> Option<String> {
    let before_fragment = split_at(url, b'#').map_or(url, |(before, _)| before);
    let (_, query) = split_at(before_fragment, b'?')?;
    pieces(query, b'&').find_map(|pair| {
        let (key, value) = split_at(pair, b'=').unwrap_or((pair, ""));
        (host.decode(key) == name).then(|| host.decode(value))
    })
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
        let host = &crate::host::NativeHost::default();
        let query_param = |url, name| super::query_param(url, name, host);
        let url = "https://x.example/p?utm_source=news%20letter&q=a+b&empty=#utm_source=no";
        assert_eq!(query_param(url, "utm_source").as_deref(), Some("news letter"));
        assert_eq!(query_param(url, "q").as_deref(), Some("a b"));
        assert_eq!(query_param(url, "empty").as_deref(), Some(""));
        assert_eq!(query_param(url, "missing"), None);
        assert_eq!(query_param("https://x.example/%zz?k=%zz", "k").as_deref(), Some("%zz"));
    }
}
