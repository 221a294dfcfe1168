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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

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
