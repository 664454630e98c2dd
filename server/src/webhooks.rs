//! Webhook endpoints: `POST /webhooks/stripe` (and the helpdesks'). Each verifies the
//! sender's signature over the raw body before anything is parsed; a bad signature gets
//! 400 and changes nothing. Deliveries are recorded with their event id, so a redelivery
//! is acknowledged without being applied twice.

use app::backend::meter::Counts;
use app::backend::webhooks::Disposition;
use app::backend::{billing, refusals, settings, support, AppState};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Zendesk's replay window for the signature timestamp (as Stripe's).
const ZENDESK_TOLERANCE_SECS: i64 = vcsm::sources::tickets::ZENDESK_TOLERANCE_SECS;

/// Stripe's events are small; anything near this is not one.
const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;
/// Stripe's documented default tolerance for the signature's timestamp.
const STRIPE_TOLERANCE_SECS: i64 = 300;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/stripe", post(stripe))
        .route("/webhooks/zendesk", post(zendesk))
        .route("/webhooks/intercom", post(intercom))
        .route("/v1/tickets", post(tickets))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
}

/// Answers a refused delivery, counting and recording it for the Integrations page.
async fn refuse(
    state: &AppState,
    channel: &str,
    status: StatusCode,
    problem: String,
    body: &[u8],
    now: DateTime<Utc>,
) -> Response {
    state.meter.add(
        channel,
        now,
        Counts {
            received: 1,
            rejected: 1,
            ..Counts::default()
        },
    );
    if let Err(e) = refusals::record(&state.db, channel, status.as_u16(), &problem, body, now).await
    {
        tracing::warn!(error = %e, "recording a refused webhook failed");
    }
    (status, Json(json!({ "error": problem }))).into_response()
}

/// Answers an accepted delivery with what it did, counting it.
fn accepted(
    state: &AppState,
    channel: &str,
    outcome: &Disposition,
    now: DateTime<Utc>,
) -> Response {
    let mut counts = Counts {
        received: 1,
        ..Counts::default()
    };
    match outcome {
        Disposition::Applied | Disposition::Ignored(_) => counts.stored = 1,
        Disposition::Duplicate => counts.duplicates = 1,
        Disposition::Held(_) => counts.quarantined = 1,
    }
    state.meter.add(channel, now, counts);
    (
        StatusCode::OK,
        Json(json!({ "received": true, "result": outcome })),
    )
        .into_response()
}

/// A failure to store: 500, so the sender retries later (nothing was kept).
fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "storing a webhook failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "could not store the event; nothing was kept, retry" })),
    )
        .into_response()
}

async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const CHANNEL: &str = "stripe";
    let now = Utc::now();
    let secrets = match secrets_of(&state, CHANNEL, "STRIPE_WEBHOOK_SECRET", &body, now).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let keys: Vec<&str> = secrets.iter().map(String::as_str).collect();
    if let Err(e) =
        vcsm::sources::stripe::verify_signature(header, &body, &keys, now, STRIPE_TOLERANCE_SECS)
    {
        return refuse(
            &state,
            CHANNEL,
            StatusCode::BAD_REQUEST,
            format!("Stripe-Signature: {e}"),
            &body,
            now,
        )
        .await;
    }
    let event = match vcsm::sources::stripe::parse_event(&body) {
        Ok(e) => e,
        Err(problems) => {
            return refuse(
                &state,
                CHANNEL,
                StatusCode::BAD_REQUEST,
                problem_text(&problems),
                &body,
                now,
            )
            .await;
        }
    };
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(path) = vcsm::validation::first_nul_in_json(&payload, "") {
        let problem = format!("{path}: {}", vcsm::validation::NUL_MESSAGE);
        return refuse(
            &state,
            CHANNEL,
            StatusCode::BAD_REQUEST,
            problem,
            &body,
            now,
        )
        .await;
    }
    match billing::receive(&state.db, &event, &payload, now).await {
        Ok(outcome) => accepted(&state, CHANNEL, &outcome, now),
        Err(e) => unavailable(e),
    }
}

fn problem_text(problems: &[vcsm::sources::segment::Problem]) -> String {
    let text: Vec<String> = problems
        .iter()
        .take(20)
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect();
    text.join("; ")
}

/// The delivery's id: the sender's event id when the payload has one (Zendesk event
/// subscriptions, Intercom notifications), else a hash of the body, so an identical
/// redelivery is still recognised.
fn delivery_id(payload: &Value, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    match payload.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() && id.len() <= 200 => id.to_string(),
        _ => format!("h{}", hex::encode(Sha256::digest(body))),
    }
}

/// The signing secrets of `channel`, or the answer when there are none.
async fn secrets_of(
    state: &AppState,
    channel: &str,
    env: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<String>, Box<Response>> {
    match settings::secrets(&state.db, channel, now).await {
        Ok(s) if s.is_empty() => {
            let problem = format!(
                "{channel} webhooks are not configured: set the secret on the Integrations page or in {env}"
            );
            Err(Box::new(
                refuse(
                    state,
                    channel,
                    StatusCode::SERVICE_UNAVAILABLE,
                    problem,
                    body,
                    now,
                )
                .await,
            ))
        }
        Ok(s) => Ok(s),
        Err(e) => Err(Box::new(unavailable(e))),
    }
}

/// Stores a parsed ticket delivery and answers.
async fn store_ticket(
    state: &AppState,
    channel: &str,
    parsed: Result<
        Option<vcsm::sources::tickets::TicketUpdate>,
        Vec<vcsm::sources::segment::Problem>,
    >,
    body: &[u8],
    now: DateTime<Utc>,
) -> Response {
    let update = match parsed {
        Ok(Some(u)) => u,
        Ok(None) => {
            let outcome = Disposition::Ignored("not about a ticket".into());
            return accepted(state, channel, &outcome, now);
        }
        Err(problems) => {
            return refuse(
                state,
                channel,
                StatusCode::BAD_REQUEST,
                problem_text(&problems),
                body,
                now,
            )
            .await;
        }
    };
    if let Some(p) = update.implausible_time(now) {
        let problem = format!("{}: {}", p.path, p.reason);
        return refuse(state, channel, StatusCode::BAD_REQUEST, problem, body, now).await;
    }
    let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(path) = vcsm::validation::first_nul_in_json(&payload, "") {
        let problem = format!("{path}: {}", vcsm::validation::NUL_MESSAGE);
        return refuse(state, channel, StatusCode::BAD_REQUEST, problem, body, now).await;
    }
    let id = delivery_id(&payload, body);
    match support::receive(&state.db, &id, &update, &payload, now).await {
        Ok(outcome) => accepted(state, channel, &outcome, now),
        Err(e) => unavailable(e),
    }
}

async fn zendesk(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const CHANNEL: &str = "zendesk";
    let now = Utc::now();
    let secrets = match secrets_of(&state, CHANNEL, "ZENDESK_WEBHOOK_SECRET", &body, now).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let (signature, timestamp) = (
        header("x-zendesk-webhook-signature"),
        header("x-zendesk-webhook-signature-timestamp"),
    );
    let verified = secrets.iter().map(|secret| {
        vcsm::sources::tickets::verify_zendesk(
            signature,
            timestamp,
            &body,
            secret,
            now,
            ZENDESK_TOLERANCE_SECS,
        )
    });
    if let Some(Err(e)) = verified.reduce(|a, b| if a.is_ok() { a } else { b }) {
        return refuse(
            &state,
            CHANNEL,
            StatusCode::BAD_REQUEST,
            format!("X-Zendesk-Webhook-Signature: {e}"),
            &body,
            now,
        )
        .await;
    }
    let parsed = vcsm::sources::tickets::parse_zendesk(&body);
    store_ticket(&state, CHANNEL, parsed, &body, now).await
}

async fn intercom(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const CHANNEL: &str = "intercom";
    let now = Utc::now();
    let secrets = match secrets_of(&state, CHANNEL, "INTERCOM_CLIENT_SECRET", &body, now).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let header = headers
        .get("x-hub-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let verified = secrets
        .iter()
        .map(|secret| vcsm::sources::tickets::verify_intercom(header, &body, secret));
    if let Some(Err(e)) = verified.reduce(|a, b| if a.is_ok() { a } else { b }) {
        return refuse(
            &state,
            CHANNEL,
            StatusCode::BAD_REQUEST,
            format!("X-Hub-Signature: {e}"),
            &body,
            now,
        )
        .await;
    }
    let parsed = vcsm::sources::tickets::parse_intercom(&body);
    store_ticket(&state, CHANNEL, parsed, &body, now).await
}

/// `POST /v1/tickets`: our own JSON for any helpdesk, with a source's write key.
async fn tickets(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const CHANNEL: &str = "tickets";
    let now = Utc::now();
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state
        .sources
        .source_for_authorization(&state.db, auth)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            return (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Basic realm=\"vcsm\"")],
                Json(
                    json!({ "error": "a valid write key is required as the HTTP Basic user name" }),
                ),
            )
                .into_response();
        }
        Err(e) => return unavailable(e),
    }
    let parsed = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => vcsm::sources::tickets::parse_generic(&v, now).map(Some),
        Err(e) => Err(vec![vcsm::sources::segment::Problem::new(
            "body",
            format!("is not valid JSON: {e}"),
        )]),
    };
    store_ticket(&state, CHANNEL, parsed, &body, now).await
}
