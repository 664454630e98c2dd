//! The Segment-compatible tracking API over real HTTP: write keys, validation, account
//! resolution, idempotency, backfills, quarantine and limits.

use crate::common;

use app::backend::entities::{contact, customer, quarantined_event, usage_event};
use common::{spawn_app, TestApp};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

struct Source {
    key: String,
}

async fn source(app: &TestApp, can_create_customers: bool) -> Source {
    let s = app::backend::ingest::create_source(
        &app.db,
        None,
        "web app",
        can_create_customers,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(s.write_key.starts_with("wk_"));
    Source { key: s.write_key }
}

async fn send(app: &TestApp, src: &Source, kind: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/v1/{kind}")))
        .basic_auth(&src.key, Some(""))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn events(app: &TestApp) -> u64 {
    usage_event::Entity::find().count(&app.db).await.unwrap()
}

async fn acme(app: &TestApp) -> i64 {
    app.sign_in_as("csm@example.com", "csm").await;
    app.create_customer("Acme", "acct_1").await
}

#[tokio::test]
async fn write_key_is_required_and_checked() {
    let app = spawn_app().await;
    let _src = source(&app, false).await;
    let res = app
        .client
        .post(app.url("/v1/track"))
        .json(&json!({"userId": "u", "event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let wrong = Source {
        key: "wk_not_a_key".into(),
    };
    assert_eq!(
        send(&app, &wrong, "track", json!({"userId": "u", "event": "x"}))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn a_revoked_or_rotated_key_stops_working_at_once() {
    let app = spawn_app().await;
    acme(&app).await;
    let src = source(&app, false).await;
    let track = json!({"userId": "u", "event": "x", "context": {"groupId": "acct_1"}});
    // Used once, so the server has it in its cache of live keys.
    assert_eq!(send(&app, &src, "track", track.clone()).await.0, 200);
    app.sign_in_as("root@example.com", "admin").await;
    let id = app::backend::entities::source::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = app
        .post_form("rotate_source_key", &[("id", &id.to_string())])
        .await;
    assert_eq!(res.status(), 200);
    let rotated = Source {
        key: res.json::<Value>().await.unwrap()["write_key"]
            .as_str()
            .unwrap()
            .to_string(),
    };
    assert_eq!(
        send(&app, &src, "track", track.clone()).await.0,
        401,
        "old key"
    );
    assert_eq!(send(&app, &rotated, "track", track.clone()).await.0, 200);
    let res = app
        .post_form("revoke_source", &[("id", &id.to_string())])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(send(&app, &rotated, "track", track).await.0, 401, "revoked");
}

#[tokio::test]
async fn bad_messages_get_400_with_every_problem_and_store_nothing() {
    let app = spawn_app().await;
    let src = source(&app, false).await;
    let (status, body) = send(
        &app,
        &src,
        "track",
        json!({"event": "", "timestamp": "soon", "properties": 3}),
    )
    .await;
    assert_eq!(status, 400);
    let paths = common::error_paths(&body);
    assert_eq!(paths, vec!["userId", "timestamp", "event", "properties"]);
    let res = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth(&src.key, Some(""))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(events(&app).await, 0);
}

#[tokio::test]
async fn track_lands_on_the_customer_once_and_backfills_keep_their_time() {
    let app = spawn_app().await;
    let id = acme(&app).await;
    let src = source(&app, false).await;
    let msg = json!({"userId": "u1", "event": "Report Created", "messageId": "m-1", "context": {"groupId": "acct_1"}, "properties": {"kind": "usage"}, "timestamp": "2023-02-03T04:05:06Z"});
    let (status, body) = send(&app, &src, "track", msg.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"]["stored"], 1);
    let (status, body) = send(&app, &src, "track", msg).await;
    assert_eq!(
        (status, body["outcome"]["duplicates"].as_u64()),
        (200, Some(1)),
        "a retry is acknowledged, not stored twice"
    );
    assert_eq!(events(&app).await, 1);
    let e = usage_event::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.customer_id, e.name.as_str()), (id, "Report Created"));
    assert_eq!(
        e.occurred_at.to_rfc3339(),
        "2023-02-03T04:05:06+00:00",
        "placed by its own time"
    );
    assert!(e.received_at > e.occurred_at);
    // An old event does not move the customer's last activity backwards once newer exists.
    send(
        &app,
        &src,
        "track",
        json!({"userId": "u1", "event": "Logged In", "context": {"groupId": "acct_1"}}),
    )
    .await;
    send(&app, &src, "track", json!({"userId": "u1", "event": "Old", "context": {"groupId": "acct_1"}, "timestamp": "2020-01-01T00:00:00Z"})).await;
    app.flush().await;
    let c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(c.last_seen_at.unwrap() > chrono::Utc::now() - chrono::Duration::minutes(5));
    // Without a messageId, an identical retry is still recognised.
    let plain = json!({"userId": "u1", "event": "No Id", "context": {"groupId": "acct_1"}, "timestamp": "2024-01-01T00:00:00Z"});
    send(&app, &src, "track", plain.clone()).await;
    let (_, body) = send(&app, &src, "track", plain).await;
    assert_eq!(body["outcome"]["duplicates"], 1);
    // The event shows on the customer's timeline, in its day's line, and in the chart.
    let detail: Value = app
        .post_form("get_customer", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    let usage: Vec<&Value> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "Usage")
        .collect();
    assert!(
        usage.iter().any(
            |t| t["title"].as_str().unwrap().starts_with("Product usage: ")
                && t["detail"].as_str().unwrap().contains("Report Created ×1")
        ),
        "{usage:?}"
    );
    let weeks = detail["weekly_usage"].as_array().unwrap();
    assert_eq!(weeks.len(), 26);
    assert!(weeks.last().unwrap()["events"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn group_ties_users_to_accounts_and_identify_fills_contacts() {
    let app = spawn_app().await;
    let id = acme(&app).await;
    let src = source(&app, false).await;
    let (status, body) = send(
        &app,
        &src,
        "group",
        json!({"userId": "u7", "groupId": "acct_1"}),
    )
    .await;
    assert_eq!((status, body["outcome"]["linked"].as_u64()), (200, Some(1)));
    let (status, _) = send(&app, &src, "identify", json!({"userId": "u7", "traits": {"name": "Grace Hopper", "email": "Grace@Acme.com", "title": "CTO"}})).await;
    assert_eq!(status, 200);
    let k = contact::Entity::find()
        .filter(contact::Column::ExternalUserId.eq("u7"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (k.customer_id, k.name.as_str(), k.email.as_deref()),
        (id, "Grace Hopper", Some("grace@acme.com"))
    );
    // Now a track without context.groupId resolves through the user.
    let (_, body) = send(
        &app,
        &src,
        "track",
        json!({"userId": "u7", "event": "Logged In"}),
    )
    .await;
    assert_eq!(body["outcome"]["stored"], 1);
    let e = usage_event::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.contact_id, Some(k.id));
}

#[tokio::test]
async fn unresolved_events_are_quarantined_with_a_reason_and_sources_may_create_customers() {
    let app = spawn_app().await;
    let strict = source(&app, false).await;
    let (status, body) = send(
        &app,
        &strict,
        "track",
        json!({"userId": "nobody", "event": "Logged In"}),
    )
    .await;
    assert_eq!(
        (status, body["outcome"]["quarantined"].as_u64()),
        (200, Some(1))
    );
    let (_, body) = send(
        &app,
        &strict,
        "group",
        json!({"userId": "u", "groupId": "acct_new"}),
    )
    .await;
    assert_eq!(body["outcome"]["quarantined"], 1);
    let q = quarantined_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(q.len(), 2);
    assert!(
        q[0].reason.contains("belongs to no customer"),
        "{}",
        q[0].reason
    );
    assert_eq!(
        q[0].payload["event"], "Logged In",
        "the whole message is kept for replay"
    );
    assert_eq!(events(&app).await, 0);

    let app2 = spawn_app().await;
    let open = source(&app2, true).await;
    send(
        &app2,
        &open,
        "group",
        json!({"userId": "u", "groupId": "acct_new", "traits": {"name": "New Co"}}),
    )
    .await;
    let c = customer::Entity::find()
        .filter(customer::Column::ExternalId.eq("acct_new"))
        .one(&app2.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.name.as_str(), c.stage.as_str()),
        ("New Co", "onboarding")
    );
}

#[tokio::test]
async fn batch_stores_the_valid_and_reports_the_invalid_by_index() {
    let app = spawn_app().await;
    acme(&app).await;
    let src = source(&app, false).await;
    let (status, body) = send(
        &app,
        &src,
        "batch",
        json!({"context": {"groupId": "acct_1"}, "batch": [
            {"type": "track", "userId": "u", "event": "A", "messageId": "b1"},
            {"type": "track", "userId": "u"},
            {"type": "page", "userId": "u", "name": "Pricing", "messageId": "b3"},
            {"type": "nope", "userId": "u"}
        ]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["outcome"]["stored"], 2);
    let paths = common::error_paths(&body);
    assert_eq!(paths, vec!["batch[1].event", "batch[3].type"]);
    let page = usage_event::Entity::find()
        .filter(usage_event::Column::Name.eq("Page Viewed"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.properties["name"], "Pricing");
}

#[tokio::test]
async fn segment_size_limits_are_enforced() {
    let app = spawn_app().await;
    let src = source(&app, false).await;
    let big = "x".repeat(40 * 1024);
    let (status, body) = send(
        &app,
        &src,
        "track",
        json!({"userId": "u", "event": "e", "properties": {"blob": big}}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("32 KB"));
    let huge: Vec<Value> = (0..30).map(|_| json!({"type": "track", "userId": "u", "event": "e", "properties": {"blob": "y".repeat(20 * 1024)}})).collect();
    let res = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&src.key, Some(""))
        .json(&json!({ "batch": huge }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(events(&app).await, 0);
}
