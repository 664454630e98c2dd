//! Stripe webhooks over real HTTP with real signatures: verification, customer matching,
//! MRR, payment health, billing history, idempotency and out-of-order delivery.

use crate::common;

use app::backend::entities::{billing_event, customer, subscription, webhook_event};
use common::{spawn_app, TestApp};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const SECRET: &str = "whsec_test_7f3a9c2e5b1d4f60";

async fn configured_app() -> TestApp {
    let app = spawn_app().await;
    app.sign_in_as("admin@example.com", "admin").await;
    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "stripe"), ("secret", SECRET)],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app
}

/// A customer with external id `acct_1` and domain acme.example.com.
async fn acme(app: &TestApp) -> i64 {
    app.create_customer("Acme", "acct_1").await
}

/// An event shaped as Stripe sends it.
fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": { "object": object, "previous_attributes": {} },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": kind
    })
}

fn stripe_customer(metadata: Value, email: &str) -> Value {
    json!({
        "id": "cus_NffrFeUfNV2Hib",
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": 1_680_893_993,
        "currency": "usd",
        "email": email,
        "invoice_prefix": "0759376C",
        "livemode": false,
        "metadata": metadata,
        "name": "Acme Inc.",
        "phone": null,
        "preferred_locales": [],
        "tax_exempt": "none"
    })
}

fn subscription_object(status: &str, unit_amount: i64, quantity: u64, interval: &str) -> Value {
    json!({
        "id": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
        "object": "subscription",
        "billing_cycle_anchor": 1_679_609_767,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "collection_method": "charge_automatically",
        "created": 1_679_609_767,
        "currency": "usd",
        "current_period_end": 1_682_288_167,
        "current_period_start": 1_679_609_767,
        "customer": "cus_NffrFeUfNV2Hib",
        "discount": null,
        "ended_at": null,
        "items": {
            "object": "list",
            "data": [{
                "id": "si_Na6dzxczY5fwHx",
                "object": "subscription_item",
                "created": 1_679_609_768,
                "metadata": {},
                "price": {
                    "id": "price_1MowQULkdIwHu7ixraBm864M",
                    "object": "price",
                    "active": true,
                    "billing_scheme": "per_unit",
                    "currency": "usd",
                    "nickname": "Growth",
                    "product": "prod_Na6dGcTsmU0I4R",
                    "recurring": { "interval": interval, "interval_count": 1, "usage_type": "licensed" },
                    "type": "recurring",
                    "unit_amount": unit_amount,
                    "unit_amount_decimal": unit_amount.to_string()
                },
                "quantity": quantity,
                "subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs"
            }],
            "has_more": false,
            "url": "/v1/subscription_items?subscription=sub_1MowQVLkdIwHu7ixeRlqHVzs"
        },
        "livemode": false,
        "metadata": {},
        "start_date": 1_679_609_767,
        "status": status,
        "trial_end": null,
        "trial_start": null
    })
}

fn invoice_object(status: &str, attempt_count: u32, next_attempt: Option<i64>) -> Value {
    json!({
        "id": "in_1MtHbELkdIwHu7ixl4OzzPMv",
        "object": "invoice",
        "account_country": "US",
        "amount_due": 30000,
        "amount_paid": if status == "paid" { 30000 } else { 0 },
        "amount_remaining": if status == "paid" { 0 } else { 30000 },
        "attempt_count": attempt_count,
        "attempted": attempt_count > 0,
        "billing_reason": "subscription_cycle",
        "created": 1_680_644_467,
        "currency": "usd",
        "customer": "cus_NffrFeUfNV2Hib",
        "customer_email": "billing@acme.example.com",
        "hosted_invoice_url": null,
        "livemode": false,
        "next_payment_attempt": next_attempt,
        "number": "0759376C-0001",
        "paid": status == "paid",
        "status": status,
        "subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
        "total": 30000
    })
}

async fn deliver(app: &TestApp, payload: &Value, secret: &str) -> (u16, Value) {
    let body = payload.to_string();
    let header =
        vcsm::sources::stripe::sign(body.as_bytes(), secret, chrono::Utc::now().timestamp());
    deliver_raw(app, body, &header).await
}

async fn deliver_raw(app: &TestApp, body: String, header: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("Stripe-Signature", header)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn the_subscription(app: &TestApp) -> subscription::Model {
    subscription::Entity::find()
        .filter(subscription::Column::ExternalId.eq("sub_1MowQVLkdIwHu7ixeRlqHVzs"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the subscription is stored")
}

async fn customer_row(app: &TestApp, id: i64) -> customer::Model {
    customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_changes_nothing() {
    let app = configured_app().await;
    acme(&app).await;
    let payload = event(
        "evt_1",
        "customer.created",
        1_680_893_993,
        stripe_customer(
            json!({"vcsm_external_id": "acct_1"}),
            "ops@acme.example.com",
        ),
    );
    let body = payload.to_string();
    let now = chrono::Utc::now().timestamp();
    for header in [
        String::new(),
        "t=abc,v1=zz".to_string(),
        vcsm::sources::stripe::sign(body.as_bytes(), "whsec_some_other_secret", now),
        vcsm::sources::stripe::sign(body.as_bytes(), SECRET, now - 3600),
        // Signed for another body.
        vcsm::sources::stripe::sign(b"{}", SECRET, now),
    ] {
        let (status, answer) = deliver_raw(&app, body.clone(), &header).await;
        assert_eq!(status, 400, "{header:?}: {answer}");
        assert!(answer["error"]
            .as_str()
            .unwrap()
            .contains("Stripe-Signature"));
    }
    assert_eq!(
        webhook_event::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    // The refusals are on the Integrations page, with the start of the payload.
    let page: Value = app
        .post_form("integrations_overview", &[])
        .await
        .json()
        .await
        .unwrap();
    let errors = page["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 5);
    assert!(errors[0]["excerpt"].as_str().unwrap().contains("evt_1"));
    let stripe = page["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "stripe")
        .unwrap();
    assert_eq!(
        (
            stripe["configured"].as_bool(),
            stripe["today"]["rejected"].as_i64()
        ),
        (Some(true), Some(5))
    );
}

#[tokio::test]
async fn unconfigured_stripe_answers_503_and_says_how_to_configure() {
    let app = spawn_app().await;
    let payload = event(
        "evt_1",
        "customer.created",
        1_680_893_993,
        stripe_customer(json!({}), "a@b.co"),
    );
    let (status, answer) = deliver(&app, &payload, SECRET).await;
    assert_eq!(status, 503);
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("STRIPE_WEBHOOK_SECRET"));
}

#[tokio::test]
async fn subscriptions_set_mrr_and_history_idempotently_and_never_regress() {
    let app = configured_app().await;
    let id = acme(&app).await;
    // Matched by metadata.
    let (status, answer) = deliver(
        &app,
        &event(
            "evt_c1",
            "customer.created",
            1_680_893_993,
            stripe_customer(json!({"vcsm_external_id": "acct_1"}), "someone@gmail.com"),
        ),
        SECRET,
    )
    .await;
    assert_eq!(
        (status, answer["result"]["outcome"].as_str()),
        (200, Some("applied")),
        "{answer}"
    );

    // 12 seats × $25.00 a month.
    let created = event(
        "evt_s1",
        "customer.subscription.created",
        1_700_000_000,
        subscription_object("active", 2500, 12, "month"),
    );
    let (status, answer) = deliver(&app, &created, SECRET).await;
    assert_eq!(
        (status, answer["result"]["outcome"].as_str()),
        (200, Some("applied"))
    );
    let sub = the_subscription(&app).await;
    assert_eq!(
        (
            sub.mrr_minor,
            sub.quantity,
            sub.status.as_str(),
            sub.plan.as_deref()
        ),
        (30_000, 12, "active", Some("Growth"))
    );
    assert_eq!(customer_row(&app, id).await.mrr_minor, 30_000);

    // Redelivered: acknowledged, not applied twice.
    let (status, answer) = deliver(&app, &created, SECRET).await;
    assert_eq!(
        (status, answer["result"]["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    let history = || billing_event::Entity::find().filter(billing_event::Column::CustomerId.eq(id));
    assert_eq!(history().count(&app.db).await.unwrap(), 1);

    // A yearly plan at $3,600.00 for 10 seats is $3,000.00 a month.
    let newer = event(
        "evt_s3",
        "customer.subscription.updated",
        1_700_000_300,
        subscription_object("active", 360_000, 10, "year"),
    );
    deliver(&app, &newer, SECRET).await;
    assert_eq!(the_subscription(&app).await.mrr_minor, 300_000);
    assert_eq!(customer_row(&app, id).await.mrr_minor, 300_000);

    // An older update arriving late is recorded but does not regress the newer state.
    let older = event(
        "evt_s2",
        "customer.subscription.updated",
        1_700_000_100,
        subscription_object("past_due", 2500, 5, "month"),
    );
    let (status, answer) = deliver(&app, &older, SECRET).await;
    assert_eq!(
        (status, answer["result"]["outcome"].as_str()),
        (200, Some("ignored")),
        "{answer}"
    );
    let sub = the_subscription(&app).await;
    assert_eq!((sub.mrr_minor, sub.status.as_str()), (300_000, "active"));

    // Deleted: MRR goes to zero, the cancellation is in the history.
    let deleted = event(
        "evt_s4",
        "customer.subscription.deleted",
        1_700_000_400,
        subscription_object("canceled", 360_000, 10, "year"),
    );
    deliver(&app, &deleted, SECRET).await;
    assert_eq!(
        (
            the_subscription(&app).await.status.as_str(),
            customer_row(&app, id).await.mrr_minor
        ),
        ("canceled", 0)
    );
    let kinds: Vec<String> = history()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "subscription_started",
            "subscription_changed",
            "subscription_canceled"
        ]
    );
}

#[tokio::test]
async fn invoices_drive_payment_health_and_refunds_are_kept() {
    let app = configured_app().await;
    let id = acme(&app).await;
    // Matched by the e-mail's company domain.
    let (_, answer) = deliver(
        &app,
        &event(
            "evt_c1",
            "customer.created",
            1_680_893_993,
            stripe_customer(json!({}), "billing@acme.example.com"),
        ),
        SECRET,
    )
    .await;
    assert_eq!(answer["result"]["outcome"], "applied", "{answer}");
    deliver(
        &app,
        &event(
            "evt_s1",
            "customer.subscription.created",
            1_700_000_000,
            subscription_object("active", 2500, 12, "month"),
        ),
        SECRET,
    )
    .await;

    let failed = event(
        "evt_i1",
        "invoice.payment_failed",
        1_700_000_100,
        invoice_object("open", 1, Some(1_700_259_300)),
    );
    let (status, _) = deliver(&app, &failed, SECRET).await;
    assert_eq!(status, 200);
    let sub = the_subscription(&app).await;
    assert_eq!(
        (sub.payment_status.as_str(), sub.failed_attempts),
        ("failing", 1)
    );

    let paid = event(
        "evt_i2",
        "invoice.paid",
        1_700_000_200,
        invoice_object("paid", 2, None),
    );
    deliver(&app, &paid, SECRET).await;
    assert_eq!(the_subscription(&app).await.payment_status, "good");
    // The failure arriving again, late, does not make the paid invoice failing again.
    let late = event(
        "evt_i0",
        "invoice.payment_failed",
        1_700_000_050,
        invoice_object("open", 1, Some(1_700_259_300)),
    );
    deliver(&app, &late, SECRET).await;
    assert_eq!(the_subscription(&app).await.payment_status, "good");

    let refund = event(
        "evt_r1",
        "charge.refunded",
        1_700_000_300,
        json!({
            "id": "ch_3MmlLrLkdIwHu7ix0snN0B15", "object": "charge", "amount": 30000, "amount_captured": 30000,
            "amount_refunded": 10000, "captured": true, "created": 1_700_000_000, "currency": "usd",
            "customer": "cus_NffrFeUfNV2Hib", "invoice": "in_1MtHbELkdIwHu7ixl4OzzPMv", "livemode": false,
            "paid": true, "refunded": false, "status": "succeeded"
        }),
    );
    deliver(&app, &refund, SECRET).await;
    let refunds = billing_event::Entity::find()
        .filter(billing_event::Column::CustomerId.eq(id))
        .filter(billing_event::Column::Kind.eq("refund"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].amount_minor, refunds[0].currency.as_str()),
        (10_000, "USD")
    );
    // The timeline shows the billing history.
    let detail: Value = app
        .post_form("get_customer", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert!(titles.iter().any(|t| t.contains("efund")), "{titles:?}");
}

#[tokio::test]
async fn events_for_an_unmatched_stripe_customer_are_held_then_applied() {
    let app = configured_app().await;
    // No customer yet: the Stripe customer and its subscription are held, not dropped.
    let (_, answer) = deliver(
        &app,
        &event(
            "evt_c1",
            "customer.created",
            1_680_893_993,
            stripe_customer(json!({"vcsm_external_id": "acct_1"}), "x@gmail.com"),
        ),
        SECRET,
    )
    .await;
    assert_eq!(answer["result"]["outcome"], "held", "{answer}");
    let (_, answer) = deliver(
        &app,
        &event(
            "evt_s1",
            "customer.subscription.created",
            1_700_000_000,
            subscription_object("active", 2500, 12, "month"),
        ),
        SECRET,
    )
    .await;
    assert_eq!(answer["result"]["outcome"], "held");

    let id = acme(&app).await;
    let replay: Value = app
        .post_form("replay_webhooks", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (replay["applied"].as_u64(), replay["still_held"].as_u64()),
        (Some(2), Some(0)),
        "{replay}"
    );
    assert_eq!(customer_row(&app, id).await.mrr_minor, 30_000);
}

#[tokio::test]
async fn a_rotated_secret_keeps_the_old_one_working_for_a_while() {
    let app = configured_app().await;
    acme(&app).await;
    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "stripe"), ("secret", "whsec_new_secret_value_1")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let c = |id: &str| {
        event(
            id,
            "customer.created",
            1_680_893_993,
            stripe_customer(json!({"vcsm_external_id": "acct_1"}), "a@gmail.com"),
        )
    };
    assert_eq!(
        deliver(&app, &c("evt_a"), "whsec_new_secret_value_1")
            .await
            .0,
        200
    );
    assert_eq!(
        deliver(&app, &c("evt_b"), SECRET).await.0,
        200,
        "the previous secret still verifies"
    );
    assert_eq!(
        deliver(&app, &c("evt_c"), "whsec_never_configured").await.0,
        400
    );
    // A secret with spaces is refused at the edge.
    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "stripe"), ("secret", "has spaces in it")],
        )
        .await;
    assert_eq!(common::validation_fields(res).await, ["secret"]);
}
