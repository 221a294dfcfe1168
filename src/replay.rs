//! The funnel engine over stored events: what the collector runs to compute funnels from what
//! it received, with the same state machine as the page.
//!
//! Events are replayed visitor by visitor, in the order they happened. Step conditions can
//! read what an event carries (`event`, `page.*`, `params.*`, `segment.*`); the data layer and
//! user-defined variables exist only in the page, so a condition on them reads as empty here.

use crate::condition::Vars;
use crate::config::Funnel;
use crate::event::Page;
use crate::funnel::{advance, Attempt, Change, Seen};
use crate::host::Host;
use crate::json::Value;

/// A stored event, as the collector has it.
pub struct Stored<'a> {
    /// The visitor.
    pub client_id: &'a str,
    /// The session.
    pub session_id: &'a str,
    /// The event's name.
    pub name: &'a str,
    /// When it happened, in milliseconds since the epoch.
    pub ts: f64,
    /// The page it happened on.
    pub page: &'a Page,
    /// Its params.
    pub params: &'a Value,
    /// Its segment.
    pub segment: &'a Value,
}

struct StoredVars<'a>(&'a Stored<'a>);

impl Vars for StoredVars<'_> {
    fn var(&self, name: &str) -> Option<Value> {
        let e = self.0;
        let text = |s: &str| Some(Value::from(s));
        match name {
            "event" | "event.name" => return text(e.name),
            "page.url" => return text(&e.page.url),
            "page.path" => return text(&e.page.path),
            "page.hostname" => return text(&e.page.hostname),
            "page.title" => return text(&e.page.title),
            "page.referrer" => return text(&e.page.referrer),
            _ => {}
        }
        if let Some(key) = name.strip_prefix("params.") {
            return e.params.get(key).cloned();
        }
        let key = name.strip_prefix("segment.")?;
        e.segment.get(key).cloned()
    }

    fn element_matches(&self, _: &str, _: &str) -> Option<bool> {
        None
    }
}

/// Every change a funnel went through, as `(index of the event in `events`, change)`.
///
/// `events` must be ordered by visitor, then by time; funnel events themselves are skipped, as
/// the page does not feed them back either.
pub fn changes(funnel: &Funnel, events: &[Stored<'_>], host: &dyn Host) -> Vec<(usize, Change)> {
    let mut out = Vec::new();
    let mut attempt: Option<Attempt> = None;
    let mut visitor = "";
    for (i, e) in events.iter().enumerate() {
        if e.client_id != visitor {
            visitor = e.client_id;
            attempt = None;
        }
        if e.name.starts_with("funnel_") {
            continue;
        }
        let vars = StoredVars(e);
        let seen = Seen { name: e.name, vars: &vars, at: e.ts, session: e.session_id };
        for change in advance(funnel, &mut attempt, &seen, host).changes {
            out.push((i, change));
        }
    }
    out
}

/// A funnel's counts over stored events.
#[derive(Debug, Default, PartialEq)]
pub struct Counts {
    /// Per step: how many attempts reached it.
    pub reached: Vec<u64>,
    /// How many attempts completed.
    pub completed: u64,
    /// Abandoned attempts by reason (`window`, `within`, `exclusion`, `session`).
    pub abandoned: Vec<(String, u64)>,
}

/// Counts the changes of [`changes`].
pub fn count(funnel: &Funnel, changes: &[(usize, Change)]) -> Counts {
    let mut counts = Counts { reached: vec![0; funnel.steps.len()], ..Counts::default() };
    for (_, change) in changes {
        match change {
            Change::Step { step, complete, .. } => {
                counts.reached[step - 1] += 1;
                counts.completed += u64::from(*complete);
            }
            Change::Abandon { reason, .. } => {
                let name = reason.name();
                match counts.abandoned.iter_mut().find(|(n, _)| n == name) {
                    Some(entry) => entry.1 += 1,
                    None => counts.abandoned.push((name.to_string(), 1)),
                }
            }
        }
    }
    counts
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::config::decode;
    use crate::host::NativeHost;

    #[test]
    fn replays_each_visitor_on_their_own() {
        let config = r#"{ "site": "s", "funnels": [ { "id": "f", "steps": [
            { "event": "page_view", "when": [ { "var": "page.path", "op": "equals", "value": "/" } ] },
            { "event": "add_to_cart" } ] } ] }"#;
        let host = NativeHost::default();
        let funnel = decode(&Value::parse(config).unwrap(), &host).config.funnels.remove(0);
        let home = Page::new("http://s.test/", "", "");
        let other = Page::new("http://s.test/x", "", "");
        let none = Value::obj();
        let ev = |client, name, ts, page| Stored {
            client_id: client,
            session_id: "s",
            name,
            ts,
            page,
            params: &none,
            segment: &none,
        };
        let events = [
            ev("a", "page_view", 1.0, &home),
            ev("a", "funnel_step", 1.0, &home),
            ev("a", "add_to_cart", 2.0, &other),
            ev("b", "page_view", 1.0, &other),
            ev("b", "add_to_cart", 2.0, &other),
            ev("c", "page_view", 1.0, &home),
        ];
        let changes = changes(&funnel, &events, &host);
        let at: Vec<usize> = changes.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [0, 2, 5]);
        let counts = count(&funnel, &changes);
        assert_eq!(counts.reached, [2, 1]);
        assert_eq!(counts.completed, 1);
    }
}
