//! Substring search without `core`'s two-way searcher.
//!
//! The standard `str::find(&str)` is fast on long texts but brings kilobytes of code, and
//! with it the panic formatting of string slicing, into the wasm. Tracked texts are short
//! (a URL, a button label), where a plain scan is as fast.

/// The byte position of the first `needle` in `hay`.
pub fn find(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.as_bytes().windows(needle.len()).position(|w| w == needle.as_bytes())
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &str, needle: &str) -> bool {
    find(hay, needle).is_some()
}

/// `hay` split around the first `needle`, which is not part of either side.
pub fn split_once<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let at = find(hay, needle)?;
    // A match of a whole UTF-8 needle always starts and ends on char boundaries.
    Some((hay.get(..at)?, hay.get(at + needle.len()..)?))
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub fn clip(text: &str, max: usize) -> &str {
    let mut at = max.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.get(..at).unwrap_or(text)
}

/// `items` joined by `separator`, as `[String]::join` does, without the generic code that
/// costs a kilobyte of wasm.
pub fn join(items: &[String], separator: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(item);
    }
    out
}

/// How many bytes the first `max` characters of `text` take. Counted byte by byte: a UTF-8
/// character starts at every byte that is not a continuation byte (`10xxxxxx`).
pub fn chars_len(text: &str, max: usize) -> usize {
    let mut seen = 0;
    position(text, |b| {
        seen += usize::from(b & 0xC0 != 0x80);
        seen > max
    })
    .unwrap_or(text.len())
}

/// The position of the first byte for which `hit` holds. Meant for ASCII delimiters, whose
/// positions are always char boundaries; cheaper in the wasm than `str::find(char)`.
pub fn position(hay: &str, hit: impl FnMut(u8) -> bool) -> Option<usize> {
    hay.bytes().position(hit)
}

/// `hay` split around the first ASCII `delimiter`.
pub fn split_at(hay: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = position(hay, |b| b == delimiter)?;
    Some((hay.get(..at)?, hay.get(at + 1..)?))
}

/// `hay` split around the last ASCII `delimiter`.
pub fn rsplit_at(hay: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = hay.bytes().rposition(|b| b == delimiter)?;
    Some((hay.get(..at)?, hay.get(at + 1..)?))
}

/// The pieces of `hay` between ASCII `delimiter`s, like `str::split`.
pub fn pieces(hay: &str, delimiter: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(hay);
    std::iter::from_fn(move || {
        let here = rest?;
        match split_at(here, delimiter) {
            Some((piece, tail)) => {
                rest = Some(tail);
                Some(piece)
            }
            None => {
                rest = None;
                Some(here)
            }
        }
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn joins_and_character_lengths_agree_with_the_standard_library() {
        for items in [vec![], vec!["a".to_string()], vec!["a".into(), "".into(), "é".into()]] {
            assert_eq!(join(&items, ", "), items.join(", "));
        }
        for text in ["", "abc", "ünïcödé", "a😀b", "日本語テキスト"] {
            for max in 0..10 {
                let expected = text.char_indices().nth(max).map_or(text.len(), |(at, _)| at);
                assert_eq!(chars_len(text, max), expected, "{text:?} {max}");
            }
        }
    }

    #[test]
    fn byte_splits_agree_with_the_standard_library() {
        for hay in ["", "a", "a=b", "=b", "a=", "a=b=c", "é=ü&x"] {
            assert_eq!(split_at(hay, b'='), hay.split_once('='), "{hay:?}");
            assert_eq!(rsplit_at(hay, b'='), hay.rsplit_once('='), "{hay:?}");
            assert_eq!(pieces(hay, b'=').collect::<Vec<_>>(), hay.split('=').collect::<Vec<_>>());
        }
        assert_eq!(position("a/b?c", |b| b == b'?' || b == b'#'), Some(3));
    }

    #[test]
    fn agrees_with_the_standard_library() {
        let cases =
            [("", ""), ("abc", ""), ("", "a"), ("héllo wörld", "wö"), ("aaab", "aab"), ("x", "xy")];
        for (hay, needle) in cases {
            assert_eq!(find(hay, needle), hay.find(needle), "{hay:?} {needle:?}");
            assert_eq!(split_once(hay, needle), hay.split_once(needle), "{hay:?} {needle:?}");
        }
    }
}

/// Whether a regular expression repeats a group that itself repeats, as in `(a+)+`, `(\w*)*`
/// or `((ab)+c){2,}`: the shape whose backtracking takes exponential time in the browsers'
/// engines on a text that almost matches. Repetition is `*`, `+` or `{...}`; escapes and
/// character classes are skipped. Overlapping alternatives (`(a|a)*`) are not seen.
pub fn repeats_a_repetition(pattern: &str) -> bool {
    let bytes = pattern.as_bytes();
    // For each open group: whether something inside it repeats.
    let mut groups: Vec<bool> = Vec::new();
    let mut in_class = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'\\' => i += 1,
            b']' => in_class = false,
            _ if in_class => {}
            b'[' => in_class = true,
            b'(' => groups.push(false),
            b')' => {
                let inner = groups.pop().unwrap_or(false);
                let repeated = matches!(bytes.get(i), Some(b'*' | b'+' | b'{'));
                if inner && repeated {
                    return true;
                }
                if let Some(outer) = groups.last_mut() {
                    *outer |= inner || repeated;
                }
            }
            b'*' | b'+' | b'{' => {
                if let Some(group) = groups.last_mut() {
                    *group = true;
                }
            }
            _ => {}
        }
    }
    false
}
