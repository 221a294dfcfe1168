//! What the engine needs from its surroundings but cannot do itself in plain Rust.
//!
//! In the page these are answered by the browser (its regex engine, `Element.matches`, cookies);
//! natively by [`NativeHost`], the in-memory twin used by tests and the collector.

/// Services the engine borrows from where it runs.
pub trait Host {
    /// Whether `pattern` compiles as a regular expression.
    fn regex_is_valid(&self, pattern: &str, ignore_case: bool) -> bool;
    /// Whether `pattern` finds a match anywhere in `text` (an unanchored search, as in GTM).
    fn regex_find(&self, pattern: &str, ignore_case: bool, text: &str) -> bool;
    /// Whether `selector` is a valid CSS selector.
    fn selector_is_valid(&self, selector: &str) -> bool;
    /// A first-party cookie's value.
    fn cookie(&self, name: &str) -> Option<String>;
    /// A new random id of about 80 bits, in lowercase base 36.
    fn random_id(&self) -> String;
    /// Text in lowercase, by the full Unicode rules (the page's `toLowerCase`).
    fn lowercase(&self, text: &str) -> String;
    /// A URL query component decoded: `+` as a space, then percent escapes as UTF-8; a
    /// malformed escape is kept as it is.
    fn decode(&self, text: &str) -> String;
}

/// The native host: the `regex` crate, lenient selectors, and cookies from a list.
///
/// JavaScript's and the `regex` crate's syntaxes agree on everything the configs use (classes,
/// anchors, alternation, quantifiers); look-around and back-references exist only in the page.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Default)]
pub struct NativeHost {
    /// Cookies, as name and value.
    pub cookies: Vec<(String, String)>,
}

#[cfg(not(target_arch = "wasm32"))]
impl NativeHost {
    fn compile(pattern: &str, ignore_case: bool) -> Option<regex::Regex> {
        regex::RegexBuilder::new(pattern).case_insensitive(ignore_case).build().ok()
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Host for NativeHost {
    fn regex_is_valid(&self, pattern: &str, ignore_case: bool) -> bool {
        Self::compile(pattern, ignore_case).is_some()
    }

    fn regex_find(&self, pattern: &str, ignore_case: bool, text: &str) -> bool {
        Self::compile(pattern, ignore_case).is_some_and(|re| re.is_match(text))
    }

    fn selector_is_valid(&self, selector: &str) -> bool {
        !selector.trim().is_empty() && !selector.contains(",,")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    fn lowercase(&self, text: &str) -> String {
        text.to_lowercase()
    }

    fn decode(&self, text: &str) -> String {
        percent_decode(text)
    }

    /// Ids from a process-wide counter (`id1`, `id2`, ...): repeatable, and unique across
    /// hosts as random ids are in the page.
    fn random_id(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        format!("id{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(not(target_arch = "wasm32"))]
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

#[cfg(not(target_arch = "wasm32"))]
fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}
