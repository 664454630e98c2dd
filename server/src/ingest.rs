//! The Segment-compatible HTTP Tracking API: `POST /v1/{identify,group,track,page,batch}`,
//! authenticated with a source's write key as the HTTP Basic user name.
//!
//! Validation is synchronous: a bad message gets 400 with every problem by field path; in a
//! batch the valid messages are stored and the invalid ones reported by index. 200 is sent
//! only after the transaction that stores the events has committed.

use app::backend::entities::source::Model as Source;
use app::backend::meter::{source_channel, Counts};
use app::backend::{ingest, refusals, AppState};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use vcsm::sources::segment::{parse_batch, parse_message, Kind, Problem, MAX_BATCH_BYTES};

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for kind in [Kind::Identify, Kind::Group, Kind::Track, Kind::Page] {
        let handler = move |s: State<AppState>, h: HeaderMap, b: Bytes| single(s, h, b, kind);
        router = router.route(&format!("/v1/{}", kind.as_str()), post(handler));
    }
    router
        .route("/v1/batch", post(batch))
        // Segment's limit for a request: larger bodies get 413 before they are read whole.
        .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
}

/// An early answer (boxed: a `Response` is large for an `Err`).
type Rejection = Box<Response>;

fn problems(status: StatusCode, problems: Vec<Problem>) -> Response {
    (
        status,
        Json(json!({ "success": false, "errors": problems })),
    )
        .into_response()
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Source, Rejection> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state
        .sources
        .source_for_authorization(&state.db, header)
        .await
    {
        Ok(Some(source)) => Ok(source),
        Ok(None) => {
            let mut res = problems(
                StatusCode::UNAUTHORIZED,
                vec![Problem {
                    path: "authorization".into(),
                    reason: "a valid write key is required as the HTTP Basic user name".into(),
                }],
            );
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"vcsm\""),
            );
            Err(Box::new(res))
        }
        Err(e) => {
            tracing::error!(error = %e, "write key lookup failed");
            Err(Box::new(StatusCode::SERVICE_UNAVAILABLE.into_response()))
        }
    }
}

async fn store(
    state: &AppState,
    source: &Source,
    messages: &[(vcsm::sources::segment::Message, Value)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ingest::Outcome, Rejection> {
    // Never closed, so acquiring fails only if it were: then go on unthrottled.
    let _slot = state.ingest_slots.acquire().await.ok();
    ingest::ingest(&state.db, source, messages, now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storing events failed");
            // Nothing was committed: the sender should retry.
            let reason = "could not store the events; nothing was kept, retry";
            let body =
                json!({ "success": false, "errors": [{ "path": "body", "reason": reason }] });
            Box::new((StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response())
        })
}

/// Counts what a request did, for the Integrations page.
fn tally(
    state: &AppState,
    source: &Source,
    o: &ingest::Outcome,
    rejected: u64,
    now: chrono::DateTime<chrono::Utc>,
) {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let counts = Counts {
        received: n(o.stored + o.linked + o.duplicates + o.quarantined + rejected),
        stored: n(o.stored),
        duplicates: n(o.duplicates),
        quarantined: n(o.quarantined),
        rejected: n(rejected),
    };
    state.meter.add(&source_channel(source.id), now, counts);
    state.meter.source_seen(source.id, now);
    state.meter.customers_seen(&o.newest);
}

/// Keeps a refused request's problems and the start of its body for the Integrations page.
/// A failure to record is logged, not passed on: the sender's answer doesn't depend on it.
async fn note_refusal(
    state: &AppState,
    source: &Source,
    found: &[Problem],
    body: &Bytes,
    now: chrono::DateTime<chrono::Utc>,
) {
    let summary: Vec<String> = found
        .iter()
        .take(20)
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect();
    let channel = source_channel(source.id);
    if let Err(e) = refusals::record(&state.db, &channel, 400, &summary.join("; "), body, now).await
    {
        tracing::warn!(error = %e, "recording a refused request failed");
    }
}

/// 400 for a request with nothing storable, counted and recorded.
async fn refuse(
    state: &AppState,
    source: &Source,
    messages: u64,
    found: Vec<Problem>,
    body: &Bytes,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    tally(state, source, &ingest::Outcome::default(), messages, now);
    note_refusal(state, source, &found, body, now).await;
    problems(StatusCode::BAD_REQUEST, found)
}

/// What every endpoint does first: the source from the write key, the body as JSON.
async fn authenticated_json(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Source, Value), Rejection> {
    let source = authenticate(state, headers).await?;
    match parse_json(body) {
        Ok(value) => Ok((source, value)),
        Err(found) => Err(Box::new(refuse(state, &source, 1, found, body, now).await)),
    }
}

/// The body as JSON, or the problem that names why not.
fn parse_json(body: &[u8]) -> Result<Value, Vec<Problem>> {
    serde_json::from_slice(body)
        .map_err(|e| vec![Problem::new("body", format!("is not valid JSON: {e}"))])
}

async fn single(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    kind: Kind,
) -> Response {
    let now = chrono::Utc::now();
    let (source, value) = match authenticated_json(&state, &headers, &body, now).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let message = match parse_message(&value, Some(kind), "", now) {
        Ok(m) => m,
        Err(p) => return refuse(&state, &source, 1, p, &body, now).await,
    };
    match store(&state, &source, &[(message, value)], now).await {
        Ok(outcome) => {
            tally(&state, &source, &outcome, 0, now);
            Json(json!({ "success": true, "outcome": outcome })).into_response()
        }
        Err(r) => *r,
    }
}

/// A batch read from its body: each valid message with its raw JSON, the problems of the
/// invalid ones, and how many messages the body held.
struct ReadBatch {
    messages: Vec<(vcsm::sources::segment::Message, Value)>,
    problems: Vec<Problem>,
    item_count: usize,
}

/// Parses and validates a batch body; `Err`: the body itself is unusable.
fn read_batch(body: &[u8], now: chrono::DateTime<chrono::Utc>) -> Result<ReadBatch, Vec<Problem>> {
    let mut value = parse_json(body)?;
    let parsed = parse_batch(&value, now)?;
    // The raw messages are kept with each parsed one (quarantine payloads, content ids):
    // moved out of the body rather than copied.
    let mut items: Vec<Value> = match value.get_mut("batch") {
        Some(Value::Array(a)) => std::mem::take(a),
        _ => Vec::new(),
    };
    let item_count = items.len();
    let messages = parsed
        .messages
        .into_iter()
        .map(|(i, m)| (m, items.get_mut(i).map(Value::take).unwrap_or(Value::Null)))
        .collect();
    Ok(ReadBatch {
        messages,
        problems: parsed.problems,
        item_count,
    })
}

async fn batch(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let now = chrono::Utc::now();
    let source = match authenticate(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    // Parsing and validating up to 500 KB of JSON is milliseconds of CPU: done on the
    // blocking pool, so page requests on the async workers don't queue behind a flood
    // of batches.
    let raw = body.clone();
    let read = match tokio::task::spawn_blocking(move || read_batch(&raw, now)).await {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %e, "reading a batch failed");
            return problems(
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![Problem::new(
                    "body",
                    "could not be read; nothing was kept, retry",
                )],
            );
        }
    };
    let ReadBatch {
        messages,
        problems: found,
        item_count,
    } = match read {
        Ok(r) => r,
        Err(p) => return refuse(&state, &source, 1, p, &body, now).await,
    };
    let outcome = match store(&state, &source, &messages, now).await {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let rejected = u64::try_from(item_count.saturating_sub(messages.len())).unwrap_or(0);
    tally(&state, &source, &outcome, rejected, now);
    if !found.is_empty() {
        note_refusal(&state, &source, &found, &body, now).await;
    }
    // Invalid messages make the answer 400 (the valid ones are stored; re-sending the whole
    // batch is safe: stored message ids are recognised).
    let status = if found.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Json(json!({ "success": found.is_empty(), "outcome": outcome, "errors": found })),
    )
        .into_response()
}
