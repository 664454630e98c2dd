//! The demo portfolio lands in the database whole, and the dashboard agrees with it
//! (portfolio, ARR at risk, alerts, the expansion pipeline).

use crate::common;

use app::backend::entities::{alert, customer, expansion_signal, usage_event};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use vcsm::demo::DemoConfig;

#[tokio::test]
async fn demo_seed_and_dashboard_figures_agree() {
    let app = common::spawn_app().await;
    let config = DemoConfig {
        customers: 40,
        days: 90,
        seed: 7,
        as_of: chrono::Utc::now().date_naive(),
    };
    let now = chrono::Utc::now();
    let stats = app::backend::demo::seed(&app.db, &config, now)
        .await
        .unwrap();
    assert_eq!(stats.customers, 40);
    assert_eq!(stats.users_created, 6);
    assert_eq!(
        usage_event::Entity::find().count(&app.db).await.unwrap(),
        stats.events
    );
    assert_eq!(
        usage_event::Entity::find()
            .filter(usage_event::Column::OccurredAt.gt(now))
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "no events in the future"
    );

    // The demo users can sign in with the demo password.
    let res = app
        .post_form(
            "login",
            &[
                ("email", "manager@example.com"),
                ("password", vcsm::demo::DEMO_PASSWORD),
            ],
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let d: serde_json::Value = app
        .client
        .post(app.url("/api/dashboard"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["summary"]["total"], 40);
    let live: Vec<customer::Model> = customer::Entity::find()
        .filter(customer::Column::Stage.ne("churned"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(d["summary"]["live"], live.len());
    let mrr: i64 = live.iter().map(|c| c.mrr_minor).sum();
    assert_eq!(d["summary"]["revenue"][0]["mrr_minor"], mrr);
    assert_eq!(d["summary"]["revenue"][0]["arr_minor"], mrr * 12);

    // Once scored: the at-risk list runs by ARR at risk, the alert and pipeline tiles
    // agree with the tables, and the demo's plans produced expansion signals.
    app::backend::pipeline::score_customers(&app.db, &app.state.portfolio, None, now, now)
        .await
        .unwrap();
    let d: serde_json::Value = app
        .client
        .post(app.url("/api/dashboard"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = d["at_risk"].as_array().unwrap();
    assert!(!rows.is_empty(), "{d}");
    let stakes: Vec<i64> = rows
        .iter()
        .map(|r| r["arr_at_risk_minor"].as_i64().unwrap())
        .collect();
    assert!(stakes.windows(2).all(|w| w[0] >= w[1]), "{stakes:?}");
    assert!(rows.iter().all(|r| r["risk"] != "low"));
    let at_risk_total = d["arr_at_risk"][0][1].as_i64().unwrap();
    assert!(at_risk_total >= stakes.iter().sum::<i64>(), "{d}");
    let alerts: u64 = d["open_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_u64().unwrap())
        .sum();
    assert_eq!(
        alerts,
        alert::Entity::find()
            .filter(alert::Column::Status.eq("open"))
            .count(&app.db)
            .await
            .unwrap()
    );
    let open_signals: Vec<expansion_signal::Model> = expansion_signal::Entity::find()
        .filter(expansion_signal::Column::Status.eq("open"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(!open_signals.is_empty(), "the demo has expansion signals");
    assert_eq!(
        d["pipeline"][0]["uplift_minor"],
        open_signals.iter().map(|s| s.uplift_minor).sum::<i64>()
    );

    // A second seed into a non-empty database clashes on external ids and writes nothing.
    assert!(app::backend::demo::seed(&app.db, &config, now)
        .await
        .is_err());
    assert_eq!(customer::Entity::find().count(&app.db).await.unwrap(), 40);
}

/// The demo's playbook history: walked through the engine's state machine from the
/// weeks customers fell under 70 and 40, with e-mails rendered for real recipients,
/// tasks done with outcomes, goals read from the scores; the playbooks left off.
#[tokio::test]
async fn the_demo_has_months_of_playbook_history() {
    use app::backend::entities::{enrollment, outbox, playbook, step_run, task};
    let app = common::spawn_app().await;
    let now = chrono::Utc::now();
    let config = DemoConfig {
        customers: 60,
        days: 150,
        seed: 11,
        as_of: now.date_naive(),
    };
    app::backend::demo::seed(&app.db, &config, now)
        .await
        .unwrap();
    app::backend::pipeline::score_history(&app.db, &app.state.portfolio, 12, now)
        .await
        .unwrap();
    let stats = app::backend::playbooks::history::seed_demo_history(&app.db, now)
        .await
        .unwrap();
    assert!(stats.enrollments >= 5, "{stats:?}");
    assert!(stats.emails > 0 && stats.tasks > 0, "{stats:?}");
    let enrollments = enrollment::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(enrollments.len(), stats.enrollments);
    let runs = step_run::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(runs.len(), stats.steps);
    for r in &runs {
        let e = enrollments
            .iter()
            .find(|e| e.id == r.enrollment_id)
            .unwrap();
        assert!(r.ran_at >= e.entered_at && r.ran_at <= now, "{r:?}");
    }
    // Months back, finished ones and (for walks that reach today) live ones.
    assert!(enrollments
        .iter()
        .any(|e| e.entered_at < now - chrono::Duration::days(30)));
    assert!(enrollments.iter().any(|e| e.finished_at.is_some()));
    for e in enrollments.iter().filter(|e| e.live_customer_id.is_some()) {
        assert!(
            e.due_at
                .is_some_and(|d| d > now - chrono::Duration::days(1)),
            "{e:?}"
        );
    }
    let mails = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("email"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(mails.len(), stats.emails);
    for m in &mails {
        assert_eq!(m.status, "sent");
        let subject = m.result.as_ref().unwrap()["subject"].as_str().unwrap();
        assert!(!subject.is_empty() && !subject.contains("{{"), "{subject}");
    }
    let tasks = task::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(tasks.len(), stats.tasks);
    assert!(tasks
        .iter()
        .all(|t| t.status == "done" && t.outcome.is_some()));
    // A customer's page reads it as a story: the e-mails sent and the tasks done, by whom.
    let with_mail = mails[0].customer_id;
    let d = app::backend::customers::detail(&app.db, with_mail, now)
        .await
        .unwrap();
    use app::dto::TimelineKind;
    let mail = d
        .timeline
        .iter()
        .find(|t| t.kind == TimelineKind::Email)
        .expect("an e-mail in the timeline");
    assert!(mail.title.starts_with("E-mail sent: "), "{mail:?}");
    assert!(
        mail.actor.as_deref().unwrap().starts_with("playbook "),
        "{mail:?}"
    );
    let usage: Vec<_> = d
        .timeline
        .iter()
        .filter(|t| t.kind == TimelineKind::Usage)
        .collect();
    assert!(!usage.is_empty() && usage.iter().all(|t| t.title.starts_with("Product usage: ")));
    assert_eq!(d.weekly_usage.len(), 26);
    // Each playbook's page shows what its tasks came to, per step.
    let with_task = tasks.iter().find_map(|t| t.enrollment_id).unwrap();
    let e = enrollments.iter().find(|e| e.id == with_task).unwrap();
    let pb = playbook::Entity::find_by_id(e.playbook_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let page = app::backend::playbooks::views::detail(&app.db, &pb.key, now)
        .await
        .unwrap()
        .unwrap();
    let done: u64 = page.task_outcomes.iter().map(|s| s.done).sum();
    let of_playbook = tasks
        .iter()
        .filter(|t| {
            t.enrollment_id.is_some_and(|id| {
                enrollments
                    .iter()
                    .any(|e| e.id == id && e.playbook_id == pb.id)
            })
        })
        .count();
    assert_eq!(done as usize, of_playbook, "{:?}", page.task_outcomes);
    assert!(page
        .task_outcomes
        .iter()
        .all(|s| s.worked <= s.done && !s.outcomes.is_empty()));
    let on = playbook::Entity::find()
        .filter(playbook::Column::Status.eq("on"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(on, 0, "turned on by an admin, not by the demo");
}
