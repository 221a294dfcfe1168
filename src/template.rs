//! Templates for event params: `"{{click.text}}"`, `"Plan: {{plan}}"`.

use crate::condition::Vars;
use crate::json::Value;
use crate::text::split_once;

/// A parsed template: literal text and variable references.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Var(String),
    Constant(Value),
}

impl Template {
    /// Parses `{{name}}` references out of `text`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some((before, after)) = split_once(rest, "{{") {
            if !before.is_empty() {
                parts.push(Part::Text(before.to_string()));
            }
            let Some((name, tail)) = split_once(after, "}}") else {
                return Err(format!("`{text}` has a `{{{{` without its `}}}}`"));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("`{text}` has an empty `{{{{}}}}`"));
            }
            parts.push(Part::Var(name.to_string()));
            rest = tail;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// A template that always gives `value`.
    pub fn constant(value: Value) -> Template {
        Template { parts: vec![Part::Constant(value)] }
    }

    /// Fills the template. A template that is one reference keeps the variable's type (a number
    /// stays a number); anything else becomes text, with missing variables as empty text.
    pub fn render(&self, vars: &dyn Vars) -> Value {
        if let [only] = self.parts.as_slice() {
            return match only {
                Part::Var(name) => vars.var(name).unwrap_or(Value::Null),
                Part::Text(text) => Value::from(text.as_str()),
                Part::Constant(value) => value.clone(),
            };
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(name) => out.push_str(&vars.var(name).unwrap_or_default().to_text()),
                Part::Constant(value) => out.push_str(&value.to_text()),
            }
        }
        Value::Str(out)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    struct Fixed;

    impl Vars for Fixed {
        fn var(&self, name: &str) -> Option<Value> {
            match name {
                "click.text" => Some("Start trial".into()),
                "price" => Some(Value::Num(129.0)),
                _ => None,
            }
        }
        fn element_matches(&self, _: &str, _: &str) -> Option<bool> {
            None
        }
    }

    #[test]
    fn a_single_reference_keeps_its_type() {
        assert_eq!(Template::parse("{{price}}").unwrap().render(&Fixed), Value::Num(129.0));
        assert_eq!(
            Template::parse("{{ click.text }}").unwrap().render(&Fixed),
            "Start trial".into()
        );
    }

    #[test]
    fn mixed_text_interpolates_and_missing_is_empty() {
        let t = Template::parse("cta: {{click.text}} / {{nope}}!").unwrap();
        assert_eq!(t.render(&Fixed), "cta: Start trial / !".into());
    }

    #[test]
    fn unclosed_reference_is_an_error_naming_the_template() {
        let err = Template::parse("{{click.text").unwrap_err();
        assert!(err.contains("`{{click.text`"), "{err}");
    }
}
