//! Conditions: `{ "var": "page.path", "op": "starts_with", "value": "/pricing" }`.

use crate::host::Host;
use crate::json::Value;

/// What a condition reads its variables from.
pub trait Vars {
    /// The value of a variable, or `None` when it has none here.
    fn var(&self, name: &str) -> Option<Value>;
    /// Whether the element a variable names (`click.element`) matches a CSS selector; `None`
    /// when there is no such element.
    fn element_matches(&self, name: &str, selector: &str) -> Option<bool>;
}

/// A comparison operator, without its negation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// The whole text equals the value.
    Equals,
    /// The text contains the value.
    Contains,
    /// The text starts with the value.
    StartsWith,
    /// The text ends with the value.
    EndsWith,
    /// A regular expression finds a match anywhere in the text.
    MatchesRegex,
    /// The element matches a CSS selector.
    MatchesCss,
    /// Numerically less than.
    Lt,
    /// Numerically less than or equal.
    Lte,
    /// Numerically greater than.
    Gt,
    /// Numerically greater than or equal.
    Gte,
}

impl Op {
    /// Parses an operator name, returning the operator and whether it was a `not_` form.
    pub fn parse(name: &str) -> Option<(Op, bool)> {
        let (base, negate) = match name.strip_prefix("not_") {
            Some(base) => (base, true),
            None => (name, false),
        };
        let op = Op::ALL.into_iter().find(|op| op.name() == base)?;
        Some((op, negate))
    }

    /// Every operator, for the JSON Schema.
    pub const ALL: [Op; 10] = [
        Op::Equals,
        Op::Contains,
        Op::StartsWith,
        Op::EndsWith,
        Op::MatchesRegex,
        Op::MatchesCss,
        Op::Lt,
        Op::Lte,
        Op::Gt,
        Op::Gte,
    ];

    /// Whether the operator compares numbers.
    pub fn is_numeric(self) -> bool {
        matches!(self, Op::Lt | Op::Lte | Op::Gt | Op::Gte)
    }

    /// The operator's name as written in the config.
    pub fn name(self) -> &'static str {
        match self {
            Op::Equals => "equals",
            Op::Contains => "contains",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
            Op::MatchesRegex => "matches_regex",
            Op::MatchesCss => "matches_css",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
        }
    }
}

/// One condition over a variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The variable's name.
    pub var: String,
    /// The comparison.
    pub op: Op,
    /// Whether the result is inverted (`not_contains`).
    pub negate: bool,
    /// The operand: a number for numeric operators, a string otherwise.
    pub value: Value,
    /// Whether text comparisons ignore letter case.
    pub ignore_case: bool,
}

impl Condition {
    /// Evaluates the condition. A missing variable reads as the empty string, so `not_equals`
    /// holds for it; numeric comparisons with a missing or non-numeric variable are false (and
    /// their negation true).
    pub fn holds(&self, vars: &dyn Vars, host: &dyn Host) -> bool {
        self.test(vars, host) != self.negate
    }

    fn test(&self, vars: &dyn Vars, host: &dyn Host) -> bool {
        let operand = self.value.to_text();
        if self.op == Op::MatchesCss {
            return vars.element_matches(&self.var, &operand).unwrap_or(false);
        }
        let actual = vars.var(&self.var).unwrap_or_default();
        if self.op.is_numeric() {
            let (Some(a), Some(b)) = (actual.to_number(), self.value.to_number()) else {
                return false;
            };
            return match self.op {
                Op::Lt => a < b,
                Op::Lte => a <= b,
                Op::Gt => a > b,
                _ => a >= b,
            };
        }
        let text = actual.to_text();
        if self.op == Op::MatchesRegex {
            return host.regex_find(&operand, self.ignore_case, &text);
        }
        let (text, operand) = if self.ignore_case {
            (host.lowercase(&text), host.lowercase(&operand))
        } else {
            (text, operand)
        };
        match self.op {
            Op::Equals => text == operand,
            Op::Contains => crate::text::contains(&text, &operand),
            Op::StartsWith => text.starts_with(&operand),
            _ => text.ends_with(&operand),
        }
    }

    /// The condition as a person would read it, for debug output and `explain`.
    pub fn describe(&self) -> String {
        let not = if self.negate { "not_" } else { "" };
        let case = if self.ignore_case { " (ignoring case)" } else { "" };
        format!("{} {not}{} `{}`{case}", self.var, self.op.name(), self.value.to_text())
    }
}

/// The first condition of `when` that fails, or of `unless` that holds, described; `None`
/// when the conditions allow the event.
pub fn first_failure(
    when: &[Condition],
    unless: &[Condition],
    vars: &dyn Vars,
    host: &dyn Host,
) -> Option<String> {
    for (i, c) in when.iter().enumerate() {
        if !c.holds(vars, host) {
            let actual = vars.var(&c.var).map(|v| v.to_text()).unwrap_or_default();
            return Some(format!("when[{i}] failed: {} (was `{actual}`)", c.describe()));
        }
    }
    for (i, c) in unless.iter().enumerate() {
        if c.holds(vars, host) {
            return Some(format!("unless[{i}] held: {}", c.describe()));
        }
    }
    None
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::host::NativeHost;

    struct Fixed(Vec<(&'static str, Value)>);

    impl Vars for Fixed {
        fn var(&self, name: &str) -> Option<Value> {
            self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
        }
        fn element_matches(&self, _: &str, selector: &str) -> Option<bool> {
            Some(selector == "button")
        }
    }

    fn cond(var: &str, op: &str, value: Value, ignore_case: bool) -> Condition {
        let (op, negate) = Op::parse(op).unwrap();
        Condition { var: var.into(), op, negate, value, ignore_case }
    }

    #[test]
    fn every_text_operator_and_its_negation() {
        let vars = Fixed(vec![("page.path", Value::from("/Pricing/Team"))]);
        let host = NativeHost::default();
        let cases = [
            ("equals", "/Pricing/Team", false, true),
            ("equals", "/pricing/team", false, false),
            ("equals", "/pricing/team", true, true),
            ("contains", "Team", false, true),
            ("contains", "team", false, false),
            ("starts_with", "/Pricing", false, true),
            ("starts_with", "/pricing", true, true),
            ("ends_with", "Team", false, true),
            ("ends_with", "/Pricing", false, false),
            ("matches_regex", "^/pricing/", false, false),
            ("matches_regex", "^/pricing/", true, true),
            ("matches_regex", "Tea", false, true),
        ];
        for (op, value, ignore_case, expected) in cases {
            let c = cond("page.path", op, value.into(), ignore_case);
            assert_eq!(c.holds(&vars, &host), expected, "{op} {value} ignore_case={ignore_case}");
            let not = cond("page.path", &format!("not_{op}"), value.into(), ignore_case);
            assert_eq!(not.holds(&vars, &host), !expected, "not_{op} {value}");
        }
    }

    #[test]
    fn numeric_operators_compare_numbers_not_text() {
        let vars = Fixed(vec![("params.value", Value::from("129")), ("x", Value::Num(9.0))]);
        let host = NativeHost::default();
        assert!(cond("params.value", "gt", Value::Num(99.0), false).holds(&vars, &host));
        assert!(cond("x", "lt", Value::Num(10.0), false).holds(&vars, &host));
        assert!(cond("x", "lte", Value::Num(9.0), false).holds(&vars, &host));
        assert!(!cond("x", "gte", Value::Num(9.5), false).holds(&vars, &host));
        assert!(!cond("missing", "gt", Value::Num(0.0), false).holds(&vars, &host));
        assert!(cond("missing", "not_gt", Value::Num(0.0), false).holds(&vars, &host));
    }

    #[test]
    fn missing_variable_reads_as_empty_text() {
        let vars = Fixed(vec![]);
        let host = NativeHost::default();
        assert!(cond("click.id", "equals", "".into(), false).holds(&vars, &host));
        assert!(cond("click.id", "not_equals", "buy".into(), false).holds(&vars, &host));
    }

    #[test]
    fn matches_css_asks_the_element() {
        let vars = Fixed(vec![]);
        let host = NativeHost::default();
        assert!(cond("click.element", "matches_css", "button".into(), false).holds(&vars, &host));
        assert!(cond("click.element", "not_matches_css", "a".into(), false).holds(&vars, &host));
    }

    #[test]
    fn first_failure_names_the_condition_and_the_actual_value() {
        let vars = Fixed(vec![("page.path", Value::from("/product"))]);
        let host = NativeHost::default();
        let when = [cond("page.path", "equals", "/".into(), false)];
        let why = first_failure(&when, &[], &vars, &host).unwrap();
        assert_eq!(why, "when[0] failed: page.path equals `/` (was `/product`)");
    }
}
