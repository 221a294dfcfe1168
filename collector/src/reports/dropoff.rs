//! Drop-off: the funnel steps where most attempts end, and what those visitors did next.
//!
//! An attempt ends at the furthest step it reached when it did not complete (whether or not
//! the engine saw it end: a visitor who never comes back sends no `funnel_abandon`). Its *next
//! action* is the first event after its last step in the same session that is neither a
//! funnel event nor one the funnel ignores between steps (`scroll_depth`, `video_progress` by
//! default, which happen on their own); a page view is named with its path. With no such event
//! the next action is `(exit)`. Steps are ranked by how many attempts ended there; each share
//! has a Wilson 95 % interval.

use std::collections::BTreeMap;

use microfunnel::config::Funnel;
use serde::Serialize;

use super::funnel::attempts;
use super::stats::{self, Interval, Z95};
use super::{cell, Table};
use crate::funnels::Row;

/// How many next actions are listed per step.
const TOP_ACTIONS: usize = 5;

/// Where one funnel's attempts end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropoffReport {
    /// The funnel's id.
    pub funnel: String,
    /// Its display name.
    pub name: String,
    /// Attempts started.
    pub entered: u64,
    /// Attempts that ended without completing.
    pub ended: u64,
    /// One entry per step but the last, most attempts ended first.
    pub steps: Vec<DropStep>,
}

/// The attempts that ended at one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropStep {
    /// The step, counting from 1.
    pub step: usize,
    /// Its display name.
    pub name: String,
    /// Attempts that reached it.
    pub reached: u64,
    /// Attempts whose furthest step it was, without completing.
    pub ended: u64,
    /// `ended / reached`.
    pub ended_rate: f64,
    /// Its Wilson 95 % interval.
    pub ended_ci: Interval,
    /// `ended` over every ended attempt of the funnel.
    pub share_of_ended: f64,
    /// The most frequent next actions.
    pub next: Vec<NextAction>,
}

/// A next action after a step where an attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextAction {
    /// The event name (a page view with its path), or `(exit)`.
    pub action: String,
    /// How many ended attempts took it.
    pub count: u64,
    /// `count` over the attempts ended at this step.
    pub share: f64,
    /// Its Wilson 95 % interval.
    pub share_ci: Interval,
}

/// Computes the report of `funnel` over `rows` (by visitor, then time).
pub(crate) fn report(funnel: &Funnel, rows: &[&Row]) -> DropoffReport {
    let attempts = attempts(funnel, rows);
    let count = funnel.steps.len();
    let mut reached = vec![0_u64; count];
    let mut ended: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); count];
    for attempt in &attempts {
        for reach in &attempt.steps {
            reached[reach.step - 1] += 1;
        }
        if attempt.completed_ms.is_some() || attempt.steps.is_empty() {
            continue;
        }
        let action = next_action(funnel, rows, attempt.last_row());
        *ended[attempt.furthest() - 1].entry(action).or_insert(0) += 1;
    }
    let total_ended: u64 = ended.iter().flat_map(|actions| actions.values()).sum();

    let mut steps: Vec<DropStep> = funnel
        .steps
        .iter()
        .enumerate()
        .take(count.saturating_sub(1))
        .map(|(i, step)| {
            let actions = &ended[i];
            let here: u64 = actions.values().sum();
            let mut next: Vec<NextAction> = actions
                .iter()
                .map(|(action, &n)| NextAction {
                    action: action.clone(),
                    count: n,
                    share: stats::rate(n, here),
                    share_ci: stats::wilson(n, here, Z95),
                })
                .collect();
            next.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.action.cmp(&b.action)));
            next.truncate(TOP_ACTIONS);
            DropStep {
                step: i + 1,
                name: step.name.clone(),
                reached: reached[i],
                ended: here,
                ended_rate: stats::rate(here, reached[i]),
                ended_ci: stats::wilson(here, reached[i], Z95),
                share_of_ended: stats::rate(here, total_ended),
                next,
            }
        })
        .collect();
    steps.sort_by(|a, b| b.ended.cmp(&a.ended).then(a.step.cmp(&b.step)));

    DropoffReport {
        funnel: funnel.id.clone(),
        name: funnel.name.clone(),
        entered: attempts.len() as u64,
        ended: total_ended,
        steps,
    }
}

/// The first action after row `last` in the same visitor's session, or `(exit)`.
fn next_action(funnel: &Funnel, rows: &[&Row], last: usize) -> String {
    let at = rows[last];
    for row in &rows[last + 1..] {
        if row.client_id != at.client_id {
            break;
        }
        if row.session_id != at.session_id
            || row.name.starts_with("funnel_")
            || funnel.ignore_between.contains(&row.name)
        {
            continue;
        }
        if row.name == "page_view" {
            return format!("page_view {}", row.page.path);
        }
        return row.name.clone();
    }
    "(exit)".to_string()
}

/// The drop-off reports as tables: `steps` and `next` (the next actions).
pub(crate) fn tables(reports: &[DropoffReport]) -> Vec<Table> {
    let mut steps = Table::new(
        "steps",
        &[
            "funnel",
            "step",
            "name",
            "reached",
            "ended",
            "ended_rate",
            "share_of_ended",
            "top_next_action",
        ],
    );
    let mut next = Table::new("next", &["funnel", "step", "name", "action", "count", "share"]);
    for report in reports {
        for step in &report.steps {
            steps.push(vec![
                report.funnel.clone(),
                step.step.to_string(),
                step.name.clone(),
                step.reached.to_string(),
                step.ended.to_string(),
                cell(step.ended_rate),
                cell(step.share_of_ended),
                step.next.first().map(|n| n.action.clone()).unwrap_or_default(),
            ]);
            for action in &step.next {
                next.push(vec![
                    report.funnel.clone(),
                    step.step.to_string(),
                    step.name.clone(),
                    action.action.clone(),
                    action.count.to_string(),
                    cell(action.share),
                ]);
            }
        }
    }
    vec![steps, next]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::tests::row;
    use microfunnel::config::decode;
    use microfunnel::host::NativeHost;
    use microfunnel::json::Value;
    use serde_json::json;

    #[test]
    fn ranks_steps_by_attempts_ended_and_names_the_next_action() {
        let config = r#"{ "site": "s", "funnels": [ { "id": "f", "steps": [
            { "name": "Home", "event": "page_view",
              "when": [ { "var": "page.path", "op": "equals", "value": "/" } ] },
            { "name": "Cart", "event": "add_to_cart" },
            { "name": "Buy", "event": "purchase" } ] } ] }"#;
        let funnel =
            decode(&Value::parse(config).unwrap(), &NativeHost::default()).config.funnels.remove(0);
        let p = json!({});
        let rows = [
            // a: home, cart, scrolls (ignored), then the pricing page.
            row("a", "s", "page_view", 1, "/", p.clone(), p.clone()),
            row("a", "s", "add_to_cart", 2, "/p", p.clone(), p.clone()),
            row("a", "s", "scroll_depth", 3, "/p", p.clone(), p.clone()),
            row("a", "s", "page_view", 4, "/pricing", p.clone(), p.clone()),
            // b: home, cart, leaves.
            row("b", "s", "page_view", 1, "/", p.clone(), p.clone()),
            row("b", "s", "add_to_cart", 2, "/p", p.clone(), p.clone()),
            // c: home, cart, then the pricing page.
            row("c", "s", "page_view", 1, "/", p.clone(), p.clone()),
            row("c", "s", "add_to_cart", 2, "/p", p.clone(), p.clone()),
            row("c", "s", "page_view", 3, "/pricing", p.clone(), p.clone()),
            // d: home, then a download in another session (not this visit's next action).
            row("d", "s", "page_view", 1, "/", p.clone(), p.clone()),
            row("d", "t", "file_download", 2, "/", p.clone(), p.clone()),
            // e: completes.
            row("e", "s", "page_view", 1, "/", p.clone(), p.clone()),
            row("e", "s", "add_to_cart", 2, "/p", p.clone(), p.clone()),
            row("e", "s", "purchase", 3, "/c", p.clone(), p.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let report = report(&funnel, &rows);

        assert_eq!((report.entered, report.ended), (5, 4));
        let order: Vec<(usize, u64)> = report.steps.iter().map(|s| (s.step, s.ended)).collect();
        assert_eq!(order, [(2, 3), (1, 1)]);
        let cart = &report.steps[0];
        assert_eq!(cart.reached, 4);
        let next: Vec<(&str, u64)> =
            cart.next.iter().map(|n| (n.action.as_str(), n.count)).collect();
        assert_eq!(next, [("page_view /pricing", 2), ("(exit)", 1)]);
        assert_eq!(report.steps[1].next[0].action, "(exit)");
    }
}
