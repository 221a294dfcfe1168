//! The reports' HTTP routes: `GET /api/reports` (the list) and `GET /api/reports/<name>`
//! (`.csv` or `?format=csv` for a CSV export of one of its tables).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::{compute, Format, Request, NAMES};
use crate::routes::App;
use crate::Error;

/// Every report route, for the collector's router to merge.
pub(crate) fn routes() -> Router<App> {
    Router::new().route("/api/reports", get(list)).route("/api/reports/{name}", get(report))
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
