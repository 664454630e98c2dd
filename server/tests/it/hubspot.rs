//! HubSpot import against a local stand-in that answers with HubSpot's documented shapes:
//! paging with `after`, rate-limit headers, a 429 with `Retry-After`, associations.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use app::backend::entities::{contact, customer};
use app::backend::Config;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use common::spawn_app_with;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";

fn limits() -> [(&'static str, &'static str); 4] {
    [
        ("X-HubSpot-RateLimit-Max", "100"),
        ("X-HubSpot-RateLimit-Remaining", "97"),
        ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
        ("X-HubSpot-RateLimit-Daily-Remaining", "249000"),
    ]
}

fn company(id: &str, name: Option<&str>, domain: &str, employees: &str) -> Value {
    json!({
        "id": id,
        "properties": {
            "createdate": "2024-05-01T10:00:00.000Z",
            "domain": domain,
            "hs_lastmodifieddate": "2025-01-02T03:04:05.678Z",
            "hs_object_id": id,
            "name": name,
            "numberofemployees": employees
        },
        "createdAt": "2024-05-01T10:00:00.000Z",
        "updatedAt": "2025-01-02T03:04:05.678Z",
        "archived": false
    })
}

/// Serves companies in two pages (the first request is rate-limited once) and contacts.
async fn stand_in(calls: Arc<AtomicU32>) -> String {
    let companies = {
        let calls = calls.clone();
        move |headers: HeaderMap, Query(q): Query<std::collections::HashMap<String, String>>| {
            let calls = calls.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok())
                    != Some(&format!("Bearer {TOKEN}"))
                {
                    let body = json!({"status": "error", "message": "Authentication credentials not found.", "correlationId": "c0", "category": "INVALID_AUTHENTICATION"});
                    return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
                }
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    let body = json!({"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT", "correlationId": "c1", "policyName": "SECONDLY"});
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("Retry-After", "1")],
                        axum::Json(body),
                    )
                        .into_response();
                }
                let body = match q.get("after").map(String::as_str) {
                    None => json!({
                        "results": [company("101", Some("Globex Corporation"), "globex.example.com", "1500"), company("102", Some("Acme (already here)"), "acme.example.com", "40")],
                        "paging": {"next": {"after": "103", "link": "https://api.hubapi.com/crm/v3/objects/companies?after=103"}}
                    }),
                    Some("103") => json!({
                        "results": [company("103", None, "nameless.example.com", "5"), company("104", Some("Initech"), "initech.example.com", "250")]
                    }),
                    Some(other) => panic!("unexpected cursor {other}"),
                };
                (StatusCode::OK, limits(), axum::Json(body)).into_response()
            }
        }
    };
    let contacts = |Query(_q): Query<std::collections::HashMap<String, String>>| async move {
        let body = json!({
            "results": [
                {"id": "201", "properties": {"email": "Hank@Globex.example.com", "firstname": "Hank", "lastname": "Scorpio", "jobtitle": "CEO", "hs_object_id": "201"},
                 "createdAt": "2024-05-01T10:00:00.000Z", "updatedAt": "2025-01-02T03:04:05.678Z", "archived": false,
                 "associations": {"companies": {"results": [{"id": "101", "type": "contact_to_company"}, {"id": "101", "type": "contact_to_company_unlabeled"}]}}},
                {"id": "202", "properties": {"email": null, "firstname": "No", "lastname": "Email", "hs_object_id": "202"},
                 "createdAt": "2024-05-01T10:00:00.000Z", "updatedAt": "2025-01-02T03:04:05.678Z", "archived": false}
            ]
        });
        (StatusCode::OK, limits(), axum::Json(body)).into_response()
    };
    let router = axum::Router::new()
        .route("/crm/v3/objects/companies", get(companies))
        .route("/crm/v3/objects/contacts", get(contacts));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn companies_and_contacts_are_imported_with_paging_and_back_off() {
    let calls = Arc::new(AtomicU32::new(0));
    let base = stand_in(calls.clone()).await;
    let app = spawn_app_with(Config {
        hubspot_api_base: Some(base),
        ..common::test_config()
    })
    .await;
    app.sign_in_as("admin@example.com", "admin").await;
    let res = app.post_form("sync_hubspot", &[]).await;
    assert_eq!(res.status(), 502, "not configured yet");
    assert!(res.text().await.unwrap().contains("not configured"));

    // Acme exists already (domain acme.example.com): it is linked, not duplicated.
    app.create_customer("Acme", "acct_1").await;
    let res = app
        .post_form(
            "set_integration_secret",
            &[("name", "hubspot"), ("secret", "pat-wrong-token")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app.post_form("sync_hubspot", &[]).await;
    assert_eq!(res.status(), 502);
    assert!(
        res.text().await.unwrap().contains("token"),
        "a refused token is explained"
    );

    app.post_form(
        "set_integration_secret",
        &[("name", "hubspot"), ("secret", TOKEN)],
    )
    .await;
    let res = app.post_form("sync_hubspot", &[]).await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (
            report["companies_created"].as_u64(),
            report["companies_linked"].as_u64()
        ),
        (Some(2), Some(1)),
        "{report}"
    );
    assert_eq!(report["contacts_created"], 1);
    assert_eq!(
        report["skipped_total"], 2,
        "the nameless company and the contact without e-mail: {report}"
    );
    assert!(calls.load(Ordering::SeqCst) >= 3, "the 429 was retried");

    let globex = customer::Entity::find()
        .filter(customer::Column::Domain.eq("globex.example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("created");
    assert_eq!(
        (globex.name.as_str(), globex.tier.as_str()),
        ("Globex Corporation", "enterprise")
    );
    let hank = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(globex.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (hank.email.as_deref(), hank.title.as_deref()),
        (Some("hank@globex.example.com"), Some("CEO"))
    );
    assert_eq!(customer::Entity::find().count(&app.db).await.unwrap(), 3);

    // Running it again changes nothing.
    let report: Value = app
        .post_form("sync_hubspot", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            report["companies_created"].as_u64(),
            report["contacts_created"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(customer::Entity::find().count(&app.db).await.unwrap(), 3);
}
