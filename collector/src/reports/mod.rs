//! Reports over the stored events: funnels, micro-conversion impact, segments, experiments,
//! drop-off and anomalies. Each is a pure function over stored rows (see the submodules), and
//! each answers as JSON, as CSV, and as a text table for the command line.
//!
//! 1. A [`Request`] is a report name plus query parameters, the same over HTTP
//!    (`GET /api/reports/funnel?by=device&from=2026-11-01`) and on the command line
//!    (`microfunnel-collector report funnel by=device from=2026-11-01`).
//! 2. [`compute`] reads every stored event, keeps those inside the date range and the segment
//!    filters, and runs the report on the blocking pool.
//! 3. The [`Report`] serializes as JSON and splits into [`Table`]s for CSV and the terminal.

mod anomalies;
mod dropoff;
mod experiments;
mod funnel;
pub(crate) mod host;
mod impact;
mod routes;
mod segments;
pub mod stats;
mod table;

use std::collections::HashMap;

use serde::Serialize;

use crate::funnels::Row;
use crate::{Error, Funnels, Store};

pub(crate) use routes::routes;
pub use table::Table;

/// The names of the reports, as in `/api/reports/<name>`.
pub const NAMES: [&str; 6] =
    ["funnel", "impact", "segments", "experiments", "dropoff", "anomalies"];

/// The segment keys that filters and breakdowns accept.
pub const SEGMENT_KEYS: [&str; 7] =
    ["device", "source", "medium", "campaign", "returning", "variant", "landing"];

/// Milliseconds in a day; days are UTC calendar days.
const DAY_MS: i64 = 86_400_000;

/// What the conversion reports count: visitors (`client_id`) or sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// One row per visitor, all their sessions together.
    Visitor,
    /// One row per session.
    Session,
}

/// How a report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The report as one JSON document.
    Json,
    /// One of the report's tables as CSV.
    Csv,
}

/// A report to compute: its name and every query parameter, already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// One of [`NAMES`].
    pub name: String,
    /// The first day counted (UTC, inclusive), as days since the epoch.
    pub from: Option<i64>,
    /// The last day counted (UTC, inclusive), as days since the epoch.
    pub to: Option<i64>,
    /// Segment filters, `device=mobile`: only events whose segment has that value.
    pub filters: Vec<(String, String)>,
    /// The segment key a funnel is broken down by (`by=device`).
    pub by: Option<String>,
    /// Only this funnel (by id); every funnel when unset.
    pub funnel: Option<String>,
    /// The macro-conversion event (`macro=purchase`, the default).
    pub macro_event: String,
    /// What conversions are counted over.
    pub unit: Unit,
    /// The segment key that names an experiment's variant (`dimension=variant`).
    pub dimension: String,
    /// The variant the others are compared with; `control`, else `a`, else the first by name.
    pub control: Option<String>,
    /// How many robust standard deviations below its baseline a day must fall to be flagged.
    pub threshold: f64,
    /// How many previous days make an anomaly baseline.
    pub baseline_days: usize,
    /// JSON or CSV.
    pub format: Format,
    /// Which table a CSV export holds; the report's first when unset.
    pub table: Option<String>,
}

impl Request {
    /// Checks a report name (which may end in `.csv` or `.json`) and its query parameters.
    ///
    /// An unknown parameter is an error rather than ignored, so that a typo (`devise=mobile`)
    /// does not silently answer the unfiltered report.
    pub fn parse(name: &str, params: &[(String, String)]) -> Result<Request, Error> {
        let (name, mut format) = match name.rsplit_once('.') {
            Some((name, "csv")) => (name, Format::Csv),
            Some((name, "json")) => (name, Format::Json),
            _ => (name, Format::Json),
        };
        if !NAMES.contains(&name) {
            let known = NAMES.join(", ");
            return Err(Error::invalid(
                "report",
                format!("unknown report `{name}`; known: {known}"),
            ));
        }

        let mut request = Request {
            name: name.to_string(),
            from: None,
            to: None,
            filters: Vec::new(),
            by: None,
            funnel: None,
            macro_event: "purchase".to_string(),
            unit: Unit::Visitor,
            dimension: "variant".to_string(),
            control: None,
            threshold: 3.0,
            baseline_days: 14,
            format: Format::Json,
            table: None,
        };
        for (key, value) in params {
            // An empty value (`?by=`) reads as "not set", as for `/api/events?name=`.
            if value.is_empty() {
                continue;
            }
            request.set(key, value, &mut format)?;
        }
        request.format = format;

        if let (Some(from), Some(to)) = (request.from, request.to) {
            if from > to {
                return Err(Error::invalid("query.from", "`from` is after `to`"));
            }
        }
        Ok(request)
    }

    fn set(&mut self, key: &str, value: &str, format: &mut Format) -> Result<(), Error> {
        let path = format!("query.{key}");
        match key {
            "from" => self.from = Some(parse_date(value).ok_or_else(|| bad_date(&path, value))?),
            "to" => self.to = Some(parse_date(value).ok_or_else(|| bad_date(&path, value))?),
            "by" => self.by = Some(segment_key(&path, value)?),
            "funnel" => self.funnel = Some(value.to_string()),
            "macro" => self.macro_event = value.to_string(),
            "dimension" => self.dimension = segment_key(&path, value)?,
            "control" => self.control = Some(value.to_string()),
            "table" => self.table = Some(value.to_string()),
            "unit" => {
                self.unit = match value {
                    "visitor" => Unit::Visitor,
                    "session" => Unit::Session,
                    _ => {
                        return Err(Error::invalid(
                            path,
                            format!("`{value}` is not `visitor` or `session`"),
                        ))
                    }
                }
            }
            "format" => {
                *format = match value {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    _ => {
                        return Err(Error::invalid(
                            path,
                            format!("`{value}` is not `json` or `csv`"),
                        ))
                    }
                }
            }
            "threshold" => {
                self.threshold =
                    value.parse::<f64>().ok().filter(|t| t.is_finite() && *t > 0.0).ok_or_else(
                        || Error::invalid(path, format!("`{value}` is not a positive number")),
                    )?;
            }
            "baseline_days" => {
                self.baseline_days = value
                    .parse::<usize>()
                    .ok()
                    .filter(|d| (3..=90).contains(d))
                    .ok_or_else(|| {
                    Error::invalid(path, format!("`{value}` is not a whole number from 3 to 90"))
                })?;
            }
            _ if SEGMENT_KEYS.contains(&key) => {
                self.filters.push((key.to_string(), value.to_string()))
            }
            _ => {
                let reason = format!(
                    "unknown parameter `{key}`; known: from, to, by, funnel, macro, unit, \
                     dimension, control, threshold, baseline_days, format, table, and the \
                     segment filters {}",
                    SEGMENT_KEYS.join(", ")
                );
                return Err(Error::invalid(path, reason));
            }
        }
        Ok(())
    }

    /// Whether `row` passes the segment filters.
    fn keeps_segment(&self, row: &Row) -> bool {
        self.filters.iter().all(|(key, value)| segment_value(row, key) == *value)
    }

    /// Whether `row` lies inside the date range.
    fn keeps_day(&self, row: &Row) -> bool {
        let day = day_of(row.ts);
        self.from.is_none_or(|from| day >= from) && self.to.is_none_or(|to| day <= to)
    }
}

/// A computed report, serialized as its JSON answer.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// Every selected funnel.
    Funnel(Vec<funnel::FunnelReport>),
    /// Micro-conversions ranked by their association with the macro-conversion.
    Impact(impact::ImpactReport),
    /// Engagement and conversion per segment value.
    Segments(segments::SegmentsReport),
    /// Each variant against the control.
    Experiments(experiments::ExperimentsReport),
    /// Where attempts end, per funnel.
    Dropoff(Vec<dropoff::DropoffReport>),
    /// Days far below their baseline.
    Anomalies(anomalies::AnomaliesReport),
}

impl Report {
    /// The report as tables, for CSV and the terminal; the first is the main one.
    pub fn tables(&self) -> Vec<Table> {
        match self {
            Report::Funnel(reports) => funnel::tables(reports),
            Report::Impact(report) => report.tables(),
            Report::Segments(report) => report.tables(),
            Report::Experiments(report) => report.tables(),
            Report::Dropoff(reports) => dropoff::tables(reports),
            Report::Anomalies(report) => report.tables(),
        }
    }

    /// The table named `name` (the first when `None`) as CSV.
    pub fn csv(&self, name: Option<&str>) -> Result<String, Error> {
        let tables = self.tables();
        let table = match name {
            None => tables.first(),
            Some(name) => tables.iter().find(|table| table.name == name),
        };
        let Some(table) = table else {
            let known: Vec<&str> = tables.iter().map(|table| table.name).collect();
            let reason =
                format!("unknown table `{}`; known: {}", name.unwrap_or(""), known.join(", "));
            return Err(Error::invalid("query.table", reason));
        };
        table.csv()
    }
}

/// Reads the stored events and computes `request`'s report from those it selects.
///
/// `funnels` is needed by the funnel and drop-off reports, which fail with [`Error::NoConfig`]
/// without it; the experiments report then compares the macro-conversion only.
pub async fn compute(
    store: &Store,
    funnels: Option<Funnels>,
    request: Request,
) -> Result<Report, Error> {
    let rows = store.rows().await?;
    let now = now_ms();
    tokio::task::spawn_blocking(move || run(&rows, funnels.as_ref(), &request, now)).await?
}

/// Computes a report from rows in replay order (by visitor, then time); `now` is the current
/// time in milliseconds, so that a day still in progress is not judged by the anomaly report.
pub(crate) fn run(
    rows: &[Row],
    funnels: Option<&Funnels>,
    request: &Request,
    now: i64,
) -> Result<Report, Error> {
    // TODO: events are selected by their own day, so a funnel attempt that crosses a range end
    // (a visit over midnight) is cut there rather than kept whole by its entry day.
    let selected: Vec<&Row> =
        rows.iter().filter(|r| request.keeps_segment(r) && request.keeps_day(r)).collect();
    let pick = || select_funnels(funnels, request.funnel.as_deref());
    Ok(match request.name.as_str() {
        "funnel" => Report::Funnel(
            pick()?.iter().map(|f| funnel::report(f, &selected, request.by.as_deref())).collect(),
        ),
        "impact" => Report::Impact(impact::report(&selected, request)),
        "segments" => Report::Segments(segments::report(&selected, request)),
        "experiments" => {
            // Without a config the experiment still compares the macro-conversion.
            let funnels = match funnels {
                None if request.funnel.is_none() => Vec::new(),
                _ => pick()?,
            };
            Report::Experiments(experiments::report(&selected, &funnels, request))
        }
        "dropoff" => {
            Report::Dropoff(pick()?.iter().map(|f| dropoff::report(f, &selected)).collect())
        }
        _ => {
            // The baseline of the first days in range lies before `from`, so the anomaly
            // report sees earlier days too and only judges those in range.
            let history: Vec<&Row> = rows
                .iter()
                .filter(|r| {
                    request.keeps_segment(r) && request.to.is_none_or(|to| day_of(r.ts) <= to)
                })
                .collect();
            Report::Anomalies(anomalies::report(&history, request, day_of(now)))
        }
    })
}

fn select_funnels(
    funnels: Option<&Funnels>,
    id: Option<&str>,
) -> Result<Vec<microfunnel::config::Funnel>, Error> {
    let funnels = funnels.ok_or(Error::NoConfig)?;
    let Some(id) = id else {
        return Ok(funnels.list().to_vec());
    };
    match funnels.list().iter().find(|f| f.id == id) {
        Some(funnel) => Ok(vec![funnel.clone()]),
        None => Err(Error::invalid("query.funnel", format!("no funnel `{id}` in the config"))),
    }
}

/// Rows grouped into units (visitors or sessions), each a list of row indexes in time order,
/// units in order of their first event.
fn units(rows: &[&Row], unit: Unit) -> Vec<Vec<usize>> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let session = match unit {
            Unit::Visitor => "",
            Unit::Session => row.session_id.as_str(),
        };
        let at = *index.entry((row.client_id.as_str(), session)).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[at].push(i);
    }
    out
}

/// What a unit did: whether and when it converted, and which other events it had before.
struct Outcome {
    /// The first row of the unit, whose segment describes it.
    first: usize,
    /// Whether the macro-conversion happened.
    converted: bool,
    /// Event names that happened before the first macro-conversion (or at all, without one).
    before: Vec<String>,
    /// How many events it had, funnel events left out.
    events: u64,
    /// Whether it had any micro-conversion (see [`is_micro`]), before converting or after.
    engaged: bool,
}

/// Reads each unit's outcome for the macro event `goal`.
fn outcomes(rows: &[&Row], unit: Unit, goal: &str) -> Vec<Outcome> {
    let mut out = Vec::new();
    for members in units(rows, unit) {
        let mut outcome = Outcome {
            first: members[0],
            converted: false,
            before: Vec::new(),
            events: 0,
            engaged: false,
        };
        for &i in &members {
            let name = rows[i].name.as_str();
            if name.starts_with("funnel_") {
                continue;
            }
            outcome.events += 1;
            outcome.engaged |= is_micro(name, goal);
            if name == goal {
                outcome.converted = true;
            }
            if !outcome.converted && !outcome.before.iter().any(|n| n == name) {
                outcome.before.push(name.to_string());
            }
        }
        out.push(outcome);
    }
    out
}

/// Whether an event is a micro-conversion: neither a page view, nor a funnel event, nor the
/// macro-conversion itself.
fn is_micro(name: &str, goal: &str) -> bool {
    name != goal && name != "page_view" && !name.starts_with("funnel_")
}

/// A row's segment value for `key` as text; `(none)` when it has none.
fn segment_value(row: &Row, key: &str) -> String {
    match row.segment.get(key) {
        Some(value) if !value.to_text().is_empty() => value.to_text(),
        _ => "(none)".to_string(),
    }
}

fn segment_key(path: &str, value: &str) -> Result<String, Error> {
    if SEGMENT_KEYS.contains(&value) {
        return Ok(value.to_string());
    }
    let reason = format!("`{value}` is not a segment key; known: {}", SEGMENT_KEYS.join(", "));
    Err(Error::invalid(path, reason))
}

fn bad_date(path: &str, value: &str) -> Error {
    Error::invalid(path, format!("`{value}` is not a date like `2026-11-30`"))
}

/// The UTC day of a timestamp in milliseconds, as days since 1970-01-01.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY_MS)
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, by the proleptic Gregorian calendar.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if text.len() != 10 || !(1..=12).contains(&month) || day < 1 || day > days_in(year, month) {
        return None;
    }
    // Count from 1 March so that the leap day falls at the end of the counted year.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The `YYYY-MM-DD` date of a day since 1970-01-01; the inverse of [`parse_date`].
pub fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let m = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * m + 2) / 5 + 1;
    let month = if m < 10 { m + 3 } else { m - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn days_in(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.unwrap_or_default().as_millis()).unwrap_or(i64::MAX)
}

/// A number for a table cell: at most four decimals.
fn cell(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        return "0".to_string();
    }
    text.to_string()
}

/// A p-value for a table cell: four decimals, or two significant digits below 0.0001, so that
/// a tiny p-value never reads as 0.
fn cell_p(value: f64) -> String {
    if value > 0.0 && value < 0.0001 {
        return format!("{value:.1e}");
    }
    cell(value)
}

/// An optional number for a table cell, empty when absent.
fn cell_opt(value: Option<f64>) -> String {
    value.map(cell).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::batch::Page as WirePage;

    /// A row for the report tests: visitor, session, name, time, page path, params, segment.
    pub(crate) fn row(
        client: &str,
        session: &str,
        name: &str,
        ts: i64,
        path: &str,
        params: serde_json::Value,
        segment: serde_json::Value,
    ) -> Row {
        let page = WirePage {
            url: format!("http://shop.test{path}"),
            path: path.to_string(),
            ..WirePage::default()
        };
        Row::new(client.into(), session.into(), name.into(), ts, &page, &params, &segment)
    }

    #[test]
    fn dates_round_trip_and_match_known_days() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_date("2026-12-03"), Some(20_790));
        assert_eq!(date(20_790), "2026-12-03");
        for day in [-1, 0, 59, 60, 11_016, 11_017, 20_000, 30_000] {
            assert_eq!(parse_date(&date(day)), Some(day), "{}", date(day));
        }
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2026-1-1"), None);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn request_rejects_typos_and_reads_formats() {
        let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let request = Request::parse("funnel.csv", &params(&[("device", "mobile")])).unwrap();
        assert_eq!(request.format, Format::Csv);
        assert_eq!(request.filters, [("device".to_string(), "mobile".to_string())]);

        let error = Request::parse("funnel", &params(&[("devise", "mobile")])).unwrap_err();
        assert!(
            error.to_string().starts_with("query.devise: unknown parameter `devise`"),
            "{error}"
        );
        let error = Request::parse("funnels", &[]).unwrap_err();
        assert!(error.to_string().contains("unknown report `funnels`"), "{error}");
        let error =
            Request::parse("funnel", &params(&[("from", "2026-12-02"), ("to", "2026-12-01")]));
        assert!(error.is_err());
        let error = Request::parse("funnel", &params(&[("by", "colour")])).unwrap_err();
        assert!(error.to_string().contains("`colour` is not a segment key"), "{error}");
    }

    #[test]
    fn units_group_visitors_or_sessions() {
        let none = serde_json::json!({});
        let rows = [
            row("a", "s1", "page_view", 1, "/", none.clone(), none.clone()),
            row("a", "s2", "page_view", 2, "/", none.clone(), none.clone()),
            row("b", "s3", "page_view", 3, "/", none.clone(), none.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        assert_eq!(units(&rows, Unit::Visitor), [vec![0, 1], vec![2]]);
        assert_eq!(units(&rows, Unit::Session), [vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn outcomes_count_only_what_came_before_the_conversion() {
        let none = serde_json::json!({});
        let rows = [
            row("a", "s", "video_start", 1, "/", none.clone(), none.clone()),
            row("a", "s", "purchase", 2, "/", none.clone(), none.clone()),
            row("a", "s", "file_download", 3, "/", none.clone(), none.clone()),
            row("a", "s", "funnel_step", 3, "/", none.clone(), none.clone()),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let outcome = &outcomes(&rows, Unit::Visitor, "purchase")[0];
        assert!(outcome.converted);
        assert_eq!(outcome.before, ["video_start"]);
        assert_eq!(outcome.events, 3);
    }

    #[test]
    fn cells_are_short() {
        assert_eq!(cell(0.5), "0.5");
        assert_eq!(cell(3.0), "3");
        assert_eq!(cell(1.0 / 3.0), "0.3333");
        assert_eq!(cell(-0.00001), "0");
        assert_eq!(cell_p(0.000_012_3), "1.2e-5");
        assert_eq!(cell_p(0.05), "0.05");
    }
}
