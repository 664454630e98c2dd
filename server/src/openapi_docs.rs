//! OpenAPI descriptions of the endpoints other systems call whose handlers live elsewhere
//! (`ingest.rs`, `webhooks.rs`): the shapes here document the wire format; the parsers
//! in the domain core (`vcsm::sources::segment`, `vcsm::sources::stripe`, `vcsm::sources::tickets`) enforce it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A Segment message (`identify`, `group`, `track`, `page`), as Segment's HTTP API sends.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SegmentMessage {
    /// In a batch: identify, group, track or page.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The user's id in your product; this or `anonymousId` is required.
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// `track`: the event name (required).
    pub event: Option<String>,
    /// `page`: the page name.
    pub name: Option<String>,
    /// `group`: the account's id (the customer's external id; required).
    pub group_id: Option<String>,
    #[schema(value_type = Object)]
    pub properties: Option<Value>,
    #[schema(value_type = Object)]
    pub traits: Option<Value>,
    /// `context.groupId` ties a `track` or `page` to an account.
    #[schema(value_type = Object)]
    pub context: Option<Value>,
    /// ISO-8601; when it happened (default: when received). Backfills keep their time.
    pub timestamp: Option<String>,
    /// Your id for the message: a repeat is acknowledged and not stored twice.
    pub message_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SegmentBatch {
    pub batch: Vec<SegmentMessage>,
    /// Merged under each message's own context.
    #[schema(value_type = Object)]
    pub context: Option<Value>,
}

/// One problem with a request.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// Where: `event`, `batch[3].timestamp`.
    pub path: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Outcome {
    pub stored: u64,
    pub linked: u64,
    pub duplicates: u64,
    pub quarantined: u64,
}

#[derive(Serialize, ToSchema)]
pub struct IngestAnswer {
    pub success: bool,
    pub outcome: Option<Outcome>,
    /// Every problem, by field path (400).
    pub errors: Vec<Problem>,
}

/// A ticket from any helpdesk.
#[derive(Serialize, ToSchema)]
pub struct TicketInput {
    /// The helpdesk's ticket id (required): repeated updates of it are upserts.
    pub id: String,
    /// The account's external id; this or `requester_email` is required.
    pub customer_external_id: Option<String>,
    pub requester_email: Option<String>,
    /// Up to 500 characters (required).
    pub subject: String,
    /// Up to 64 KB; scored for sentiment and cancellation intent.
    pub body: Option<String>,
    /// new, open, pending, on_hold, solved, closed (default open).
    pub status: Option<String>,
    /// low, normal, high, urgent (default normal).
    pub priority: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub solved_at: Option<String>,
    /// good, bad, or a rating 1–5.
    #[schema(value_type = Option<String>)]
    pub satisfaction: Option<Value>,
    pub tags: Option<Vec<String>>,
}

/// What a webhook delivery did.
#[derive(Serialize, ToSchema)]
pub struct WebhookAnswer {
    pub received: bool,
    /// `{"outcome": "applied" | "duplicate" | "ignored" | "held", "detail": "…"}`.
    #[schema(value_type = Object)]
    pub result: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookError {
    pub error: String,
}

macro_rules! segment_endpoint {
    ($name:ident, $path:literal, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = "Tracking API (Segment-compatible)",
            request_body = SegmentMessage,
            responses(
                (status = 200, description = "Stored (after the commit)", body = IngestAnswer),
                (status = 400, description = "Every problem by field path; nothing stored", body = IngestAnswer),
                (status = 401, description = "No valid write key", body = IngestAnswer),
                (status = 413, description = "Body over 500 KB"),
                (status = 503, description = "Could not store; nothing kept, retry", body = IngestAnswer)),
            security(("write_key" = [])))]
        pub fn $name() {}
    };
}

segment_endpoint!(
    identify,
    "/v1/identify",
    "Who a user is (traits fill in the contact)."
);
segment_endpoint!(
    group,
    "/v1/group",
    "Ties a user to an account (groupId = the customer's external id)."
);
segment_endpoint!(track, "/v1/track", "An event a user did.");
segment_endpoint!(page, "/v1/page", "A page a user viewed.");

/// Up to 500 KB of messages; valid ones are stored, invalid ones reported by index (400).
#[utoipa::path(post, path = "/v1/batch", tag = "Tracking API (Segment-compatible)",
    request_body = SegmentBatch,
    responses(
        (status = 200, description = "All stored", body = IngestAnswer),
        (status = 400, description = "Some invalid (reported by index); the valid ones are stored", body = IngestAnswer),
        (status = 401, description = "No valid write key", body = IngestAnswer),
        (status = 413, description = "Body over 500 KB")),
    security(("write_key" = [])))]
pub fn batch() {}

/// A ticket from any helpdesk, matched to a customer and scored.
#[utoipa::path(post, path = "/v1/tickets", tag = "Support",
    request_body = TicketInput,
    responses(
        (status = 200, description = "Applied, duplicate, ignored (older than what we have) or held (no customer yet)", body = WebhookAnswer),
        (status = 400, description = "Every problem by field path", body = WebhookError),
        (status = 401, description = "No valid write key", body = WebhookError)),
    security(("write_key" = [])))]
pub fn tickets() {}

/// Stripe's webhook events (customer.*, customer.subscription.*, invoice.paid,
/// invoice.payment_failed, charge.refunded), verified by `Stripe-Signature`.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "Webhooks",
    request_body(content = Object, description = "A Stripe event object"),
    params(("Stripe-Signature" = String, Header, description = "t=…,v1=… (HMAC-SHA256 of `t.payload`)")),
    responses(
        (status = 200, description = "Applied, duplicate, ignored or held", body = WebhookAnswer),
        (status = 400, description = "Bad signature or payload; nothing changed", body = WebhookError),
        (status = 503, description = "No signing secret configured", body = WebhookError)))]
pub fn stripe() {}

/// Zendesk webhooks (event subscriptions or a trigger's JSON body).
#[utoipa::path(post, path = "/webhooks/zendesk", tag = "Webhooks",
    request_body(content = Object, description = "A Zendesk ticket event"),
    params(
        ("X-Zendesk-Webhook-Signature" = String, Header, description = "base64 HMAC-SHA256 of timestamp + body"),
        ("X-Zendesk-Webhook-Signature-Timestamp" = String, Header, description = "ISO-8601, within 5 minutes")),
    responses(
        (status = 200, description = "Applied, duplicate, ignored or held", body = WebhookAnswer),
        (status = 400, description = "Bad signature or payload; nothing changed", body = WebhookError),
        (status = 503, description = "No signing secret configured", body = WebhookError)))]
pub fn zendesk() {}

/// Intercom conversation webhooks.
#[utoipa::path(post, path = "/webhooks/intercom", tag = "Webhooks",
    request_body(content = Object, description = "An Intercom notification_event"),
    params(("X-Hub-Signature" = String, Header, description = "sha1=<hex HMAC-SHA1 of the body with the client secret>")),
    responses(
        (status = 200, description = "Applied, duplicate, ignored or held", body = WebhookAnswer),
        (status = 400, description = "Bad signature or payload; nothing changed", body = WebhookError),
        (status = 503, description = "No client secret configured", body = WebhookError)))]
pub fn intercom() {}
