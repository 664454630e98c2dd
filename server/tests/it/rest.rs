//! The token-authenticated REST API and its OpenAPI document.

use crate::common;

use common::{spawn_app, TestApp};
use serde_json::{json, Value};

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn customers_and_their_history_are_read_with_a_token() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = app.create_customer("Acme", "acct_1").await;
    let key = app::backend::ingest::create_source(&app.db, None, "web", false, chrono::Utc::now())
        .await
        .unwrap()
        .write_key;
    let batch: Vec<Value> = (0..5)
        .map(|i| json!({"type": "track", "userId": "u1", "event": format!("Step {i}"), "messageId": format!("m{i}"), "context": {"groupId": "acct_1"}}))
        .collect();
    let res = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&key, Some(""))
        .json(&json!({ "batch": batch }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let path = format!("/api/v1/customers/{id}");
    let (status, body) = get(&app, &path, None).await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("Bearer"));
    assert_eq!(get(&app, &path, Some("vt_wrong")).await.0, 401);

    let created =
        app::backend::tokens::create(&app.db, "warehouse", "executive", chrono::Utc::now())
            .await
            .unwrap();
    let token = created.token.as_str();
    let (status, c) = get(&app, &path, Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            c["name"].as_str(),
            c["external_id"].as_str(),
            c["mrr_minor"].as_i64()
        ),
        (Some("Acme"), Some("acct_1"), Some(250_000))
    );
    let (status, by_ext) = get(&app, "/api/v1/customers/by-external-id/acct_1", Some(token)).await;
    assert_eq!((status, by_ext["id"].as_i64()), (200, Some(id)));
    assert_eq!(
        get(&app, "/api/v1/customers/by-external-id/nope", Some(token))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&app, "/api/v1/customers/999999/events", Some(token))
            .await
            .0,
        404
    );

    // Paging through the events, newest first.
    let (status, first) = get(&app, &format!("{path}/events?limit=3"), Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(first["items"][0]["name"], "Step 4");
    let before = first["next_before"].as_i64().expect("another page");
    let (_, second) = get(
        &app,
        &format!("{path}/events?limit=3&before={before}"),
        Some(token),
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second["next_before"].is_null());
    assert_eq!(
        get(&app, &format!("{path}/events?limit=0"), Some(token))
            .await
            .0,
        400
    );
    assert_eq!(
        get(&app, &format!("{path}/billing"), Some(token)).await.0,
        200
    );

    // A revoked token stops working.
    app::backend::tokens::revoke(&app.db, created.id, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(get(&app, &path, Some(token)).await.0, 401);
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let (status, doc) = get(&app, "/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/identify",
        "/v1/group",
        "/v1/track",
        "/v1/page",
        "/v1/batch",
        "/v1/tickets",
        "/webhooks/stripe",
        "/webhooks/zendesk",
        "/webhooks/intercom",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/customers/by-external-id/{external_id}",
        "/api/v1/customers/{id}/events",
        "/api/v1/customers/{id}/tickets",
        "/api/v1/customers/{id}/billing",
        "/api/v1/customers/{id}/health",
        "/api/v1/customers/{id}/churn",
        "/api/v1/churn/model",
    ] {
        assert!(paths.contains_key(p), "{p} is documented");
    }
    assert!(
        paths["/api/v1/customers"]["post"].is_object(),
        "creating is documented"
    );
    assert!(
        paths["/api/v1/customers/{id}"]["patch"].is_object(),
        "changing is documented"
    );
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("bearer") && schemes.contains_key("write_key"));
    for schema in [
        "RestCustomer",
        "RestHealth",
        "RestMeasure",
        "RestChurn",
        "RestChurnModel",
        "RestCustomerItem",
        "RestCustomerPage",
        "RestCustomerInput",
        "ApiValidationError",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is described"
        );
    }
    // The values a description lists are exactly those the API returns.
    let listed = |schema: &str, field: &str| -> Vec<String> {
        let text = doc["components"]["schemas"][schema]["properties"][field]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} is described"))
            .split(';')
            .next()
            .unwrap()
            .trim_end_matches('.')
            .replace(" or ", ", ");
        text.split(", ").map(str::to_string).collect()
    };
    let stages: Vec<String> = vcsm::customers::Stage::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let tiers: Vec<String> = vcsm::customers::Tier::ALL
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    let periods: Vec<String> = vcsm::customers::BillingPeriod::ALL
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    for schema in ["RestCustomer", "RestCustomerItem"] {
        assert_eq!(listed(schema, "stage"), stages, "{schema}.stage");
        assert_eq!(listed(schema, "tier"), tiers, "{schema}.tier");
        assert_eq!(
            listed(schema, "billing_period"),
            periods,
            "{schema}.billing_period"
        );
    }
}

#[tokio::test]
async fn health_churn_and_the_model_are_read_with_a_token() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = app.create_customer("Acme", "acct_1").await;
    let token = app::backend::tokens::create(&app.db, "bi", "executive", chrono::Utc::now())
        .await
        .unwrap()
        .token;
    let token = Some(token.as_str());
    let health_path = format!("/api/v1/customers/{id}/health");
    assert_eq!(get(&app, &health_path, None).await.0, 401);
    let (status, body) = get(&app, &health_path, token).await;
    assert_eq!(status, 404, "not scored yet: {body}");
    assert!(body["error"].as_str().unwrap().contains("not been scored"));
    assert_eq!(
        get(&app, "/api/v1/customers/999999/health", token).await.0,
        404
    );
    assert_eq!(
        get(&app, "/api/v1/customers/999999/churn", token).await.0,
        404
    );

    app.rescore(id).await;
    let (status, h) = get(&app, &health_path, token).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["customer_id"], id);
    let measures = h["measures"].as_array().unwrap();
    assert!(!measures.is_empty());
    // The points of the measures add up to the score.
    let points: f64 = measures.iter().map(|m| m["points"].as_f64().unwrap()).sum();
    assert!((points - h["score"].as_f64().unwrap()).abs() <= 1.0, "{h}");
    assert!(["poor", "fair", "good", "excellent"].contains(&h["level"].as_str().unwrap()));

    let (status, c) = get(&app, &format!("/api/v1/customers/{id}/churn"), token).await;
    assert_eq!(status, 200, "{c}");
    assert!(["high", "medium", "low"].contains(&c["risk"].as_str().unwrap()));
    assert_eq!(c["horizon_days"], 90);
    // No model trained: the risk follows health, without a probability.
    assert!(c["probability"].is_null());

    let (status, m) = get(&app, "/api/v1/churn/model", token).await;
    assert_eq!(status, 200);
    assert_eq!(m["status"], "untrained");
    assert_eq!(get(&app, "/api/v1/churn/model", None).await.0, 401);
}
