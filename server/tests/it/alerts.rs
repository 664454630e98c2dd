//! Alerts against a real database: each rule fires once per episode of its condition
//! (not again while it holds, even after resolving; again when it clears and returns),
//! never two unresolved alerts of one rule for a customer, assigned to the owner; and the
//! inbox's handling (acknowledge, snooze, resolve with a note; refusals; roles); the
//! notification outbox delivering to Slack and e-mail (local stand-ins of both) with
//! retries; and the rule settings.

use crate::common;

use app::backend::entities::{alert, customer, notification, subscription, support_ticket, user};
use app::backend::{notify, Config};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::{slack_stand_in, smtp_stand_in, spawn_app, spawn_app_with, TestApp};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

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
    app.rescore(id).await;
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
    app.rescore(id).await;
    app.rescore(id).await;
    assert_eq!(alerts_of(&app, id).await.len(), first.len());

    // Resolved while the payment still fails: the same episode, no new alert.
    let res = app
        .post_json(
            "act_on_alert",
            json!({ "alert_id": payment.id, "action": { "action": "resolve" }, "note": "Card updated by the customer" }),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app.rescore(id).await;
    assert_eq!(count(&alerts_of(&app, id).await, "payment_failed"), 1);

    // The payment recovers (the condition clears), then fails again: a new episode.
    set_payment(&app, "good").await;
    app.rescore(id).await;
    assert_eq!(count(&alerts_of(&app, id).await, "payment_failed"), 1);
    set_payment(&app, "delinquent").await;
    app.rescore(id).await;
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
    app.rescore(id).await;
    set_payment(&app, "failing").await;
    app.rescore(id).await;
    assert_eq!(count(&alerts_of(&app, id).await, "usage_drop"), 1);
}

#[tokio::test]
async fn the_inbox_handles_alerts_with_notes_and_refuses_what_is_wrong() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = troubled(&app).await;
    app.rescore(id).await;
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

async fn notifications(app: &TestApp) -> Vec<notification::Model> {
    notification::Entity::find().all(&app.db).await.unwrap()
}

async fn deliver(app: &TestApp, at: DateTime<Utc>) -> u64 {
    let channels = notify::Channels {
        http: &app.state.http,
        meter: &app.state.meter,
        mailer: app.state.mailer.as_deref(),
        public_url: "https://csm.example.com",
    };
    notify::deliver_due(&app.db, &channels, at).await.unwrap()
}

#[tokio::test]
async fn opened_alerts_notify_slack_and_the_owner_once_with_retries() {
    let (smtp, mails) = smtp_stand_in(false).await;
    let app = spawn_app_with(Config {
        smtp_url: Some(smtp),
        mail_from: Some("Virtual CSM <alerts@csm.example.com>".into()),
        ..common::test_config()
    })
    .await;
    app.sign_in_as("admin@example.com", "admin").await;
    let (hook, posts) = slack_stand_in((200, "ok")).await;
    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "slack"), ("secret", &hook)],
        )
        .await;
    assert_eq!(res.status(), 200);
    app.sign_in_as("csm@example.com", "csm").await;
    let id = troubled(&app).await;
    app.rescore(id).await;

    // Only the rules that notify (High and Critical by default) wrote deliveries, one per
    // channel, in the alert's transaction.
    let opened = alerts_of(&app, id).await;
    let notifying: Vec<&alert::Model> = opened
        .iter()
        .filter(|a| a.severity == "high" || a.severity == "critical")
        .collect();
    assert!(notifying.len() >= 3, "{opened:?}");
    assert!(opened.iter().any(|a| a.severity == "medium"), "{opened:?}");
    let queued = notifications(&app).await;
    assert_eq!(queued.len(), notifying.len() * 2, "{queued:?}");
    assert!(queued.iter().all(|n| n.status == "pending"));
    assert!(queued
        .iter()
        .filter(|n| n.channel == "email")
        .all(|n| n.recipient == "csm@example.com"));

    let now = Utc::now();
    assert_eq!(deliver(&app, now).await, queued.len() as u64);
    let delivered = notifications(&app).await;
    assert!(
        delivered
            .iter()
            .all(|n| n.status == "sent" && n.attempts == 1),
        "{delivered:?}"
    );
    let got = mails.lock().unwrap().clone();
    assert_eq!(got.len(), notifying.len());
    assert!(got
        .iter()
        .all(|m| m.to == vec!["<csm@example.com>".to_string()]
            && m.from == "<alerts@csm.example.com>"));
    let payment = opened.iter().find(|a| a.rule == "payment_failed").unwrap();
    let mail = got
        .iter()
        .find(|m| m.data.contains(&payment.title))
        .expect("the payment alert's mail");
    assert!(mail.data.contains("Subject: [High] Acme:"), "{}", mail.data);
    assert!(
        mail.data
            .contains(&format!("https://csm.example.com/customers/{id}")),
        "{}",
        mail.data
    );
    let slack = posts.lock().unwrap().clone();
    assert_eq!(slack.len(), notifying.len());
    assert!(slack.iter().all(|p| p["text"]
        .as_str()
        .unwrap()
        .contains(&format!("<https://csm.example.com/customers/{id}|Acme>"))));

    // Nothing is sent twice: a second pass finds nothing due, and re-scoring while the
    // conditions hold opens nothing new.
    assert_eq!(deliver(&app, now + Duration::minutes(10)).await, 0);
    app.rescore(id).await;
    assert_eq!(notifications(&app).await.len(), queued.len());
    assert_eq!(mails.lock().unwrap().len(), notifying.len());
}

#[tokio::test]
async fn refused_deliveries_retry_with_back_off_then_give_up_and_unconfigured_ones_say_why() {
    let (smtp, mails) = smtp_stand_in(true).await;
    let app = spawn_app_with(Config {
        smtp_url: Some(smtp),
        ..common::test_config()
    })
    .await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = troubled(&app).await;
    app.rescore(id).await;
    let queued = notifications(&app).await;
    // No Slack webhook: e-mail only.
    assert!(!queued.is_empty() && queued.iter().all(|n| n.channel == "email"));

    // Postgres keeps microseconds.
    let mut at = Utc::now().trunc_subsecs(6);
    deliver(&app, at).await;
    let after_one = notifications(&app).await;
    for n in &after_one {
        assert_eq!((n.status.as_str(), n.attempts), ("pending", 1), "{n:?}");
        assert!(
            n.last_error
                .as_deref()
                .unwrap()
                .contains("mailbox unavailable"),
            "{n:?}"
        );
        assert_eq!(n.next_attempt_at, at + notify::backoff(1));
    }
    // Not due again before its back-off.
    assert_eq!(deliver(&app, at + Duration::seconds(30)).await, 0);
    for attempt in 2..=notify::MAX_ATTEMPTS {
        at += notify::backoff(attempt - 1);
        assert_eq!(
            deliver(&app, at).await,
            queued.len() as u64,
            "attempt {attempt}"
        );
    }
    let given_up = notifications(&app).await;
    assert!(
        given_up
            .iter()
            .all(|n| n.status == "failed" && n.attempts == notify::MAX_ATTEMPTS),
        "{given_up:?}"
    );
    assert_eq!(deliver(&app, at + Duration::days(1)).await, 0);
    assert!(mails.lock().unwrap().is_empty());

    // The jobs page counts them; an admin gives them a new round of tries.
    app.sign_in_as("admin@example.com", "admin").await;
    let page: serde_json::Value = app.post_form("list_jobs", &[]).await.json().await.unwrap();
    assert_eq!(page["notifications_failed"], queued.len());
    assert_eq!(page["notifications_pending"], 0);
    let res = app.post_form("retry_failed_notifications", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<u64>().await.unwrap(), queued.len() as u64);
    let retried = notifications(&app).await;
    assert!(
        retried
            .iter()
            .all(|n| n.status == "pending" && n.attempts == 0),
        "{retried:?}"
    );
    let page: serde_json::Value = app.post_form("list_jobs", &[]).await.json().await.unwrap();
    assert_eq!(page["notifications_failed"], 0);
    assert_eq!(page["notifications_pending"], queued.len());

    // A server without SMTP keeps the deliveries and says why they were not sent.
    let quiet = spawn_app().await;
    quiet.sign_in_as("csm@example.com", "csm").await;
    let other = troubled(&quiet).await;
    quiet.rescore(other).await;
    deliver(&quiet, Utc::now()).await;
    let skipped = notifications(&quiet).await;
    assert!(!skipped.is_empty());
    assert!(skipped.iter().all(
        |n| n.status == "skipped" && n.last_error.as_deref().unwrap().contains("VCSM_SMTP_URL")
    ));
}

#[tokio::test]
async fn admins_change_rules_whole_or_not_at_all_and_the_next_scoring_follows_them() {
    let app = spawn_app().await;
    app.sign_in_as("admin@example.com", "admin").await;
    let res = app.post_form("alert_rules", &[]).await;
    assert_eq!(res.status(), 200);
    let page: serde_json::Value = res.json().await.unwrap();
    assert_eq!(page["can_edit"], true);
    let mut rules: Vec<serde_json::Value> = page["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["config"].clone())
        .collect();
    assert_eq!(rules.len(), 9);

    // A bad threshold anywhere: refused with the field named, nothing saved.
    let payment = rules
        .iter()
        .position(|r| r["rule"] == "payment_failed")
        .unwrap();
    rules[payment]["enabled"] = json!(false);
    let drop = rules
        .iter()
        .position(|r| r["rule"] == "score_drop")
        .unwrap();
    rules[drop]["threshold"] = json!(500.0);
    let res = app
        .post_json("save_alert_rules", json!({ "rules": rules }))
        .await;
    assert_eq!(
        common::validation_fields(res).await,
        [format!("rules[{drop}].threshold")]
    );
    let page: serde_json::Value = app
        .post_form("alert_rules", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["rules"][payment]["config"]["enabled"], true);

    rules[drop]["threshold"] = json!(15.0);
    let res = app
        .post_json("save_alert_rules", json!({ "rules": rules }))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let page: serde_json::Value = app
        .post_form("alert_rules", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["rules"][payment]["config"]["enabled"], false);
    assert_eq!(page["rules"][drop]["config"]["threshold"], 15.0);

    // A disabled rule raises nothing.
    app.sign_in_as("csm@example.com", "csm").await;
    let id = troubled(&app).await;
    app.rescore(id).await;
    let opened = alerts_of(&app, id).await;
    assert_eq!(count(&opened, "payment_failed"), 0, "{opened:?}");
    assert_eq!(count(&opened, "cancellation_intent"), 1);

    // Only admins edit.
    let res = app
        .post_json("save_alert_rules", json!({ "rules": rules }))
        .await;
    assert_eq!(res.status(), 403);
}
