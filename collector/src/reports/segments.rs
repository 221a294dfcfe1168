//! Segments: engagement and conversion per value of each segment key (device, source, medium,
//! campaign, new or returning).
//!
//! A unit (visitor or session) belongs to the segment of its first event. It is *engaged* when
//! it had at least one micro-conversion (any event other than `page_view`, the funnel events
//! and the macro event), and *converted* when it had the macro event. Rates carry Wilson 95 %
//! intervals.

use std::collections::BTreeMap;

use serde::Serialize;

use super::stats::{self, Interval, Z95};
use super::{cell, outcomes, segment_value, Request, Table, Unit};
use crate::funnels::Row;

/// The segment keys this report breaks down by.
const DIMENSIONS: [&str; 5] = ["device", "source", "medium", "campaign", "returning"];

/// The segments report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentsReport {
    /// The macro-conversion event.
    #[serde(rename = "macro")]
    pub macro_event: String,
    /// Visitors or sessions.
    pub unit: Unit,
    /// How many units there are.
    pub units: u64,
    /// One entry per segment key.
    pub dimensions: Vec<Dimension>,
}

/// The values of one segment key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    /// The segment key (`device`).
    pub dimension: String,
    /// Its values, most units first.
    pub values: Vec<SegmentValue>,
}

/// Engagement and conversion of the units with one segment value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentValue {
    /// The value (`mobile`), `(none)` when absent.
    pub value: String,
    /// Units with it.
    pub units: u64,
    /// Their share of all units.
    pub share: f64,
    /// Events per unit, funnel events left out.
    pub events_per_unit: f64,
    /// Units with at least one micro-conversion.
    pub engaged: u64,
    /// `engaged / units`.
    pub engaged_rate: f64,
    /// Its Wilson 95 % interval.
    pub engaged_ci: Interval,
    /// Units with the macro-conversion.
    pub converted: u64,
    /// `converted / units`.
    pub conversion_rate: f64,
    /// Its Wilson 95 % interval.
    pub conversion_ci: Interval,
}

#[derive(Default)]
struct Tally {
    units: u64,
    events: u64,
    engaged: u64,
    converted: u64,
}

/// Computes the report over `rows` (by visitor, then time).
pub(crate) fn report(rows: &[&Row], request: &Request) -> SegmentsReport {
    let goal = request.macro_event.as_str();
    let outcomes = outcomes(rows, request.unit, goal);
    let units = outcomes.len() as u64;

    let dimensions = DIMENSIONS
        .iter()
        .map(|&key| {
            let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
            for outcome in &outcomes {
                let tally = tallies.entry(segment_value(rows[outcome.first], key)).or_default();
                tally.units += 1;
                tally.events += outcome.events;
                tally.engaged += u64::from(outcome.engaged);
                tally.converted += u64::from(outcome.converted);
            }
            let mut values: Vec<SegmentValue> =
                tallies.into_iter().map(|(value, tally)| value_of(value, &tally, units)).collect();
            values.sort_by(|a, b| b.units.cmp(&a.units).then(a.value.cmp(&b.value)));
            Dimension { dimension: key.to_string(), values }
        })
        .collect();

    SegmentsReport { macro_event: goal.to_string(), unit: request.unit, units, dimensions }
}

fn value_of(value: String, tally: &Tally, all: u64) -> SegmentValue {
    SegmentValue {
        value,
        units: tally.units,
        share: stats::rate(tally.units, all),
        events_per_unit: tally.events as f64 / tally.units.max(1) as f64,
        engaged: tally.engaged,
        engaged_rate: stats::rate(tally.engaged, tally.units),
        engaged_ci: stats::wilson(tally.engaged, tally.units, Z95),
        converted: tally.converted,
        conversion_rate: stats::rate(tally.converted, tally.units),
        conversion_ci: stats::wilson(tally.converted, tally.units, Z95),
    }
}

impl SegmentsReport {
    /// One table, `segments`, one row per segment key and value.
    pub(crate) fn tables(&self) -> Vec<Table> {
        let mut table = Table::new(
            "segments",
            &[
                "dimension",
                "value",
                "units",
                "share",
                "events_per_unit",
                "engaged_rate",
                "conversion_rate",
                "conversion_ci_low",
                "conversion_ci_high",
            ],
        );
        for dimension in &self.dimensions {
            for value in &dimension.values {
                table.push(vec![
                    dimension.dimension.clone(),
                    value.value.clone(),
                    value.units.to_string(),
                    cell(value.share),
                    cell(value.events_per_unit),
                    cell(value.engaged_rate),
                    cell(value.conversion_rate),
                    cell(value.conversion_ci.low),
                    cell(value.conversion_ci.high),
                ]);
            }
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
    fn counts_engagement_and_conversion_per_value() {
        let m = json!({ "device": "mobile", "returning": true });
        let d = json!({ "device": "desktop", "returning": false });
        let p = json!({});
        let rows = [
            row("a", "s", "page_view", 1, "/", p.clone(), m.clone()),
            row("a", "s", "scroll_depth", 2, "/", p.clone(), m.clone()),
            row("b", "s", "page_view", 1, "/", p.clone(), m.clone()),
            row("c", "s", "page_view", 1, "/", p.clone(), d.clone()),
            row("c", "s", "add_to_cart", 2, "/", p.clone(), d.clone()),
            row("c", "s", "purchase", 3, "/", p.clone(), d.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let report = report(&rows, &Request::parse("segments", &[]).unwrap());

        let device = &report.dimensions[0];
        assert_eq!(device.dimension, "device");
        let mobile = &device.values[0];
        assert_eq!(
            (mobile.value.as_str(), mobile.units, mobile.engaged, mobile.converted),
            ("mobile", 2, 1, 0)
        );
        assert_eq!(mobile.events_per_unit, 1.5);
        let desktop = &device.values[1];
        assert_eq!((desktop.units, desktop.engaged, desktop.converted), (1, 1, 1));
        let returning = &report.dimensions[4].values;
        assert_eq!(returning[0].value, "true");
        let source = &report.dimensions[1].values;
        assert_eq!((source[0].value.as_str(), source[0].units), ("(none)", 3));
    }
}
