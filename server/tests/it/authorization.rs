//! Who may call what, generated from what the server serves: every registered server
//! function and every REST route of the OpenAPI document is called as anonymous, as each
//! role and (REST) with each role's token. A new function or route the table below doesn't
//! know fails the test, so none can be added without deciding who may call it.

use crate::common;

use common::{customer_form, spawn_app, TestApp, PASSWORD};
use serde_json::{json, Value};

/// Who may call a server function.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    /// Anyone, signed in or not (sign-in itself, who am I).
    Public,
    /// Any signed-in user, executives included.
    SignedIn,
    /// Admins, managers and CSMs.
    Editor,
    /// Admins and managers (playbooks).
    Manager,
    Admin,
}

/// What a call sends: a form, or JSON for the functions declared `input = Json`.
enum Args {
    Form(Vec<(String, String)>),
    Json(Value),
}

fn form(pairs: &[(&str, &str)]) -> Args {
    Args::Form(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    )
}

/// Every server function: who may call it, and arguments that decode (so a refusal
/// can only come from the role check).
fn table() -> Vec<(&'static str, Access, Args)> {
    use Access::*;
    let mut customer = customer_form("Zeta", "acct_z");
    let mut update = customer.clone();
    update.push(("id".into(), "1".into()));
    customer.retain(|(k, _)| k != "id");
    vec![
        ("whoami", Public, form(&[])),
        (
            "login",
            Public,
            form(&[("email", "nobody@example.com"), ("password", "wrong")]),
        ),
        ("demo_hint", Public, form(&[])),
        (
            "list_alerts",
            SignedIn,
            form(&[("filter", "active"), ("mine", "false"), ("page", "0")]),
        ),
        ("alert_counts", SignedIn, form(&[])),
        (
            "act_on_alert",
            Editor,
            Args::Json(json!({"alert_id": 999, "action": {"action": "acknowledge"}, "note": null})),
        ),
        ("alert_rules", SignedIn, form(&[])),
        ("save_alert_rules", Admin, Args::Json(json!({"rules": []}))),
        ("list_playbooks", SignedIn, form(&[])),
        ("get_playbook", SignedIn, form(&[("key", "nope")])),
        (
            "set_playbook_status",
            Manager,
            Args::Json(json!({"key": "nope", "status": "on"})),
        ),
        (
            "enroll_customer",
            Manager,
            Args::Json(json!({"key": "nope", "customer": "999"})),
        ),
        (
            "change_enrollment",
            Manager,
            Args::Json(json!({"enrollment_id": 999, "change": "cancel"})),
        ),
        (
            "enroll_matching",
            Manager,
            Args::Json(
                json!({"key": "nope", "query": {"search": "", "tier": null, "stage": null, "owner": null, "include_archived": false, "sort": "Name", "desc": false, "page": 1, "per_page": 50}}),
            ),
        ),
        (
            "customer_playbooks",
            SignedIn,
            form(&[("customer_id", "999")]),
        ),
        (
            "list_outbox",
            Admin,
            form(&[("status", "all"), ("kind", "all"), ("page", "0")]),
        ),
        (
            "preview_template",
            SignedIn,
            Args::Json(json!({"template": "nope", "customer": "999"})),
        ),
        (
            "task_cockpit",
            SignedIn,
            form(&[("mine", "false"), ("page", "0")]),
        ),
        (
            "done_tasks",
            SignedIn,
            form(&[("mine", "false"), ("page", "0")]),
        ),
        ("customer_tasks", SignedIn, form(&[("customer_id", "999")])),
        ("task_counts", SignedIn, form(&[])),
        ("tier_slas", SignedIn, form(&[])),
        (
            "create_task",
            Editor,
            Args::Json(
                json!({"task": {"customer_id": 999, "title": "x", "description": "",
                "assignee_id": null, "priority": "", "due_in_hours": null}}),
            ),
        ),
        (
            "complete_tasks",
            Editor,
            Args::Json(json!({"ids": [999], "outcome": "done", "note": null})),
        ),
        (
            "snooze_task",
            Editor,
            Args::Json(json!({"id": 999, "days": 1})),
        ),
        (
            "reassign_tasks",
            Editor,
            Args::Json(json!({"ids": [999], "assignee_id": 1})),
        ),
        (
            "acknowledge_alerts",
            Editor,
            Args::Json(json!({"ids": [999]})),
        ),
        (
            "save_tier_slas",
            Admin,
            Args::Json(
                json!({"slas": {"enterprise": 2, "mid_market": 4, "small_business": 24, "trial": 48}}),
            ),
        ),
        (
            "list_customers",
            SignedIn,
            Args::Json(json!({"query": vcsm::listing::CustomerQuery::default()})),
        ),
        ("get_customer", SignedIn, form(&[("id", "1")])),
        (
            "customer_events",
            Admin,
            form(&[("customer_id", "1"), ("usage", "false")]),
        ),
        ("customer_form", Editor, form(&[("id", "1")])),
        ("create_customer", Editor, Args::Form(customer)),
        ("update_customer", Editor, Args::Form(update)),
        (
            "archive_customer",
            Editor,
            form(&[("id", "999"), ("archived", "false")]),
        ),
        (
            "add_note",
            Editor,
            form(&[("customer_id", "1"), ("body", "a note")]),
        ),
        (
            "start_import",
            Editor,
            Args::Json(json!({"kind": "Customers", "csv": "external_id,name\n"})),
        ),
        ("import_progress", SignedIn, form(&[("id", "999")])),
        ("owner_options", SignedIn, form(&[])),
        (
            "add_contact",
            Editor,
            form(&[
                ("customer_id", "1"),
                ("contact[name]", "Ann"),
                ("contact[email]", ""),
                ("contact[title]", ""),
                ("contact[role]", ""),
            ]),
        ),
        ("dashboard", SignedIn, form(&[])),
        ("expansion_pipeline", SignedIn, form(&[("page", "0")])),
        (
            "act_on_signal",
            Editor,
            Args::Json(json!({"signal_id": 999, "action": "won", "note": null})),
        ),
        ("save_plans", Admin, Args::Json(json!({"plans": []}))),
        ("customer_health", SignedIn, form(&[("id", "1")])),
        ("get_scorecard", SignedIn, form(&[])),
        (
            "save_scorecard",
            Admin,
            Args::Json(json!({"card": vcsm::health::Scorecard::default()})),
        ),
        ("set_csm_sentiment", Editor, form(&[("customer_id", "1")])),
        ("customer_churn", SignedIn, form(&[("id", "1")])),
        ("churn_model", SignedIn, form(&[])),
        ("retrain_churn_model", Admin, form(&[])),
        ("integrations_overview", Admin, form(&[])),
        ("create_source", Admin, form(&[("name", "probe")])),
        ("rotate_source_key", Admin, form(&[("id", "999")])),
        ("revoke_source", Admin, form(&[("id", "999")])),
        ("replay_quarantine", Admin, form(&[])),
        (
            "set_integration_secret",
            Admin,
            form(&[("name", "stripe"), ("secret", "whsec_probe")]),
        ),
        ("replay_webhooks", Admin, form(&[])),
        ("test_slack", Admin, form(&[])),
        ("sync_hubspot", Admin, form(&[])),
        ("list_users", Admin, form(&[])),
        ("list_jobs", Admin, form(&[])),
        ("retry_job", Admin, form(&[("id", "999")])),
        ("retry_failed_notifications", Admin, form(&[])),
        (
            "create_user",
            Admin,
            form(&[
                ("email", "x@example.com"),
                ("name", ""),
                ("role", "csm"),
                ("password", "x"),
            ]),
        ),
        (
            "set_user_active",
            Admin,
            form(&[("id", "999"), ("active", "true")]),
        ),
        (
            "change_password",
            SignedIn,
            form(&[
                ("current_password", "wrong"),
                ("new_password", "x"),
                ("confirm_password", "y"),
            ]),
        ),
        // Last: it ends the session the others use.
        ("logout", Public, form(&[])),
    ]
}

fn allowed(access: Access, role: Option<&str>) -> bool {
    match (access, role) {
        (Access::Public, _) => true,
        (_, None) => false,
        (Access::SignedIn, Some(_)) => true,
        (Access::Editor, Some(r)) => r != "executive",
        (Access::Manager, Some(r)) => r == "admin" || r == "manager",
        (Access::Admin, Some(r)) => r == "admin",
    }
}

async fn call(app: &TestApp, endpoint: &str, args: &Args) -> (u16, String) {
    let req = app.client.post(app.url(&format!("/api/{endpoint}")));
    let req = match args {
        Args::Form(pairs) => req.form(pairs),
        Args::Json(v) => req.json(v),
    };
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_server_function_checks_the_role_of_its_caller() {
    let table = table();
    // The table covers exactly the functions the server registers.
    let mut registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    registered.sort();
    let mut known: Vec<String> = table.iter().map(|(e, _, _)| (*e).to_string()).collect();
    known.sort();
    assert_eq!(
        registered, known,
        "a server function was added or removed: say who may call it in this table"
    );

    let mut checked = 0;
    for role in [
        None,
        Some("executive"),
        Some("csm"),
        Some("manager"),
        Some("admin"),
    ] {
        let app = spawn_app().await;
        seed_customer(&app).await;
        if let Some(r) = role {
            app.sign_in_as(&format!("{r}@example.com"), r).await;
        }
        for (endpoint, access, args) in &table {
            let (status, body) = call(&app, endpoint, args).await;
            let who = role.unwrap_or("anonymous");
            if allowed(*access, role) {
                assert!(
                    // 502: Slack or HubSpot isn't set up here, which is not a refusal.
                    status != 401 && status != 403 && status != 500,
                    "{who} may call {endpoint}: {status} {body}"
                );
            } else {
                let expected = if role.is_none() { 401 } else { 403 };
                assert_eq!(status, expected, "{who} may not call {endpoint}: {body}");
            }
            checked += 1;
        }
    }
    println!(
        "server functions: {}, calls checked: {checked}",
        table.len()
    );
}

#[tokio::test]
async fn every_rest_route_needs_a_token_and_serves_every_role() {
    let app = spawn_app().await;
    let id = seed_customer(&app).await;
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    assert!(paths.len() >= 8, "{paths:?}");
    let mut checked = 0;
    for path in &paths {
        let url = app.url(
            &path
                .replace("{id}", &id.to_string())
                .replace("{external_id}", "acct_1"),
        );
        if !path.starts_with("/api/v1/") {
            // Ingestion and webhooks: a write key or a signature, never a session.
            let res = reqwest::Client::new()
                .post(&url)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            assert!(
                matches!(status, 400 | 401 | 503),
                "{path} unsigned, without a key: {status}"
            );
            checked += 1;
            continue;
        }
        // Read with GET; a path that only writes gets an empty POST, which a role that
        // may write refuses for its body (400/404/422), one that may not with 403.
        let reads = doc["paths"][path].get("get").is_some();
        let call = |token: Option<&str>| {
            let client = reqwest::Client::new();
            let req = if reads {
                client.get(&url)
            } else {
                client.post(&url).json(&json!({}))
            };
            match token {
                Some(t) => req.bearer_auth(t),
                None => req,
            }
            .send()
        };
        let res = call(None).await.unwrap();
        assert_eq!(res.status(), 401, "{path} without a token");
        let res = call(Some("vt_not_a_real_token")).await.unwrap();
        assert_eq!(res.status(), 401, "{path} with a made-up token");
        for role in ["executive", "csm", "manager", "admin"] {
            let token = app::backend::tokens::create(&app.db, role, role, chrono::Utc::now())
                .await
                .unwrap()
                .token;
            let res = call(Some(&token)).await.unwrap();
            let status = res.status().as_u16();
            let served = if reads {
                status == 200 || status == 404
            } else {
                matches!(status, 400 | 403 | 404 | 422)
            };
            assert!(
                served,
                "{path} as {role}: {status} {}",
                res.text().await.unwrap()
            );
            checked += 1;
        }
        checked += 2;
    }
    println!("REST routes: {}, calls checked: {checked}", paths.len());
}

/// A customer (`acct_1`) made by an admin on a session of their own, so every role's run
/// has one to read.
async fn seed_customer(app: &TestApp) -> i64 {
    app.create_user("seed@example.com", "admin").await;
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    admin
        .post(app.url("/api/login"))
        .form(&[("email", "seed@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let res = admin
        .post(app.url("/api/create_customer"))
        .form(&customer_form("Acme", "acct_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}
