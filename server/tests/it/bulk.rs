//! Customers in and out in bulk: billing period and attributes through the form and the
//! customers CSV, scored as soon as they exist; the REST list with a cursor and filters,
//! each item with its health and churn; the list's CSV export; churn risk in the list.

use crate::common;

use common::{customer_form, spawn_app, TestApp};
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use vcsm::listing::{CustomerQuery, SortKey};

/// Scores whatever the score queue holds, as a server's pipeline would a few seconds
/// after the data arrived (past the debounce).
async fn score_queued(app: &TestApp) -> u64 {
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    let mut scored = 0;
    loop {
        let n = app::backend::pipeline::score_due(&app.db, &app.state.portfolio, later)
            .await
            .expect("score the queued customers");
        if n == 0 {
            return scored;
        }
        scored += n;
    }
}

async fn rest_get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn token(app: &TestApp) -> String {
    app::backend::tokens::create(&app.db, "warehouse", "executive", chrono::Utc::now())
        .await
        .unwrap()
        .token
}

/// Imports six customers (two owned, monthly and annual, with attributes) and scores them.
async fn portfolio(app: &TestApp) {
    app.sign_in_as("lead@example.com", "admin").await;
    app.create_user("csm@example.com", "csm").await;
    let csv = "name,external_id,tier,stage,mrr,seats,contract_start,billing_period,owner_email,attr.country,attr.Sales Channel\n\
               Acme,a1,enterprise,active,9000,80,2025-01-15,monthly,csm@example.com,DE,partner\n\
               Globex,a2,mid_market,active,2500,20,2024-06-01,annual,csm@example.com,FR,\n\
               Initech,a3,small_business,onboarding,500,5,,month,,US,direct\n\
               Umbrella,a4,small_business,at_risk,300,3,2025-11-01,quarterly,,,\n\
               Hooli,a5,enterprise,active,12000,150,2023-02-01,,,,\n\
               Stark,a6,mid_market,trial,0,0,,,,,\n";
    let report = app.import_report("Customers", csv).await;
    assert_eq!(report["imported"], 6, "{report}");
}

#[tokio::test]
async fn imported_and_created_customers_are_scored_at_once_with_their_billing_and_attributes() {
    let app = spawn_app().await;
    portfolio(&app).await;
    // Nothing else happened to them: the import itself queued them.
    assert_eq!(score_queued(&app).await, 6);
    let rows = list(&app, CustomerQuery::default()).await;
    assert!(
        rows.iter()
            .all(|r| r["health_score"].is_u64() && r["churn_risk"].is_string()),
        "{rows:?}"
    );

    // A customer made in the form is queued too, with its period and attributes kept.
    let mut form = customer_form("Wayne", "w1");
    form.push(("input[billing_period]".into(), "quarterly".into()));
    form.push((
        "input[attributes]".into(),
        "Industry: Retail\ncountry: UK".into(),
    ));
    let res = app
        .client
        .post(app.url("/api/create_customer"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(score_queued(&app).await, 1);

    let token = token(&app).await;
    let (status, wayne) = rest_get(&app, "/api/v1/customers/by-external-id/w1", &token).await;
    assert_eq!(status, 200);
    assert_eq!(wayne["billing_period"], "quarterly");
    assert_eq!(
        wayne["attributes"],
        json!({"industry": "Retail", "country": "UK"})
    );
    let (_, acme) = rest_get(&app, "/api/v1/customers/by-external-id/a1", &token).await;
    assert_eq!(acme["billing_period"], "monthly");
    assert_eq!(
        acme["attributes"],
        json!({"country": "DE", "sales_channel": "partner"})
    );

    // A bad period or attribute is refused by field, and nothing is written.
    let mut bad = customer_form("Bad", "b1");
    bad.push(("input[billing_period]".into(), "fortnightly".into()));
    bad.push(("input[attributes]".into(), "no colon".into()));
    let res = app
        .client
        .post(app.url("/api/create_customer"))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(
        common::validation_fields(res).await,
        vec!["billing_period", "attributes"]
    );
}

#[tokio::test]
async fn renewals_follow_the_billing_period_and_young_accounts_have_no_trend() {
    let app = spawn_app().await;
    portfolio(&app).await;
    let ids = app::backend::customers::ids_after(&app.db, 0, 100)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let card = vcsm::health::Scorecard::default();
    let facts = app::backend::facts::gather_facts(&app.db, &card, Some(&ids), now, now)
        .await
        .unwrap();
    let by_name = |name: &str| {
        let id = ids[["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark"]
            .iter()
            .position(|n| *n == name)
            .unwrap()];
        facts[&id].clone()
    };
    // Monthly: renews within a month, not at its anniversary.
    let acme = by_name("Acme").days_to_renewal.unwrap();
    assert!((1..=31).contains(&acme), "{acme}");
    // Quarterly from 2025-11-01: within three months.
    let umbrella = by_name("Umbrella").days_to_renewal.unwrap();
    assert!((1..=92).contains(&umbrella), "{umbrella}");
    // Period unknown with a contract start: its anniversary; no start, no renewal.
    assert!(by_name("Hooli").days_to_renewal.unwrap() > 0);
    assert_eq!(by_name("Stark").days_to_renewal, None);
    // Monthly without a contract: from when it was first seen (today), a month on.
    let initech = by_name("Initech").days_to_renewal.unwrap();
    assert!((28..=31).contains(&initech), "{initech}");
    // Created today: the previous window is before it existed, so no trend.
    assert!(by_name("Initech").previous_partial);
    assert!(!by_name("Hooli").previous_partial);

    // The stored score leaves the trend out rather than counting it as growth.
    score_queued(&app).await;
    let token = token(&app).await;
    let id = ids[2];
    let (status, health) = rest_get(&app, &format!("/api/v1/customers/{id}/health"), &token).await;
    assert_eq!(status, 200, "{health}");
    let trend = health["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "usage_trend")
        .unwrap()
        .clone();
    assert_eq!(
        (trend["raw"].clone(), trend["share"].clone()),
        (Value::Null, json!(0.0))
    );
}

async fn list(app: &TestApp, query: CustomerQuery) -> Vec<Value> {
    let res = app
        .post_json("list_customers", json!({ "query": query }))
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["rows"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_rest_list_pages_with_a_cursor_filters_and_carries_health_and_churn() {
    let app = spawn_app().await;
    portfolio(&app).await;
    score_queued(&app).await;
    let token = token(&app).await;

    // Every customer, two at a time.
    let mut seen = Vec::new();
    let mut path = "/api/v1/customers?limit=2".to_string();
    loop {
        let (status, page) = rest_get(&app, &path, &token).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            assert!(item["health"]["score"].is_u64(), "{item}");
            assert!(item["health"]["level"].is_string(), "{item}");
            assert!(item["churn"]["risk"].is_string(), "{item}");
            assert!(item["churn"]["factors"].is_array(), "{item}");
            seen.push(item["external_id"].as_str().unwrap().to_string());
        }
        match page["next_after"].as_i64() {
            Some(after) => path = format!("/api/v1/customers?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, ["a1", "a2", "a3", "a4", "a5", "a6"]);

    let externals = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["external_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, enterprise) = rest_get(&app, "/api/v1/customers?tier=enterprise", &token).await;
    assert_eq!(externals(&enterprise), ["a1", "a5"]);
    let (_, owned) = rest_get(&app, "/api/v1/customers?owner=CSM@example.com", &token).await;
    assert_eq!(externals(&owned), ["a1", "a2"]);
    let (_, unowned) = rest_get(&app, "/api/v1/customers?owner=none&stage=at_risk", &token).await;
    assert_eq!(externals(&unowned), ["a4"]);
    let (_, all) = rest_get(&app, "/api/v1/customers", &token).await;
    for risk in ["high", "medium", "low"] {
        let expected: Vec<String> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["churn"]["risk"] == risk)
            .map(|i| i["external_id"].as_str().unwrap().to_string())
            .collect();
        let (_, page) = rest_get(&app, &format!("/api/v1/customers?risk={risk}"), &token).await;
        assert_eq!(externals(&page), expected, "{risk}");
    }
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (status, none) = rest_get(
        &app,
        &format!("/api/v1/customers?updated_since={}", urlencode(&future)),
        &token,
    )
    .await;
    assert_eq!((status, externals(&none).len()), (200, 0));
    let (_, since) = rest_get(
        &app,
        "/api/v1/customers?updated_since=2020-01-01T00:00:00Z",
        &token,
    )
    .await;
    assert_eq!(externals(&since).len(), 6);

    // Every bad parameter named at once; no token, no list.
    let (status, bad) = rest_get(
        &app,
        "/api/v1/customers?tier=gold&risk=extreme&updated_since=yesterday&owner=nobody@example.com",
        &token,
    )
    .await;
    assert_eq!(status, 400);
    let message = bad["error"].as_str().unwrap();
    for word in ["tier", "risk", "updated_since", "nobody@example.com"] {
        assert!(message.contains(word), "{message}");
    }
    assert_eq!(
        rest_get(&app, "/api/v1/customers?limit=0", &token).await.0,
        400
    );
    let res = app
        .client
        .get(app.url("/api/v1/customers"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn the_list_sorts_and_filters_by_churn_risk_and_exports_what_it_shows() {
    let app = spawn_app().await;
    portfolio(&app).await;
    score_queued(&app).await;

    let rank = |r: &Value| match r["churn_risk"].as_str() {
        Some("high") => 3,
        Some("medium") => 2,
        Some("low") => 1,
        _ => 0,
    };
    let by_churn = list(
        &app,
        CustomerQuery {
            sort: SortKey::Churn,
            desc: true,
            ..CustomerQuery::default()
        },
    )
    .await;
    assert_eq!(by_churn.len(), 6);
    let ranks: Vec<i32> = by_churn.iter().map(rank).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
    let highest = by_churn[0]["churn_risk"].as_str().unwrap().to_string();
    let only = list(
        &app,
        CustomerQuery {
            risk: vcsm::churn::Risk::parse(&highest),
            ..CustomerQuery::default()
        },
    )
    .await;
    assert!(!only.is_empty() && only.iter().all(|r| r["churn_risk"] == highest.as_str()));

    // The export: the list's filters and order, every page, health and churn columns.
    let res = app
        .client
        .get(app.url("/customers/export.csv?tier=enterprise&sort=mrr&dir=desc"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        app::backend::customers::EXPORT_COLUMNS.join(","),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].contains(",Hooli,") && lines[2].contains(",Acme,"),
        "{text}"
    );
    assert!(
        lines[2].contains("monthly") && lines[2].contains("country: DE; sales_channel: partner")
    );
    let health_level = lines[2].split(',').nth(15).unwrap();
    assert!(
        ["poor", "fair", "good", "excellent"].contains(&health_level),
        "{text}"
    );

    // Signed out: the sign-in page, not the data.
    let stranger = reqwest::Client::new();
    let res = stranger
        .get(app.url("/customers/export.csv"))
        .send()
        .await
        .unwrap();
    assert!(res.url().path().starts_with("/login"), "{}", res.url());
    assert!(!res.text().await.unwrap().contains("Acme"));
}

async fn rest_send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
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
async fn the_rest_api_creates_and_changes_customers_with_billing_and_attributes() {
    let app = spawn_app().await;
    app.sign_in_as("lead@example.com", "admin").await;
    let now = chrono::Utc::now();
    let writer = app::backend::tokens::create(&app.db, "crm", "manager", now)
        .await
        .unwrap()
        .token;
    let reader = token(&app).await;

    let (status, created) = rest_send(
        &app,
        reqwest::Method::POST,
        "/api/v1/customers",
        &writer,
        json!({
            "name": "Acme", "external_id": "crm_1", "mrr": 1250.5, "seats": 40,
            "billing_period": "month", "attributes": {"Industry": "Retail", "country": "DE"},
            "tags": ["beta", "EU"]
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["mrr_minor"], 125_050);
    assert_eq!(created["seats"], 40);
    assert_eq!(created["billing_period"], "monthly");
    assert_eq!(
        created["attributes"],
        json!({"industry": "Retail", "country": "DE"})
    );
    assert_eq!(created["tier"], "small_business");
    // Scored at once, like a customer made in the form.
    assert_eq!(score_queued(&app).await, 1);

    // A PATCH changes what it names and nothing else.
    let (status, changed) = rest_send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/customers/{id}"),
        &writer,
        json!({"seats": 55, "attributes": {"country": "FR"}}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            changed["seats"].clone(),
            changed["mrr_minor"].clone(),
            changed["billing_period"].clone()
        ),
        (json!(55), json!(125_050), json!("monthly"))
    );
    assert_eq!(changed["attributes"], json!({"country": "FR"}));
    assert_eq!(changed["tags"], json!(["beta", "EU"]));

    // Every bad field at once, nothing saved; unknown fields and bad JSON are 400.
    let (status, bad) = rest_send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/customers/{id}"),
        &writer,
        json!({"seats": -3, "billing_period": "weekly", "mrr": [1], "attributes": {"bad name!": "x"}}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let fields: Vec<&str> = bad["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["mrr", "attributes"], "{bad}");
    let (status, bad) = rest_send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/customers/{id}"),
        &writer,
        json!({"seats": -3, "billing_period": "weekly"}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let fields: Vec<&str> = bad["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["seats", "billing_period"], "{bad}");
    let (_, still) = rest_get(&app, &format!("/api/v1/customers/{id}"), &reader).await;
    assert_eq!(still["seats"], 55);
    let (status, _) = rest_send(
        &app,
        reqwest::Method::POST,
        "/api/v1/customers",
        &writer,
        json!({"name": "X", "colour": "red"}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, dup) = rest_send(
        &app,
        reqwest::Method::POST,
        "/api/v1/customers",
        &writer,
        json!({"name": "Other", "external_id": "crm_1"}),
    )
    .await;
    assert_eq!(
        (status, dup["fields"][0]["field"].as_str()),
        (422, Some("external_id"))
    );

    // An executive's token reads but can't write; no customer, 404.
    let (status, _) = rest_send(
        &app,
        reqwest::Method::POST,
        "/api/v1/customers",
        &reader,
        json!({"name": "Nope"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = rest_send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/customers/999999",
        &writer,
        json!({"seats": 1}),
    )
    .await;
    assert_eq!(status, 404);

    // The audit log says it came through the API.
    let entries = app::backend::entities::audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action == "customer.create" && e.detail["via"] == "REST API"));
}
