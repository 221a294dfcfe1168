//! The funnel report: the page's own funnel engine replayed over the selected events
//! ([`microfunnel::replay`]), read attempt by attempt.
//!
//! An attempt starts at the step change that reports one step reached (`reached == 1`) and
//! collects every later step change of the same visitor until the next attempt starts. Its
//! segment and its day are those of its entry event. From the attempts:
//!
//! - visitors per step: attempts that reached it; completion rate: completed / entered, with a
//!   Wilson 95 % interval;
//! - abandonment at step k: attempts that reached k but not k + 1, over those that reached k;
//! - median time between steps: the median of the engine's `since_prior_ms` for each step,
//!   and the median `elapsed_ms` of completed attempts;
//! - breakdown (`by=device`): the same per value of one segment key of the entry event;
//! - trend: attempts entered and completed per UTC day of entry.

use std::collections::BTreeMap;

use microfunnel::config::Funnel;
use microfunnel::funnel::Change;
use microfunnel::replay::{self, Stored};
use serde::Serialize;

use super::host::CachingHost;
use super::stats::{self, Interval, Z95};
use super::{cell, cell_opt, date, day_of, segment_value, Table};
use crate::funnels::Row;

/// One funnel attempt, as the replay reported it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attempt {
    /// The row of the entry event.
    pub entry: usize,
    /// Each step reached, in the order reached.
    pub steps: Vec<Reach>,
    /// Milliseconds from entry to completion, when it completed.
    pub completed_ms: Option<f64>,
    /// Why it was abandoned, when the engine saw it end.
    pub abandoned: Option<&'static str>,
}

/// A step reached by an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reach {
    /// The step, counting from 1.
    pub step: usize,
    /// The row of the event that reached it.
    pub row: usize,
    /// Milliseconds since the prior step (0 for the entry step).
    pub since_prior_ms: f64,
}

impl Attempt {
    /// The furthest step reached, counting from 1.
    pub fn furthest(&self) -> usize {
        self.steps.iter().map(|reach| reach.step).max().unwrap_or(0)
    }

    /// The row of the last step reached.
    pub fn last_row(&self) -> usize {
        self.steps.last().map_or(self.entry, |reach| reach.row)
    }
}

/// Replays `rows` (by visitor, then time) through `funnel` and gathers the attempts.
pub(crate) fn attempts(funnel: &Funnel, rows: &[&Row]) -> Vec<Attempt> {
    let events: Vec<Stored<'_>> = rows.iter().map(|row| row.stored()).collect();
    let host = CachingHost::default();
    let mut out: Vec<Attempt> = Vec::new();
    for (row, change) in replay::changes(funnel, &events, &host) {
        match change {
            Change::Step { step, reached, elapsed_ms, since_prior_ms, complete } => {
                if reached == 1 || out.is_empty() {
                    out.push(Attempt {
                        entry: row,
                        steps: Vec::new(),
                        completed_ms: None,
                        abandoned: None,
                    });
                }
                let Some(attempt) = out.last_mut() else { continue };
                attempt.steps.push(Reach { step, row, since_prior_ms });
                if complete {
                    attempt.completed_ms = Some(elapsed_ms);
                }
            }
            Change::Abandon { reason, .. } => {
                // Events come visitor by visitor, so the attempt that ends is the last one begun.
                if let Some(attempt) = out.last_mut() {
                    attempt.abandoned = Some(reason.name());
                }
            }
        }
    }
    out
}

/// A funnel computed over the selected events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelReport {
    /// The funnel's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Attempts started.
    pub entered: u64,
    /// Attempts that reached the last step.
    pub completed: u64,
    /// `completed / entered`.
    pub completion_rate: f64,
    /// Its Wilson 95 % interval.
    pub completion_ci: Interval,
    /// The median time from entry to completion, in milliseconds.
    pub median_time_to_complete_ms: Option<f64>,
    /// Each step.
    pub steps: Vec<StepReport>,
    /// Attempts the engine saw end early, by reason; attempts whose visitor never came back
    /// are not here (nothing reported their end), but they count as abandonment at their step.
    pub abandoned: BTreeMap<String, u64>,
    /// The same funnel per value of one segment key, when `by` was given.
    pub breakdown: Option<Breakdown>,
    /// Attempts per UTC day of entry.
    pub trend: Vec<DayReport>,
}

/// One step of a [`FunnelReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// The step, counting from 1.
    pub step: usize,
    /// Its display name.
    pub name: String,
    /// Attempts that reached it.
    pub reached: u64,
    /// `reached / entered`.
    pub share_of_entered: f64,
    /// Attempts that reached it but not the next step (0 for the last step).
    pub dropped: u64,
    /// `dropped / reached`.
    pub abandonment_rate: f64,
    /// The median time since the prior step, in milliseconds (none for the first step).
    pub median_since_prior_ms: Option<f64>,
}

/// A funnel broken down by one segment key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    /// The segment key.
    pub dimension: String,
    /// One group per value, most attempts first.
    pub groups: Vec<Group>,
}

/// The attempts whose entry event had one segment value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The segment value, `(none)` when absent.
    pub value: String,
    /// Attempts started.
    pub entered: u64,
    /// Attempts completed.
    pub completed: u64,
    /// `completed / entered`.
    pub completion_rate: f64,
    /// Its Wilson 95 % interval.
    pub completion_ci: Interval,
    /// Each step, as in the whole funnel.
    pub steps: Vec<StepReport>,
}

/// Attempts entered on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayReport {
    /// The UTC date, `YYYY-MM-DD`.
    pub date: String,
    /// Attempts started that day.
    pub entered: u64,
    /// Of those, how many completed.
    pub completed: u64,
    /// `completed / entered`.
    pub completion_rate: f64,
}

/// Computes `funnel` over `rows` (by visitor, then time), broken down by the segment key `by`.
pub(crate) fn report(funnel: &Funnel, rows: &[&Row], by: Option<&str>) -> FunnelReport {
    let attempts = attempts(funnel, rows);
    summary(funnel, rows, &attempts, by)
}

/// The report of already gathered attempts.
pub(crate) fn summary(
    funnel: &Funnel,
    rows: &[&Row],
    attempts: &[Attempt],
    by: Option<&str>,
) -> FunnelReport {
    let all: Vec<&Attempt> = attempts.iter().collect();
    let entered = all.len() as u64;
    let completed = completions(&all);
    let mut times: Vec<f64> = attempts.iter().filter_map(|a| a.completed_ms).collect();

    let mut abandoned = BTreeMap::new();
    for reason in attempts.iter().filter_map(|a| a.abandoned) {
        *abandoned.entry(reason.to_string()).or_insert(0) += 1;
    }

    let breakdown = by.map(|key| {
        let mut groups: BTreeMap<String, Vec<&Attempt>> = BTreeMap::new();
        for attempt in attempts {
            groups.entry(segment_value(rows[attempt.entry], key)).or_default().push(attempt);
        }
        let mut groups: Vec<Group> =
            groups.into_iter().map(|(value, members)| group(funnel, value, &members)).collect();
        groups.sort_by(|a, b| b.entered.cmp(&a.entered).then(a.value.cmp(&b.value)));
        Breakdown { dimension: key.to_string(), groups }
    });

    FunnelReport {
        id: funnel.id.clone(),
        name: funnel.name.clone(),
        entered,
        completed,
        completion_rate: stats::rate(completed, entered),
        completion_ci: stats::wilson(completed, entered, Z95),
        median_time_to_complete_ms: stats::median(&mut times),
        steps: steps(funnel, &all),
        abandoned,
        breakdown,
        trend: trend(rows, attempts),
    }
}

fn completions(attempts: &[&Attempt]) -> u64 {
    attempts.iter().filter(|a| a.completed_ms.is_some()).count() as u64
}

fn group(funnel: &Funnel, value: String, members: &[&Attempt]) -> Group {
    let entered = members.len() as u64;
    let completed = completions(members);
    Group {
        value,
        entered,
        completed,
        completion_rate: stats::rate(completed, entered),
        completion_ci: stats::wilson(completed, entered, Z95),
        steps: steps(funnel, members),
    }
}

fn steps(funnel: &Funnel, attempts: &[&Attempt]) -> Vec<StepReport> {
    let count = funnel.steps.len();
    let mut reached = vec![0_u64; count];
    let mut gaps: Vec<Vec<f64>> = vec![Vec::new(); count];
    for attempt in attempts {
        for reach in &attempt.steps {
            reached[reach.step - 1] += 1;
            if reach.step > 1 {
                gaps[reach.step - 1].push(reach.since_prior_ms);
            }
        }
    }
    let entered = attempts.len() as u64;

    let mut out = Vec::with_capacity(count);
    for (i, step) in funnel.steps.iter().enumerate() {
        // TODO: with `order: any` the next step need not come next, so "dropped" here still
        // compares neighbouring steps, which says little for such a funnel.
        let dropped = match reached.get(i + 1) {
            Some(&next) => reached[i].saturating_sub(next),
            None => 0,
        };
        out.push(StepReport {
            step: i + 1,
            name: step.name.clone(),
            reached: reached[i],
            share_of_entered: stats::rate(reached[i], entered),
            dropped,
            abandonment_rate: stats::rate(dropped, reached[i]),
            median_since_prior_ms: stats::median(&mut gaps[i]),
        });
    }
    out
}

fn trend(rows: &[&Row], attempts: &[Attempt]) -> Vec<DayReport> {
    let mut days: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for attempt in attempts {
        let day = days.entry(day_of(rows[attempt.entry].ts)).or_default();
        day.0 += 1;
        day.1 += u64::from(attempt.completed_ms.is_some());
    }
    let Some((&first, &last)) = days.keys().next().zip(days.keys().next_back()) else {
        return Vec::new();
    };
    // Every day in between is listed, with zeros, so that a chart shows a gap as a gap.
    (first..=last)
        .map(|day| {
            let (entered, completed) = days.get(&day).copied().unwrap_or_default();
            DayReport {
                date: date(day),
                entered,
                completed,
                completion_rate: stats::rate(completed, entered),
            }
        })
        .collect()
}

/// The funnel reports as tables: `steps` (every funnel, whole and per group), `trend`.
pub(crate) fn tables(reports: &[FunnelReport]) -> Vec<Table> {
    let mut steps = Table::new(
        "steps",
        &[
            "funnel",
            "segment",
            "step",
            "name",
            "reached",
            "share_of_entered",
            "dropped",
            "abandonment_rate",
            "median_since_prior_ms",
        ],
    );
    let mut summary = Table::new(
        "summary",
        &["funnel", "segment", "entered", "completed", "completion_rate", "ci_low", "ci_high"],
    );
    let mut trend =
        Table::new("trend", &["funnel", "date", "entered", "completed", "completion_rate"]);
    for report in reports {
        let whole = ("(all)".to_string(), report.entered, report.completed, report.completion_ci);
        let mut segments = vec![(whole, &report.steps)];
        if let Some(breakdown) = &report.breakdown {
            for group in &breakdown.groups {
                let label = format!("{}={}", breakdown.dimension, group.value);
                segments.push((
                    (label, group.entered, group.completed, group.completion_ci),
                    &group.steps,
                ));
            }
        }
        for ((label, entered, completed, ci), rows) in segments {
            summary.push(vec![
                report.id.clone(),
                label.clone(),
                entered.to_string(),
                completed.to_string(),
                cell(stats::rate(completed, entered)),
                cell(ci.low),
                cell(ci.high),
            ]);
            for step in rows {
                steps.push(vec![
                    report.id.clone(),
                    label.clone(),
                    step.step.to_string(),
                    step.name.clone(),
                    step.reached.to_string(),
                    cell(step.share_of_entered),
                    step.dropped.to_string(),
                    cell(step.abandonment_rate),
                    cell_opt(step.median_since_prior_ms),
                ]);
            }
        }
        for day in &report.trend {
            trend.push(vec![
                report.id.clone(),
                day.date.clone(),
                day.entered.to_string(),
                day.completed.to_string(),
                cell(day.completion_rate),
            ]);
        }
    }
    vec![steps, summary, trend]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::tests::row;
    use microfunnel::config::decode;
    use microfunnel::host::NativeHost;
    use microfunnel::json::Value;
    use serde_json::json;

    fn funnel() -> Funnel {
        let config = r#"{ "site": "s", "funnels": [ { "id": "f", "name": "F", "steps": [
            { "name": "Home", "event": "page_view",
              "when": [ { "var": "page.path", "op": "equals", "value": "/" } ] },
            { "name": "Item", "event": "view_item" },
            { "name": "Buy", "event": "purchase" } ] } ] }"#;
        let host = NativeHost::default();
        decode(&Value::parse(config).unwrap(), &host).config.funnels.remove(0)
    }

    const DAY: i64 = 86_400_000;

    #[test]
    fn counts_steps_medians_breakdown_and_trend_by_hand() {
        let m = json!({ "device": "mobile" });
        let d = json!({ "device": "desktop" });
        let p = json!({});
        // a (mobile): home, item after 10 s, buy 30 s later: complete in 40 s.
        // b (desktop): home, item after 20 s, leaves.
        // c (desktop), next day: home, item after 40 s, buy 10 s later: complete in 50 s.
        // e (mobile): home only.
        let rows = [
            row("a", "s", "page_view", 1_000, "/", p.clone(), m.clone()),
            row("a", "s", "view_item", 11_000, "/p", p.clone(), m.clone()),
            row("a", "s", "purchase", 41_000, "/c", p.clone(), m.clone()),
            row("b", "s", "page_view", 1_000, "/", p.clone(), d.clone()),
            row("b", "s", "view_item", 21_000, "/p", p.clone(), d.clone()),
            row("c", "s", "page_view", DAY + 1_000, "/", p.clone(), d.clone()),
            row("c", "s", "view_item", DAY + 41_000, "/p", p.clone(), d.clone()),
            row("c", "s", "purchase", DAY + 51_000, "/c", p.clone(), d.clone()),
            row("e", "s", "page_view", 5_000, "/", p.clone(), m.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let report = report(&funnel(), &rows, Some("device"));

        assert_eq!((report.entered, report.completed), (4, 2));
        assert_eq!(report.completion_rate, 0.5);
        let reached: Vec<u64> = report.steps.iter().map(|s| s.reached).collect();
        assert_eq!(reached, [4, 3, 2]);
        let dropped: Vec<u64> = report.steps.iter().map(|s| s.dropped).collect();
        assert_eq!(dropped, [1, 1, 0]);
        assert_eq!(report.steps[1].abandonment_rate, 1.0 / 3.0);
        // Item: 10, 20 and 40 s after home; buy: 30 and 10 s after item.
        assert_eq!(report.steps[0].median_since_prior_ms, None);
        assert_eq!(report.steps[1].median_since_prior_ms, Some(20_000.0));
        assert_eq!(report.steps[2].median_since_prior_ms, Some(20_000.0));
        assert_eq!(report.median_time_to_complete_ms, Some(45_000.0));

        let groups = &report.breakdown.as_ref().unwrap().groups;
        let summary: Vec<(&str, u64, u64)> =
            groups.iter().map(|g| (g.value.as_str(), g.entered, g.completed)).collect();
        assert_eq!(summary, [("desktop", 2, 1), ("mobile", 2, 1)]);
        assert_eq!(groups[1].steps.iter().map(|s| s.reached).collect::<Vec<_>>(), [2, 1, 1]);

        let trend: Vec<(&str, u64, u64)> =
            report.trend.iter().map(|d| (d.date.as_str(), d.entered, d.completed)).collect();
        assert_eq!(trend, [("1970-01-01", 3, 1), ("1970-01-02", 1, 1)]);
    }

    #[test]
    fn a_visitor_may_make_several_attempts() {
        let p = json!({});
        let rows = [
            row("a", "s", "page_view", 0, "/", p.clone(), p.clone()),
            row("a", "s", "view_item", 1_000, "/p", p.clone(), p.clone()),
            row("a", "s", "purchase", 2_000, "/c", p.clone(), p.clone()),
            row("a", "s", "page_view", 3_000, "/", p.clone(), p.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let attempts = attempts(&funnel(), &rows);
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0].furthest(), 3);
        assert_eq!(attempts[1].entry, 3);
        assert_eq!(attempts[1].furthest(), 1);
    }

    #[test]
    fn trend_lists_empty_days_between() {
        let p = json!({});
        let rows = [
            row("a", "s", "page_view", 0, "/", p.clone(), p.clone()),
            row("b", "s", "page_view", 2 * DAY, "/", p.clone(), p.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let report = report(&funnel(), &rows, None);
        let entered: Vec<u64> = report.trend.iter().map(|d| d.entered).collect();
        assert_eq!(entered, [1, 0, 1]);
        assert!(report.breakdown.is_none());
    }
}
