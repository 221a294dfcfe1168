//! The reports over real HTTP on a real SQLite file (or PostgreSQL database, see `backend`)
//! filled by the traffic simulator: every report must recover the behaviour the simulator
//! planted, within the confidence it states.
//!
//! One simulated shop (10,000 visitors over 28 days, seed 1) is shared by every test of this
//! file; the collector serves it with the demo's own `www/config.json`.

mod backend;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use microfunnel_collector::simulate::{truth, Simulation};
use microfunnel_collector::{bind, reports, Options, Store};
use serde_json::Value;
use tokio::runtime::Runtime;

/// 95 %: the confidence every interval below is stated at.
const Z95: f64 = 1.959_963_984_540_054;

/// The simulated shop and the collector serving it, alive for the whole test binary.
struct Shop {
    addr: SocketAddr,
    simulation: Simulation,
    db: PathBuf,
    _runtime: Runtime,
    _dir: tempfile::TempDir,
}

fn shop() -> &'static Shop {
    static SHOP: OnceLock<Shop> = OnceLock::new();
    SHOP.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = backend::db(&dir);
        let last_day = reports::parse_date("2026-11-30").unwrap();
        let simulation = Simulation { visitors: 10_000, seed: 1, days: 28, last_day };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let store = Store::open(&db).unwrap();
        let summary = runtime.block_on(simulation.run(&store)).unwrap();
        assert_eq!(summary.duplicates, 0);
        drop(store);

        let options = Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            db: db.clone(),
            static_dir: None,
            config: Some(repo().join("www/config.json")),
            ..Options::default()
        };
        let server = runtime.block_on(bind(&options)).unwrap();
        let addr = server.local_addr();
        runtime.spawn(server.serve());
        Shop { addr, simulation, db, _runtime: runtime, _dir: dir }
    })
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A GET answered with its status, content type and body.
fn get(path: &str) -> (u16, String, String) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(format!("http://{}{path}", shop().addr)).call().unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), kind, response.body_mut().read_to_string().unwrap())
}

fn json(path: &str) -> Value {
    let (status, _, body) = get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn f(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("`{value}` is not a number"))
}

fn u(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("`{value}` is not a count"))
}

fn ci_contains(ci: &Value, truth: f64) -> bool {
    f(&ci["low"]) <= truth && truth <= f(&ci["high"])
}

/// Katz's 95 % interval of a ratio of two proportions, computed here independently of the
/// collector's own code.
fn ratio_ci(k1: u64, n1: u64, k0: u64, n0: u64) -> (f64, f64, f64) {
    let (a, b, c, d) = (k1 as f64, n1 as f64, k0 as f64, n0 as f64);
    let ratio = (a / b) / (c / d);
    let se = (1.0 / a - 1.0 / b + 1.0 / c - 1.0 / d).sqrt();
    (ratio, (ratio.ln() - Z95 * se).exp(), (ratio.ln() + Z95 * se).exp())
}

#[test]
fn funnel_recovers_the_planted_path() {
    let report = json("/api/reports/funnel?by=device");
    let checkout = &report[0];
    assert_eq!(checkout["id"], "checkout");
    let entered = u(&checkout["entered"]);
    assert_eq!(entered, 10_000, "every visitor lands on / once");
    let steps = checkout["steps"].as_array().unwrap();

    // 70 % go on to the product page: the Wilson interval of the observed share holds it.
    let product = u(&steps[1]["reached"]);
    let share = product as f64 / entered as f64;
    let half = Z95 * (share * (1.0 - share) / entered as f64).sqrt();
    assert!((share - truth::PRODUCT).abs() <= half, "product share {share}");

    // The time from Landing to Product detail is uniform on 5..60 s: median 32.5 s. The
    // sample median of n uniform draws has a standard error of (b - a) / (2 sqrt n).
    let median = f(&steps[1]["median_since_prior_ms"]);
    let (low, high) = truth::TO_PRODUCT_MS;
    let se = (high - low) as f64 / (2.0 * (product as f64).sqrt());
    let planted = (low + high) as f64 / 2.0;
    assert!((median - planted).abs() <= Z95 * se, "median {median}, planted {planted}");

    // Mobile visitors drop between Add to cart and Checkout twice as often as desktop ones.
    let groups = checkout["breakdown"]["groups"].as_array().unwrap();
    let group = |value: &str| groups.iter().find(|g| g["value"] == value).unwrap();
    let cart = |g: &Value| (u(&g["steps"][2]["dropped"]), u(&g["steps"][2]["reached"]));
    let ((dm, nm), (dd, nd)) = (cart(group("mobile")), cart(group("desktop")));
    let (ratio, low, high) = ratio_ci(dm, nm, dd, nd);
    assert!(low <= 2.0 && 2.0 <= high, "mobile drop ratio {ratio} in {low}..{high}");
    assert!(low > 1.0, "and the difference is significant");

    // Every day of the 28 has its attempts, and they add up.
    let trend = checkout["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 28);
    assert_eq!(trend[0]["date"], "2026-11-03");
    assert_eq!(trend.iter().map(|d| u(&d["entered"])).sum::<u64>(), entered);
}

#[test]
fn funnel_report_agrees_with_api_funnels() {
    let report = json("/api/reports/funnel");
    let funnels = json("/api/funnels");
    let reached = |steps: &Value| -> Vec<u64> {
        steps.as_array().unwrap().iter().map(|s| u(&s["reached"])).collect()
    };
    assert_eq!(reached(&report[0]["steps"]), reached(&funnels[0]["steps"]));
    assert_eq!(report[0]["completed"], funnels[0]["completed"]);
}

#[test]
fn impact_recovers_the_video_lift() {
    let report = json("/api/reports/impact?macro=purchase");
    assert_eq!(u(&report["units"]), 10_000);
    let items = report["items"].as_array().unwrap();
    let video = items.iter().find(|i| i["event"] == "video_start").unwrap();
    assert!(
        ci_contains(&video["lift_ci"], truth::VIDEO_LIFT),
        "video lift {} in {}",
        video["lift"],
        video["lift_ci"]
    );
    assert_eq!(video["significant"], true);

    // Scrolling has no planted effect, and its interval holds 1.
    let scroll = items.iter().find(|i| i["event"] == "scroll_depth").unwrap();
    assert!(ci_contains(&scroll["lift_ci"], 1.0), "{scroll}");

    // Ranked by the lower end of the interval.
    let lows: Vec<f64> = items.iter().map(|i| f(&i["lift_ci"]["low"])).collect();
    assert!(lows.windows(2).all(|w| w[0] >= w[1]), "{lows:?}");
}

#[test]
fn segments_recover_the_conversion_of_each_device() {
    let report = json("/api/reports/segments");
    let device =
        report["dimensions"].as_array().unwrap().iter().find(|d| d["dimension"] == "device");
    let values = device.unwrap()["values"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    for value in values {
        let name = value["value"].as_str().unwrap();
        let expected = truth::purchase_rate(name);
        assert!(
            ci_contains(&value["conversion_ci"], expected),
            "{name}: {} in {}, planted {expected}",
            value["conversion_rate"],
            value["conversion_ci"]
        );
    }
    // Returning visitors behave as new ones: their intervals overlap.
    let returning =
        report["dimensions"].as_array().unwrap().iter().find(|d| d["dimension"] == "returning");
    let values = returning.unwrap()["values"].as_array().unwrap();
    let (a, b) = (&values[0]["conversion_ci"], &values[1]["conversion_ci"]);
    assert!(f(&a["low"]) <= f(&b["high"]) && f(&b["low"]) <= f(&a["high"]), "{a} {b}");
}

#[test]
fn experiments_recover_the_variant_b_lift() {
    let report = json("/api/reports/experiments");
    assert_eq!(report["control"], "a");
    let variants = report["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    let b = &variants[1];
    assert_eq!(b["variant"], "b");
    let versus = &b["versus_control"];
    assert!(
        ci_contains(&versus["lift_ci"], truth::VARIANT_B_LIFT),
        "lift {} in {}",
        versus["lift"],
        versus["lift_ci"]
    );
    assert_eq!(versus["significant"], true, "{versus}");
    assert!(f(&versus["test"]["p_value"]) < 0.05);
    // The test rests on enough units for the difference it found.
    assert!(u(&versus["needed_per_variant"]) < u(&b["units"]), "{versus}");

    // The variant changes purchases only, after checkout: the funnel up to the checkout
    // click shows no significant difference.
    let funnel = &b["funnels"][0];
    assert_eq!(funnel["funnel"]["id"], "checkout");
    assert!(ci_contains(&funnel["versus_control"]["lift_ci"], 1.0), "{funnel}");
}

#[test]
fn dropoff_names_the_planted_next_action() {
    let report = json("/api/reports/dropoff");
    let steps = report[0]["steps"].as_array().unwrap();
    let cart = steps.iter().find(|s| s["name"] == "Add to cart").unwrap();
    let next = cart["next"].as_array().unwrap();
    let pricing = next.iter().find(|n| n["action"] == "page_view /pricing.html").unwrap();
    assert!(
        ci_contains(&pricing["share_ci"], truth::PRICING_AFTER_DROP),
        "{} in {}",
        pricing["share"],
        pricing["share_ci"]
    );
    let exit = next.iter().find(|n| n["action"] == "(exit)").unwrap();
    assert_eq!(u(&pricing["count"]) + u(&exit["count"]), u(&cart["ended"]));
    // Steps come most-ended first.
    let ended: Vec<u64> = steps.iter().map(|s| u(&s["ended"])).collect();
    assert!(ended.windows(2).all(|w| w[0] >= w[1]), "{ended:?}");
}

#[test]
fn anomalies_flag_the_day_the_cta_broke() {
    let report = json("/api/reports/anomalies");
    let broken = reports::date(shop().simulation.broken_day());
    let flags = report["flags"].as_array().unwrap();
    assert_eq!(flags[0]["event"], "click_cta", "the most extreme flag: {flags:?}");
    assert_eq!(flags[0]["date"], broken.as_str());
    let cta_flags: Vec<&Value> = flags.iter().filter(|f| f["event"] == "click_cta").collect();
    assert_eq!(cta_flags.len(), 1, "{cta_flags:?}");

    // At z <= -3 a normal day is flagged about 0.1 % of the time; counts of events that come
    // several to a visitor vary more than that, so allow up to 2 % of the judged days.
    let judged: usize = report["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["days"].as_array().unwrap().iter().filter(|d| !d["z"].is_null()).count())
        .sum();
    let false_flags = flags.len() - 1;
    assert!(judged > 150, "{judged}");
    assert!((false_flags as f64) <= 0.02 * judged as f64, "{false_flags} of {judged}: {flags:?}");
}

#[test]
fn date_range_and_filters_select_events() {
    let all = json("/api/reports/funnel");
    let trend = all[0]["trend"].as_array().unwrap();
    let week: u64 = trend[7..14].iter().map(|d| u(&d["entered"])).sum();
    let ranged = json("/api/reports/funnel?from=2026-11-10&to=2026-11-16");
    assert_eq!(u(&ranged[0]["entered"]), week);
    assert_eq!(ranged[0]["trend"].as_array().unwrap().len(), 7);

    let mobile = json("/api/reports/segments?device=mobile");
    let devices = &mobile["dimensions"][0];
    assert_eq!(devices["dimension"], "device");
    let values = devices["values"].as_array().unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0]["value"], "mobile");
    assert_eq!(mobile["units"], values[0]["units"]);
}

#[test]
fn every_report_exports_csv() {
    for name in reports::NAMES {
        let (status, kind, body) = get(&format!("/api/reports/{name}.csv"));
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(kind, "text/csv; charset=utf-8");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let width = reader.headers().unwrap().len();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(!rows.is_empty(), "{name} has rows");
        assert!(rows.iter().all(|r| r.len() == width));
    }
    let (_, _, trend) = get("/api/reports/funnel?format=csv&table=trend");
    assert!(trend.starts_with("funnel,date,entered,completed,completion_rate\n"), "{trend}");
    assert_eq!(trend.lines().count(), 29);
}

#[test]
fn bad_requests_name_what_is_wrong() {
    let (status, _, body) = get("/api/reports/funnels");
    assert_eq!(status, 400);
    assert!(body.contains("unknown report `funnels`"), "{body}");
    let (status, _, body) = get("/api/reports/funnel?devise=mobile");
    assert_eq!(status, 400);
    assert!(body.contains("query.devise: unknown parameter"), "{body}");
    let (status, _, body) = get("/api/reports/funnel?from=30.11.2026");
    assert_eq!(status, 400);
    assert!(body.contains("`30.11.2026` is not a date"), "{body}");
    let (status, _, body) = get("/api/reports/funnel.csv?table=nope");
    assert_eq!(status, 400);
    assert!(body.contains("unknown table `nope`"), "{body}");
    assert_eq!(json("/api/reports")["reports"].as_array().unwrap().len(), 6);
}

#[test]
fn the_dashboard_and_its_script_are_served() {
    let (status, kind, page) = get("/report");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.contains(r#"<canvas id="funnel-chart">"#), "{page}");
    let (status, kind, script) = get("/report/report.js");
    assert_eq!((status, kind.as_str()), (200, "text/javascript; charset=utf-8"));
    assert!(script.contains("/api/reports/"));
}

#[test]
fn command_line_prints_the_same_report() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
        .arg("report")
        .arg("experiments")
        .arg("--db")
        .arg(&shop().db)
        .arg("--format")
        .arg("csv")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (_, _, over_http) = get("/api/reports/experiments.csv");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), over_http);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_microfunnel-collector"))
        .args(["report", "funnel", "by=device", "--config"])
        .arg(repo().join("www/config.json"))
        .arg("--db")
        .arg(&shop().db)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("steps\nfunnel "), "{text}");
    assert!(text.contains("device=mobile"), "{text}");
}
