//! Micro-conversion impact: for each micro-conversion, the rate of the macro-conversion among
//! the units (visitors or sessions) that did it before converting, against those that did not.
//!
//! Method: for each event name other than `page_view`, the funnel events and the macro event
//! itself, units are split by whether they had that event before their first macro-conversion
//! (or at all, if they never converted). The lift is the ratio of the two conversion rates,
//! with a 95 % interval by the log method of Katz ([`stats::ratio`]); each rate has a Wilson
//! interval. Items are ranked by the lower end of the lift's interval, so that a large lift
//! measured on a handful of visitors does not outrank a smaller but certain one. This is an
//! association, not a cause: visitors who watch a video may have been keener to begin with.

use std::collections::BTreeSet;

use serde::Serialize;

use super::stats::{self, Interval, Z95};
use super::{cell, is_micro, outcomes, Request, Table, Unit};
use crate::funnels::Row;

/// The impact report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImpactReport {
    /// The macro-conversion event.
    #[serde(rename = "macro")]
    pub macro_event: String,
    /// Visitors or sessions.
    pub unit: Unit,
    /// How many units there are.
    pub units: u64,
    /// How many of them converted.
    pub converted: u64,
    /// The method, in words.
    pub method: &'static str,
    /// One item per micro-conversion, ranked.
    pub items: Vec<ImpactItem>,
}

/// One micro-conversion's association with the macro-conversion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImpactItem {
    /// The micro-conversion event.
    pub event: String,
    /// Units that did it (before converting).
    pub did: u64,
    /// Of those, how many converted.
    pub did_converted: u64,
    /// Their conversion rate.
    pub did_rate: f64,
    /// Its Wilson 95 % interval.
    pub did_ci: Interval,
    /// Units that did not.
    pub did_not: u64,
    /// Of those, how many converted.
    pub did_not_converted: u64,
    /// Their conversion rate.
    pub did_not_rate: f64,
    /// Its Wilson 95 % interval.
    pub did_not_ci: Interval,
    /// `did_rate / did_not_rate`; none when either group is empty.
    pub lift: Option<f64>,
    /// The lift's 95 % interval.
    pub lift_ci: Option<Interval>,
    /// Whether the interval excludes 1 (no association).
    pub significant: bool,
}

const METHOD: &str = "units split by whether they had the event before their first \
    macro-conversion; lift = ratio of the two conversion rates with a 95% log (Katz) interval, \
    rates with Wilson 95% intervals; ranked by the lower end of the lift's interval";

/// Computes the report over `rows` (by visitor, then time).
pub(crate) fn report(rows: &[&Row], request: &Request) -> ImpactReport {
    let goal = request.macro_event.as_str();
    let outcomes = outcomes(rows, request.unit, goal);
    let units = outcomes.len() as u64;
    let converted = outcomes.iter().filter(|o| o.converted).count() as u64;

    let names: BTreeSet<&str> =
        rows.iter().map(|row| row.name.as_str()).filter(|name| is_micro(name, goal)).collect();
    let mut items: Vec<ImpactItem> = names
        .into_iter()
        .map(|name| {
            let did: Vec<bool> = outcomes
                .iter()
                .filter(|o| o.before.iter().any(|n| n == name))
                .map(|o| o.converted)
                .collect();
            let n1 = did.len() as u64;
            let k1 = did.iter().filter(|c| **c).count() as u64;
            item(name, k1, n1, converted - k1, units - n1)
        })
        .collect();
    items.sort_by(|a, b| {
        let low = |item: &ImpactItem| item.lift_ci.map_or(f64::NEG_INFINITY, |ci| ci.low);
        low(b).total_cmp(&low(a)).then_with(|| a.event.cmp(&b.event))
    });

    ImpactReport {
        macro_event: goal.to_string(),
        unit: request.unit,
        units,
        converted,
        method: METHOD,
        items,
    }
}

fn item(name: &str, k1: u64, n1: u64, k0: u64, n0: u64) -> ImpactItem {
    let lift = stats::ratio(k1, n1, k0, n0, Z95);
    ImpactItem {
        event: name.to_string(),
        did: n1,
        did_converted: k1,
        did_rate: stats::rate(k1, n1),
        did_ci: stats::wilson(k1, n1, Z95),
        did_not: n0,
        did_not_converted: k0,
        did_not_rate: stats::rate(k0, n0),
        did_not_ci: stats::wilson(k0, n0, Z95),
        lift: lift.map(|(ratio, _)| ratio),
        lift_ci: lift.map(|(_, ci)| ci),
        significant: lift.is_some_and(|(_, ci)| !ci.contains(1.0)),
    }
}

impl ImpactReport {
    /// One table, `impact`, one row per micro-conversion in rank order.
    pub(crate) fn tables(&self) -> Vec<Table> {
        let mut table = Table::new(
            "impact",
            &[
                "rank",
                "event",
                "did",
                "did_rate",
                "did_not",
                "did_not_rate",
                "lift",
                "lift_ci_low",
                "lift_ci_high",
                "significant",
            ],
        );
        for (rank, item) in self.items.iter().enumerate() {
            table.push(vec![
                (rank + 1).to_string(),
                item.event.clone(),
                item.did.to_string(),
                cell(item.did_rate),
                item.did_not.to_string(),
                cell(item.did_not_rate),
                item.lift.map(cell).unwrap_or_default(),
                item.lift_ci.map(|ci| cell(ci.low)).unwrap_or_default(),
                item.lift_ci.map(|ci| cell(ci.high)).unwrap_or_default(),
                item.significant.to_string(),
            ]);
        }
        vec![table]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::tests::row;
    use serde_json::json;

    #[test]
    fn splits_units_by_what_they_did_before_converting() {
        let p = json!({});
        let mut rows = Vec::new();
        // Four video watchers, three of whom buy; six others, one of whom buys; one more
        // watches the video only after buying, which does not count as having watched.
        for i in 0..4 {
            let client = format!("v{i}");
            rows.push(row(&client, "s", "video_start", 1, "/p", p.clone(), p.clone()));
            if i < 3 {
                rows.push(row(&client, "s", "purchase", 2, "/c", p.clone(), p.clone()));
            }
        }
        for i in 0..6 {
            let client = format!("n{i}");
            rows.push(row(&client, "s", "page_view", 1, "/", p.clone(), p.clone()));
            if i == 0 {
                rows.push(row(&client, "s", "purchase", 2, "/c", p.clone(), p.clone()));
                rows.push(row(&client, "s", "video_start", 3, "/p", p.clone(), p.clone()));
            }
        }
        let rows: Vec<&Row> = rows.iter().collect();
        let request = Request::parse("impact", &[]).unwrap();
        let report = report(&rows, &request);

        assert_eq!((report.units, report.converted), (10, 4));
        assert_eq!(report.items.len(), 1, "page_view and purchase are not micro-conversions");
        let video = &report.items[0];
        assert_eq!(video.event, "video_start");
        assert_eq!(
            (video.did_converted, video.did, video.did_not_converted, video.did_not),
            (3, 4, 1, 6)
        );
        // (3/4) / (1/6) = 4.5.
        assert!((video.lift.unwrap() - 4.5).abs() < 1e-12);
        assert!(video.lift_ci.unwrap().contains(4.5));
    }
}
