//! The playbook engine against a real database: a domain event enrolls a customer, each
//! step acts once however often the engine runs, waits hold until they are due, branches
//! record what they read, exits stop an enrollment before it acts, and claims keep two
//! servers off the same enrollment.

use crate::common;

use app::backend::entities::{customer, domain_event, enrollment, outbox, step_run, task, user};
use app::backend::playbooks::{self, engine};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::{spawn_admin, TestApp};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use vcsm::playbooks::validate::{parse, Catalog};

const RED_ZONE: &str = r#"{
    "name": "High-risk intervention",
    "trigger": {"type": "health_level_changed", "to": "poor"},
    "exit": [{"field": "health.level", "op": "in", "value": ["good", "excellent"]}],
    "goal": {"name": "Health Good within 30 days", "within": "30d",
             "when": [{"field": "health.level", "op": "in", "value": ["good", "excellent"]}]},
    "steps": [
        {"id": "call", "type": "create_task", "title": "Call about the drop", "assignee": "owner", "priority": "high"},
        {"id": "mail", "type": "send_email", "template": "personal-check-in", "to": "primary_contact"},
        {"id": "wait", "type": "wait", "for": "2d"},
        {"id": "still-red", "type": "branch",
         "branches": [{"name": "Still red", "when": [{"field": "health.score", "op": "lt", "value": 40}],
                       "steps": [{"id": "escalate", "type": "slack", "text": "Still red after two days"}]}],
         "otherwise": [{"id": "tag", "type": "update_field", "field": "tag", "value": "recovering"}]}
    ]
}"#;

async fn set_health(app: &TestApp, id: i64, score: i16, level: &str, at: DateTime<Utc>) {
    let mut c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    c.health_score = Set(Some(score));
    c.health_level = Set(Some(level.into()));
    c.health_computed_at = Set(Some(at));
    c.update(&app.db).await.unwrap();
}

async fn owner(app: &TestApp, customer_id: i64) -> i64 {
    let u = user::Entity::find()
        .filter(user::Column::Email.eq("admin@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut c = customer::Entity::find_by_id(customer_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    c.owner_id = Set(Some(u.id));
    c.update(&app.db).await.unwrap();
    u.id
}

async fn count<E: EntityTrait>(app: &TestApp) -> u64
where
    E::Model: Sync,
{
    PaginatorTrait::count(E::find(), &app.db).await.unwrap()
}

/// Runs the engine as a server's loop would, until it has read every domain event written
/// so far. (On Postgres an event waits until every transaction older than its own has
/// ended, anywhere on the server: other tests' included.)
#[derive(Default)]
struct Engine {
    consumed: usize,
}

impl Engine {
    async fn run(&mut self, app: &TestApp, worker: &str, now: DateTime<Utc>) -> engine::Pass {
        let written = count::<domain_event::Entity>(app).await as usize;
        let started = std::time::Instant::now();
        let mut total = engine::Pass::default();
        loop {
            let pass = engine::tick(&app.db, worker, now, 100).await.unwrap();
            total.events += pass.events;
            total.enrolled += pass.enrolled;
            total.steps += pass.steps;
            self.consumed += pass.events;
            if self.consumed >= written {
                return total;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "events still unread after a minute: {} of {written}",
                self.consumed
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn enrollments(app: &TestApp) -> Vec<enrollment::Model> {
    enrollment::Entity::find()
        .order_by_asc(enrollment::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_enrolls_each_step_acts_once_and_a_branch_says_what_it_read() {
    let app = spawn_admin().await;
    let id = app.create_customer("Acme", "acct_1").await;
    let owner_id = owner(&app, id).await;
    let def = parse(RED_ZONE, &Catalog::default()).unwrap();
    let now = Utc::now().trunc_subsecs(3);
    playbooks::create(&app.db, "red-zone", &def, true, None, now)
        .await
        .unwrap();
    set_health(&app, id, 62, "fair", now).await;
    // Fair → Poor: the trigger.
    set_health(&app, id, 35, "poor", now).await;

    let mut engine_loop = Engine::default();
    let pass = engine_loop.run(&app, "server-a", now).await;
    assert_eq!(pass.enrolled, 1, "{pass:?}");
    assert_eq!(pass.steps, 3, "the task, the e-mail and the wait: {pass:?}");
    let e = &enrollments(&app).await[0];
    assert_eq!(e.status, "active");
    assert_eq!(e.step.as_deref(), Some("still-red"));
    assert_eq!(e.due_at, Some(now + Duration::days(2)));
    let t = task::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(t.assignee_id, Some(owner_id));
    assert_eq!(t.priority, "high");
    let tier = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .tier;
    assert_eq!(
        t.due_at,
        now + Duration::hours(engine::sla_hours(&tier)),
        "due by the tier's SLA"
    );
    let mail = outbox::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(
        (mail.kind.as_str(), mail.status.as_str()),
        ("email", "pending")
    );
    assert_eq!(mail.step.as_deref(), Some("mail"));

    // Running again acts on nothing new: nothing is due, and the event was consumed.
    for _ in 0..3 {
        let again = engine_loop
            .run(&app, "server-a", now + Duration::hours(1))
            .await;
        assert_eq!(again, engine::Pass::default());
    }
    assert_eq!(count::<task::Entity>(&app).await, 1);
    assert_eq!(count::<outbox::Entity>(&app).await, 1);

    // Two days later, still red: the branch escalates and records what it read.
    let later = now + Duration::days(2) + Duration::minutes(1);
    let pass = engine_loop.run(&app, "server-b", later).await;
    assert_eq!(pass.steps, 2, "{pass:?}");
    let run = step_run::Entity::find()
        .filter(step_run::Column::Step.eq("still-red"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let decision = &run.outcome["decision"];
    assert_eq!(decision["taken"], "Still red");
    assert_eq!(decision["readings"][0]["test"], "health.score < 40");
    assert_eq!(decision["readings"][0]["value"], 35);
    assert_eq!(count::<outbox::Entity>(&app).await, 2, "the Slack message");
    let e = &enrollments(&app).await[0];
    assert_eq!(e.status, "completed");
    assert_eq!(e.live_customer_id, None);
    assert_eq!(e.goal, "open", "health is not Good yet");

    // Poor again after a recovery: not while enrolled, so it may enter again.
    set_health(&app, id, 45, "fair", later).await;
    set_health(&app, id, 30, "poor", later).await;
    let pass = engine_loop.run(&app, "server-a", later).await;
    assert_eq!(pass.enrolled, 1);
    assert_eq!(enrollments(&app).await.len(), 2);
    assert_eq!(count::<task::Entity>(&app).await, 2);
}

#[tokio::test]
async fn an_exit_stops_an_enrollment_before_it_acts_and_claims_keep_servers_apart() {
    let app = spawn_admin().await;
    let id = app.create_customer("Globex", "acct_2").await;
    let def = parse(RED_ZONE, &Catalog::default()).unwrap();
    let now = Utc::now().trunc_subsecs(3);
    let pb = playbooks::create(&app.db, "red-zone", &def, true, None, now)
        .await
        .unwrap();
    set_health(&app, id, 62, "fair", now).await;
    set_health(&app, id, 35, "poor", now).await;
    let mut engine_loop = Engine::default();
    while engine_loop.consumed < count::<domain_event::Entity>(&app).await as usize {
        engine_loop.consumed += engine::consume_events(&app.db, now).await.unwrap().events;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Two servers ask for the same due work: one gets it.
    let a = engine::claim_due(&app.db, "server-a", now, 10)
        .await
        .unwrap();
    let b = engine::claim_due(&app.db, "server-b", now, 10)
        .await
        .unwrap();
    assert_eq!(a.len(), 1);
    assert!(b.is_empty(), "claimed by server-a: {b:?}");
    // Server b can't run it either; a can once its claim is its own.
    assert_eq!(
        engine::run_due(&app.db, "server-b", now, 10).await.unwrap(),
        0
    );
    // Server a dies; its claim runs out and b takes the work up.
    let after_lease = now + engine::LEASE + Duration::seconds(1);
    let pass = engine_loop.run(&app, "server-b", after_lease).await;
    assert_eq!(pass.steps, 3);
    assert_eq!(count::<task::Entity>(&app).await, 1);

    // Recovered before the wait ends: the branch never runs, nothing more is sent.
    set_health(&app, id, 75, "good", after_lease).await;
    let later = now + Duration::days(3);
    engine_loop.run(&app, "server-a", later).await;
    let e = &enrollments(&app).await[0];
    assert_eq!(e.status, "exited");
    let finish = e.finish.as_ref().unwrap();
    assert_eq!(finish["reason"], "exited");
    assert_eq!(
        finish["reading"]["test"],
        "health.level in [\"good\",\"excellent\"]"
    );
    assert_eq!(e.goal, "met");
    assert_eq!(
        count::<outbox::Entity>(&app).await,
        1,
        "only the first e-mail"
    );

    // A playbook that is off starts nobody.
    playbooks::set_status(&app.db, pb.id, playbooks::status::OFF, later)
        .await
        .unwrap();
    set_health(&app, id, 20, "poor", later).await;
    let pass = engine_loop.run(&app, "server-a", later).await;
    assert_eq!(pass.enrolled, 0);
}
