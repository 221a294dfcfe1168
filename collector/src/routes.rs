//! The HTTP surface: `/collect`, `/api/events`, `/api/funnels`, `/favicon.ico` and the static
//! site.

use std::path::Path;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::{header, Method, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;

use crate::{Batch, Error, FunnelReport, Funnels, Store, StoredEvent, BODY_LIMIT};

/// The answer to an accepted batch.
#[derive(Debug, Serialize)]
struct Accepted {
    /// Every id of the batch, including those that were already stored.
    accepted: Vec<String>,
    /// How many of them were already stored.
    duplicates: usize,
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub(crate) store: Store,
    /// The funnels of the tracker's config, when the collector was given one.
    pub(crate) funnels: Option<Funnels>,
}

/// The query string of `GET /api/events`.
#[derive(Debug, Deserialize)]
struct EventsQuery {
    name: Option<String>,
}

/// Builds the collector's routes on `store`, computing `funnels` (if any) and serving
/// `static_dir` (if any) at `/`.
///
/// The API routes are matched first; the static directory only sees what they do not claim.
pub fn router(store: Store, funnels: Option<Funnels>, static_dir: Option<&Path>) -> Router {
    // Any origin may post: the tracker runs on the customer's site, which is rarely the
    // collector's own origin. sendBeacon's text/plain needs no preflight, but fetch with
    // application/json does, so the preflight is answered too.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    let collect_route = post(collect).layer((cors, DefaultBodyLimit::max(BODY_LIMIT)));

    let router = Router::new()
        .route("/collect", collect_route)
        .route("/api/events", get(events))
        .route("/api/funnels", get(funnels_report))
        .merge(crate::reports::routes())
        .with_state(App { store, funnels });

    let no_favicon = || async { StatusCode::NO_CONTENT };
    let Some(dir) = static_dir else {
        return router.route("/favicon.ico", get(no_favicon));
    };

    // Browsers ask for /favicon.ico on every page; answering 204 when the site has none keeps
    // a 404 out of the console, which the end-to-end tests watch.
    let favicon = ServeDir::new(dir).fallback(no_favicon.into_service());
    router.route_service("/favicon.ico", favicon).fallback_service(ServeDir::new(dir))
}

async fn collect(
    State(App { store, .. }): State<App>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Accepted>, Error> {
    // The body is read as bytes whatever its content type: sendBeacon posts JSON as
    // text/plain to avoid a preflight, and fetch may say application/json.
    let body = body.map_err(body_error)?;
    let batch = Batch::parse(&body)?;

    let accepted: Vec<String> = batch.events.iter().map(|event| event.id.clone()).collect();
    let site = batch.site.clone();
    let duplicates = store.insert(batch).await?;

    tracing::debug!(%site, events = accepted.len(), duplicates, "batch stored");
    Ok(Json(Accepted { accepted, duplicates }))
}

async fn events(
    State(App { store, .. }): State<App>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Vec<StoredEvent>>, Error> {
    // `?name=` with nothing after it reads as "no filter" rather than "events named ''",
    // which no event can be.
    let name = query.name.filter(|name| !name.is_empty());
    Ok(Json(store.events(name).await?))
}

async fn funnels_report(
    State(App { store, funnels }): State<App>,
) -> Result<Json<Vec<FunnelReport>>, Error> {
    let funnels = funnels.ok_or(Error::NoConfig)?;
    Ok(Json(store.funnels(funnels).await?))
}

fn body_error(rejection: BytesRejection) -> Error {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Error::TooLarge { limit: BODY_LIMIT };
    }
    Error::Body(rejection.body_text())
}
