//! Support tickets over real HTTP: Zendesk and Intercom webhooks with real signatures, the
//! generic tickets API, customer matching, sentiment and cancellation intent, upserts that
//! never go backwards, the hold for unmatched tickets; Slack notifications against a
//! local stand-in of Slack's incoming-webhook endpoint.

use crate::common;

use app::backend::entities::support_ticket;
use common::{slack_stand_in, spawn_app, TestApp};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const ZENDESK_SECRET: &str = "dGhpc19zaWduaW5nX3NlY3JldA";
const INTERCOM_SECRET: &str = "intercom_client_secret_42";

async fn admin_app() -> TestApp {
    let app = spawn_app().await;
    app.sign_in_as("admin@example.com", "admin").await;
    for (name, secret) in [("zendesk", ZENDESK_SECRET), ("intercom", INTERCOM_SECRET)] {
        let res = app
            .post_form(
                "set_integration_secret",
                &[("name", name), ("secret", secret)],
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    app
}

async fn acme(app: &TestApp) -> i64 {
    app.create_customer("Acme", "acct_1").await
}

async fn zendesk(app: &TestApp, payload: &Value, secret: &str) -> (u16, Value) {
    let body = payload.to_string();
    let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let signature = vcsm::sources::tickets::sign_zendesk(body.as_bytes(), secret, &ts);
    let res = app
        .client
        .post(app.url("/webhooks/zendesk"))
        .header("X-Zendesk-Webhook-Signature", signature)
        .header("X-Zendesk-Webhook-Signature-Timestamp", ts)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// A Zendesk event-subscription delivery, shaped as Zendesk documents it.
fn zendesk_event(
    event_id: &str,
    kind: &str,
    status: &str,
    updated_at: &str,
    description: &str,
) -> Value {
    json!({
        "account_id": 22129848,
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": "8447388090494",
            "brand_id": "8447346621310",
            "created_at": "2025-01-08T10:12:07Z",
            "custom_status": "8447388125310",
            "description": description,
            "external_id": null,
            "form_id": "8646151517822",
            "group_id": "8447346640926",
            "id": "5158",
            "is_public": true,
            "organization_id": "acct_1",
            "priority": "HIGH",
            "requester_id": "8447388090494",
            "status": status,
            "subject": "Export keeps failing",
            "submitter_id": "8447388090494",
            "tags": ["export", "bug"],
            "type": "INCIDENT",
            "updated_at": updated_at,
            "via": { "channel": "web_service" }
        },
        "event": {},
        "id": event_id,
        "subject": "zen:ticket:5158",
        "time": updated_at,
        "type": kind,
        "zendesk_event_version": "2022-11-06"
    })
}

async fn ticket(app: &TestApp, source: &str, external_id: &str) -> Option<support_ticket::Model> {
    support_ticket::Entity::find()
        .filter(support_ticket::Column::Source.eq(source))
        .filter(support_ticket::Column::ExternalId.eq(external_id))
        .one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn zendesk_tickets_are_verified_scored_and_never_go_backwards() {
    let app = admin_app().await;
    let id = acme(&app).await;
    let created = zendesk_event(
        "01JH0A2B3C4D5E6F7G8H9J0K1M",
        "zen:event-type:ticket.created",
        "OPEN",
        "2025-01-08T10:12:07Z",
        "The export has failed for three days and we are losing patience. Honestly this is too expensive for what we get, we are looking at alternatives.",
    );
    // Signed with another secret: refused, nothing stored.
    let (status, _) = zendesk(&app, &created, "not-the-secret").await;
    assert_eq!(status, 400);
    assert!(ticket(&app, "zendesk", "5158").await.is_none());

    let (status, answer) = zendesk(&app, &created, ZENDESK_SECRET).await;
    assert_eq!(
        (status, answer["result"]["outcome"].as_str()),
        (200, Some("applied")),
        "{answer}"
    );
    let t = ticket(&app, "zendesk", "5158").await.expect("stored");
    assert_eq!(
        (t.customer_id, t.status.as_str(), t.priority.as_str()),
        (id, "open", "high")
    );
    assert!(
        t.sentiment.unwrap() < -0.05,
        "a complaint reads negative: {:?}",
        t.sentiment
    );
    assert!(
        t.cancellation_intent,
        "“too expensive” and “looking at alternatives”"
    );
    assert!(t.intent_phrases.unwrap().contains("too expensive"));

    // Redelivery is recognised.
    let (_, answer) = zendesk(&app, &created, ZENDESK_SECRET).await;
    assert_eq!(answer["result"]["outcome"], "duplicate");

    // Solved later; then an older status change arrives late and is ignored.
    let solved = zendesk_event(
        "01JH0A2B3C4D5E6F7G8H9J0K1N",
        "zen:event-type:ticket.status_changed",
        "SOLVED",
        "2025-01-09T09:00:00Z",
        "",
    );
    zendesk(&app, &solved, ZENDESK_SECRET).await;
    let stale = zendesk_event(
        "01JH0A2B3C4D5E6F7G8H9J0K1P",
        "zen:event-type:ticket.status_changed",
        "PENDING",
        "2025-01-08T12:00:00Z",
        "",
    );
    let (_, answer) = zendesk(&app, &stale, ZENDESK_SECRET).await;
    assert_eq!(answer["result"]["outcome"], "ignored", "{answer}");
    let t = ticket(&app, "zendesk", "5158").await.unwrap();
    assert_eq!(t.status, "solved");
    assert!(
        t.cancellation_intent,
        "a status-only update keeps the scores"
    );
    assert_eq!(
        support_ticket::Entity::find().count(&app.db).await.unwrap(),
        1,
        "one ticket, updated in place"
    );
}

#[tokio::test]
async fn intercom_conversations_resolve_through_the_contact() {
    let app = admin_app().await;
    let id = acme(&app).await;
    // The contact is known by e-mail.
    let res = app
        .post_form(
            "add_contact",
            &[
                ("customer_id", &id.to_string()),
                ("contact[name]", "Grace"),
                ("contact[email]", "grace@acme.example.com"),
                ("contact[title]", ""),
                ("contact[role]", "champion"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let payload = json!({
        "type": "notification_event",
        "app_id": "abc123",
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "1911149811",
                "created_at": 1_704_067_200,
                "updated_at": 1_704_067_500,
                "title": null,
                "state": "open",
                "open": true,
                "priority": "priority",
                "source": {
                    "type": "conversation",
                    "id": "403918396",
                    "delivered_as": "customer_initiated",
                    "subject": "",
                    "body": "<p>We love the dashboards, thank you! One question: how do I add a teammate?</p>",
                    "author": { "type": "user", "id": "5d70dd30de4efd54f42fd526", "name": "Grace", "email": "grace@acme.example.com" }
                },
                "contacts": { "type": "contact.list", "contacts": [{ "type": "contact", "id": "5d70dd30de4efd54f42fd526", "external_id": null }] },
                "conversation_rating": null,
                "conversation_parts": { "type": "conversation_part.list", "conversation_parts": [], "total_count": 0 },
                "tags": { "type": "tag.list", "tags": [] }
            }
        },
        "links": {},
        "id": "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
        "topic": "conversation.user.created",
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1_704_067_500,
        "created_at": 1_704_067_500,
        "self": null
    });
    let body = payload.to_string();
    let send = |signature: String| {
        app.client
            .post(app.url("/webhooks/intercom"))
            .header("X-Hub-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
    };
    assert_eq!(send("sha1=0000".into()).await.unwrap().status(), 400);
    let res = send(vcsm::sources::tickets::sign_intercom(
        body.as_bytes(),
        INTERCOM_SECRET,
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let t = ticket(&app, "intercom", "1911149811")
        .await
        .expect("stored");
    assert_eq!(t.customer_id, id);
    assert!(t.sentiment.unwrap() > 0.05, "a thank-you reads positive");
    assert!(!t.cancellation_intent);
    assert!(!t.body.contains("<p>"), "HTML is stripped: {}", t.body);
}

async fn post_ticket(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/v1/tickets"))
        .basic_auth(key, Some(""))
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_tickets_api_validates_holds_and_replays() {
    let app = admin_app().await;
    let key =
        app::backend::ingest::create_source(&app.db, None, "helpdesk", false, chrono::Utc::now())
            .await
            .unwrap()
            .write_key;
    let res = app
        .client
        .post(app.url("/v1/tickets"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Every problem is named.
    let (status, answer) = post_ticket(&app, &key, json!({"status": "weird", "priority": 7})).await;
    assert_eq!(status, 400);
    let error = answer["error"].as_str().unwrap();
    for field in ["id", "subject", "status", "priority"] {
        assert!(error.contains(field), "{field} in {error}");
    }

    // No such customer yet: held.
    let ticket_json = json!({
        "id": "T-77", "customer_external_id": "acct_1", "subject": "Please cancel our subscription",
        "body": "We are switching to another vendor next month. Please cancel and refund the unused seats.",
        "priority": "urgent", "created_at": "2025-03-01T09:00:00Z", "tags": ["billing"]
    });
    let (status, answer) = post_ticket(&app, &key, ticket_json.clone()).await;
    assert_eq!(
        (status, answer["result"]["outcome"].as_str()),
        (200, Some("held")),
        "{answer}"
    );
    assert!(ticket(&app, "api", "T-77").await.is_none());

    let id = acme(&app).await;
    let replay: Value = app
        .post_form("replay_webhooks", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replay["applied"], 1, "{replay}");
    let t = ticket(&app, "api", "T-77")
        .await
        .expect("applied on replay");
    assert_eq!(
        (t.customer_id, t.priority.as_str(), t.tags.as_str()),
        (id, "urgent", "billing")
    );
    assert!(t.cancellation_intent);

    // The REST API reads it back with a token.
    let token = app::backend::tokens::create(&app.db, "test", "executive", chrono::Utc::now())
        .await
        .unwrap()
        .token;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/customers/{id}/tickets?limit=10")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"][0]["external_id"], "T-77");
    assert_eq!(page["items"][0]["cancellation_intent"], true);
}

#[tokio::test]
async fn slack_notifications_reach_the_webhook_and_failures_are_reported() {
    let app = spawn_app().await;
    app.sign_in_as("admin@example.com", "admin").await;
    // Not configured yet: a clear answer.
    let res = app.post_form("test_slack", &[]).await;
    assert_eq!(res.status(), 502);
    assert!(res.text().await.unwrap().contains("not configured"));

    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "slack"), ("secret", "not a url")],
        )
        .await;
    assert_eq!(common::validation_fields(res).await, ["secret"]);

    let (url, received) = slack_stand_in((200, "ok")).await;
    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "slack"), ("secret", &url)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app.post_form("test_slack", &[]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0]["text"]
        .as_str()
        .unwrap()
        .contains("Virtual CSM is connected"));

    // Slack refusing (an archived channel) is an error the admin sees, and is recorded.
    let (url, _) = slack_stand_in((410, "channel_is_archived")).await;
    app.post_form(
        "set_integration_secret",
        &[("name", "slack"), ("secret", &url)],
    )
    .await;
    let res = app.post_form("test_slack", &[]).await;
    assert_eq!(res.status(), 502);
    assert!(res.text().await.unwrap().contains("channel_is_archived"));
    let page: Value = app
        .post_form("integrations_overview", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(page["errors"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("channel_is_archived"));
}
