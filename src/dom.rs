//! The elements the engine reasons about, seen through a small trait.
//!
//! In the page this is a `web_sys::Element`; natively it is [`fake::FakeElement`], a tiny tree
//! with just enough selector support for tests.

/// An element of the page, as the engine needs to see it.
pub trait Element {
    /// The element itself or its nearest ancestor matching `selector` (`Element.closest`).
    fn closest(&self, selector: &str) -> Option<Box<dyn Element>>;
    /// Whether the element matches `selector`.
    fn matches(&self, selector: &str) -> bool;
    /// The tag name, lowercase.
    fn tag(&self) -> String;
    /// An attribute's value.
    fn attr(&self, name: &str) -> Option<String>;
    /// The text content, as the page has it.
    fn text(&self) -> String;
    /// The absolute URL the element points to: a link's `href`, a form's `action`.
    fn url(&self) -> Option<String>;
    /// Another handle to the same element.
    fn clone_box(&self) -> Box<dyn Element>;
}

/// Text as a marketer wants to read it: trimmed, whitespace collapsed, at most `max` characters.
pub fn clean_text(raw: &str, max: usize) -> String {
    let mut out = String::new();
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > max * 4 {
            break;
        }
    }
    match out.char_indices().nth(max) {
        Some((cut, _)) => out.get(..cut).unwrap_or_default().to_owned(),
        None => out,
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub mod fake {
    //! An in-memory element tree for native tests.

    use super::Element;
    use std::rc::Rc;

    /// A fake element: a tag, attributes, text, a URL and a parent.
    #[derive(Clone, Debug, Default)]
    pub struct FakeElement {
        /// Lowercase tag name.
        pub tag: String,
        /// Attributes, `id` and `class` included.
        pub attrs: Vec<(String, String)>,
        /// Text content.
        pub text: String,
        /// Absolute URL (`href` / `action`).
        pub url: Option<String>,
        /// The parent element.
        pub parent: Option<Rc<FakeElement>>,
    }

    impl FakeElement {
        /// A new element with a tag.
        pub fn new(tag: &str) -> FakeElement {
            FakeElement { tag: tag.to_string(), ..FakeElement::default() }
        }

        /// Adds an attribute.
        pub fn attr(mut self, name: &str, value: &str) -> FakeElement {
            self.attrs.push((name.to_string(), value.to_string()));
            self
        }

        /// Sets the text.
        pub fn text(mut self, text: &str) -> FakeElement {
            self.text = text.to_string();
            self
        }

        /// Sets the URL.
        pub fn url(mut self, url: &str) -> FakeElement {
            self.url = Some(url.to_string());
            self
        }

        /// Places this element inside `parent`.
        pub fn inside(mut self, parent: FakeElement) -> FakeElement {
            self.parent = Some(Rc::new(parent));
            self
        }

        fn matches_simple(&self, selector: &str) -> bool {
            // Supports `tag`, `#id`, `.class`, `[attr]` and their concatenations.
            let mut rest = selector.trim();
            let tag_end = rest.find(['#', '.', '[']).unwrap_or(rest.len());
            let (tag, tail) = rest.split_at(tag_end);
            if !tag.is_empty() && tag != "*" && tag != self.tag {
                return false;
            }
            rest = tail;
            while !rest.is_empty() {
                let (kind, body) = rest.split_at(1);
                let end = body.find(['#', '.', '[']).unwrap_or(body.len());
                let (name, tail) = body.split_at(end);
                let ok = match kind {
                    "#" => self.get("id") == Some(name),
                    "." => {
                        self.get("class").is_some_and(|c| c.split_whitespace().any(|x| x == name))
                    }
                    _ => self.get(name.trim_end_matches(']')).is_some(),
                };
                if !ok {
                    return false;
                }
                rest = tail;
            }
            true
        }

        fn get(&self, name: &str) -> Option<&str> {
            self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        }
    }

    impl Element for FakeElement {
        fn closest(&self, selector: &str) -> Option<Box<dyn Element>> {
            if self.matches(selector) {
                return Some(Box::new(self.clone()));
            }
            self.parent.as_ref()?.closest(selector)
        }

        fn matches(&self, selector: &str) -> bool {
            selector.split(',').any(|s| self.matches_simple(s))
        }

        fn tag(&self) -> String {
            self.tag.clone()
        }

        fn attr(&self, name: &str) -> Option<String> {
            self.get(name).map(str::to_string)
        }

        fn text(&self) -> String {
            self.text.clone()
        }

        fn url(&self) -> Option<String> {
            self.url.clone()
        }

        fn clone_box(&self) -> Box<dyn Element> {
            Box::new(self.clone())
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn clean_text_collapses_whitespace_and_cuts_by_characters() {
        assert_eq!(clean_text("  Shop\n   the  Trailrunner \t", 100), "Shop the Trailrunner");
        assert_eq!(clean_text("ééééé", 3), "ééé");
    }
}
