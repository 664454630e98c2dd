//! One-click unsubscribe (RFC 8058): `GET /unsubscribe/{token}` shows a page with one
//! button (a link opened by a mail scanner must not unsubscribe anyone);
//! `POST /unsubscribe/{token}` — the mail provider's `List-Unsubscribe=One-Click`, or
//! that button — unsubscribes the contact from success e-mails. No sign-in: the token's
//! signature names the contact. Following it twice is harmless; a link not made here gets
//! 404 and changes nothing.

use app::backend::playbooks::delivery;
use app::backend::AppState;
use app::security::escape_html;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(show).post(unsubscribe))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#0f172a\">\
         <h1 style=\"font-size:1.4rem\">{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not recognised",
        "<p>This unsubscribe link was not made here, or was copied incompletely. Nothing was changed.</p>",
    )
}

fn failed(e: &sea_orm::DbErr) -> Response {
    tracing::error!(error = %e, "unsubscribe failed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "<p>We could not record your choice just now. Please follow the link again in a minute.</p>",
    )
}

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match delivery::contact_for_link(&state.db, &token, chrono::Utc::now()).await {
        Ok(Some(k)) if k.unsubscribed_at.is_some() => page(
            StatusCode::OK,
            "You are unsubscribed",
            &format!(
                "<p>{} gets no more success e-mails from us. Messages about your account itself (a failed payment, for example) still arrive.</p>",
                escape_html(k.email.as_deref().unwrap_or("This address"))
            ),
        ),
        Ok(Some(k)) => page(
            StatusCode::OK,
            "Unsubscribe?",
            &format!(
                "<p>Stop success e-mails (tips, check-ins, reviews) to {}? Messages about your account itself still arrive.</p>\
                 <form method=\"post\"><button type=\"submit\" style=\"font-size:1rem;padding:.5rem 1rem\">Unsubscribe</button></form>",
                escape_html(k.email.as_deref().unwrap_or("this address"))
            ),
        ),
        Ok(None) => not_found(),
        Err(e) => failed(&e),
    }
}

async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match delivery::unsubscribe_by_link(&state.db, &token, chrono::Utc::now()).await {
        Ok(Some(k)) => page(
            StatusCode::OK,
            "You are unsubscribed",
            &format!(
                "<p>{} gets no more success e-mails from us. Messages about your account itself (a failed payment, for example) still arrive.</p>",
                escape_html(k.email.as_deref().unwrap_or("This address"))
            ),
        ),
        Ok(None) => not_found(),
        Err(e) => failed(&e),
    }
}
