//! CSV imports of contacts and product events over real HTTP, as the import page runs
//! them: a background job polled for progress, all rows or none.

use crate::common;

use app::backend::entities::{contact, customer, usage_event};
use common::{spawn_app, TestApp};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

async fn events(app: &TestApp) -> u64 {
    usage_event::Entity::find().count(&app.db).await.unwrap()
}

async fn contacts(app: &TestApp) -> Vec<contact::Model> {
    contact::Entity::find()
        .order_by_asc(contact::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

fn error_lines(report: &Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn contacts_import_all_or_nothing_then_updates_by_user_id_or_email() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let acme = app.create_customer("Acme", "acct_1").await;
    app.create_customer("Globex", "acct_2").await;

    // Problems of the file and of the database are reported together; nothing is written.
    let bad = "customer_external_id,name,email,title,role,user_id\n\
               acct_1,Ann Lee,ann@acme.com,CTO,champion,u1\n\
               acct_9,Bo,bo@x.com,,,\n\
               acct_2,,not-an-email,,,\n\
               acct_2,Cy,cy@globex.com,,,u5\n\
               acct_2,Cy Two,cy2@globex.com,,,u5\n";
    let report = app.import_report("Contacts", bad).await;
    assert_eq!(report["imported"], 0);
    assert_eq!(
        error_lines(&report),
        vec![
            (3, "customer_external_id".into()),
            (4, "name".into()),
            (4, "email".into()),
            (6, "user_id".into()),
        ],
        "{report}"
    );
    assert_eq!(report["rows_read"], 5);
    assert!(contacts(&app).await.is_empty(), "nothing written");

    let good = "customer_external_id,name,email,title,role,user_id\n\
                acct_1,Ann Lee,Ann@Acme.com,CTO,champion,u1\n\
                acct_1,Raj Patel,raj@acme.com,,,\n\
                acct_2,Cy,cy@globex.com,Ops,admin,u5\n";
    let report = app.import_report("Contacts", good).await;
    assert_eq!(
        (report["imported"].as_u64(), report["updated"].as_u64()),
        (Some(3), Some(0)),
        "{report}"
    );
    let stored = contacts(&app).await;
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0].customer_id, acme);
    assert_eq!(stored[0].email.as_deref(), Some("ann@acme.com"));
    assert_eq!(stored[0].role, "champion");
    assert_eq!(stored[0].external_user_id.as_deref(), Some("u1"));

    // The same file again adds nothing.
    let report = app.import_report("Contacts", good).await;
    assert_eq!(
        (report["imported"].as_u64(), report["updated"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(contacts(&app).await.len(), 3);

    // Matched by user id (new address) or by e-mail (new user id); blank cells keep what
    // is stored, and a row without a role keeps the stored role.
    let update = "customer_external_id,name,email,user_id\n\
                  acct_1,Ann Lee-Smith,ann.smith@acme.com,u1\n\
                  acct_1,Raj Patel,raj@acme.com,u2\n";
    let report = app.import_report("Contacts", update).await;
    assert_eq!(report["updated"], 2, "{report}");
    let stored = contacts(&app).await;
    assert_eq!(stored[0].name, "Ann Lee-Smith");
    assert_eq!(stored[0].email.as_deref(), Some("ann.smith@acme.com"));
    assert_eq!(stored[0].title.as_deref(), Some("CTO"), "blank title kept");
    assert_eq!(stored[0].role, "champion", "role not in the file: kept");
    assert_eq!(stored[1].external_user_id.as_deref(), Some("u2"));

    // A user id's new address that another contact of the customer has is refused, and
    // two rows about one contact are too.
    let clash = "customer_external_id,name,email,user_id\n\
                 acct_1,Ann,raj@acme.com,u1\n\
                 acct_2,Cy,cy@globex.com,\n\
                 acct_2,Cy again,,u5\n";
    let report = app.import_report("Contacts", clash).await;
    assert_eq!(
        error_lines(&report),
        vec![(2, "email".into()), (4, "row".into())],
        "{report}"
    );
    assert_eq!(contacts(&app).await, stored, "nothing changed");
}

/// `n` events over `customers` accounts, two years back, one line each.
fn events_csv(n: usize, customers: usize) -> String {
    let mut csv = String::from("customer_external_id,event,occurred_at,user_id,properties\n");
    for i in 0..n {
        let day = i % 700;
        csv.push_str(&format!(
            "acct_{},{},2024-{:02}-{:02}T{:02}:{:02}:{:02}Z,u{},\"{{\"\"n\"\": {i}}}\"\n",
            i % customers,
            ["Report Created", "Login", "Export"][i % 3],
            day % 12 + 1,
            day % 28 + 1,
            i % 24,
            i % 60,
            (i / 60) % 60,
            i % 7
        ));
    }
    csv
}

#[tokio::test]
async fn a_hundred_thousand_events_import_with_progress_and_again_store_nothing() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let customers = 20;
    let mut ids = Vec::new();
    for i in 0..customers {
        ids.push(
            app.create_customer(&format!("Company {i}"), &format!("acct_{i}"))
                .await,
        );
    }
    // u3 is a contact of acct_3: its events there are tied to it.
    let report = app
        .import_report(
            "Contacts",
            "customer_external_id,name,user_id\nacct_3,Dee,u3\n",
        )
        .await;
    assert_eq!(report["imported"], 1);

    let csv = events_csv(100_000, customers);
    let (status, progress) = app.import("Events", &csv).await;
    assert_eq!(status["phase"], "Finished", "{status}");
    let report = &status["report"];
    assert_eq!(report["imported"], 100_000, "{report}");
    assert_eq!(report["already_present"], 0);
    assert_eq!(report["rows_read"], 100_000);
    assert_eq!(events(&app).await, 100_000);
    // Progress moved forward in steps and ended with every row written.
    assert!(
        progress.windows(2).all(|w| w[0].0 <= w[1].0),
        "{progress:?}"
    );
    assert_eq!(progress.last(), Some(&(100_000, 100_000)));
    assert!(progress.len() >= 3, "saw progress in steps: {progress:?}");

    // Events keep their own time, and the contact is tied where the user is known.
    let tied = usage_event::Entity::find()
        .filter(usage_event::Column::ContactId.is_not_null())
        .count(&app.db)
        .await
        .unwrap();
    let expected_tied = (0..100_000).filter(|i| i % 20 == 3 && i % 7 == 3).count() as u64;
    assert_eq!(tied, expected_tied);
    let oldest = usage_event::Entity::find()
        .order_by_asc(usage_event::Column::OccurredAt)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest.occurred_at.date_naive().to_string(), "2024-01-01");
    // Last activity moved to each customer's newest event.
    app.flush().await;
    let c = customer::Entity::find_by_id(ids[0])
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(c.last_seen_at.is_some());

    // The same file again: recognised row by row, nothing stored twice.
    let report = app.import_report("Events", &csv).await;
    assert_eq!(report["imported"], 0);
    assert_eq!(report["already_present"], 100_000);
    assert_eq!(events(&app).await, 100_000);

    // They show on the timeline.
    let detail: Value = app
        .post_form("get_customer", &[("id", &ids[1].to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert!(detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["kind"] == "Usage" && t["at"].as_str().unwrap().starts_with("2024-")));
}

#[tokio::test]
async fn events_import_identical_rows_message_ids_and_refusals() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    app.create_customer("Acme", "acct_1").await;

    // Two identical rows are two events (two logins in one second); a message id makes
    // a row recognisable on its own.
    let csv = "customer_external_id,event,occurred_at,message_id\n\
               acct_1,Login,2025-03-01 10:00:00,\n\
               acct_1,Login,2025-03-01 10:00:00,\n\
               acct_1,Export,2025-03-01,m-1\n";
    let report = app.import_report("Events", csv).await;
    assert_eq!(report["imported"], 3, "{report}");
    let report = app.import_report("Events", csv).await;
    assert_eq!(report["already_present"], 3, "{report}");
    let csv = "customer_external_id,event,occurred_at,message_id\n\
               acct_1,Export renamed,2025-03-02,m-1\n";
    let report = app.import_report("Events", csv).await;
    assert_eq!(
        report["already_present"], 1,
        "same message id: already there"
    );
    assert_eq!(events(&app).await, 3);

    // Unknown accounts and bad rows: every problem listed, nothing stored.
    let bad = "customer_external_id,event,occurred_at,properties\n\
               acct_1,Login,2025-03-05,\n\
               acct_404,Login,2025-03-05,\n\
               acct_1,,2025-03-05,\n\
               acct_1,Login,31/12/2025,\n\
               acct_1,Login,2025-03-05,[1]\n";
    let report = app.import_report("Events", bad).await;
    assert_eq!(
        error_lines(&report),
        vec![
            (3, "customer_external_id".into()),
            (4, "event".into()),
            (5, "occurred_at".into()),
            (6, "properties".into()),
        ],
        "{report}"
    );
    assert_eq!(events(&app).await, 3);

    // A file wrong on every line lists the first hundred problems and counts the rest.
    let mut all_bad = String::from("customer_external_id,event,occurred_at\n");
    for i in 0..5000 {
        all_bad.push_str(&format!("acct_x{i},Login,2025-03-05\n"));
    }
    let report = app.import_report("Events", &all_bad).await;
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 101);
    assert!(errors[100]["message"]
        .as_str()
        .unwrap()
        .starts_with("4900 more error(s)"));
}

#[tokio::test]
async fn imports_need_an_editor_and_progress_is_private() {
    let app = spawn_app().await;
    app.sign_in_as("exec@example.com", "executive").await;
    let res = app
        .post_json(
            "start_import",
            json!({ "kind": "Events", "csv": "customer_external_id,event,occurred_at\n" }),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_json("start_import", json!({ "kind": "Sales", "csv": "x" }))
        .await;
    assert_eq!(res.status(), 400, "unknown kind");

    app.sign_in_as("csm@example.com", "csm").await;
    let res = app
        .post_json(
            "start_import",
            json!({ "kind": "Customers", "csv": "name\nAcme\n" }),
        )
        .await;
    let id: u64 = res.json().await.unwrap();
    app.sign_in_as("other@example.com", "csm").await;
    let res = app
        .post_form("import_progress", &[("id", &id.to_string())])
        .await;
    assert_eq!(res.status(), 404, "another user's import");
    let res = app.post_form("import_progress", &[("id", "999")]).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn one_import_waits_per_user_and_two_in_all_then_they_run_in_turn() {
    let app = spawn_app().await;
    let start = |name: &'static str| {
        let app = &app;
        async move {
            let csv = format!("external_id,name\nacct_{name},{name}\n");
            app.post_json("start_import", json!({ "kind": "Customers", "csv": csv }))
                .await
        }
    };
    app.sign_in_as("csm@example.com", "csm").await;
    let first = start("one").await;
    assert_eq!(first.status(), 200);
    let first: u64 = first.json().await.unwrap();
    let again = start("again").await;
    assert_eq!(again.status(), 409, "the user's first import hasn't run");
    assert!(again.text().await.unwrap().contains("previous import"));
    app.sign_in_as("other@example.com", "csm").await;
    assert_eq!(start("two").await.status(), 200);
    app.sign_in_as("third@example.com", "csm").await;
    let third = start("three").await;
    assert_eq!(third.status(), 409, "two are waiting");
    assert!(third.text().await.unwrap().contains("2 imports"));

    // Queued until a runner takes them up, then finished in turn; their files gone.
    app.sign_in_again("csm@example.com").await;
    let res = app
        .post_form("import_progress", &[("id", &first.to_string())])
        .await;
    let status: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status["phase"], "Queued", "{status}");
    app.run_due_jobs().await;
    let res = app
        .post_form("import_progress", &[("id", &first.to_string())])
        .await;
    let status: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status["phase"], "Finished", "{status}");
    assert_eq!(status["report"]["imported"], 1, "{status}");
    let files = app::backend::entities::import_file::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(files, 0, "each file is deleted once imported");
    assert_eq!(
        customer::Entity::find().count(&app.db).await.unwrap(),
        2,
        "both imports ran"
    );
    app.sign_in_again("third@example.com").await;
    assert_eq!(start("three").await.status(), 200, "room again");
}

#[tokio::test]
async fn an_import_whose_server_stopped_after_writing_is_not_written_again() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let res = app
        .post_json(
            "start_import",
            json!({ "kind": "Customers", "csv": "external_id,name\nacct_1,Acme\nacct_2,Beta\n" }),
        )
        .await;
    let id: u64 = res.json().await.unwrap();
    // A server takes it up and writes the rows, then dies before it records the report.
    let now = chrono::Utc::now();
    let job = app::backend::jobs::claim(&app.db, "doomed", now)
        .await
        .unwrap()
        .expect("the import is due");
    assert_eq!(job.id as u64, id);
    app::backend::imports::perform(&app.db, &app.state.meter, &job, "doomed", now)
        .await
        .expect("the first try writes the rows");
    assert_eq!(customer::Entity::find().count(&app.db).await.unwrap(), 2);

    // Its lease runs out; another server takes the job up and finds the file written.
    let later = now + chrono::Duration::minutes(5);
    let (retried, outcome) = app::backend::worker::run_next(&app.state, "heir", later)
        .await
        .unwrap()
        .expect("the abandoned import is taken up");
    assert_eq!(retried.attempts, 2);
    outcome.unwrap();
    assert_eq!(
        customer::Entity::find().count(&app.db).await.unwrap(),
        2,
        "not written twice"
    );
    let status: serde_json::Value = app
        .post_form("import_progress", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["phase"], "Finished", "{status}");
    assert!(
        status["error"].as_str().unwrap().contains("were written"),
        "{status}"
    );
}
