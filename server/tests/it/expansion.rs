//! Expansion signals against a real database: plans edited whole or not at all; a
//! customer nearing its plan's limit, then over it two windows running, then asking for a
//! bigger plan's feature; estimates from the plans; one open signal per kind; won ones
//! stay closed; signals lapse when they stop holding; the pipeline's totals.

use crate::common;

use app::backend::entities::{customer, expansion_signal, support_ticket};
use chrono::{Duration, Utc};
use common::{spawn_app, TestApp};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{json, Value};

async fn signals(app: &TestApp, id: i64) -> Vec<expansion_signal::Model> {
    expansion_signal::Entity::find()
        .filter(expansion_signal::Column::CustomerId.eq(id))
        .order_by_asc(expansion_signal::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

fn open_kinds(rows: &[expansion_signal::Model]) -> Vec<&str> {
    rows.iter()
        .filter(|s| s.status == "open")
        .map(|s| s.kind.as_str())
        .collect()
}

/// `count` events for `acct_1`, spread over days `from..to` back.
async fn events(app: &TestApp, count: usize, from: i64, to: i64) {
    let now = Utc::now();
    let mut csv = String::from("customer_external_id,event,occurred_at\n");
    for k in 0..count {
        let back = from + (k as i64 % (to - from));
        csv.push_str(&format!(
            "acct_1,Report Created,{}\n",
            (now - Duration::days(back) - Duration::minutes(k as i64)).to_rfc3339()
        ));
    }
    let report = app.import_report("Events", &csv).await;
    assert_eq!(report["imported"], count, "{report}");
}

fn plans() -> Value {
    json!([
        { "code": "business", "name": "Business", "rank": 2, "seat_price_minor": 5000,
          "seat_limit": null, "event_limit": 100, "features": [] },
        { "code": "enterprise", "name": "Enterprise", "rank": 3, "seat_price_minor": 8000,
          "seat_limit": null, "event_limit": null, "features": ["SSO", "audit log"] },
    ])
}

#[tokio::test]
async fn signals_follow_the_plan_limits_and_requests_with_estimates() {
    let app = spawn_app().await;
    app.sign_in_as("admin@example.com", "admin").await;

    // Plans: refused whole when one is wrong, saved whole when right.
    let mut bad = plans();
    bad[1]["rank"] = json!(2);
    bad[0]["event_limit"] = json!(0);
    let res = app.post_json("save_plans", json!({ "plans": bad })).await;
    assert_eq!(
        common::validation_fields(res).await,
        ["plans[0].event_limit", "plans[1].rank"]
    );
    let res = app.post_form("expansion_pipeline", &[("page", "0")]).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["plans"], json!([]));
    let res = app
        .post_json("save_plans", json!({ "plans": plans() }))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // A Business customer (25 seats) at 90 % of its 100 events.
    let id = app.create_customer("Acme", "acct_1").await;
    events(&app, 90, 1, 20).await;
    app.rescore(id).await;
    let got = signals(&app, id).await;
    assert_eq!(open_kinds(&got), ["near_limit"], "{got:?}");
    // (80.00 − 50.00) × 25 seats × 12 months.
    assert_eq!(got[0].uplift_minor, 900_000);
    assert_eq!(got[0].currency, "USD");
    assert!((got[0].confidence - 0.55).abs() < 1e-9);
    assert!(got[0].title.contains("Enterprise"), "{}", got[0].title);

    // Over the limit this window and the one before: overage; "near" lapses.
    events(&app, 30, 1, 20).await;
    events(&app, 110, 30, 50).await;
    app.rescore(id).await;
    let got = signals(&app, id).await;
    assert_eq!(open_kinds(&got), ["overage"], "{got:?}");
    assert_eq!(got[0].status, "lapsed");
    assert!(got[0].closed_at.is_some());

    // A ticket asking for SSO, only on Enterprise.
    let now = Utc::now();
    support_ticket::ActiveModel {
        customer_id: Set(id),
        source: Set("api".into()),
        subject: Set("Feature request".into()),
        body: Set("Could we get SSO with Okta for the whole team?".into()),
        status: Set("open".into()),
        priority: Set("normal".into()),
        opened_at: Set(now - Duration::days(2)),
        cancellation_intent: Set(false),
        updated_at: Set(now),
        tags: Set(String::new()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    app.rescore(id).await;
    app.rescore(id).await;
    let got = signals(&app, id).await;
    assert_eq!(
        open_kinds(&got),
        ["overage", "feature_request"],
        "one open signal per kind however often scored: {got:?}"
    );

    // The pipeline: largest weighted first, totals over every open signal.
    let res = app.post_form("expansion_pipeline", &[("page", "0")]).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["signals"][0]["kind"], "overage");
    assert_eq!(page["signals"][0]["customer_name"], "Acme");
    assert_eq!(page["totals"][0]["uplift_minor"], 1_800_000);
    // 900,000 × 0.8 + 900,000 × 0.5.
    assert_eq!(page["totals"][0]["weighted_minor"], 1_170_000);

    // Won: closed, audited, and not reopened while it still holds.
    let overage = got.iter().find(|s| s.kind == "overage").unwrap();
    let res = app
        .post_json(
            "act_on_signal",
            json!({ "signal_id": overage.id, "action": "won", "note": "Upgraded to Enterprise" }),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app
        .post_json(
            "act_on_signal",
            json!({ "signal_id": overage.id, "action": "dismiss", "note": null }),
        )
        .await;
    assert_eq!(res.status(), 409);
    app.rescore(id).await;
    let got = signals(&app, id).await;
    assert_eq!(open_kinds(&got), ["feature_request"], "{got:?}");

    // On the biggest plan nothing is left to sell: the request lapses.
    let mut c: customer::ActiveModel = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    c.plan = Set(Some("Enterprise".into()));
    c.update(&app.db).await.unwrap();
    app.rescore(id).await;
    assert_eq!(open_kinds(&signals(&app, id).await), Vec::<&str>::new());

    // Only admins edit plans; executives read the pipeline but can't act.
    app.sign_in_as("exec@example.com", "executive").await;
    let res = app
        .post_json("save_plans", json!({ "plans": plans() }))
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_form(
            "expansion_pipeline",
            &[("customer_id", &id.to_string()), ("page", "0")],
        )
        .await;
    assert_eq!(res.status(), 200);
}
