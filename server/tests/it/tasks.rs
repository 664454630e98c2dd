//! The task cockpit against a real database and the real server functions: an alert no
//! playbook handles opens one task for the owner (and one a playbook handles doesn't);
//! completing it keeps the outcome and resolves the alert; bulk actions apply to all or
//! none; the cockpit orders customers overdue first, then by ARR × risk × SLA urgency;
//! tasks by hand, snoozes, reassignments and the tiers' SLAs.

// Amounts in cents are written dollars_cents (`20_000_00` is $20,000.00).
#![allow(clippy::inconsistent_digit_grouping)]

use crate::common;
use crate::playbooks::Engine;

use app::backend::entities::{alert, churn_prediction, customer, task, user};
use app::backend::playbooks;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::{spawn_admin, validation_fields, TestApp};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{json, Value};
use vcsm::playbooks::validate::{parse, Catalog};

async fn admin_id(app: &TestApp) -> i64 {
    user::Entity::find()
        .filter(user::Column::Email.eq("admin@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A customer owned by the admin, with its tier and monthly revenue.
async fn customer_of(app: &TestApp, name: &str, tier: &str, mrr_minor: i64) -> i64 {
    let id = app
        .create_customer(name, &name.to_lowercase().replace(' ', "-"))
        .await;
    let owner = admin_id(app).await;
    let mut c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    c.owner_id = Set(Some(owner));
    c.tier = Set(tier.into());
    c.mrr_minor = Set(mrr_minor);
    c.update(&app.db).await.unwrap();
    id
}

async fn open_alert(
    app: &TestApp,
    customer_id: i64,
    rule: &str,
    severity: &str,
    at: DateTime<Utc>,
) -> i64 {
    alert::ActiveModel {
        customer_id: Set(customer_id),
        rule: Set(rule.into()),
        severity: Set(severity.into()),
        title: Set(format!("{rule} on {customer_id}")),
        status: Set("open".into()),
        owner_id: Set(Some(admin_id(app).await)),
        opened_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id
}

async fn tasks(app: &TestApp) -> Vec<task::Model> {
    task::Entity::find()
        .order_by_asc(task::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

async fn cockpit(app: &TestApp, mine: bool) -> Value {
    let res = app
        .post_form(
            "task_cockpit",
            &[("mine", if mine { "true" } else { "false" }), ("page", "0")],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn an_alert_no_playbook_handles_opens_a_task_and_completing_it_resolves_the_alert() {
    let app = spawn_admin().await;
    let id = customer_of(&app, "Initech", "enterprise", 20_000_00).await;
    let now = Utc::now().trunc_subsecs(3);
    let critical = open_alert(&app, id, "red_zone", "critical", now).await;
    let medium = open_alert(&app, id, "below_good", "medium", now).await;
    let mut engine = Engine::default();
    engine.run(&app, "server-a", now).await;
    engine
        .run(&app, "server-a", now + Duration::minutes(1))
        .await;

    // One task, for the critical alert only (medium rules don't open tasks by default).
    let ts = tasks(&app).await;
    assert_eq!(ts.len(), 1, "{ts:?}");
    let t = &ts[0];
    assert_eq!((t.source.as_str(), t.alert_id), ("alert", Some(critical)));
    assert_eq!(t.assignee_id, Some(admin_id(&app).await));
    assert_eq!(t.priority, "urgent");
    assert_eq!(t.due_at, now + Duration::hours(2), "Enterprise: 2 hours");

    // The cockpit: one row, the task standing for its alert, and the other alert.
    let page = cockpit(&app, true).await;
    assert_eq!(page["total"], 1);
    let row = &page["rows"][0];
    assert_eq!(row["customer_id"], id);
    assert_eq!(row["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(row["alerts"][0]["id"], medium);
    assert_eq!(row["arr_minor"], 240_000_00_i64);

    // Refusals change nothing: an unknown outcome, and a list with a missing task.
    let res = app
        .post_json(
            "complete_tasks",
            json!({ "ids": [t.id], "outcome": "maybe", "note": null }),
        )
        .await;
    assert_eq!(validation_fields(res).await, vec!["outcome"]);
    let res = app
        .post_json(
            "complete_tasks",
            json!({ "ids": [t.id, 987_654], "outcome": "done", "note": null }),
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(tasks(&app).await[0].status, "open");

    let res = app
        .post_json(
            "complete_tasks",
            json!({ "ids": [t.id], "outcome": "risk_averted", "note": "Sponsor called back" }),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let done = &tasks(&app).await[0];
    assert_eq!(done.status, "done");
    assert_eq!(done.outcome.as_deref(), Some("risk_averted"));
    assert_eq!(done.outcome_note.as_deref(), Some("Sponsor called back"));
    let a = alert::Entity::find_by_id(critical)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, "resolved");
    assert_eq!(
        a.note.as_deref(),
        Some("Task done: Risk averted — Sponsor called back")
    );
    // Done twice: refused.
    let res = app
        .post_json(
            "complete_tasks",
            json!({ "ids": [t.id], "outcome": "done", "note": null }),
        )
        .await;
    assert_eq!(res.status(), 409);

    // Acknowledging in bulk: all or none.
    let res = app
        .post_json("acknowledge_alerts", json!({ "ids": [medium, critical] }))
        .await;
    assert_eq!(res.status(), 409, "the critical one is resolved");
    let m = alert::Entity::find_by_id(medium)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.status, "open", "nothing written");
    let res = app
        .post_json("acknowledge_alerts", json!({ "ids": [medium] }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(cockpit(&app, true).await["total"], 0);

    // The done list keeps the outcome.
    let res = app
        .post_form("done_tasks", &[("mine", "false"), ("page", "0")])
        .await;
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["tasks"][0]["outcome"], "RiskAverted");
}

#[tokio::test]
async fn an_alert_a_running_playbook_handles_opens_no_task_of_its_own() {
    let app = spawn_admin().await;
    let id = customer_of(&app, "Hooli", "mid_market", 5_000_00).await;
    let def = parse(
        r#"{"name": "Red zone", "trigger": {"type": "alert_opened", "rule": "red_zone"},
            "steps": [{"id": "call", "type": "create_task", "title": "Call them", "assignee": "owner", "priority": "high"}]}"#,
        &Catalog::default(),
    )
    .unwrap();
    let now = Utc::now().trunc_subsecs(3);
    playbooks::create(&app.db, "red-zone", &def, true, None, now)
        .await
        .unwrap();
    open_alert(&app, id, "red_zone", "critical", now).await;
    // Another critical rule no playbook starts on: a task of its own.
    let cancel = open_alert(&app, id, "cancellation_intent", "critical", now).await;
    let mut engine = Engine::default();
    engine.run(&app, "server-a", now).await;
    let ts = tasks(&app).await;
    let sources: Vec<(&str, Option<i64>)> =
        ts.iter().map(|t| (t.source.as_str(), t.alert_id)).collect();
    assert_eq!(sources.len(), 2, "{ts:?}");
    assert!(sources.contains(&("playbook", None)));
    assert!(sources.contains(&("alert", Some(cancel))));
    assert_eq!(
        ts.iter().find(|t| t.source == "alert").unwrap().due_at,
        now + Duration::hours(4),
        "Mid-Market: 4 hours"
    );

    // A rule set to open no task: none.
    let mut rules = app::backend::alerts::rules(&app.db).await.unwrap();
    for r in &mut rules {
        r.opens_task = false;
    }
    let res = app
        .post_json("save_alert_rules", json!({ "rules": rules }))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let other = customer_of(&app, "Pied Piper", "trial", 0).await;
    open_alert(&app, other, "cancellation_intent", "critical", now).await;
    engine.run(&app, "server-a", now).await;
    assert_eq!(tasks(&app).await.len(), 2);
}

#[tokio::test]
async fn the_cockpit_puts_overdue_first_then_revenue_times_risk() {
    let app = spawn_admin().await;
    let small = customer_of(&app, "Small", "small_business", 500_00).await;
    let big = customer_of(&app, "Big", "enterprise", 30_000_00).await;
    let risky = customer_of(&app, "Risky", "enterprise", 15_000_00).await;
    let now = Utc::now();
    for (id, p) in [(big, 0.1), (risky, 0.6)] {
        churn_prediction::ActiveModel {
            customer_id: Set(id),
            model_id: Set(None),
            probability: Set(Some(p)),
            risk: Set("medium".into()),
            factors: Set(json!([])),
            computed_at: Set(now),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    for (id, hours) in [(small, 20), (big, 10), (risky, 10)] {
        let res = app
            .post_json(
                "create_task",
                json!({ "task": { "customer_id": id, "title": "Check in", "description": "",
                                  "assignee_id": null, "priority": "", "due_in_hours": hours } }),
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    // Half the revenue at six times the risk comes first.
    let order = |page: &Value| -> Vec<i64> {
        page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["customer_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(order(&cockpit(&app, false).await), vec![risky, big, small]);
    // The small customer's task is overdue: it comes first.
    let mut t = task::Entity::find()
        .filter(task::Column::CustomerId.eq(small))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    t.due_at = Set(now - Duration::hours(1));
    t.update(&app.db).await.unwrap();
    let page = cockpit(&app, false).await;
    assert_eq!(order(&page), vec![small, risky, big]);
    assert_eq!(page["rows"][0]["overdue"], true);
    assert_eq!(page["rows"][1]["overdue"], false);
}

#[tokio::test]
async fn tasks_by_hand_snoozes_reassignments_and_slas() {
    let app = spawn_admin().await;
    let id = customer_of(&app, "Umbrella", "enterprise", 10_000_00).await;
    let new_task = |title: &str| {
        json!({ "task": { "customer_id": id, "title": title, "description": "", "assignee_id": null,
                          "priority": "", "due_in_hours": null } })
    };
    let res = app
        .post_json(
            "create_task",
            json!({ "task": { "customer_id": id, "title": " ", "description": "", "assignee_id": null,
                              "priority": "asap", "due_in_hours": 0 } }),
        )
        .await;
    assert_eq!(
        validation_fields(res).await,
        vec!["title", "priority", "due_in_hours"]
    );
    let res = app
        .post_json(
            "create_task",
            json!({ "task": { "customer_id": 987_654, "title": "x", "description": "",
            "assignee_id": null, "priority": "", "due_in_hours": null } }),
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(tasks(&app).await.len(), 0);

    // SLAs: refused out of bounds, then one hour for Enterprise.
    let res = app
        .post_json("save_tier_slas", json!({ "slas": { "enterprise": 0, "mid_market": 4, "small_business": 24, "trial": 9999 } }))
        .await;
    assert_eq!(validation_fields(res).await, vec!["enterprise", "trial"]);
    let res = app
        .post_json("save_tier_slas", json!({ "slas": { "enterprise": 1, "mid_market": 4, "small_business": 24, "trial": 48 } }))
        .await;
    assert_eq!(res.status(), 200);
    let before = Utc::now();
    let res = app
        .post_json("create_task", new_task("Send the value plan"))
        .await;
    let task_id: i64 = res.json().await.unwrap();
    let t = task::Entity::find_by_id(task_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(t.due_at >= before + Duration::hours(1) && t.due_at <= Utc::now() + Duration::hours(1));
    assert_eq!(
        (t.source.as_str(), t.assignee_id),
        ("manual", Some(admin_id(&app).await))
    );

    // Snoozed: out of the cockpit, counted as snoozed.
    let res = app
        .post_json("snooze_task", json!({ "id": task_id, "days": 0 }))
        .await;
    assert_eq!(validation_fields(res).await, vec!["days"]);
    let res = app
        .post_json("snooze_task", json!({ "id": task_id, "days": 2 }))
        .await;
    assert_eq!(res.status(), 200);
    let page = cockpit(&app, false).await;
    assert_eq!(
        (page["total"].as_u64(), page["snoozed"].as_u64()),
        (Some(0), Some(1))
    );

    // Reassigned to a CSM: theirs now, in their count.
    app.create_user("csm@example.com", "csm").await;
    let csm = user::Entity::find()
        .filter(user::Column::Email.eq("csm@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = app
        .post_json(
            "reassign_tasks",
            json!({ "ids": [task_id], "assignee_id": 987_654 }),
        )
        .await;
    assert_eq!(validation_fields(res).await, vec!["assignee_id"]);
    let res = app.post_json("create_task", new_task("Book the QBR")).await;
    let second: i64 = res.json().await.unwrap();
    let res = app
        .post_json(
            "reassign_tasks",
            json!({ "ids": [task_id, second], "assignee_id": csm }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let assigned = PaginatorTrait::count(
        task::Entity::find().filter(task::Column::AssigneeId.eq(csm)),
        &app.db,
    )
    .await
    .unwrap();
    assert_eq!(assigned, 2);
    app.sign_in_again("csm@example.com").await;
    let res = app.post_form("task_counts", &[]).await;
    let counts: (u64, u64) = res.json().await.unwrap();
    assert_eq!(counts, (1, 0), "one awake, the other snoozed");
    let (status, html) = app.get_page("/tasks").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Book the QBR"),
        "the page renders on the server"
    );

    // An executive reads but doesn't act.
    app.sign_in_as("exec@example.com", "executive").await;
    let res = app
        .post_json(
            "complete_tasks",
            json!({ "ids": [second], "outcome": "done", "note": null }),
        )
        .await;
    assert_eq!(res.status(), 403);
}
