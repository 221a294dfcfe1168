//! Experiments: each A/B variant's funnel and conversion, tested against the control.
//!
//! A unit belongs to the variant in the segment of its first event (`segment.variant`, or the
//! key named by `dimension`); units without one are left out. The control is `control=`, else
//! a variant named `control`, else `a`, else the first by name. For each other variant, the
//! macro-conversion rate and each funnel's completion rate are compared with the control's by
//! a two-sided two-proportion z-test with the pooled standard error ([`stats::z_test`]),
//! significant at p < 0.05; the lift is the ratio of the rates with a Katz 95 % interval. The
//! sample size it rests on is the units per variant, next to the units per variant that 80 %
//! power at 5 % would need for the difference observed ([`stats::sample_size`]).
//!
//! Comparing several variants with one control at 5 % each raises the chance of a false
//! positive; with more than two variants read the p-values with that in mind.
// TODO: no correction for several variants (Bonferroni or Holm) and no sequential testing, so
// peeking at a running experiment every day inflates false positives.

use std::collections::BTreeMap;

use microfunnel::config::Funnel;
use serde::Serialize;

use super::funnel::{self, FunnelReport};
use super::stats::{self, Interval, ZTest, Z95};
use super::{cell, cell_opt, cell_p, outcomes, segment_value, Request, Table, Unit};
use crate::funnels::Row;

/// The experiments report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentsReport {
    /// The segment key that names the variant.
    pub dimension: String,
    /// The macro-conversion event.
    #[serde(rename = "macro")]
    pub macro_event: String,
    /// Visitors or sessions.
    pub unit: Unit,
    /// The variant the others are compared with.
    pub control: Option<String>,
    /// The method, in words.
    pub method: &'static str,
    /// One entry per variant, the control first.
    pub variants: Vec<Variant>,
}

/// One variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// Its name.
    pub variant: String,
    /// Units in it.
    pub units: u64,
    /// Units that had the macro-conversion.
    pub converted: u64,
    /// `converted / units`.
    pub conversion_rate: f64,
    /// Its Wilson 95 % interval.
    pub conversion_ci: Interval,
    /// The macro-conversion against the control (none for the control itself).
    pub versus_control: Option<Comparison>,
    /// Each funnel over this variant's events, with its completion against the control.
    pub funnels: Vec<VariantFunnel>,
}

/// A funnel within one variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantFunnel {
    /// The funnel over this variant's events.
    pub funnel: FunnelReport,
    /// Its completion rate against the control's (none for the control itself).
    pub versus_control: Option<Comparison>,
}

/// A rate compared with the control's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// `rate / control rate`.
    pub lift: Option<f64>,
    /// Its Katz 95 % interval.
    pub lift_ci: Option<Interval>,
    /// The z-test.
    pub test: Option<ZTest>,
    /// Whether p < 0.05.
    pub significant: bool,
    /// Units per variant the observed difference needs for 80 % power at 5 %.
    pub needed_per_variant: Option<u64>,
}

const METHOD: &str = "two-sided two-proportion z-test with pooled standard error against the \
    control, significant at p < 0.05; lift = ratio of rates with a 95% log (Katz) interval; \
    needed_per_variant = units per variant for 80% power at 5% for the observed difference";

/// Computes the report over `rows` (by visitor, then time) for `funnels`.
pub(crate) fn report(rows: &[&Row], funnels: &[Funnel], request: &Request) -> ExperimentsReport {
    let key = request.dimension.as_str();
    let goal = request.macro_event.as_str();

    // Each unit's variant and outcome, then each variant's rows in replay order.
    let mut tallies: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut variant_of_client: BTreeMap<&str, String> = BTreeMap::new();
    for outcome in outcomes(rows, request.unit, goal) {
        let first = rows[outcome.first];
        let variant = segment_value(first, key);
        if variant == "(none)" {
            continue;
        }
        let tally = tallies.entry(variant.clone()).or_default();
        tally.0 += 1;
        tally.1 += u64::from(outcome.converted);
        variant_of_client.entry(first.client_id.as_str()).or_insert(variant);
    }

    let control = pick_control(request.control.as_deref(), &tallies);
    let mut names: Vec<&String> = tallies.keys().collect();
    names.sort_by_key(|name| (Some(*name) != control.as_ref(), *name));

    let funnel_reports = |variant: &str| -> Vec<FunnelReport> {
        // A funnel attempt is the visitor's, so a variant's funnel replays its visitors' events.
        let members: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|row| {
                variant_of_client.get(row.client_id.as_str()).is_some_and(|v| v == variant)
            })
            .collect();
        funnels.iter().map(|f| funnel::report(f, &members, None)).collect()
    };
    let control_tally = control.as_ref().and_then(|c| tallies.get(c)).copied();
    let control_funnels = control.as_deref().map(funnel_reports);

    let variants = names
        .into_iter()
        .map(|name| {
            let (units, converted) = tallies[name];
            let is_control = Some(name) == control.as_ref();
            let funnels = if is_control {
                control_funnels.clone().unwrap_or_default()
            } else {
                funnel_reports(name)
            };
            let funnels = funnels
                .into_iter()
                .enumerate()
                .map(|(i, funnel)| {
                    let base = control_funnels.as_ref().and_then(|reports| reports.get(i));
                    let versus_control = base.filter(|_| !is_control).map(|base| {
                        compare(funnel.completed, funnel.entered, base.completed, base.entered)
                    });
                    VariantFunnel { funnel, versus_control }
                })
                .collect();
            Variant {
                variant: name.clone(),
                units,
                converted,
                conversion_rate: stats::rate(converted, units),
                conversion_ci: stats::wilson(converted, units, Z95),
                versus_control: control_tally
                    .filter(|_| !is_control)
                    .map(|(n0, k0)| compare(converted, units, k0, n0)),
                funnels,
            }
        })
        .collect();

    ExperimentsReport {
        dimension: key.to_string(),
        macro_event: goal.to_string(),
        unit: request.unit,
        control,
        method: METHOD,
        variants,
    }
}

fn pick_control(asked: Option<&str>, tallies: &BTreeMap<String, (u64, u64)>) -> Option<String> {
    let present = |name: &str| tallies.contains_key(name).then(|| name.to_string());
    if let Some(asked) = asked {
        return present(asked);
    }
    present("control").or_else(|| present("a")).or_else(|| tallies.keys().next().cloned())
}

fn compare(k1: u64, n1: u64, k0: u64, n0: u64) -> Comparison {
    let lift = stats::ratio(k1, n1, k0, n0, Z95);
    let test = stats::z_test(k1, n1, k0, n0);
    Comparison {
        lift: lift.map(|(ratio, _)| ratio),
        lift_ci: lift.map(|(_, ci)| ci),
        test,
        significant: test.is_some_and(|t| t.p_value < 0.05),
        needed_per_variant: stats::sample_size(stats::rate(k1, n1), stats::rate(k0, n0)),
    }
}

impl ExperimentsReport {
    /// Tables `variants` (the macro-conversion) and `funnels` (each variant's funnels).
    pub(crate) fn tables(&self) -> Vec<Table> {
        let header = [
            "variant",
            "units",
            "converted",
            "conversion_rate",
            "lift",
            "lift_ci_low",
            "lift_ci_high",
            "p_value",
            "significant",
            "needed_per_variant",
        ];
        let mut variants = Table::new("variants", &header);
        let mut funnels = Table::new(
            "funnels",
            &[
                "variant",
                "funnel",
                "step",
                "name",
                "reached",
                "completion_rate",
                "lift",
                "p_value",
                "significant",
            ],
        );
        for variant in &self.variants {
            let mut row = vec![
                variant.variant.clone(),
                variant.units.to_string(),
                variant.converted.to_string(),
                cell(variant.conversion_rate),
            ];
            row.extend(comparison_cells(variant.versus_control.as_ref()));
            variants.push(row);
            for entry in &variant.funnels {
                let versus = entry.versus_control.as_ref();
                for step in &entry.funnel.steps {
                    funnels.push(vec![
                        variant.variant.clone(),
                        entry.funnel.id.clone(),
                        step.step.to_string(),
                        step.name.clone(),
                        step.reached.to_string(),
                        cell(entry.funnel.completion_rate),
                        cell_opt(versus.and_then(|c| c.lift)),
                        versus.and_then(|c| c.test).map(|t| cell_p(t.p_value)).unwrap_or_default(),
                        versus.map(|c| c.significant.to_string()).unwrap_or_default(),
                    ]);
                }
            }
        }
        vec![variants, funnels]
    }
}

fn comparison_cells(comparison: Option<&Comparison>) -> Vec<String> {
    let Some(c) = comparison else {
        return vec![String::new(); 6];
    };
    vec![
        cell_opt(c.lift),
        cell_opt(c.lift_ci.map(|ci| ci.low)),
        cell_opt(c.lift_ci.map(|ci| ci.high)),
        c.test.map(|t| cell_p(t.p_value)).unwrap_or_default(),
        c.significant.to_string(),
        c.needed_per_variant.map(|n| n.to_string()).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::tests::row;
    use serde_json::json;

    #[test]
    fn compares_each_variant_with_the_control() {
        let p = json!({});
        let mut rows = Vec::new();
        // Variant a: 100 visitors, 10 buy; b: 100 visitors, 20 buy; 5 visitors without one.
        for (variant, buyers) in [("a", 10), ("b", 20)] {
            for i in 0..100 {
                let client = format!("{variant}{i}");
                let segment = json!({ "variant": variant });
                rows.push(row(&client, "s", "page_view", 1, "/", p.clone(), segment.clone()));
                if i < buyers {
                    rows.push(row(&client, "s", "purchase", 2, "/c", p.clone(), segment));
                }
            }
        }
        for i in 0..5 {
            rows.push(row(&format!("x{i}"), "s", "purchase", 1, "/", p.clone(), p.clone()));
        }
        let rows: Vec<&Row> = rows.iter().collect();
        let report = report(&rows, &[], &Request::parse("experiments", &[]).unwrap());

        assert_eq!(report.control.as_deref(), Some("a"));
        let names: Vec<&str> = report.variants.iter().map(|v| v.variant.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(report.variants[0].versus_control.is_none());
        let b = report.variants[1].versus_control.as_ref().unwrap();
        assert!((b.lift.unwrap() - 2.0).abs() < 1e-12);
        // Pooled 0.15: z = 0.1 / sqrt(0.15 * 0.85 * 0.02) = 1.9803, p = 0.0477.
        let test = b.test.unwrap();
        assert!((test.z - 1.9803).abs() < 1e-3, "{test:?}");
        assert!(b.significant);
        assert_eq!(report.variants[1].units, 100);
    }

    #[test]
    fn the_asked_control_wins() {
        let tallies: BTreeMap<String, (u64, u64)> =
            [("a".to_string(), (1, 0)), ("control".to_string(), (1, 0))].into_iter().collect();
        assert_eq!(pick_control(None, &tallies).as_deref(), Some("control"));
        assert_eq!(pick_control(Some("a"), &tallies).as_deref(), Some("a"));
        assert_eq!(pick_control(Some("zzz"), &tallies), None);
    }
}
