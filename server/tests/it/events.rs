//! Domain events: every fact a playbook could start from is a row written with the change
//! that caused it, whichever way the change came; the schema's rules are the core's
//! (`vcsm::events`); consumers read them in order after a durable cursor; admins see a
//! customer's newest ones.

use crate::common;

use app::backend::entities::{billing_event, churn_prediction, customer, domain_event};
use app::backend::events;
use chrono::{Duration, Utc};
use common::{customer_form, spawn_admin, TestApp};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::{json, Value};
use vcsm::events::{health_changes, EventKind};
use vcsm::health::Level;

fn set(form: &mut [(String, String)], field: &str, value: &str) {
    form.iter_mut()
        .find(|(k, _)| k == &format!("input[{field}]"))
        .unwrap()
        .1 = value.to_string();
}

/// The events about `customer_id`, oldest first: (kind, data).
async fn events_of(app: &TestApp, customer_id: i64) -> Vec<(String, Value)> {
    domain_event::Entity::find()
        .filter(domain_event::Column::CustomerId.eq(customer_id))
        .order_by_asc(domain_event::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.data))
        .collect()
}

/// Customer `id` as a row to change directly, as the pipeline and webhooks do.
async fn editable_customer(app: &TestApp, id: i64) -> customer::ActiveModel {
    customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model()
}

fn kinds(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(k, _)| k.as_str()).collect()
}

#[tokio::test]
async fn edits_health_churn_billing_and_usage_are_events_written_with_the_change() {
    let app = spawn_admin().await;
    let id = app.create_customer("Acme", "acct_1").await;
    assert_eq!(kinds(&events_of(&app, id).await), vec!["customer.created"]);

    // An edit of stage and plan: one event per field changed, nothing for the rest.
    let mut form = customer_form("Acme", "acct_1");
    set(&mut form, "stage", "at_risk");
    set(&mut form, "plan", "Enterprise");
    form.push(("id".into(), id.to_string()));
    let res = app
        .client
        .post(app.url("/api/update_customer"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let after_edit = events_of(&app, id).await;
    assert_eq!(
        kinds(&after_edit[1..]),
        vec!["customer.stage_changed", "customer.plan_changed"]
    );
    assert_eq!(after_edit[1].1, json!({"from": "active", "to": "at_risk"}));

    // Health: the schema makes exactly the events the core's rule makes.
    let mut previous: Option<(i16, Level)> = None;
    for (score, level) in [
        (72, Level::Good),
        (48, Level::Fair),
        (50, Level::Fair),
        (49, Level::Fair),
        (91, Level::Excellent),
        (91, Level::Excellent),
    ] {
        let before = events_of(&app, id).await.len();
        let mut c = editable_customer(&app, id).await;
        c.health_score = Set(Some(score));
        c.health_level = Set(Some(level.as_str().into()));
        c.health_computed_at = Set(Some(Utc::now()));
        c.update(&app.db).await.unwrap();
        let made: Vec<(String, Value)> = events_of(&app, id).await.split_off(before);
        let expected: Vec<(String, Value)> = health_changes(previous, (score, level))
            .into_iter()
            .map(|e| (e.kind.as_str().to_owned(), e.data))
            .collect();
        assert_eq!(made, expected, "{previous:?} → {score}");
        previous = Some((score, level));
    }

    // A churn risk change (the first prediction makes none).
    churn_prediction::ActiveModel {
        customer_id: Set(id),
        model_id: Set(None),
        probability: Set(Some(0.05)),
        risk: Set("low".into()),
        factors: Set(json!([])),
        computed_at: Set(Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let mut p = churn_prediction::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    p.risk = Set("high".into());
    p.probability = Set(Some(0.4));
    p.update(&app.db).await.unwrap();
    let last = events_of(&app, id).await.pop().unwrap();
    assert_eq!(last.0, "churn.risk_changed");
    assert_eq!(last.1["from"], "low");
    assert_eq!(last.1["to"], "high");

    // A failed payment; an invoice paid is no event.
    for kind in ["invoice_paid", "payment_failed"] {
        billing_event::ActiveModel {
            customer_id: Set(id),
            external_id: Set(Some(format!("evt_{kind}"))),
            kind: Set(kind.into()),
            amount_minor: Set(49_00),
            currency: Set("USD".into()),
            description: Set(Some("Invoice 7".into())),
            occurred_at: Set(Utc::now()),
            received_at: Set(Utc::now()),
            subscription_ref: Set(None),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let last = events_of(&app, id).await.pop().unwrap();
    assert_eq!(last.0, "billing.payment_failed");
    assert_eq!(last.1["amount_minor"], 49_00);

    // Usage through the import: each event received, an NPS answer also as itself.
    let csv = "customer_external_id,event,occurred_at,properties\n\
               acct_1,Report Created,2026-11-01T10:00:00Z,{}\n\
               acct_1,NPS Submitted,2026-11-02T10:00:00Z,\"{\"\"score\"\": 9}\"\n";
    let report = app.import_report("Events", csv).await;
    assert_eq!(report["imported"], 2, "{report}");
    let all = events_of(&app, id).await;
    let tail = &all[all.len() - 3..];
    assert_eq!(
        kinds(tail),
        vec!["event.received", "event.received", "nps.answered"]
    );
    assert_eq!(tail[0].1["name"], "Report Created");
    assert_eq!(tail[2].1["score"], 9);

    // The admin's list: newest first, in words.
    let list = |usage: &'static str| {
        let app = &app;
        async move {
            let res = app
                .post_form(
                    "customer_events",
                    &[("customer_id", &id.to_string()), ("usage", usage)],
                )
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Vec<Value>>().await.unwrap()
        }
    };
    let with_usage = list("true").await;
    assert_eq!(with_usage[0]["kind"], "nps.answered");
    assert_eq!(with_usage[1]["kind"], "event.received");
    let rows = list("false").await;
    assert_eq!(rows[0]["kind"], "nps.answered");
    assert_eq!(rows[0]["summary"], "score 9");
    assert!(rows.iter().all(|r| r["kind"] != "event.received"));
    assert!(rows
        .iter()
        .any(|r| r["label"] == "Health level changed" && r["summary"] == "good → fair"));
    let (status, html) = app.get_page(&format!("/customers/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"domain-events\""));
    assert!(html.contains("Lifecycle stage changed"));
}

#[tokio::test]
async fn renewals_coming_up_are_noticed_once_a_day() {
    let app = spawn_admin().await;
    let soon = app.create_customer("Soon", "acct_soon").await;
    let later = app.create_customer("Later", "acct_later").await;
    let today = Utc::now().date_naive();
    for (id, days) in [(soon, 30), (later, 31)] {
        let mut c = editable_customer(&app, id).await;
        c.renewal_date = Set(Some(today + Duration::days(days)));
        c.update(&app.db).await.unwrap();
    }
    let now = Utc::now();
    assert_eq!(
        events::record_renewals(&app.db, today, now).await.unwrap(),
        1
    );
    assert_eq!(
        events::record_renewals(&app.db, today, now).await.unwrap(),
        0,
        "once a day"
    );
    let last = events_of(&app, soon).await.pop().unwrap();
    assert_eq!(last.0, EventKind::RenewalDue.as_str());
    assert_eq!(last.1["days"], 30);
    assert!(!kinds(&events_of(&app, later).await).contains(&"renewal.due"));
}

#[tokio::test]
async fn product_events_are_kept_90_days_and_the_rest_for_good() {
    let app = spawn_admin().await;
    let id = app.create_customer("Acme", "acct_1").await;
    let now = Utc::now();
    let old = now - events::KEEP_PRODUCT_EVENTS - Duration::days(1);
    for (kind, recorded_at) in [
        (EventKind::EventReceived, old),
        (EventKind::EventReceived, now),
        (EventKind::AlertOpened, old),
    ] {
        domain_event::ActiveModel {
            customer_id: Set(id),
            kind: Set(kind.as_str().to_owned()),
            data: Set(json!({})),
            occurred_at: Set(recorded_at),
            recorded_at: Set(recorded_at),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let deleted = events::purge_product_events(&app.db, now - events::KEEP_PRODUCT_EVENTS)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(
        kinds(&events_of(&app, id).await),
        vec!["customer.created", "event.received", "alert.opened"]
    );
}

/// What `consumer` reads once `count` events are readable. On Postgres a consumer reads
/// only events of transactions older than every one still running on the server (their
/// ids are server-wide: another test's transaction counts), so a new event can take a
/// moment to become readable; it is never skipped.
async fn read_once_readable(
    app: &TestApp,
    consumer: &str,
    limit: u64,
    count: usize,
) -> Vec<domain_event::Model> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let read = events::read(&app.db, consumer, limit).await.unwrap();
        if read.len() >= count || std::time::Instant::now() > deadline {
            return read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn consumers_read_in_order_after_their_cursor_and_one_added_later_misses_nothing() {
    let app = spawn_admin().await;
    let a = app.create_customer("A", "acct_a").await;
    let b = app.create_customer("B", "acct_b").await;
    let now = Utc::now();
    let first = read_once_readable(&app, "playbooks", 100, 2).await;
    assert_eq!(
        first.iter().map(|e| e.customer_id).collect::<Vec<_>>(),
        vec![a, b]
    );
    events::advance(&app.db, "playbooks", first.last().unwrap(), now)
        .await
        .unwrap();
    assert!(events::read(&app.db, "playbooks", 100)
        .await
        .unwrap()
        .is_empty());
    let c = app.create_customer("C", "acct_c").await;
    let next = read_once_readable(&app, "playbooks", 100, 1).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].customer_id, c);
    // A consumer added now starts from the beginning.
    let newcomer = read_once_readable(&app, "reports", 100, 3).await;
    assert_eq!(newcomer.len(), 3);
    // Read in pages.
    let page = events::read(&app.db, "reports", 2).await.unwrap();
    events::advance(&app.db, "reports", &page[1], now)
        .await
        .unwrap();
    let rest = events::read(&app.db, "reports", 2).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].customer_id, c);
}

#[tokio::test]
async fn on_postgres_an_event_committed_late_is_not_passed_over() {
    let app = spawn_admin().await;
    if app.backend != "postgres" {
        return; // SQLite has one writer: ids are in commit order there.
    }
    let now = Utc::now();
    let make = |name: &str| customer::ActiveModel {
        name: Set(name.into()),
        tier: Set("trial".into()),
        stage: Set("onboarding".into()),
        currency: Set("USD".into()),
        tags: Set(json!([])),
        search_text: Set(name.to_lowercase()),
        mrr_minor: Set(0),
        seats: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    // A transaction that started first (its event has the lower id) commits last.
    let slow = app::backend::db::begin_write(&app.db).await.unwrap();
    let early = make("Early").insert(&slow).await.unwrap();
    let late = make("Late").insert(&app.db).await.unwrap();
    let seen = events::read(&app.db, "playbooks", 100).await.unwrap();
    assert!(
        seen.is_empty(),
        "nothing is read while an older transaction runs: {seen:?}"
    );
    slow.commit().await.unwrap();
    let seen = read_once_readable(&app, "playbooks", 100, 2).await;
    assert_eq!(
        seen.iter().map(|e| e.customer_id).collect::<Vec<_>>(),
        vec![early.id, late.id]
    );
}
