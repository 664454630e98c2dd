use super::*;
use chrono::TimeZone;
use serde_json::json;

const SECRET: &str = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
const T: i64 = 1_717_243_200; // 2024-06-01T12:00:00Z

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

fn verify(header: &str, payload: &[u8], secrets: &[&str], now: i64) -> Result<(), SignatureError> {
    verify_signature(header, payload, secrets, at(now), DEFAULT_TOLERANCE_SECS)
}

// ---- signatures ---------------------------------------------------------------

#[test]
fn signature_valid_and_matches_a_known_vector() {
    let body = br#"{"id":"evt_1","object":"event"}"#;
    let header = sign(body, SECRET, T);
    assert!(header.starts_with(&format!("t={T},v1=")));
    assert_eq!(header.len(), format!("t={T},v1=").len() + 64);
    assert_eq!(verify(&header, body, &[SECRET], T), Ok(()));
    assert_eq!(
        verify(&header, body, &[SECRET], T + 300),
        Ok(()),
        "edge of tolerance"
    );
    // Known answer, computed independently (Python's hmac) for this secret, t and body.
    assert_eq!(
        header,
        format!("t={T},v1=87743192d9a060fece76b4a8c12b5d7ca011c48612930107faed9d90521f74b9")
    );
}

#[test]
fn signature_failures() {
    let body = br#"{"id":"evt_1"}"#;
    let header = sign(body, SECRET, T);
    assert_eq!(
        verify(&header, br#"{"id":"evt_2"}"#, &[SECRET], T),
        Err(SignatureError::NoMatch),
        "tampered body"
    );
    assert_eq!(
        verify(&header, body, &["whsec_other"], T),
        Err(SignatureError::NoMatch),
        "wrong secret"
    );
    assert_eq!(
        verify(&header, body, &[], T),
        Err(SignatureError::NoMatch),
        "no secret configured"
    );
    assert_eq!(
        verify(&sign(body, "", T), body, &["", "  "], T),
        Err(SignatureError::NoMatch),
        "blank secrets are never used"
    );
    assert!(
        matches!(
            verify(&header, body, &[SECRET], T + 301),
            Err(SignatureError::TimestampOutsideTolerance { timestamp: T, .. })
        ),
        "old timestamp"
    );
    assert!(
        matches!(
            verify(&header, body, &[SECRET], T - 301),
            Err(SignatureError::TimestampOutsideTolerance { .. })
        ),
        "future timestamp"
    );
    assert!(
        matches!(
            verify_signature(&header, body, &[SECRET], at(T + 1), -5),
            Err(SignatureError::TimestampOutsideTolerance {
                tolerance_secs: 0,
                ..
            })
        ),
        "negative tolerance means none"
    );
    let v0_only = header.replace("v1=", "v0=");
    assert_eq!(
        verify(&v0_only, body, &[SECRET], T),
        Err(SignatureError::NoV1Signature)
    );
    assert_eq!(
        verify(&format!("t={T}"), body, &[SECRET], T),
        Err(SignatureError::NoV1Signature)
    );
    assert_eq!(
        verify("", body, &[SECRET], T),
        Err(SignatureError::MissingHeader)
    );
    assert_eq!(
        verify("  ", body, &[SECRET], T),
        Err(SignatureError::MissingHeader)
    );
    for bad in [
        "garbage",
        "v1=abcd",
        "t=soon,v1=abcd",
        &format!("t={T},t={T},v1=abcd"),
        &format!("t={},v1=abcd", u64::MAX),
    ] {
        assert!(
            matches!(
                verify(bad, body, &[SECRET], T),
                Err(SignatureError::MalformedHeader(_))
            ),
            "{bad}"
        );
    }
    let not_hex = format!("t={T},v1=zz");
    assert_eq!(
        verify(&not_hex, body, &[SECRET], T),
        Err(SignatureError::NoMatch)
    );
}

#[test]
fn any_v1_entry_and_any_secret_may_match() {
    let body = b"{}";
    let good = sign(body, SECRET, T);
    let good_sig = good.split_once(",v1=").unwrap().1;
    let bad_sig = sign(body, "whsec_old", T)
        .split_once(",v1=")
        .unwrap()
        .1
        .to_string();
    let rotating = format!("t={T}, v1={bad_sig}, v1={good_sig}, v0=deadbeef, v9=x");
    assert_eq!(
        verify(&rotating, body, &[SECRET], T),
        Ok(()),
        "second v1 entry"
    );
    assert_eq!(
        verify(&good, body, &["whsec_retired", SECRET], T),
        Ok(()),
        "second secret during rotation"
    );
    let upper = good
        .to_uppercase()
        .replace("T=", "t=")
        .replace("V1=", "v1=");
    assert_eq!(verify(&upper, body, &[SECRET], T), Ok(()), "hex case");
}

#[test]
fn signature_errors_read_well() {
    assert_eq!(
        SignatureError::TimestampOutsideTolerance {
            timestamp: 1,
            now: 400,
            tolerance_secs: 300
        }
        .to_string(),
        "the signature timestamp 1 is more than 300 s away from now (400)"
    );
    assert!(SignatureError::NoV1Signature.to_string().contains("no v1"));
    assert!(SignatureError::MalformedHeader("x".into())
        .to_string()
        .ends_with(": x"));
}

// ---- events -------------------------------------------------------------------

/// `customer.subscription.updated` as Stripe sends it with API version 2024-06-20.
fn subscription_updated_2024() -> Value {
    serde_json::from_str(
        r#"{
      "id": "evt_1PXq8bLkdIwHu7ixhF3Ktd1N",
      "object": "event",
      "api_version": "2024-06-20",
      "created": 1717243260,
      "data": {
        "object": {
          "id": "sub_1PXq7oLkdIwHu7ixR5yZ2a9q",
          "object": "subscription",
          "application": null,
          "application_fee_percent": null,
          "automatic_tax": {"enabled": false, "liability": null},
          "billing_cycle_anchor": 1714564800,
          "billing_cycle_anchor_config": null,
          "billing_thresholds": null,
          "cancel_at": null,
          "cancel_at_period_end": false,
          "canceled_at": null,
          "cancellation_details": {"comment": null, "feedback": null, "reason": null},
          "collection_method": "charge_automatically",
          "created": 1714564800,
          "currency": "usd",
          "current_period_end": 1719835200,
          "current_period_start": 1717243200,
          "customer": "cus_QOgGdwQ3Ay4Jx1",
          "days_until_due": null,
          "default_payment_method": "pm_1PXq7nLkdIwHu7ixK0wGn8iG",
          "default_source": null,
          "default_tax_rates": [],
          "description": null,
          "discount": null,
          "discounts": [],
          "ended_at": null,
          "invoice_settings": {"account_tax_ids": null, "issuer": {"type": "self"}},
          "items": {
            "object": "list",
            "data": [{
              "id": "si_QOgGqmoCNhWx2F",
              "object": "subscription_item",
              "billing_thresholds": null,
              "created": 1714564801,
              "discounts": [],
              "metadata": {},
              "plan": {
                "id": "price_1PXq6xLkdIwHu7ixTeam0001", "object": "plan", "active": true,
                "aggregate_usage": null, "amount": 2500, "amount_decimal": "2500",
                "billing_scheme": "per_unit", "created": 1714000000, "currency": "usd",
                "interval": "month", "interval_count": 1, "livemode": false, "metadata": {},
                "meter": null, "nickname": "Team", "product": "prod_QOgF3Zs8dG7Lr0",
                "tiers_mode": null, "transform_usage": null, "trial_period_days": null,
                "usage_type": "licensed"
              },
              "price": {
                "id": "price_1PXq6xLkdIwHu7ixTeam0001", "object": "price", "active": true,
                "billing_scheme": "per_unit", "created": 1714000000, "currency": "usd",
                "custom_unit_amount": null, "livemode": false, "lookup_key": null,
                "metadata": {}, "nickname": "Team", "product": "prod_QOgF3Zs8dG7Lr0",
                "recurring": {
                  "aggregate_usage": null, "interval": "month", "interval_count": 1,
                  "meter": null, "trial_period_days": null, "usage_type": "licensed"
                },
                "tax_behavior": "unspecified", "tiers_mode": null, "transform_quantity": null,
                "type": "recurring", "unit_amount": 2500, "unit_amount_decimal": "2500"
              },
              "quantity": 12,
              "subscription": "sub_1PXq7oLkdIwHu7ixR5yZ2a9q",
              "tax_rates": []
            }],
            "has_more": false,
            "total_count": 1,
            "url": "/v1/subscription_items?subscription=sub_1PXq7oLkdIwHu7ixR5yZ2a9q"
          },
          "latest_invoice": "in_1PXq8aLkdIwHu7ixu3wFk1cE",
          "livemode": false,
          "metadata": {"vcsm_customer_id": "c_42"},
          "next_pending_invoice_item_invoice": null,
          "on_behalf_of": null,
          "pause_collection": null,
          "payment_settings": {
            "payment_method_options": null, "payment_method_types": null,
            "save_default_payment_method": "off"
          },
          "pending_invoice_item_interval": null,
          "pending_setup_intent": null,
          "pending_update": null,
          "schedule": null,
          "start_date": 1714564800,
          "status": "active",
          "test_clock": null,
          "transfer_data": null,
          "trial_end": null,
          "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
          "trial_start": null
        },
        "previous_attributes": {
          "items": {"data": [{"id": "si_QOgGqmoCNhWx2F", "quantity": 10}]}
        }
      },
      "livemode": false,
      "pending_webhooks": 1,
      "request": {"id": null, "idempotency_key": null},
      "type": "customer.subscription.updated"
    }"#,
    )
    .unwrap()
}

/// The same subscription rendered with API version 2025-03-31.basil: periods live on
/// the items, the customer is expanded.
fn subscription_created_basil() -> Value {
    serde_json::from_str(
        r#"{
      "id": "evt_1RAbCdLkdIwHu7ixBasil001",
      "object": "event",
      "api_version": "2025-03-31.basil",
      "created": 1743465600,
      "data": {"object": {
        "id": "sub_1RAbCdLkdIwHu7ixBasil",
        "object": "subscription",
        "billing_cycle_anchor": 1743465600,
        "cancel_at": 1775001600,
        "cancel_at_period_end": true,
        "canceled_at": 1743500000,
        "collection_method": "charge_automatically",
        "created": 1743465600,
        "currency": "eur",
        "customer": {"id": "cus_Basil", "object": "customer", "email": "a@b.de"},
        "discounts": [],
        "ended_at": null,
        "items": {"object": "list", "data": [
          {
            "id": "si_A", "object": "subscription_item", "created": 1743465600,
            "current_period_start": 1743465600, "current_period_end": 1775001600,
            "discounts": [], "metadata": {},
            "price": {
              "id": "price_year", "object": "price", "currency": "eur",
              "nickname": null, "product": {"id": "prod_Pro", "object": "product", "name": "Pro"},
              "recurring": {"interval": "year", "interval_count": 1, "meter": null, "usage_type": "licensed"},
              "type": "recurring", "unit_amount": 119900, "unit_amount_decimal": "119900"
            },
            "quantity": 1, "subscription": "sub_1RAbCdLkdIwHu7ixBasil", "tax_rates": []
          },
          {
            "id": "si_B", "object": "subscription_item", "created": 1743465600,
            "current_period_start": 1743465600, "current_period_end": 1743552000,
            "price": {
              "id": "price_calls", "object": "price", "currency": "eur",
              "product": "prod_Calls",
              "recurring": {"interval": "month", "interval_count": 1, "meter": "mtr_1", "usage_type": "metered"},
              "type": "recurring", "unit_amount": null, "unit_amount_decimal": "0.25"
            },
            "subscription": "sub_1RAbCdLkdIwHu7ixBasil"
          }
        ], "has_more": false, "total_count": 2, "url": "/v1/subscription_items?subscription=sub_1RAbCdLkdIwHu7ixBasil"},
        "livemode": true,
        "metadata": {},
        "start_date": 1743465600,
        "status": "trialing",
        "trial_end": 1744675200,
        "trial_start": 1743465600
      }},
      "livemode": true,
      "pending_webhooks": 2,
      "request": {"id": "req_abc", "idempotency_key": "8e0c-idem"},
      "type": "customer.subscription.created"
    }"#,
    )
    .unwrap()
}

fn subscription_of(v: &Value) -> Subscription {
    match parse_event(v.to_string().as_bytes()).unwrap().object {
        StripeObject::Subscription(s) => s,
        other => panic!("not a subscription: {other:?}"),
    }
}

fn problems(v: &Value) -> Vec<String> {
    parse_event(v.to_string().as_bytes())
        .unwrap_err()
        .into_iter()
        .map(|p| p.path)
        .collect()
}

#[test]
fn parses_a_2024_subscription_updated_event() {
    let e = parse_event(subscription_updated_2024().to_string().as_bytes()).unwrap();
    assert_eq!(e.id, "evt_1PXq8bLkdIwHu7ixhF3Ktd1N");
    assert_eq!(e.kind, "customer.subscription.updated");
    assert_eq!(e.created, at(1717243260));
    assert!(!e.livemode);
    assert!(e.is_handled());
    assert_eq!(e.api_version.as_deref(), Some("2024-06-20"));
    let StripeObject::Subscription(s) = e.object else {
        panic!()
    };
    assert_eq!(s.id, "sub_1PXq7oLkdIwHu7ixR5yZ2a9q");
    assert_eq!(s.customer, "cus_QOgGdwQ3Ay4Jx1");
    assert_eq!(s.status, SubscriptionStatus::Active);
    assert_eq!(s.currency, "USD");
    assert_eq!(s.current_period_start, Some(at(1717243200)));
    assert_eq!(s.current_period_end, Some(at(1719835200)));
    assert_eq!(s.start_date, Some(at(1714564800)));
    assert!(!s.cancel_at_period_end);
    assert_eq!((s.canceled_at, s.ended_at, s.trial_end), (None, None, None));
    assert!(s.discounts.is_empty());
    assert_eq!(s.metadata["vcsm_customer_id"], "c_42");
    assert_eq!(
        s.items,
        vec![SubscriptionItem {
            id: "si_QOgGqmoCNhWx2F".into(),
            price_id: "price_1PXq6xLkdIwHu7ixTeam0001".into(),
            product: Some("prod_QOgF3Zs8dG7Lr0".into()),
            nickname: Some("Team".into()),
            unit_amount_minor: Some(2500),
            currency: "USD".into(),
            interval: Interval::Month,
            interval_count: 1,
            quantity: 12,
            usage_type: UsageType::Licensed,
            current_period_start: None,
            current_period_end: None,
        }]
    );
    assert_eq!(s.mrr_minor(), 300_00);
    assert_eq!(s.plan_name().as_deref(), Some("Team"));
}

#[test]
fn parses_the_2025_basil_shape_with_periods_on_items() {
    let e = parse_event(subscription_created_basil().to_string().as_bytes()).unwrap();
    assert!(e.livemode);
    let StripeObject::Subscription(s) = e.object else {
        panic!()
    };
    assert_eq!(
        s.customer, "cus_Basil",
        "expanded customer reduced to its id"
    );
    assert_eq!(s.status, SubscriptionStatus::Trialing);
    assert_eq!(s.currency, "EUR");
    assert_eq!(
        s.current_period_start,
        Some(at(1743465600)),
        "earliest item start"
    );
    assert_eq!(
        s.current_period_end,
        Some(at(1775001600)),
        "latest item end"
    );
    assert!(s.cancel_at_period_end);
    assert_eq!(s.cancel_at, Some(at(1775001600)));
    assert_eq!(s.canceled_at, Some(at(1743500000)));
    assert_eq!(s.trial_end, Some(at(1744675200)));
    assert_eq!(
        s.items[0].product.as_deref(),
        Some("prod_Pro"),
        "expanded product"
    );
    assert_eq!(s.items[0].interval, Interval::Year);
    assert_eq!(s.items[1].usage_type, UsageType::Metered);
    assert_eq!(s.items[1].quantity, 1, "metered items carry no quantity");
    assert_eq!(s.items[1].unit_amount_minor, Some(0), "0.25 rounds to 0");
    // 119900 / 12 = 9991.67 → 9992; the metered item adds nothing.
    assert_eq!(s.mrr_minor(), 9992);
    assert_eq!(
        s.plan_name().as_deref(),
        Some("prod_Pro"),
        "no nickname: product"
    );
}

#[test]
fn subscription_level_period_wins_over_items() {
    let mut v = subscription_created_basil();
    v["data"]["object"]["current_period_end"] = json!(1750000000);
    assert_eq!(subscription_of(&v).current_period_end, Some(at(1750000000)));
}

#[test]
fn parses_the_legacy_plan_shape() {
    let mut v = subscription_updated_2024();
    let item = &mut v["data"]["object"]["items"]["data"][0];
    item.as_object_mut().unwrap().remove("price");
    item["plan"] = json!({
        "id": "gold", "object": "plan", "amount": null, "amount_decimal": "999.5",
        "currency": "gbp", "interval": "month", "interval_count": 3,
        "nickname": "Gold quarterly", "product": {"id": "prod_gold", "object": "product"}
    });
    item["quantity"] = json!(2);
    v["data"]["object"]
        .as_object_mut()
        .unwrap()
        .remove("currency");
    let s = subscription_of(&v);
    let i = &s.items[0];
    assert_eq!(i.price_id, "gold");
    assert_eq!(
        i.unit_amount_minor,
        Some(1000),
        "amount_decimal rounded half up"
    );
    assert_eq!(
        (i.interval, i.interval_count, i.usage_type),
        (Interval::Month, 3, UsageType::Licensed)
    );
    assert_eq!(i.product.as_deref(), Some("prod_gold"));
    assert_eq!(
        s.currency, "GBP",
        "currency from the item when the subscription has none"
    );
    assert_eq!(s.mrr_minor(), 667, "2000 per quarter");
}

#[test]
fn discounts_in_both_shapes() {
    let mut v = subscription_updated_2024();
    v["data"]["object"]["discount"] = json!({
        "id": "di_1", "object": "discount",
        "coupon": {"id": "TEN", "object": "coupon", "percent_off": 10.0, "amount_off": null, "currency": null, "duration": "forever"},
        "customer": "cus_QOgGdwQ3Ay4Jx1", "start": 1714564800, "end": null
    });
    v["data"]["object"]["discounts"] = json!([
        "di_1",
        {"id": "di_1", "object": "discount", "coupon": {"id": "TEN", "percent_off": 10}},
        {"id": "di_2", "object": "discount", "source": {"type": "coupon", "coupon": {"id": "FIVER", "object": "coupon", "percent_off": null, "amount_off": 500, "currency": "usd"}}},
        {"id": "di_3", "object": "discount", "source": {"type": "coupon", "coupon": "UNEXPANDED"}}
    ]);
    let s = subscription_of(&v);
    assert_eq!(s.discounts.len(), 3, "di_1 once, bare ids skipped");
    assert_eq!(s.discounts[0].percent_off, Some(10.0));
    assert_eq!(s.discounts[1].amount_off_minor, Some(500));
    assert_eq!(s.discounts[1].currency.as_deref(), Some("USD"));
    assert_eq!(s.discounts[2].coupon_id.as_deref(), Some("UNEXPANDED"));
    // 30000 × 0.9 − 500 = 26500.
    assert_eq!(s.mrr_minor(), 265_00);
}

fn invoice_event(kind: &str, invoice: Value) -> Value {
    json!({
        "id": "evt_1Inv", "object": "event", "api_version": "2024-06-20", "created": 1717243300,
        "data": {"object": invoice}, "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "type": kind
    })
}

fn invoice_of(v: &Value) -> Invoice {
    match parse_event(v.to_string().as_bytes()).unwrap().object {
        StripeObject::Invoice(i) => i,
        other => panic!("not an invoice: {other:?}"),
    }
}

#[test]
fn invoice_paid_with_top_level_subscription() {
    let v = invoice_event(
        "invoice.paid",
        json!({
            "id": "in_1PXq8aLkdIwHu7ixu3wFk1cE", "object": "invoice", "account_country": "US",
            "amount_due": 30000, "amount_paid": 30000, "amount_remaining": 0, "amount_shipping": 0,
            "attempt_count": 1, "attempted": true, "auto_advance": false,
            "billing_reason": "subscription_cycle", "collection_method": "charge_automatically",
            "created": 1717243200, "currency": "usd", "customer": "cus_QOgGdwQ3Ay4Jx1",
            "customer_email": "jane@acme.io", "discount": null, "discounts": [],
            "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_x",
            "lines": {"object": "list", "data": [], "has_more": false, "url": "/v1/invoices/in_1/lines"},
            "livemode": false, "metadata": {}, "next_payment_attempt": null,
            "number": "ACME-0007", "paid": true, "period_end": 1717243200, "period_start": 1714564800,
            "status": "paid", "subscription": "sub_1PXq7oLkdIwHu7ixR5yZ2a9q", "subtotal": 30000, "total": 30000
        }),
    );
    let i = invoice_of(&v);
    assert_eq!(
        i.subscription.as_deref(),
        Some("sub_1PXq7oLkdIwHu7ixR5yZ2a9q")
    );
    assert_eq!(i.status, Some(InvoiceStatus::Paid));
    assert_eq!(i.currency, "USD");
    assert_eq!(
        (
            i.amount_due,
            i.amount_paid,
            i.amount_remaining,
            i.attempt_count
        ),
        (30000, 30000, 0, 1)
    );
    assert_eq!(i.number.as_deref(), Some("ACME-0007"));
    assert_eq!(i.billing_reason.as_deref(), Some("subscription_cycle"));
    assert!(i
        .hosted_invoice_url
        .unwrap()
        .starts_with("https://invoice.stripe.com/"));
    assert_eq!(
        (i.period_start, i.period_end),
        (Some(at(1714564800)), Some(at(1717243200)))
    );
    assert_eq!(i.created, at(1717243200));
}

#[test]
fn invoice_payment_failed_with_parent_subscription() {
    let v = invoice_event(
        "invoice.payment_failed",
        json!({
            "id": "in_1RFail", "object": "invoice", "amount_due": 4900, "amount_paid": 0,
            "amount_remaining": 4900, "attempt_count": 2, "attempted": true,
            "billing_reason": "subscription_cycle", "created": 1743465600, "currency": "eur",
            "customer": {"id": "cus_Basil", "object": "customer"},
            "lines": {"object": "list", "data": [{"id": "il_1", "object": "line_item",
                "parent": {"type": "subscription_item_details", "subscription_item_details": {"subscription": "sub_from_line", "subscription_item": "si_A"}}}]},
            "next_payment_attempt": 1743724800, "number": null,
            "parent": {"quote_details": null, "subscription_details": {"metadata": {}, "subscription": "sub_1RAbCdLkdIwHu7ixBasil"}, "type": "subscription_details"},
            "status": "open"
        }),
    );
    let i = invoice_of(&v);
    assert_eq!(i.subscription.as_deref(), Some("sub_1RAbCdLkdIwHu7ixBasil"));
    assert_eq!(i.customer, "cus_Basil");
    assert_eq!(i.status, Some(InvoiceStatus::Open));
    assert_eq!(i.next_payment_attempt, Some(at(1743724800)));
    assert_eq!(i.number, None);
    assert_eq!(
        payment_health(&SubscriptionStatus::PastDue, Some(&i)),
        PaymentHealth::Failing {
            attempts: 2,
            next_attempt: Some(at(1743724800))
        }
    );
    // Without parent, the line's subscription is used.
    let mut v2 = v.clone();
    v2["data"]["object"]["parent"] = Value::Null;
    assert_eq!(
        invoice_of(&v2).subscription.as_deref(),
        Some("sub_from_line")
    );
}

#[test]
fn charge_refunded() {
    let v = json!({
        "id": "evt_3PXq", "object": "event", "api_version": "2024-06-20", "created": 1717250000,
        "data": {"object": {
            "id": "ch_3PXq9cLkdIwHu7ix0Y4sX1", "object": "charge", "amount": 30000,
            "amount_captured": 30000, "amount_refunded": 30000, "captured": true, "created": 1717243205,
            "currency": "usd", "customer": "cus_QOgGdwQ3Ay4Jx1", "invoice": "in_1PXq8aLkdIwHu7ixu3wFk1cE",
            "livemode": false, "paid": true, "refunded": true, "status": "succeeded"
        }, "previous_attributes": {"amount_refunded": 0, "refunded": false}},
        "livemode": false, "pending_webhooks": 1, "request": {"id": "req_9", "idempotency_key": null},
        "type": "charge.refunded"
    });
    let StripeObject::Charge(c) = parse_event(v.to_string().as_bytes()).unwrap().object else {
        panic!()
    };
    assert_eq!(
        c,
        Charge {
            id: "ch_3PXq9cLkdIwHu7ix0Y4sX1".into(),
            customer: Some("cus_QOgGdwQ3Ay4Jx1".into()),
            amount: 30000,
            amount_refunded: 30000,
            currency: "USD".into(),
            refunded: true,
            invoice: Some("in_1PXq8aLkdIwHu7ixu3wFk1cE".into()),
            created: at(1717243205),
        }
    );
}

fn customer_event(kind: &str) -> Value {
    json!({
        "id": "evt_1Cus", "object": "event", "api_version": "2024-06-20", "created": 1717243000,
        "data": {"object": {
            "id": "cus_QOgGdwQ3Ay4Jx1", "object": "customer", "address": null, "balance": 0,
            "created": 1717243000, "currency": null, "default_source": null, "delinquent": false,
            "description": null, "discount": null, "email": "Jane.Doe@Acme.IO",
            "invoice_prefix": "ACME", "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null},
            "livemode": false, "metadata": {"external_id": " acme-001 ", "seats": "12"},
            "name": "Acme Inc.", "phone": null, "preferred_locales": [], "shipping": null,
            "tax_exempt": "none", "test_clock": null
        }},
        "livemode": false, "pending_webhooks": 1, "request": {"id": "req_c", "idempotency_key": "k"},
        "type": kind
    })
}

#[test]
fn customer_created_with_metadata_and_deleted() {
    let e = parse_event(customer_event("customer.created").to_string().as_bytes()).unwrap();
    let StripeObject::Customer(c) = e.object else {
        panic!()
    };
    assert_eq!(c.id, "cus_QOgGdwQ3Ay4Jx1");
    assert_eq!(c.email.as_deref(), Some("Jane.Doe@Acme.IO"));
    assert_eq!(c.name.as_deref(), Some("Acme Inc."));
    assert_eq!(c.metadata.len(), 2);
    assert!(!c.deleted);
    assert_eq!(
        account_hint(&c),
        AccountHint {
            customer_id_metadata: Some("acme-001".into()),
            metadata_key: Some("external_id".into()),
            email_domain: Some("acme.io".into()),
        }
    );
    let e = parse_event(customer_event("customer.deleted").to_string().as_bytes()).unwrap();
    let StripeObject::Customer(c) = e.object else {
        panic!()
    };
    assert!(c.deleted);
}

#[test]
fn other_events_are_accepted_as_other() {
    let v = json!({
        "id": "evt_pi", "object": "event", "created": 1717243000, "livemode": false,
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 100}},
        "type": "payment_intent.succeeded"
    });
    let e = parse_event(v.to_string().as_bytes()).unwrap();
    assert!(!e.is_handled());
    assert_eq!(
        e.object,
        StripeObject::Other {
            object: "payment_intent".into()
        }
    );
    // A known object kind that does not parse, in an event we do not handle: Other.
    let v = invoice_event(
        "invoice.created",
        json!({"id": "in_x", "object": "invoice", "amount_due": "lots"}),
    );
    let e = parse_event(v.to_string().as_bytes()).unwrap();
    assert_eq!(
        e.object,
        StripeObject::Other {
            object: "invoice".into()
        }
    );
    // ...but a well-formed one still parses.
    let v = invoice_event(
        "invoice.finalized",
        json!({
            "id": "in_y", "object": "invoice", "customer": "cus_1", "currency": "usd",
            "amount_due": 1, "amount_paid": 0, "amount_remaining": 1, "created": 1
        }),
    );
    assert!(matches!(
        parse_event(v.to_string().as_bytes()).unwrap().object,
        StripeObject::Invoice(_)
    ));
}

#[test]
fn problems_name_their_paths() {
    assert_eq!(problems(&json!([1])), vec!["body"]);
    assert_eq!(parse_event(b"{not json").unwrap_err()[0].path, "body");
    assert_eq!(
        problems(&json!({"object": "list"})),
        vec!["object", "id", "type", "created", "data"]
    );
    let mut v = subscription_updated_2024();
    let o = &mut v["data"]["object"];
    o["status"] = json!(3);
    o["customer"] = json!({"object": "customer"});
    o["items"]["data"][0]["price"]["recurring"]["interval"] = json!("fortnight");
    o["items"]["data"][0]["price"]["recurring"]["interval_count"] = json!(0);
    o["items"]["data"][0]["price"]["unit_amount"] = json!(-5);
    o["items"]["data"][0]["quantity"] = json!(-1);
    o["items"]["data"][0]["price"]["currency"] = json!("dollars");
    o["current_period_end"] = json!(1e300);
    o["trial_end"] = json!(i64::MAX);
    o["metadata"] = json!({"k": [1]});
    assert_eq!(
        problems(&v),
        vec![
            "data.object.customer.id",
            "data.object.status",
            "data.object.items.data[0].price.unit_amount",
            "data.object.items.data[0].price.currency",
            "data.object.items.data[0].price.recurring.interval",
            "data.object.items.data[0].price.recurring.interval_count",
            "data.object.items.data[0].quantity",
            "data.object.current_period_end",
            "data.object.trial_end",
            "data.object.metadata.k",
        ]
    );
    let mut v = subscription_updated_2024();
    v["data"]["object"]["object"] = json!("invoice");
    assert_eq!(
        problems(&v)[0],
        "data.object.object",
        "object must match the event type"
    );
    let mut v = subscription_updated_2024();
    v["data"]["object"]["items"]["data"][0]["price"] = json!("price_123");
    v["data"]["object"]["items"]["data"][0]
        .as_object_mut()
        .unwrap()
        .remove("plan");
    assert_eq!(problems(&v), vec!["data.object.items.data[0].price"]);
}

#[test]
fn unknown_statuses_are_kept() {
    let mut v = subscription_updated_2024();
    v["data"]["object"]["status"] = json!("hibernating");
    let s = subscription_of(&v);
    assert_eq!(s.status, SubscriptionStatus::Other("hibernating".into()));
    assert_eq!(s.status.as_str(), "hibernating");
    assert!(s.counts_toward_mrr());
    for raw in [
        "trialing",
        "active",
        "incomplete",
        "incomplete_expired",
        "past_due",
        "canceled",
        "unpaid",
        "paused",
    ] {
        assert_eq!(SubscriptionStatus::parse(raw).as_str(), raw);
    }
    for raw in ["draft", "open", "paid", "uncollectible", "void", "new"] {
        assert_eq!(InvoiceStatus::parse(raw).as_str(), raw);
    }
}

#[test]
fn decimal_amounts() {
    assert_eq!(parse_decimal_minor("2500"), Some(2500));
    assert_eq!(parse_decimal_minor("0.4999"), Some(0));
    assert_eq!(parse_decimal_minor("0.5"), Some(1));
    assert_eq!(parse_decimal_minor(".5"), Some(1));
    assert_eq!(parse_decimal_minor("7."), Some(7));
    assert_eq!(
        parse_decimal_minor("99999999999999999999999"),
        Some(i64::MAX)
    );
    for bad in ["", ".", "-1", "1e3", "1.2.3", " 1 2", "abc"] {
        assert_eq!(parse_decimal_minor(bad), None, "{bad}");
    }
}

// ---- MRR ----------------------------------------------------------------------

fn item(unit: i64, interval: Interval, count: u32, quantity: u64) -> SubscriptionItem {
    SubscriptionItem {
        id: "si".into(),
        price_id: "price".into(),
        product: Some("prod".into()),
        nickname: None,
        unit_amount_minor: Some(unit),
        currency: "USD".into(),
        interval,
        interval_count: count,
        quantity,
        usage_type: UsageType::Licensed,
        current_period_start: None,
        current_period_end: None,
    }
}

fn sub(items: Vec<SubscriptionItem>) -> Subscription {
    Subscription {
        id: "sub".into(),
        customer: "cus".into(),
        status: SubscriptionStatus::Active,
        items,
        currency: "USD".into(),
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        cancel_at: None,
        canceled_at: None,
        ended_at: None,
        start_date: None,
        trial_start: None,
        trial_end: None,
        discounts: Vec::new(),
        metadata: BTreeMap::new(),
    }
}

fn discount(percent: Option<f64>, amount: Option<i64>) -> Discount {
    Discount {
        id: None,
        coupon_id: Some("C".into()),
        percent_off: percent,
        amount_off_minor: amount,
        currency: amount.map(|_| "USD".into()),
    }
}

#[test]
fn mrr_by_interval() {
    use Interval::*;
    assert_eq!(sub(vec![item(49_00, Month, 1, 1)]).mrr_minor(), 49_00);
    assert_eq!(sub(vec![item(1200_00, Year, 1, 1)]).mrr_minor(), 100_00);
    assert_eq!(
        sub(vec![item(1000_00, Year, 1, 1)]).mrr_minor(),
        8333,
        "83.333… rounds down"
    );
    assert_eq!(
        sub(vec![item(1000_02, Year, 1, 1)]).mrr_minor(),
        8334,
        "8333.5 rounds up"
    );
    assert_eq!(
        sub(vec![item(2000_00, Year, 2, 1)]).mrr_minor(),
        8333,
        "biennial"
    );
    assert_eq!(
        sub(vec![item(300_00, Month, 3, 1)]).mrr_minor(),
        100_00,
        "quarterly"
    );
    assert_eq!(sub(vec![item(100, Month, 3, 1)]).mrr_minor(), 33);
    assert_eq!(
        sub(vec![item(10_00, Week, 1, 1)]).mrr_minor(),
        4333,
        "10 × 52 / 12"
    );
    assert_eq!(sub(vec![item(10_00, Week, 2, 1)]).mrr_minor(), 2167);
    assert_eq!(
        sub(vec![item(1_00, Day, 1, 1)]).mrr_minor(),
        3042,
        "365 / 12 = 30.4166…"
    );
    assert_eq!(
        sub(vec![item(25_00, Month, 1, 12)]).mrr_minor(),
        300_00,
        "quantity"
    );
    assert_eq!(
        sub(vec![item(25_00, Month, 1, 0)]).mrr_minor(),
        0,
        "zero seats"
    );
}

#[test]
fn mrr_multiple_items_and_metered() {
    use Interval::*;
    let mut metered = item(5, Month, 1, 1);
    metered.usage_type = UsageType::Metered;
    let mut tiered = item(0, Month, 1, 3);
    tiered.unit_amount_minor = None;
    let mut big = item(12_000_00, Year, 1, 1);
    big.nickname = Some("Enterprise".into());
    let s = sub(vec![item(25_00, Month, 1, 4), metered, tiered, big]);
    assert_eq!(s.mrr_minor(), 100_00 + 1000_00);
    assert_eq!(s.plan_name().as_deref(), Some("Enterprise"));
    assert_eq!(s.items[1].monthly_amount_minor(), 0);
    assert_eq!(sub(vec![]).mrr_minor(), 0);
    assert_eq!(sub(vec![]).plan_name(), None);
}

#[test]
fn mrr_discounts() {
    use Interval::*;
    let mut s = sub(vec![item(100_00, Month, 1, 1)]);
    s.discounts = vec![discount(Some(25.0), None)];
    assert_eq!(s.mrr_minor(), 75_00);
    s.discounts = vec![discount(Some(12.5), None)];
    assert_eq!(s.mrr_minor(), 87_50);
    s.discounts = vec![discount(Some(100.0), None)];
    assert_eq!(s.mrr_minor(), 0);
    s.discounts = vec![discount(None, Some(30_00))];
    assert_eq!(s.mrr_minor(), 70_00);
    s.discounts = vec![discount(None, Some(500_00))];
    assert_eq!(s.mrr_minor(), 0, "never negative");
    s.discounts = vec![discount(Some(50.0), None), discount(None, Some(10_00))];
    assert_eq!(s.mrr_minor(), 40_00, "percent first, then amount");
    let mut euro = discount(None, Some(10_00));
    euro.currency = Some("EUR".into());
    s.discounts = vec![euro];
    assert_eq!(s.mrr_minor(), 100_00, "other currency ignored");
    // amount_off is per invoice: a yearly plan's 120.00 off is 10.00 a month.
    let mut y = sub(vec![item(1200_00, Year, 1, 1)]);
    y.discounts = vec![discount(None, Some(120_00))];
    assert_eq!(y.mrr_minor(), 90_00);
    y.discounts = vec![discount(Some(f64::NAN), None), discount(Some(-5.0), None)];
    assert_eq!(y.mrr_minor(), 100_00, "nonsense percentages change nothing");
}

#[test]
fn mrr_status_and_saturation() {
    use Interval::*;
    for (status, counts) in [
        (SubscriptionStatus::Active, true),
        (SubscriptionStatus::Trialing, true),
        (SubscriptionStatus::PastDue, true),
        (SubscriptionStatus::Unpaid, true),
        (SubscriptionStatus::Canceled, false),
        (SubscriptionStatus::Incomplete, false),
        (SubscriptionStatus::IncompleteExpired, false),
        (SubscriptionStatus::Paused, false),
    ] {
        let mut s = sub(vec![item(10_00, Month, 1, 1)]);
        s.status = status.clone();
        assert_eq!(s.counts_toward_mrr(), counts, "{status:?}");
        assert_eq!(s.mrr_minor(), if counts { 10_00 } else { 0 }, "{status:?}");
    }
    let huge = sub(vec![
        item(i64::MAX, Day, 1, u64::MAX),
        item(i64::MAX, Month, 1, u64::MAX),
    ]);
    assert_eq!(huge.mrr_minor(), i64::MAX);
    let mut h = huge.clone();
    h.discounts = vec![discount(Some(50.0), None)];
    assert_eq!(h.mrr_minor(), i64::MAX / 2 + 1);
    h.discounts = vec![discount(None, Some(i64::MAX))];
    assert_eq!(h.mrr_minor(), 0);
    let mut odd = item(-50, Month, 0, 1);
    assert_eq!(
        sub(vec![odd.clone()]).mrr_minor(),
        0,
        "negative amounts count 0"
    );
    odd.unit_amount_minor = Some(30);
    assert_eq!(
        sub(vec![odd]).mrr_minor(),
        30,
        "interval_count 0 treated as 1"
    );
}

// ---- account hints ------------------------------------------------------------

fn customer(email: Option<&str>, meta: &[(&str, &str)]) -> Customer {
    Customer {
        id: "cus_1".into(),
        email: email.map(str::to_string),
        name: None,
        metadata: meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        deleted: false,
    }
}

#[test]
fn account_hint_metadata_order() {
    let c = customer(
        None,
        &[
            ("account_id", "a"),
            ("customer_id", "c"),
            ("VCSM_Customer_ID", "v"),
            ("vcsm_external_id", " "),
        ],
    );
    let h = account_hint(&c);
    assert_eq!(h.customer_id_metadata.as_deref(), Some("v"));
    assert_eq!(h.metadata_key.as_deref(), Some("vcsm_customer_id"));
    let c = customer(None, &[("account_id", "a"), ("external_id", "e")]);
    assert_eq!(account_hint(&c).customer_id_metadata.as_deref(), Some("e"));
    assert_eq!(
        account_hint(&customer(None, &[("plan", "x")])),
        AccountHint::default()
    );
}

#[test]
fn account_hint_email_domains() {
    let domain = |e: &str| account_hint(&customer(Some(e), &[])).email_domain;
    assert_eq!(domain("ops@Acme.Co.UK").as_deref(), Some("acme.co.uk"));
    assert_eq!(
        domain(" \"odd@name\"@sub.acme.io. ").as_deref(),
        Some("sub.acme.io")
    );
    assert_eq!(
        domain("pat@live.acme.com").as_deref(),
        Some("live.acme.com")
    );
    for free in [
        "a@gmail.com",
        "a@GMAIL.COM",
        "a@outlook.com",
        "a@yahoo.com",
        "a@yahoo.co.uk",
        "a@hotmail.com",
        "a@hotmail.fr",
        "a@icloud.com",
        "a@proton.me",
        "a@aol.com",
        "a@gmx.de",
        "a@gmx.at",
        "a@outlook.com.br",
        "a@web.de",
    ] {
        assert_eq!(domain(free), None, "{free}");
    }
    for bad in [
        "no-at-sign",
        "@acme.io",
        "a@localhost",
        "a@acme..io",
        "a@ac me.io",
        "a@",
    ] {
        assert_eq!(domain(bad), None, "{bad}");
    }
}

// ---- payment health -----------------------------------------------------------

fn invoice(status: InvoiceStatus, attempts: u32, remaining: i64, next: Option<i64>) -> Invoice {
    Invoice {
        id: "in".into(),
        customer: "cus".into(),
        subscription: Some("sub".into()),
        status: Some(status),
        currency: "USD".into(),
        amount_due: 100,
        amount_paid: 100 - remaining,
        amount_remaining: remaining,
        attempt_count: attempts,
        next_payment_attempt: next.map(at),
        created: at(T),
        billing_reason: None,
        number: None,
        hosted_invoice_url: None,
        period_start: None,
        period_end: None,
    }
}

#[test]
fn payment_health_rules() {
    use InvoiceStatus::*;
    use PaymentHealth::*;
    use SubscriptionStatus as S;
    let h = payment_health;
    assert_eq!(h(&S::Active, None), Good);
    assert_eq!(h(&S::Active, Some(&invoice(Paid, 1, 0, None))), Good);
    assert_eq!(
        h(&S::PastDue, Some(&invoice(Paid, 3, 0, None))),
        Good,
        "invoice is newer news"
    );
    assert_eq!(
        h(&S::PastDue, Some(&invoice(Open, 1, 100, Some(T + 86400)))),
        Failing {
            attempts: 1,
            next_attempt: Some(at(T + 86400))
        }
    );
    assert_eq!(
        h(&S::Active, Some(&invoice(Open, 4, 100, None))),
        Delinquent,
        "retries exhausted"
    );
    assert_eq!(h(&S::PastDue, None), Delinquent);
    assert_eq!(
        h(&S::Unpaid, Some(&invoice(Open, 0, 100, None))),
        Delinquent
    );
    assert_eq!(
        h(&S::Canceled, Some(&invoice(Uncollectible, 4, 100, None))),
        Delinquent
    );
    assert_eq!(
        h(&S::Active, Some(&invoice(Open, 0, 100, None))),
        Good,
        "not attempted yet"
    );
    assert_eq!(h(&S::Active, Some(&invoice(Draft, 0, 100, None))), Good);
    let s = sub(vec![]);
    assert_eq!(s.payment_health(None), Good);
}

// ---- properties ---------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            (-2_000_000_000i64..5_000_000_000).prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "[a-zA-Z0-9 ._-]{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("subscription"),
                Just("customer"),
                Just("invoice"),
                Just("charge"),
                Just("month"),
                Just("year"),
                Just("metered"),
                Just("usd"),
                Just("0.5"),
                Just("customer.subscription.updated"),
                Just("invoice.paid"),
            ]
            .prop_map(|s| Value::String(s.into())),
        ];
        let keys = prop_oneof![
            Just("id"),
            Just("object"),
            Just("type"),
            Just("created"),
            Just("data"),
            Just("items"),
            Just("price"),
            Just("plan"),
            Just("recurring"),
            Just("interval"),
            Just("interval_count"),
            Just("unit_amount"),
            Just("unit_amount_decimal"),
            Just("quantity"),
            Just("currency"),
            Just("customer"),
            Just("status"),
            Just("discount"),
            Just("discounts"),
            Just("coupon"),
            Just("source"),
            Just("percent_off"),
            Just("amount_off"),
            Just("metadata"),
            Just("parent"),
            Just("subscription_details"),
            Just("subscription"),
            Just("lines"),
            Just("amount"),
            Just("usage_type"),
            Just("current_period_end"),
        ]
        .prop_map(str::to_string);
        leaf.prop_recursive(5, 96, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((keys.clone(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Every JSON pointer in a value.
    fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{here}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let p = format!("{here}/{i}");
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            _ => {}
        }
    }

    fn fixtures() -> Vec<Value> {
        vec![
            subscription_updated_2024(),
            subscription_created_basil(),
            customer_event("customer.updated"),
            invoice_event(
                "invoice.payment_failed",
                json!({
                    "id": "in_1", "object": "invoice", "amount_due": 1, "amount_paid": 0,
                    "amount_remaining": 1, "attempt_count": 1, "created": 1, "currency": "usd",
                    "customer": "cus_1", "status": "open", "next_payment_attempt": 2,
                    "parent": {"subscription_details": {"subscription": "sub_1"}},
                    "lines": {"data": [{"subscription": "sub_1"}]}
                }),
            ),
        ]
    }

    fn check(v: &Value) {
        match parse_event(v.to_string().as_bytes()) {
            Ok(e) => {
                if let StripeObject::Subscription(s) = &e.object {
                    let m = s.mrr_minor();
                    assert!(m >= 0);
                    let _ = s.plan_name();
                    let _ = s.payment_health(None);
                }
                if let StripeObject::Customer(c) = &e.object {
                    let _ = account_hint(c);
                }
                if let StripeObject::Invoice(i) = &e.object {
                    let _ = payment_health(&SubscriptionStatus::PastDue, Some(i));
                }
            }
            Err(p) => assert!(!p.is_empty()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), header in ".{0,120}") {
            if let Err(p) = parse_event(&bytes) {
                prop_assert!(!p.is_empty());
            }
            let _ = verify_signature(&header, &bytes, &[SECRET], at(T), DEFAULT_TOLERANCE_SECS);
            let _ = verify_signature(&String::from_utf8_lossy(&bytes), &bytes, &[SECRET, ""], at(T), i64::MIN);
        }

        #[test]
        fn structured_headers_never_panic(
            parts in prop::collection::vec(
                (prop_oneof![Just("t"), Just("v1"), Just("v0"), Just(""), Just(" t ")],
                 prop_oneof![any::<i64>().prop_map(|n| n.to_string()), "[0-9a-fA-F]{0,70}", ".{0,10}"]),
                0..6),
            tolerance in any::<i64>(),
        ) {
            let header = parts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            let _ = verify_signature(&header, b"{}", &[SECRET], at(T), tolerance);
        }

        #[test]
        fn arbitrary_json_never_panics(v in any_json(), kind in prop_oneof![
            Just("customer.subscription.updated"), Just("invoice.paid"), Just("customer.created"),
            Just("charge.refunded"), Just("invoice.created"), Just("x")
        ]) {
            check(&v);
            let event = json!({"id": "evt_1", "object": "event", "created": 1, "type": kind,
                               "livemode": false, "data": {"object": v.clone()}});
            check(&event);
            for object in ["subscription", "invoice", "customer", "charge"] {
                let mut inner = v.clone();
                if let Value::Object(m) = &mut inner {
                    m.insert("object".into(), json!(object));
                }
                check(&json!({"id": "evt_1", "created": 1, "type": kind, "data": {"object": inner}}));
            }
        }

        #[test]
        fn mutated_real_events_never_panic(which in 0usize..4, pick in any::<prop::sample::Index>(), replacement in any_json()) {
            let mut v = fixtures().swap_remove(which);
            let mut ptrs = Vec::new();
            pointers(&v, String::new(), &mut ptrs);
            let ptr = pick.get(&ptrs);
            if let Some(slot) = v.pointer_mut(ptr) {
                *slot = replacement;
            }
            check(&v);
        }

        #[test]
        fn signed_payloads_verify(payload in prop::collection::vec(any::<u8>(), 0..256),
                                  secret in "whsec_[A-Za-z0-9]{1,40}",
                                  t in 0i64..4_000_000_000,
                                  skew in -300i64..=300) {
            let header = sign(&payload, &secret, t);
            prop_assert_eq!(verify_signature(&header, &payload, &[&secret], at(t + skew), 300), Ok(()));
        }

        #[test]
        fn any_single_byte_change_fails(payload in prop::collection::vec(any::<u8>(), 1..256),
                                        pick in any::<prop::sample::Index>(),
                                        flip in 1u8..=255) {
            let header = sign(&payload, SECRET, T);
            let mut tampered = payload.clone();
            let i = pick.index(tampered.len());
            tampered[i] ^= flip;
            prop_assert_eq!(verify(&header, &tampered, &[SECRET], T), Err(SignatureError::NoMatch));
        }
    }
}
