//! The reports' HTTP routes: `GET /api/reports` (the list), `GET /api/reports/<name>`
//! (`.csv` or `?format=csv` for a CSV export of one of its tables), and the dashboard at
//! `/report`, whose chart library (Chart.js) is served from the repository's `node_modules`.

use std::path::PathBuf;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::{compute, Format, Request, NAMES};
use crate::routes::App;
use crate::Error;

/// Every report route, for the collector's router to merge.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/api/reports", get(list))
        .route("/api/reports/{name}", get(report))
        .route("/report", get(|| async { Html(PAGE) }))
        .route("/report/report.js", get(|| async { javascript(SCRIPT.into()) }))
        .route("/report/chart.js", get(chart_library))
}

/// The dashboard, compiled in so that it needs no file at run time.
const PAGE: &str = include_str!("../../assets/report.html");
/// Its script.
const SCRIPT: &str = include_str!("../../assets/report.js");

/// Chart.js inside `node_modules`, as `npm install` (run by `cargo xtask setup`) puts it.
const CHART_JS: &str = "chart.js/dist/chart.umd.min.js";

fn javascript(text: String) -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], text).into_response()
}

/// Serves Chart.js from `MF_NODE_MODULES`, else `./node_modules`, else the repository's
/// `node_modules` next to this crate.
async fn chart_library() -> Response {
    let mut places: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("MF_NODE_MODULES") {
        places.push(PathBuf::from(dir));
    }
    places.push(PathBuf::from("node_modules"));
    places.push(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../node_modules")));
    for dir in &places {
        if let Ok(text) = tokio::fs::read_to_string(dir.join(CHART_JS)).await {
            return javascript(text);
        }
    }
    // The dashboard still shows its tables without charts, and says why.
    let message = format!("`{CHART_JS}` not found in node_modules: run `npm install`");
    (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
}

async fn list() -> Json<serde_json::Value> {
    Json(json!({ "reports": NAMES }))
}

async fn report(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let request = Request::parse(&name, &params)?;
    let (format, table, name) = (request.format, request.table.clone(), request.name.clone());
    let report = compute(&app.store, app.funnels.clone(), request).await?;
    match format {
        Format::Json => Ok(Json(report).into_response()),
        Format::Csv => {
            let text = report.csv(table.as_deref())?;
            let file = format!("attachment; filename=\"{name}.csv\"");
            let headers = [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, file),
            ];
            Ok((StatusCode::OK, headers, text).into_response())
        }
    }
}
