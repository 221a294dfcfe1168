//! Anomalies: days on which an event's count falls far below its recent baseline.
//!
//! Method: for each event name (funnel events left out), count it per UTC day from the first
//! day with any event to the last, zeros included. A day is judged once it has at least
//! [`MIN_HISTORY`] earlier days; its baseline is the previous `baseline_days` days (14 by
//! default, fewer at the start): their median `m` and their spread
//! `s = max(1.4826 · MAD, √m, 1)`. 1.4826 · MAD estimates the standard deviation of normal
//! data without being pulled by the outliers we look for, and `√m` (the Poisson standard
//! deviation of a count around `m`) keeps a very regular series from flagging small dips.
//! A day is flagged when `z = (count − m) / s ≤ −threshold` (3 by default). Days in progress
//! (today, UTC) are not judged; only drops are flagged, not spikes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::stats;
use super::{cell, date, day_of, Request, Table};
use crate::funnels::Row;

/// The fewest earlier days a day needs before it is judged.
const MIN_HISTORY: usize = 7;

/// The anomalies report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomaliesReport {
    /// The method, in words.
    pub method: String,
    /// How many spreads below the baseline flag a day.
    pub threshold: f64,
    /// How many previous days make the baseline.
    pub baseline_days: usize,
    /// Every flagged day, most extreme first.
    pub flags: Vec<Day>,
    /// Every event's days, flagged or not, in date order.
    pub series: Vec<Series>,
}

/// One event's daily counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The event name.
    pub event: String,
    /// Its days.
    pub days: Vec<Day>,
}

/// One event on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// The event name.
    pub event: String,
    /// The UTC date.
    pub date: String,
    /// How many times it happened that day.
    pub count: u64,
    /// The median of the baseline days, when the day was judged.
    pub baseline: Option<f64>,
    /// The spread the baseline allows, when the day was judged.
    pub spread: Option<f64>,
    /// `(count − baseline) / spread`, when the day was judged.
    pub z: Option<f64>,
    /// Whether `z ≤ −threshold`.
    pub flagged: bool,
}

/// Computes the report over `rows`, which may start before `request.from` so that the first
/// days in range have a baseline; only days inside the range are listed. `today` is the
/// current UTC day.
pub(crate) fn report(rows: &[&Row], request: &Request, today: i64) -> AnomaliesReport {
    let mut counts: BTreeMap<&str, BTreeMap<i64, u64>> = BTreeMap::new();
    let mut days: BTreeSet<i64> = BTreeSet::new();
    for row in rows {
        if row.name.starts_with("funnel_") {
            continue;
        }
        let day = day_of(row.ts);
        days.insert(day);
        *counts.entry(row.name.as_str()).or_default().entry(day).or_insert(0) += 1;
    }

    let mut series = Vec::new();
    let mut flags = Vec::new();
    if let Some((&first, &last)) = days.first().zip(days.last()) {
        for (name, by_day) in &counts {
            let daily: Vec<u64> =
                (first..=last).map(|d| by_day.get(&d).copied().unwrap_or(0)).collect();
            let judged = judge(name, first, &daily, request, today);
            let shown: Vec<Day> = judged
                .into_iter()
                .filter(|day| {
                    request.from.is_none_or(|from| super::parse_date(&day.date) >= Some(from))
                })
                .collect();
            flags.extend(shown.iter().filter(|day| day.flagged).cloned());
            series.push(Series { event: name.to_string(), days: shown });
        }
    }
    flags.sort_by(|a, b| a.z.unwrap_or(0.0).total_cmp(&b.z.unwrap_or(0.0)));

    AnomaliesReport {
        method: format!(
            "daily count against the previous {} days (at least {MIN_HISTORY}): flagged when \
             (count - median) / max(1.4826 * MAD, sqrt(median), 1) <= -{}; today is not judged",
            request.baseline_days, request.threshold
        ),
        threshold: request.threshold,
        baseline_days: request.baseline_days,
        flags,
        series,
    }
}

/// Judges each day of one event's series, which starts on day `first`.
fn judge(name: &str, first: i64, daily: &[u64], request: &Request, today: i64) -> Vec<Day> {
    daily
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let day = first + i as i64;
            let mut out = Day {
                event: name.to_string(),
                date: date(day),
                count,
                baseline: None,
                spread: None,
                z: None,
                flagged: false,
            };
            if i < MIN_HISTORY || day >= today {
                return out;
            }
            let window: Vec<f64> = daily[i.saturating_sub(request.baseline_days)..i]
                .iter()
                .map(|&c| c as f64)
                .collect();
            let (Some(median), Some(mad)) =
                (stats::median(&mut window.clone()), stats::mad(&window))
            else {
                return out;
            };
            let spread = (1.4826 * mad).max(median.sqrt()).max(1.0);
            let z = (count as f64 - median) / spread;
            out.baseline = Some(median);
            out.spread = Some(spread);
            out.z = Some(z);
            out.flagged = z <= -request.threshold;
            out
        })
        .collect()
}

impl AnomaliesReport {
    /// Tables `flags` (the flagged days) and `daily` (every judged or listed day).
    pub(crate) fn tables(&self) -> Vec<Table> {
        let header = ["event", "date", "count", "baseline", "spread", "z", "flagged"];
        let mut flags = Table::new("flags", &header);
        let mut daily = Table::new("daily", &header);
        let line = |day: &Day| {
            vec![
                day.event.clone(),
                day.date.clone(),
                day.count.to_string(),
                day.baseline.map(cell).unwrap_or_default(),
                day.spread.map(cell).unwrap_or_default(),
                day.z.map(cell).unwrap_or_default(),
                day.flagged.to_string(),
            ]
        };
        for day in &self.flags {
            flags.push(line(day));
        }
        for day in self.series.iter().flat_map(|series| &series.days) {
            daily.push(line(day));
        }
        vec![flags, daily]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::tests::row;
    use serde_json::json;

    const DAY: i64 = 86_400_000;

    #[test]
    fn flags_a_day_far_below_its_baseline_by_hand() {
        // 10 days of 20, 22, 18, ... then a day with 2: baseline median 20, MAD 2, spread
        // max(2.965, 4.472, 1) = 4.472, z = (2 - 20) / 4.472 = -4.02.
        let p = json!({});
        let pattern = [20, 22, 18, 20, 22, 18, 20, 22, 18, 20, 2, 19];
        let mut rows = Vec::new();
        for (day, &n) in pattern.iter().enumerate() {
            for i in 0..n {
                let client = format!("c{day}-{i}");
                rows.push(row(
                    &client,
                    "s",
                    "click_cta",
                    day as i64 * DAY + 1_000,
                    "/",
                    p.clone(),
                    p.clone(),
                ));
            }
        }
        let rows: Vec<&Row> = rows.iter().collect();
        let report = report(&rows, &Request::parse("anomalies", &[]).unwrap(), 1_000);

        assert_eq!(report.flags.len(), 1, "{:?}", report.flags);
        let flag = &report.flags[0];
        assert_eq!((flag.date.as_str(), flag.count), ("1970-01-11", 2));
        assert_eq!(flag.baseline, Some(20.0));
        assert!((flag.z.unwrap() + 4.0249).abs() < 1e-3, "{flag:?}");
        let days = &report.series[0].days;
        assert_eq!(days.len(), 12);
        assert!(days[..MIN_HISTORY].iter().all(|d| d.z.is_none()), "too little history");
        assert!(!days[11].flagged, "19 is within the baseline");
    }

    #[test]
    fn today_and_days_before_from_are_not_judged() {
        let p = json!({});
        let mut rows = Vec::new();
        for day in 0..10_i64 {
            let n = if day == 9 { 0 } else { 30 };
            for i in 0..n {
                rows.push(row(
                    &format!("c{day}-{i}"),
                    "s",
                    "x",
                    day * DAY,
                    "/",
                    p.clone(),
                    p.clone(),
                ));
            }
            // Something else happens every day, so that day 9 exists with no `x`.
            rows.push(row(&format!("o{day}"), "s", "y", day * DAY, "/", p.clone(), p.clone()));
        }
        let rows: Vec<&Row> = rows.iter().collect();
        let request = Request::parse("anomalies", &[]).unwrap();
        assert_eq!(report(&rows, &request, 100).flags.len(), 1, "day 9 with no `x` is flagged");
        assert!(report(&rows, &request, 9).flags.is_empty(), "day 9 is today");

        let params = [("from".to_string(), "1970-01-09".to_string())];
        let later = report(&rows, &Request::parse("anomalies", &params).unwrap(), 100);
        assert_eq!(later.series[0].days.len(), 2);
        assert_eq!(later.flags.len(), 1, "the baseline still comes from before `from`");
    }
}
