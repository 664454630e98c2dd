//! Customers over real HTTP: validation, create/edit/archive, list queries, CSV import.

use crate::common;

use app::backend::entities::{audit_entry, customer};
use common::{customer_form, spawn_app, TestApp};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use vcsm::listing::CustomerQuery;

async fn create(app: &TestApp, form: &[(String, String)]) -> reqwest::Response {
    app.client
        .post(app.url("/api/create_customer"))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn set(form: &mut [(String, String)], field: &str, value: &str) {
    form.iter_mut()
        .find(|(k, _)| k == &format!("input[{field}]"))
        .unwrap()
        .1 = value.to_string();
}

async fn count(app: &TestApp) -> u64 {
    customer::Entity::find().count(&app.db).await.unwrap()
}

async fn list(app: &TestApp, query: CustomerQuery) -> Value {
    let res = app
        .post_json("list_customers", json!({ "query": query }))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn invalid_form_reports_every_field_and_writes_nothing() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let mut form = customer_form("", "acct 1");
    set(&mut form, "mrr", "12,34.567");
    set(&mut form, "seats", "-3");
    set(&mut form, "renewal_date", "2020-01-01");
    set(&mut form, "owner_email", "nobody@example.com");
    set(&mut form, "stage", "churned");
    let res = create(&app, &form).await;
    let fields = common::validation_fields(res).await;
    for f in [
        "name",
        "external_id",
        "mrr",
        "seats",
        "renewal_date",
        "churned_on",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    assert_eq!(count(&app).await, 0);
    assert_eq!(
        audit_entry::Entity::find().count(&app.db).await.unwrap(),
        2,
        "only the user's creation and sign-in are audited"
    );
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_clear_errors() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let res = app
        .client
        .post(app.url("/api/create_customer"))
        .form(&[("nonsense", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("malformed"));
    let res = app
        .client
        .post(app.url("/api/get_customer"))
        .form(&[("id", "not-a-number")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let huge = "x".repeat(26 * 1024 * 1024);
    let res = app
        .post_json("start_import", json!({ "kind": "Customers", "csv": huge }))
        .await;
    assert_eq!(res.status(), 413);
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn create_read_update_archive_with_audit() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let mut form = customer_form("Acme Corp", "acct_1");
    set(&mut form, "owner_email", "CSM@example.com");
    let res = create(&app, &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id: i64 = res.json().await.unwrap();

    let detail: Value = app
        .post_form("get_customer", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["row"]["name"], "Acme Corp");
    assert_eq!(detail["row"]["mrr_minor"], 250_000);
    assert_eq!(detail["row"]["owner_name"], "csm");
    assert_eq!(detail["tags"], json!(["beta"]));

    // Same external id on another customer: refused, beside the field.
    let dup = create(&app, &customer_form("Other", "acct_1")).await;
    assert_eq!(dup.status(), 422);
    assert!(dup.text().await.unwrap().contains("external_id"));

    set(&mut form, "name", "Acme Corporation");
    set(&mut form, "stage", "at_risk");
    let mut update = form.clone();
    update.push(("id".into(), id.to_string()));
    let res = app
        .client
        .post(app.url("/api/update_customer"))
        .form(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let edit: Value = app
        .post_form("customer_form", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(edit["name"], "Acme Corporation");
    assert_eq!(edit["stage"], "at_risk");
    assert_eq!(edit["mrr"], "2500.00");

    let res = app
        .post_form(
            "archive_customer",
            &[("id", &id.to_string()), ("archived", "true")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(list(&app, CustomerQuery::default()).await["total"], 0);
    assert_eq!(
        list(
            &app,
            CustomerQuery {
                include_archived: true,
                ..Default::default()
            }
        )
        .await["total"],
        1
    );
    app.post_form(
        "archive_customer",
        &[("id", &id.to_string()), ("archived", "false")],
    )
    .await;
    assert_eq!(list(&app, CustomerQuery::default()).await["total"], 1);

    let actions: Vec<String> = audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions,
        vec![
            "user.create",
            "user.sign_in",
            "customer.create",
            "customer.update",
            "customer.archive",
            "customer.restore"
        ]
    );
}

#[tokio::test]
async fn unknown_ids_are_404_not_errors() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let res = app.post_form("get_customer", &[("id", "999999")]).await;
    assert_eq!(res.status(), 404);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("No customer with id 999999"));
    let (status, html) = app.get_page("/customers/999999").await;
    assert_eq!(status, 404);
    assert!(html.contains("No customer with id 999999"));
    assert_eq!(app.get_page("/no/such/page").await.0, 404);
}

#[tokio::test]
async fn notes_are_validated_and_shown_on_the_timeline() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id: i64 = create(&app, &customer_form("Acme", "a1"))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .post_form(
            "add_note",
            &[("customer_id", &id.to_string()), ("body", "   ")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .post_form("add_note", &[("customer_id", "424242"), ("body", "hello")])
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .post_form(
            "add_note",
            &[
                ("customer_id", &id.to_string()),
                ("body", "QBR booked for <March>"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let detail: Value = app
        .post_form("get_customer", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["timeline"][0]["detail"], "QBR booked for <March>");
    assert_eq!(detail["timeline"][0]["actor"], "csm");
    // Server-rendered HTML escapes it.
    let (_, html) = app.get_page(&format!("/customers/{id}")).await;
    assert!(html.contains("QBR booked for &lt;March&gt;"));
}

#[tokio::test]
async fn list_searches_filters_sorts_and_pages_on_the_server() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    for i in 0..30 {
        let mut form = customer_form(&format!("Customer {i:02}"), &format!("c{i:02}"));
        set(&mut form, "mrr", &format!("{}", 100 + i));
        set(&mut form, "domain", &format!("c{i:02}.example.com"));
        set(
            &mut form,
            "tier",
            if i % 3 == 0 {
                "enterprise"
            } else {
                "small_business"
            },
        );
        assert_eq!(create(&app, &form).await.status(), 200);
    }
    let mut special = customer_form("50%_Off Deals", "special");
    set(&mut special, "domain", "deals.example.org");
    assert_eq!(create(&app, &special).await.status(), 200);

    let all = list(&app, CustomerQuery::default()).await;
    assert_eq!(all["total"], 31);
    let search = |s: &str| CustomerQuery {
        search: s.into(),
        ..Default::default()
    };
    assert_eq!(
        names(&list(&app, search("customer 07")).await),
        vec!["Customer 07"]
    );
    assert_eq!(
        names(&list(&app, search("C07.EXAMPLE")).await),
        vec!["Customer 07"],
        "domain, any case"
    );
    assert_eq!(
        names(&list(&app, search("%_")).await),
        vec!["50%_Off Deals"],
        "LIKE wildcards are literal"
    );
    assert_eq!(list(&app, search("nothing like this")).await["total"], 0);

    let ent = list(
        &app,
        CustomerQuery {
            tier: Some(vcsm::customers::Tier::Enterprise),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ent["total"], 10);

    let by_mrr = list(
        &app,
        CustomerQuery::default().sorted_by(vcsm::listing::SortKey::Mrr),
    )
    .await;
    assert_eq!(
        names(&by_mrr)[0],
        "50%_Off Deals",
        "2500 is the largest MRR"
    );
    assert_eq!(names(&by_mrr)[1], "Customer 29");

    let q = CustomerQuery {
        per_page: 25,
        ..Default::default()
    };
    let p1 = names(&list(&app, q.clone()).await);
    let p2 = names(&list(&app, q.on_page(2)).await);
    assert_eq!((p1.len(), p2.len()), (25, 6));
    assert!(p1.iter().all(|n| !p2.contains(n)), "pages never overlap");
    assert_eq!(list(&app, q.on_page(9)).await["rows"], json!([]));

    let none = list(
        &app,
        CustomerQuery {
            owner: Some(0),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(none["total"], 31);
}

#[tokio::test]
async fn csv_import_is_all_or_nothing_with_a_report_per_line() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let bad = "name,external_id,mrr,stage,churned_on,owner_email\n\
               Good One,g1,100,active,,csm@example.com\n\
               ,g2,abc,active,,\n\
               Gone,g3,50,churned,2025-02-01,ghost@example.com\n";
    let report = app.import_report("Customers", bad).await;
    assert_eq!(report["imported"], 0);
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "name".into()),
            (3, "mrr".into()),
            (4, "owner_email".into())
        ]
    );
    assert_eq!(count(&app).await, 0, "nothing written when any row is bad");

    let good = "name,external_id,mrr,stage,churned_on,contract_start,owner_email\n\
                Good One,g1,100,active,,2024-01-01,csm@example.com\n\
                Gone,g3,50,churned,2025-02-01,2023-05-01,\n";
    let report = app.import_report("Customers", good).await;
    assert_eq!(report["imported"], 2, "{report}");
    let gone = list(
        &app,
        CustomerQuery {
            search: "gone".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(gone["rows"][0]["stage"], "Churned");
    let id = gone["rows"][0]["id"].to_string();
    let detail: Value = app
        .post_form("get_customer", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["churned_on"], "2025-02-01");
    assert_eq!(detail["contract_start"], "2023-05-01");

    // Importing the same file again clashes with what is stored.
    let again = app.import_report("Customers", good).await;
    assert_eq!(again["imported"], 0);
    assert_eq!(again["errors"].as_array().unwrap().len(), 2);
    assert_eq!(count(&app).await, 2);
}

#[tokio::test]
async fn large_csv_imports_in_one_go() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let mut csv = String::from("name,external_id,domain,tier,stage,mrr,seats\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "Company {i},ext_{i},company{i}.example.com,small_business,active,{}.50,{}\n",
            i % 900 + 10,
            i % 50 + 1
        ));
    }
    let report = app.import_report("Customers", &csv).await;
    assert_eq!(report["imported"], 10_000, "{}", report["errors"]);
    let page = list(
        &app,
        CustomerQuery {
            search: "company 9999".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(&page), vec!["Company 9999"]);
    let last = list(
        &app,
        CustomerQuery {
            per_page: 200,
            ..Default::default()
        }
        .on_page(50),
    )
    .await;
    assert_eq!(last["rows"].as_array().unwrap().len(), 200);
}

#[tokio::test]
async fn pages_render_their_data_on_the_server() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    create(&app, &customer_form("Zebra Analytics", "z1")).await;
    let (_, html) = app.get_page("/customers?q=zebra").await;
    assert!(
        html.contains("Zebra Analytics"),
        "the list is in the HTML, no JavaScript needed"
    );
    assert!(html.contains("1–1 of 1"));
    let (_, html) = app.get_page("/").await;
    assert!(html.contains("Customers by stage"));
}

#[tokio::test]
async fn contacts_are_validated_unique_per_customer_and_listed() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id: i64 = create(&app, &customer_form("Acme", "a1"))
        .await
        .json()
        .await
        .unwrap();
    let id = id.to_string();
    let bad = app
        .post_form(
            "add_contact",
            &[
                ("customer_id", &id),
                ("contact[name]", ""),
                ("contact[email]", "nope"),
                ("contact[title]", ""),
                ("contact[role]", "boss"),
            ],
        )
        .await;
    let fields = common::validation_fields(bad).await;
    assert_eq!(fields, vec!["name", "email", "role"]);
    let ada = [
        ("customer_id", id.as_str()),
        ("contact[name]", "Ada Lovelace"),
        ("contact[email]", "Ada@Acme.com"),
        ("contact[title]", "CTO"),
        ("contact[role]", "champion"),
    ];
    assert_eq!(app.post_form("add_contact", &ada).await.status(), 200);
    let again = app.post_form("add_contact", &ada).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("already a contact"));
    let detail: Value = app
        .post_form("get_customer", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(detail["contacts"][0]["email"], "ada@acme.com");
    assert_eq!(detail["contacts"][0]["role"], "Champion");
}

#[tokio::test]
async fn out_of_range_list_queries_are_bounded_not_fatal() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    for i in 0..3 {
        create(&app, &customer_form(&format!("C{i}"), &format!("c{i}"))).await;
    }
    for (page, per_page) in [(0_u64, 1_000_000_u64), (u64::MAX, 50), (1, 0)] {
        let query = CustomerQuery {
            page,
            per_page,
            search: "c".repeat(5_000),
            ..Default::default()
        };
        let res = app
            .post_json("list_customers", json!({ "query": query }))
            .await;
        assert_eq!(res.status(), 200, "page {page} per_page {per_page}");
        let body: Value = res.json().await.unwrap();
        assert!(body["query"]["per_page"].as_u64().unwrap() <= 200);
    }
}
