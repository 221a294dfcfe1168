//! The host the reports replay funnels with: the page engine's [`NativeHost`], with each
//! regular expression compiled once per replay instead of once per event it is tested on.

use std::cell::RefCell;
use std::collections::HashMap;

use microfunnel::host::{Host, NativeHost};
use regex::{Regex, RegexBuilder};

/// [`NativeHost`] with a cache of compiled patterns; one per replay, on one thread.
#[derive(Default)]
pub(crate) struct CachingHost {
    native: NativeHost,
    /// Each pattern and case flag, compiled, or `None` when it does not compile.
    compiled: RefCell<HashMap<(String, bool), Option<Regex>>>,
}

impl CachingHost {
    fn with<T>(
        &self,
        pattern: &str,
        ignore_case: bool,
        use_it: impl FnOnce(Option<&Regex>) -> T,
    ) -> T {
        let mut compiled = self.compiled.borrow_mut();
        let regex = compiled.entry((pattern.to_string(), ignore_case)).or_insert_with(|| {
            // The same builder settings as NativeHost, so that both agree on every pattern.
            RegexBuilder::new(pattern).case_insensitive(ignore_case).build().ok()
        });
        use_it(regex.as_ref())
    }
}

impl Host for CachingHost {
    fn regex_is_valid(&self, pattern: &str, ignore_case: bool) -> bool {
        self.with(pattern, ignore_case, |regex| regex.is_some())
    }

    fn regex_find(&self, pattern: &str, ignore_case: bool, text: &str) -> bool {
        self.with(pattern, ignore_case, |regex| regex.is_some_and(|re| re.is_match(text)))
    }

    fn selector_is_valid(&self, selector: &str) -> bool {
        self.native.selector_is_valid(selector)
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.native.cookie(name)
    }

    fn random_id(&self) -> String {
        self.native.random_id()
    }

    fn lowercase(&self, text: &str) -> String {
        self.native.lowercase(text)
    }

    fn decode(&self, text: &str) -> String {
        self.native.decode(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_native_host() {
        let (cached, native) = (CachingHost::default(), NativeHost::default());
        for (pattern, case, text) in [
            ("^/(index\\.html)?$", false, "/"),
            ("^/(index\\.html)?$", false, "/x"),
            ("ABC", true, "xabc"),
            ("(", false, "("),
        ] {
            for _ in 0..2 {
                assert_eq!(
                    cached.regex_find(pattern, case, text),
                    native.regex_find(pattern, case, text)
                );
                assert_eq!(
                    cached.regex_is_valid(pattern, case),
                    native.regex_is_valid(pattern, case)
                );
            }
        }
    }
}
