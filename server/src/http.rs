//! The HTTP server: Leptos pages and server functions, health check, sign-in guard.

use std::net::SocketAddr;

use app::backend::{auth::session_token, users, AppState};
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (a CSV import is the biggest thing we receive).
const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// What every rendered page (and the not-found page) gets in its context: the app's
/// state, and the nonce `guard::security_headers` made for this request, so that the
/// page's scripts carry the one its policy names.
fn page_context(state: AppState) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(state.clone());
        if let Some(nonce) = leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<crate::guard::PageNonce>().cloned())
        {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    }
}

/// Builds the router for `state` (also used by integration tests).
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        // A signed-in user's download (the session guard below sends others to sign in).
        .route("/customers/export.csv", get(export_customers))
        .merge(crate::ingest::routes())
        .merge(crate::webhooks::routes())
        .merge(crate::rest::routes())
        .merge(crate::rest_playbooks::routes())
        .merge(crate::unsubscribe::routes())
        .leptos_routes_with_context(&state, routes, page_context(state.clone()), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context(state.clone()), shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_session,
        ))
        .layer(middleware::from_fn(crate::guard::edge))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Server functions read their bodies under axum's default limit (2 MB) unless told
        // otherwise; the ingestion and webhook routes set their own, smaller, limits.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(crate::guard::security_headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ok".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable",
            )
                .into_response()
        }
    }
}

/// The customer list as CSV, with the filters and order of the list's URL parameters.
async fn export_customers(
    State(state): State<AppState>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let query = vcsm::listing::CustomerQuery::from_params(|k| params.get(k).cloned());
    match app::backend::customers::export_csv(&state.db, &query).await {
        Ok(text) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_string(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"customers-{}.csv\"",
                        chrono::Utc::now().date_naive()
                    ),
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "customer export failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the export could not be read from the database; try again",
            )
                .into_response()
        }
    }
}

/// Paths anyone may load: the login page, assets, server functions (which check the
/// session themselves and answer 401) and the health check.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/healthz"
        || path.starts_with("/v1/")
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path.starts_with("/unsubscribe/")
        || PUBLIC_FILES.contains(&path)
}

/// The files of `public/` (served from the site root, to anyone).
const PUBLIC_FILES: &[&str] = &["/favicon.svg", "/favicon.ico", "/robots.txt"];

/// Sends page requests without a live session to the login page, remembering where to go.
async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let page_load = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if !page_load || is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let signed_in = match session_token(req.headers()) {
        Some(token) => users::user_for_token(&state.db, &token, chrono::Utc::now())
            .await
            .ok()
            .flatten()
            .is_some(),
        None => false,
    };
    if signed_in {
        next.run(req).await
    } else {
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        Redirect::to(&vcsm::timefmt::with_query(
            "/login",
            &[("next", target.to_string())],
        ))
        .into_response()
    }
}

/// Serves until Ctrl-C / SIGTERM, with the background work of `worker::start` (jobs,
/// counters flushed every second, re-scores seconds after new data, notifications), and
/// the counters flushed once more on the way out.
///
/// # Errors
/// Returns a message when the address can't be bound.
pub async fn serve(state: AppState) -> Result<(), String> {
    let addr = state.leptos_options.site_addr;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // Every background task of the server: the job runner's slots, and the standing
    // loops (counters, re-scores, notifications), whose work is claimed in the database.
    app::backend::worker::start(state.clone());
    println!("Virtual CSM is listening on http://{addr}");
    let (meter, db) = (state.meter.clone(), state.db.clone());
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(|e| e.to_string());
    if let Err(e) = meter.flush(&db).await {
        tracing::warn!(error = %e, "flushing integration counters on shutdown failed");
    }
    served
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn public_paths() {
        for p in [
            "/login",
            "/pkg/vcsm.js",
            "/api/login123",
            "/favicon.ico",
            "/favicon.svg",
            "/healthz",
        ] {
            assert!(is_public(p), "{p}");
        }
        // A dot in the last segment is no way around the sign-in.
        for p in [
            "/",
            "/customers",
            "/customers/12",
            "/users",
            "/customers/1.json",
            "/users/x.css",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }
}
