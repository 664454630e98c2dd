//! Alerts against a real database: each rule fires once per episode of its condition
//! (not again while it holds, even after resolving; again when it clears and returns),
//! never two unresolved alerts of one rule for a customer, assigned to the owner; and the
//! inbox's handling (acknowledge, snooze, resolve with a note; refusals; roles).

mod common;

use app::backend::entities::{alert, customer, subscription, support_ticket, user};
use app::backend::health;
use chrono::{Duration, Utc};
use common::{spawn_app, TestApp};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

async fn rescore(app: &TestApp, id: i64) {
    let now = Utc::now();
    health::score_customers(&app.db, &app.state.portfolio, Some(&[id]), now, now)
        .await
        .unwrap();
}

async fn alerts_of(app: &TestApp, id: i64) -> Vec<alert::Model> {
    alert::Entity::find()
        .filter(alert::Column::CustomerId.eq(id))
        .all(&app.db)
        .await
        .unwrap()
}

fn count(alerts: &[alert::Model], rule: &str) -> usize {
    alerts.iter().filter(|a| a.rule == rule).count()
}

async fn set_payment(app: &TestApp, status: &str) {
    let sub = subscription::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut sub: subscription::ActiveModel = sub.into();
    sub.payment_status = Set(status.into());
    sub.update(&app.db).await.unwrap();
}

/// A customer owned by the signed-in CSM, whose usage stopped, whose payment fails, and
/// who wrote an angry ticket about leaving.
async fn troubled(app: &TestApp) -> i64 {
    let id = app.create_customer("Acme", "acct_1").await;
    let owner = user::Entity::find()
        .filter(user::Column::Email.eq("csm@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut c: customer::ActiveModel = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    c.owner_id = Set(Some(owner.id));
    c.update(&app.db).await.unwrap();
    let now = Utc::now();
    let mut csv = String::from("customer_external_id,event,occurred_at\n");
    for d in 30..50 {
        csv.push_str(&format!(
            "acct_1,Signed In,{}\n",
            (now - Duration::days(d)).to_rfc3339()
        ));
    }
    csv.push_str(&format!(
        "acct_1,Signed In,{}\n",
        (now - Duration::days(2)).to_rfc3339()
    ));
    let report = app.import_report("Events", &csv).await;
    assert_eq!(report["imported"], 21, "{report}");
    subscription::ActiveModel {
        customer_id: Set(id),
        external_id: Set(Some("sub_1".into())),
        status: Set("past_due".into()),
        billing_interval: Set("month".into()),
        unit_amount_minor: Set(50_000),
        quantity: Set(1),
        mrr_minor: Set(50_000),
        currency: Set("USD".into()),
        started_at: Set(now - Duration::days(300)),
        updated_at: Set(now),
        payment_status: Set("failing".into()),
        failed_attempts: Set(1),
        cancel_at_period_end: Set(false),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    support_ticket::ActiveModel {
        customer_id: Set(id),
        source: Set("api".into()),
        subject: Set("We will cancel".into()),
        body: Set("…".into()),
        status: Set("open".into()),
        priority: Set("urgent".into()),
        opened_at: Set(now - Duration::days(1)),
        sentiment: Set(Some(-0.8)),
        cancellation_intent: Set(true),
        updated_at: Set(now),
        tags: Set(String::new()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn each_condition_opens_one_alert_per_episode() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = troubled(&app).await;
    rescore(&app, id).await;
    let first = alerts_of(&app, id).await;
    for rule in [
        "usage_drop",
        "payment_failed",
        "negative_ticket",
        "cancellation_intent",
    ] {
        assert_eq!(count(&first, rule), 1, "{rule}: {first:?}");
    }
    assert!(first
        .iter()
        .all(|a| a.status == "open" && a.owner_id.is_some()));
    let payment = first.iter().find(|a| a.rule == "payment_failed").unwrap();
    assert!(
        payment.title.contains("payment failed"),
        "{}",
        payment.title
    );

    // Evaluated again and again while the conditions hold: nothing new.
    rescore(&app, id).await;
    rescore(&app, id).await;
    assert_eq!(alerts_of(&app, id).await.len(), first.len());

    // Resolved while the payment still fails: the same episode, no new alert.
    let res = app
        .post_json(
            "act_on_alert",
            json!({ "alert_id": payment.id, "action": { "action": "resolve" }, "note": "Card updated by the customer" }),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    rescore(&app, id).await;
    assert_eq!(count(&alerts_of(&app, id).await, "payment_failed"), 1);

    // The payment recovers (the condition clears), then fails again: a new episode.
    set_payment(&app, "good").await;
    rescore(&app, id).await;
    assert_eq!(count(&alerts_of(&app, id).await, "payment_failed"), 1);
    set_payment(&app, "delinquent").await;
    rescore(&app, id).await;
    let now = alerts_of(&app, id).await;
    assert_eq!(count(&now, "payment_failed"), 2);
    let newest = now
        .iter()
        .filter(|a| a.rule == "payment_failed")
        .max_by_key(|a| a.id)
        .unwrap();
    assert_eq!(newest.status, "open");
    assert!(newest.title.contains("money is owed"), "{}", newest.title);

    // An acknowledged alert stays the only unresolved one of its rule, whatever happens.
    let usage = now.iter().find(|a| a.rule == "usage_drop").unwrap();
    let res = app
        .post_json(
            "act_on_alert",
            json!({ "alert_id": usage.id, "action": { "action": "acknowledge" }, "note": null }),
        )
        .await;
    assert_eq!(res.status(), 200);
    set_payment(&app, "good").await;
    rescore(&app, id).await;
    set_payment(&app, "failing").await;
    rescore(&app, id).await;
    assert_eq!(count(&alerts_of(&app, id).await, "usage_drop"), 1);
}

#[tokio::test]
async fn the_inbox_handles_alerts_with_notes_and_refuses_what_is_wrong() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = troubled(&app).await;
    rescore(&app, id).await;
    let list = |filter: &'static str, mine: bool| {
        let app = &app;
        async move {
            let res = app
                .post_form(
                    "list_alerts",
                    &[
                        ("filter", filter),
                        ("mine", if mine { "true" } else { "false" }),
                        ("page", "0"),
                    ],
                )
                .await;
            assert_eq!(res.status(), 200);
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    let active = list("active", false).await;
    let total = active["total"].as_u64().unwrap();
    assert!(total >= 4, "{active}");
    assert_eq!(
        list("active", true).await["total"],
        total,
        "all the owner's"
    );
    let first = &active["alerts"][0];
    assert_eq!(first["customer_name"], "Acme");
    assert_eq!(first["owner"], "csm");
    let alert_id = first["id"].as_i64().unwrap();
    let counts: serde_json::Value = app
        .post_form("alert_counts", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(counts, json!([total, total]));

    let act = |action: serde_json::Value, note: Option<&'static str>| {
        let app = &app;
        async move {
            app.post_json(
                "act_on_alert",
                json!({ "alert_id": alert_id, "action": action, "note": note }),
            )
            .await
        }
    };
    // Refusals change nothing.
    let res = act(json!({ "action": "resolve" }), Some("   ")).await;
    assert_eq!(res.status(), 422);
    assert_eq!(common::validation_fields(res).await, ["note"]);
    let res = act(json!({ "action": "snooze", "days": 0 }), None).await;
    assert_eq!(res.status(), 422);
    assert_eq!(common::validation_fields(res).await, ["days"]);
    let res = act(json!({ "action": "snooze", "days": 120 }), None).await;
    assert_eq!(res.status(), 422);
    let row = alert::Entity::find_by_id(alert_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "open");

    // Snoozed: out of the active list until its time.
    let res = act(
        json!({ "action": "snooze", "days": 2 }),
        Some("Call on Monday"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(list("active", false).await["total"], total - 1);
    let snoozed = list("snoozed", false).await;
    assert_eq!(snoozed["total"], 1);
    assert_eq!(snoozed["alerts"][0]["note"], "Call on Monday");
    assert_eq!(snoozed["alerts"][0]["handled_by"], "csm");

    // Resolved with a note: final.
    assert_eq!(
        act(json!({ "action": "resolve" }), Some("Called; they stay"))
            .await
            .status(),
        200
    );
    assert_eq!(list("resolved", false).await["total"], 1);
    assert_eq!(
        act(json!({ "action": "acknowledge" }), None).await.status(),
        409
    );
    let res = app
        .post_json(
            "act_on_alert",
            json!({ "alert_id": 999_999, "action": { "action": "acknowledge" }, "note": null }),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .post_form(
            "list_alerts",
            &[("filter", "everything"), ("mine", "false"), ("page", "0")],
        )
        .await;
    assert_eq!(res.status(), 422);

    // Executives read the inbox but don't handle alerts.
    app.sign_in_as("exec@example.com", "executive").await;
    assert_eq!(list("active", false).await["total"], total - 1);
    assert_eq!(list("active", true).await["total"], 0, "none are theirs");
    let other = list("active", false).await["alerts"][0]["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post_json(
            "act_on_alert",
            json!({ "alert_id": other, "action": { "action": "acknowledge" }, "note": null }),
        )
        .await;
    assert_eq!(res.status(), 403);
}
