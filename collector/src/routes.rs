//! The HTTP surface: `/collect`, `/api/events`, `/api/funnels`, `/favicon.ico` and the static
//! site.
//!
//! The routes come in two groups. [`ingestion`] is public, since every visitor's browser posts
//! to it, and carries the limits that let it face the internet. [`private_routes`] is everything
//! else the collector knows; [`private`] puts all of it behind the report guard of
//! [`crate::access`], so a route added to that one function is protected without more ado.

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::access::{require_report_access, ReportAccess};
use crate::limits::{allow_origins, deadline, rate_limit, Limiter, Origins};
use crate::{Batch, Error, FunnelReport, Funnels, Options, Store, StoredEvent, BODY_LIMIT};

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
/// `options.static_dir` (if any) at `/`, with the report guard and the ingestion limits of
/// `options`.
///
/// The API routes are matched first; the static directory only sees what they do not claim.
/// The report guard and the rate limit need the peer's address: serve the router with
/// `into_make_service_with_connect_info::<SocketAddr>()`, as [`crate::Server`] does. Without it,
/// reports are refused to everyone but token holders, and all clients share one rate limit.
pub fn router(store: Store, funnels: Option<Funnels>, options: &Options) -> Result<Router, Error> {
    let app = App { store, funnels };
    let origins = parse_origins(&options.allow_origins)?;
    let access = ReportAccess::new(options.report_token.clone());

    let router = Router::new()
        .route("/collect", ingestion(options, origins))
        .merge(private(access))
        .with_state(app);
    Ok(with_static(router, options.static_dir.as_deref()).layer(from_fn(json_refusals)))
}

/// Gives a refusal that has no body of its own (a path nothing serves, a wrong method) the
/// JSON reason every other refusal has.
async fn json_refusals(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;

    let status = response.status();
    if !status.is_client_error() || response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    let path = shorten(&path);
    let reason = match status {
        StatusCode::NOT_FOUND => format!("nothing is served at `{path}`"),
        StatusCode::METHOD_NOT_ALLOWED => format!("method `{method}` is not allowed on `{path}`"),
        other => format!("{}: `{path}`", other.canonical_reason().unwrap_or("refused")),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut refusal = (status, Json(json!({ "error": reason }))).into_response();
    // Keep what the original answer said besides its body, such as `Allow` on a 405.
    for (name, value) in parts.headers.iter() {
        refusal.headers_mut().entry(name).or_insert_with(|| value.clone());
    }
    refusal
}

/// A request path as quoted in a reason, cut so that a huge one cannot blow up the answer.
fn shorten(path: &str) -> String {
    const MAX: usize = 100;
    if path.chars().count() <= MAX {
        return path.to_string();
    }
    let mut short: String = path.chars().take(MAX).collect();
    short.push('…');
    short
}

/// `POST /collect` with its layers, outermost first: CORS (so that even a refusal can be read
/// by the page), the rate limit, the origin allowlist, the deadline and the body limit.
fn ingestion(options: &Options, origins: Vec<HeaderValue>) -> MethodRouter<App> {
    // The tracker runs on the customer's site, which is rarely the collector's own origin.
    // sendBeacon's text/plain needs no preflight, but fetch with application/json does, so the
    // preflight is answered too.
    let allowed =
        if origins.is_empty() { AllowOrigin::any() } else { AllowOrigin::list(origins.clone()) };
    let cors = CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        // The page reads it to wait as long as a 429 or 503 asks.
        .expose_headers([header::RETRY_AFTER]);

    let mut route = post(collect)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(options.request_timeout, deadline))
        .layer(from_fn_with_state(Arc::new(Origins(origins)), allow_origins));
    if let Some(limit) = options.rate_limit {
        route = route.layer(from_fn_with_state(Arc::new(Limiter::new(limit)), rate_limit));
    }
    route.layer(cors)
}

/// Every route that is not ingestion: what the collector stored, and what it computes from it.
///
/// Add report routes here, and nowhere else: [`private`] guards all of them.
fn private_routes() -> Router<App> {
    Router::new()
        .route("/api/events", get(events))
        .route("/api/funnels", get(funnels_report))
        .merge(crate::reports::routes())
}

/// [`private_routes`] behind the report guard. `route_layer` rather than `layer`, so that a path
/// none of them claims falls through to the static site instead of asking for a token.
fn private(access: ReportAccess) -> Router<App> {
    private_routes().route_layer(from_fn_with_state(Arc::new(access), require_report_access))
}

fn with_static(router: Router, static_dir: Option<&Path>) -> Router {
    let no_favicon = || async { StatusCode::NO_CONTENT };
    let Some(dir) = static_dir else {
        return router.route("/favicon.ico", get(no_favicon));
    };

    // Browsers ask for /favicon.ico on every page; answering 204 when the site has none keeps
    // a 404 out of the console, which the end-to-end tests watch.
    let favicon = ServeDir::new(dir).fallback(no_favicon.into_service());
    router.route_service("/favicon.ico", favicon).fallback_service(ServeDir::new(dir))
}

/// Checks each `--allow-origin`: `http` or `https`, a host, no path, as browsers send `Origin`.
fn parse_origins(origins: &[String]) -> Result<Vec<HeaderValue>, Error> {
    origins
        .iter()
        .map(|given| {
            let bad = || Error::BadOrigin(given.clone());
            // Browsers send scheme and host in lowercase.
            let origin = given.to_ascii_lowercase();
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(bad)?;
            if rest.is_empty() || rest.contains(['/', '?', '#']) {
                return Err(bad());
            }
            HeaderValue::from_str(&origin).map_err(|_| bad())
        })
        .collect()
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
