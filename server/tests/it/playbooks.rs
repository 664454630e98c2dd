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
pub(crate) struct Engine {
    consumed: usize,
}

impl Engine {
    pub(crate) async fn run(
        &mut self,
        app: &TestApp,
        worker: &str,
        now: DateTime<Utc>,
    ) -> engine::Pass {
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
        now + Duration::hours(i64::from(vcsm::tasks::TierSlas::default().hours(&tier))),
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

#[tokio::test]
async fn the_ready_library_loads_once_turned_off_and_reads_back() {
    let app = spawn_admin().await;
    let now = Utc::now();
    assert_eq!(playbooks::load_library(&app.db, now).await.unwrap(), 9);
    assert_eq!(
        playbooks::load_library(&app.db, now).await.unwrap(),
        0,
        "only missing keys"
    );
    let all = app::backend::entities::playbook::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(all.len(), 9);
    for pb in &all {
        assert_eq!(pb.status, playbooks::status::OFF, "{}", pb.key);
        let v = app::backend::entities::playbook_version::Entity::find_by_id(
            pb.current_version_id.unwrap(),
        )
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
        assert_eq!(v.version, 1);
        let def = playbooks::definition(&v).unwrap();
        assert_eq!(playbooks::trigger_type(&def), pb.trigger_type);
    }
    let templates = app::backend::entities::email_template::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(templates.len(), 20);
    assert!(templates
        .iter()
        .any(|t| t.key == "payment-failed" && t.operational));
}

const OUTREACH: &str = r#"{
    "name": "Outreach",
    "trigger": {"type": "health_level_changed", "to": "poor"},
    "steps": [
        {"id": "personal", "type": "send_email", "template": "risk-personal", "to": "primary_contact"},
        {"id": "tell-team", "type": "slack", "text": "{{ customer.name }} fell to Poor"},
        {"id": "sponsor", "type": "send_email", "template": "risk-personal", "to": "role:executive_sponsor"}
    ]
}"#;

async fn outbox_rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn playbook_mail_waits_without_a_relay_then_goes_out_once_rendered() {
    let (smtp, mails) = common::smtp_stand_in(false).await;
    let app = common::spawn_app_with(app::backend::Config {
        smtp_url: Some(smtp),
        mail_from: Some("Virtual CSM <csm@vendor.example>".into()),
        ..common::test_config()
    })
    .await;
    app.sign_in_as("admin@example.com", "admin").await;
    let id = app.create_customer("Acme & Sons", "acct_9").await;
    owner(&app, id).await;
    app::backend::entities::contact::ActiveModel {
        customer_id: Set(id),
        name: Set("Dana Reyes".into()),
        email: Set(Some("dana@acme.example".into())),
        role: Set("champion".into()),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    // Noon UTC: outside the quiet hours (the contact and the account have no zone).
    let now = Utc::now()
        .date_naive()
        .and_time(chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap())
        .and_utc();
    playbooks::load_library(&app.db, now).await.unwrap();
    let def = parse(OUTREACH, &Catalog::default()).unwrap();
    playbooks::create(&app.db, "outreach", &def, true, None, now)
        .await
        .unwrap();
    set_health(&app, id, 62, "fair", now).await;
    set_health(&app, id, 35, "poor", now).await;
    let pass = Engine::default().run(&app, "server-a", now).await;
    assert_eq!(pass.steps, 3, "{pass:?}");
    assert_eq!(outbox_rows(&app).await.len(), 3);

    // No relay and no Slack yet: the e-mail and the message wait, saying why; the e-mail
    // to a role nobody holds can never go.
    let http = reqwest::Client::new();
    let meter = app.state.meter.clone();
    let without = app::backend::notify::Channels {
        http: &http,
        meter: &meter,
        mailer: None,
        public_url: "http://localhost",
    };
    use app::backend::playbooks::delivery::{self, status};
    delivery::deliver_due(&app.db, &without, "server-a", now)
        .await
        .unwrap();
    let rows = outbox_rows(&app).await;
    assert_eq!(rows[0].status, status::UNSENT);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("VCSM_SMTP_URL"),
        "{:?}",
        rows[0]
    );
    assert_eq!(rows[1].status, status::UNSENT);
    assert!(rows[1]
        .last_error
        .as_deref()
        .unwrap()
        .contains("Slack is not configured"));
    assert_eq!(rows[2].status, status::DEAD);
    assert!(
        rows[2]
            .last_error
            .as_deref()
            .unwrap()
            .contains("no contact with the role executive_sponsor"),
        "{:?}",
        rows[2]
    );
    assert!(mails.lock().unwrap().is_empty());

    // A relay now: the waiting e-mail goes out once a minute later, rendered.
    let with = app::backend::notify::Channels {
        mailer: app.state.mailer.as_deref(),
        ..without
    };
    let later = now + Duration::minutes(2);
    for _ in 0..3 {
        delivery::deliver_due(&app.db, &with, "server-a", later)
            .await
            .unwrap();
    }
    let sent = mails.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, vec!["<dana@acme.example>".to_string()]);
    let data = &sent[0].data;
    assert!(
        data.contains("Subject: Checking in personally, Acme & Sons"),
        "{data}"
    );
    assert!(data.contains("Hi Dana,"), "{data}");
    let row = &outbox_rows(&app).await[0];
    assert!(
        data.contains(&format!("Message-ID: <outbox-{}.{id}@virtual-csm>", row.id)),
        "{data}"
    );
    assert_eq!(row.status, status::SENT);
    assert_eq!(row.result.as_ref().unwrap()["to"], "dana@acme.example");
}

async fn tag(app: &TestApp, id: i64, tags: &[&str]) {
    let mut c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    c.tags = Set(serde_json::json!(tags));
    c.update(&app.db).await.unwrap();
}

#[tokio::test]
async fn segment_entry_starts_those_who_begin_to_match_and_schedules_fire_in_the_customers_zone() {
    let app = spawn_admin().await;
    let early = app.create_customer("Early VIP", "acct_a").await;
    let later_vip = app.create_customer("Later VIP", "acct_b").await;
    tag(&app, early, &["vip"]).await;
    let now = Utc::now().trunc_subsecs(3);
    let vip = parse(
        r#"{"name": "VIP welcome", "trigger": {"type": "segment_entry",
            "condition": {"field": "tag", "op": "eq", "value": "vip"}},
            "steps": [{"id": "hello", "type": "create_task", "title": "Welcome a new VIP", "assignee": "owner"}]}"#,
        &Catalog::default(),
    )
    .unwrap();
    playbooks::create(&app.db, "vip", &vip, true, None, now)
        .await
        .unwrap();
    // The first sweep takes stock: the customer already VIP is not "entering".
    assert_eq!(engine::sweep(&app.db, now).await.unwrap(), 0);
    tag(&app, later_vip, &["vip", "beta"]).await;
    assert_eq!(
        engine::sweep(&app.db, now + Duration::minutes(1))
            .await
            .unwrap(),
        0,
        "swept minutes ago"
    );
    let next = now + engine::SWEEP_EVERY;
    assert_eq!(engine::sweep(&app.db, next).await.unwrap(), 1);
    let e = enrollments(&app).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].customer_id, later_vip);
    // Still matching: not entering again.
    assert_eq!(
        engine::sweep(&app.db, next + engine::SWEEP_EVERY)
            .await
            .unwrap(),
        0
    );

    // Every Monday 09:00 in the customer's zone.
    let mut c = customer::Entity::find_by_id(early)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    c.time_zone = Set(Some("Asia/Tokyo".into()));
    c.tier = Set("enterprise".into());
    c.update(&app.db).await.unwrap();
    let weekly = parse(
        r#"{"name": "Monday review", "trigger": {"type": "schedule", "time": "09:00", "days": ["mon"]},
            "entry": [{"field": "tier", "op": "eq", "value": "enterprise"}],
            "steps": [{"id": "review", "type": "create_task", "title": "Weekly review", "assignee": "owner"}]}"#,
        &Catalog::default(),
    )
    .unwrap();
    // Sunday 2026-12-06 23:50 UTC is Monday 08:50 in Tokyo.
    let sunday: DateTime<Utc> = "2026-12-06T23:50:00Z".parse().unwrap();
    playbooks::create(&app.db, "weekly", &weekly, true, None, sunday)
        .await
        .unwrap();
    assert_eq!(
        engine::sweep(&app.db, sunday).await.unwrap(),
        0,
        "taking stock"
    );
    let monday_tokyo: DateTime<Utc> = "2026-12-07T00:01:00Z".parse().unwrap();
    assert_eq!(
        engine::sweep(&app.db, monday_tokyo).await.unwrap(),
        1,
        "09:01 in Tokyo, Sunday elsewhere"
    );
    let weekly_enrollments: Vec<_> = enrollments(&app)
        .await
        .into_iter()
        .filter(|e| e.customer_id == early)
        .collect();
    assert_eq!(weekly_enrollments.len(), 1);
}

#[tokio::test]
async fn a_webhook_is_signed_retried_after_a_refusal_and_delivered_once() {
    use std::sync::{Arc, Mutex};
    // A receiver that refuses the first call and takes the next, keeping what it got.
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let kept = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let mut calls = kept.lock().unwrap();
                calls.push((headers, body));
                if calls.len() == 1 {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                } else {
                    (axum::http::StatusCode::OK, "ok")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let app = spawn_admin().await;
    let id = app.create_customer("Initech", "acct_w").await;
    let now = Utc::now().trunc_subsecs(3);
    let mut def = parse(
        r#"{"name": "Tell the CRM", "trigger": {"type": "health_level_changed", "to": "poor"},
            "steps": [{"id": "crm", "type": "webhook", "url": "https://crm.example/hook", "body": {"reason": "poor health"}}]}"#,
        &Catalog::default(),
    )
    .unwrap();
    // The stand-in speaks plain HTTP on this machine; publishing refuses that, so the
    // address is set after the check.
    if let vcsm::playbooks::StepKind::Webhook { url, .. } = &mut def.steps[0].kind {
        *url = format!("http://{addr}/hook");
    }
    playbooks::create(&app.db, "crm", &def, true, None, now)
        .await
        .unwrap();
    set_health(&app, id, 62, "fair", now).await;
    set_health(&app, id, 35, "poor", now).await;
    assert_eq!(Engine::default().run(&app, "server-a", now).await.steps, 1);

    let http = reqwest::Client::new();
    let meter = app.state.meter.clone();
    let channels = app::backend::notify::Channels {
        http: &http,
        meter: &meter,
        mailer: None,
        public_url: "http://localhost",
    };
    use app::backend::playbooks::delivery::{self, status};
    delivery::deliver_due(&app.db, &channels, "server-a", now)
        .await
        .unwrap();
    let row = &outbox_rows(&app).await[0];
    assert_eq!(row.status, status::PENDING, "{row:?}");
    assert_eq!(row.attempts, 1);
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("answered 503: busy"),
        "{row:?}"
    );
    // Not before its back-off; then once.
    delivery::deliver_due(&app.db, &channels, "server-a", now + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(got.lock().unwrap().len(), 1);
    let later = row.next_attempt_at;
    for _ in 0..3 {
        delivery::deliver_due(&app.db, &channels, "server-a", later)
            .await
            .unwrap();
    }
    let calls = got.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(outbox_rows(&app).await[0].status, status::SENT);
    // Signed with the installation's secret over "t.body", as documented.
    let (headers, body) = &calls[1];
    let payload: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["customer"]["name"], "Initech");
    assert_eq!(payload["reason"], "poor health");
    assert_eq!(headers["x-vcsm-delivery"], row.id.to_string().as_str());
    let signature = headers["x-vcsm-signature"].to_str().unwrap();
    let secret = delivery::webhook_secret(&app.db, later).await.unwrap();
    let t: i64 = signature
        .strip_prefix("t=")
        .and_then(|s| s.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        signature,
        vcsm::sources::stripe::sign(body.as_bytes(), &secret, t)
    );
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<String>,
) -> (u16, serde_json::Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn playbooks_are_exported_imported_with_every_problem_by_path_and_enroll_by_hand() {
    let app = spawn_admin().await;
    let id = app.create_customer("Umbrella", "acct_u").await;
    let now = Utc::now();
    playbooks::load_library(&app.db, now).await.unwrap();
    let manager = app::backend::tokens::create(&app.db, "ops", "manager", now)
        .await
        .unwrap();
    let reader = app::backend::tokens::create(&app.db, "bi", "executive", now)
        .await
        .unwrap();
    let (m, r) = (manager.token.as_str(), reader.token.as_str());
    use reqwest::Method;

    let (status, list) = call(&app, Method::GET, "/api/v1/playbooks", r, None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 9);
    let (status, exported) = call(&app, Method::GET, "/api/v1/playbooks/renewal", r, None).await;
    assert_eq!(status, 200);
    assert_eq!(exported["version"], 1);
    assert_eq!(exported["definition"]["trigger"]["type"], "renewal_in");

    // A reader can't import; a manager's broken document is refused with every problem.
    let body = exported["definition"].to_string();
    assert_eq!(
        call(
            &app,
            Method::PUT,
            "/api/v1/playbooks/renewal",
            r,
            Some(body.clone())
        )
        .await
        .0,
        403
    );
    let broken = body
        .replace("\"renewal-90\"", "\"no-such-template\"")
        .replace("\"30d\"", "\"soon\"");
    let (status, refused) = call(
        &app,
        Method::PUT,
        "/api/v1/playbooks/renewal",
        m,
        Some(broken),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let fields: Vec<&str> = refused["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"steps[0].template"), "{fields:?}");
    assert!(fields.iter().any(|f| f.ends_with(".for")), "{fields:?}");
    let (status, _) = call(
        &app,
        Method::PUT,
        "/api/v1/playbooks/renewal",
        m,
        Some("{\"name\": 1}".into()),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        call(&app, Method::GET, "/api/v1/playbooks/renewal", r, None)
            .await
            .1["version"],
        1,
        "nothing was saved"
    );
    // The same document back: the next version.
    let (status, saved) = call(
        &app,
        Method::PUT,
        "/api/v1/playbooks/renewal",
        m,
        Some(body),
    )
    .await;
    assert_eq!((status, saved["version"].as_i64()), (200, Some(2)));
    // A new key: a new playbook, turned off.
    let new = r#"{"name": "Check in by hand", "trigger": {"type": "manual"},
        "entry": [{"field": "stage", "op": "ne", "value": "churned"}],
        "steps": [{"id": "call", "type": "create_task", "title": "Check in", "assignee": "owner"}]}"#;
    let (status, created) = call(
        &app,
        Method::PUT,
        "/api/v1/playbooks/check-in",
        m,
        Some(new.into()),
    )
    .await;
    assert_eq!(
        (status, created["status"].as_str()),
        (201, Some("off")),
        "{created}"
    );
    assert_eq!(
        call(
            &app,
            Method::PUT,
            "/api/v1/playbooks/Bad Key",
            m,
            Some(new.into())
        )
        .await
        .0,
        422
    );

    // Enrolling by hand, then again while enrolled: refused with the reason.
    let enroll = format!("{{\"customer_id\": {id}}}");
    let (status, e) = call(
        &app,
        Method::POST,
        "/api/v1/playbooks/check-in/enrollments",
        m,
        Some(enroll.clone()),
    )
    .await;
    assert_eq!(status, 201, "{e}");
    assert_eq!(e["status"], "active");
    let (status, again) = call(
        &app,
        Method::POST,
        "/api/v1/playbooks/check-in/enrollments",
        m,
        Some(enroll),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        again["error"]
            .as_str()
            .unwrap()
            .contains("already enrolled"),
        "{again}"
    );
    let missing = call(
        &app,
        Method::POST,
        "/api/v1/playbooks/check-in/enrollments",
        m,
        Some("{\"customer_id\": 999999}".into()),
    )
    .await;
    assert_eq!(missing.0, 404);
    let (status, mine) = call(
        &app,
        Method::GET,
        &format!("/api/v1/customers/{id}/enrollments"),
        r,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mine[0]["playbook"], "check-in");
    let (status, theirs) = call(
        &app,
        Method::GET,
        "/api/v1/playbooks/check-in/enrollments",
        r,
        None,
    )
    .await;
    assert_eq!(
        (status, theirs[0]["id"].clone()),
        (200, mine[0]["id"].clone())
    );
    // Documented.
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/playbooks",
        "/api/v1/playbooks/{key}",
        "/api/v1/playbooks/{key}/enrollments",
        "/api/v1/customers/{id}/enrollments",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is not in the OpenAPI document"
        );
    }
}

// ---- What the pages read (issue 17, "Pages") ----

async fn admin_user(app: &TestApp) -> app::dto::CurrentUser {
    let u = user::Entity::find()
        .filter(user::Column::Email.eq("admin@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    app::dto::CurrentUser {
        id: u.id,
        email: u.email,
        name: u.name,
        role: vcsm::auth::Role::Admin,
    }
}

#[tokio::test]
async fn the_pages_read_the_funnel_a_customers_history_with_its_readings_and_the_outbox() {
    use app::backend::playbooks::views;
    let app = spawn_admin().await;
    let acme = app.create_customer("Acme", "acct_1").await;
    let globex = app.create_customer("Globex", "acct_2").await;
    owner(&app, acme).await;
    let def = parse(RED_ZONE, &Catalog::default()).unwrap();
    let now = Utc::now().trunc_subsecs(3);
    playbooks::create(&app.db, "red-zone", &def, true, None, now)
        .await
        .unwrap();
    for id in [acme, globex] {
        set_health(&app, id, 62, "fair", now).await;
        set_health(&app, id, 35, "poor", now).await;
    }
    let mut engine_loop = Engine::default();
    let pass = engine_loop.run(&app, "server-a", now).await;
    assert_eq!(pass.enrolled, 2, "{pass:?}");

    let d = views::detail(&app.db, "red-zone", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.current_version, Some(1));
    assert_eq!((d.funnel.entered, d.funnel.live), (2, 2));
    assert_eq!(d.funnel.at_steps.len(), 1);
    assert_eq!(d.funnel.at_steps[0].step, "still-red");
    assert_eq!(d.funnel.at_steps[0].count, 2);
    assert_eq!(d.funnel.at_steps[0].label, "branch · 2 ways");
    assert_eq!(d.funnel.goal_open, 2);
    assert_eq!(d.funnel_all, d.funnel, "one version so far");
    assert_eq!(d.enrollments.len(), 2);
    assert_eq!(d.enrollments[0].customer_name, "Globex", "newest first");
    assert_eq!(d.enrollments[0].version, Some(1));
    assert_eq!(d.versions.len(), 1);
    assert!(d.versions[0].current);
    assert!(d.definition.contains("\"still-red\""), "{}", d.definition);
    assert!(d.trigger.contains("poor"), "{}", d.trigger);

    // Globex recovers: it exits before its next step, the goal met; Acme is still red.
    set_health(&app, globex, 85, "good", now).await;
    let later = now + Duration::days(2) + Duration::minutes(1);
    engine_loop.run(&app, "server-b", later).await;
    let d = views::detail(&app.db, "red-zone", later)
        .await
        .unwrap()
        .unwrap();
    let f = &d.funnel;
    assert_eq!(
        (f.entered, f.live, f.completed, f.exited),
        (2, 0, 1, 1),
        "{f:?}"
    );
    assert_eq!(f.exit_reasons.len(), 1);
    assert!(
        f.exit_reasons[0].reason.starts_with("health.level in"),
        "{:?}",
        f.exit_reasons
    );
    assert_eq!((f.goal_met, f.goal_open), (1, 1), "{f:?}");

    let list = views::list(&app.db, later).await.unwrap();
    let row = list.playbooks.iter().find(|p| p.key == "red-zone").unwrap();
    assert_eq!((row.live, row.entered_30d), (0, 2));
    assert_eq!((row.goal_met, row.goal_tracked), (1, 2));
    assert_eq!(row.status, "on");

    // Acme's history: every step in order, what it did, and why the branch went red.
    let h = views::customer_history(&app.db, acme, later).await.unwrap();
    assert_eq!(h.enrollments.len(), 1);
    let e = &h.enrollments[0];
    assert_eq!((e.playbook_key.as_str(), e.version), ("red-zone", Some(1)));
    assert_eq!(e.finish.as_deref(), Some("Completed"));
    let steps: Vec<&str> = e.runs.iter().map(|r| r.step.as_str()).collect();
    assert_eq!(steps, ["call", "mail", "wait", "still-red", "escalate"]);
    assert_eq!(
        e.runs[0].effect.as_deref(),
        Some("Task “Call about the drop” for the owner (high)")
    );
    let branch = &e.runs[3];
    assert_eq!(branch.taken.as_deref(), Some("Still red"));
    assert_eq!(branch.readings, ["health.score < 40 (is 35): yes"]);
    assert!(branch.next.starts_with("next: escalate"), "{}", branch.next);
    let g = views::customer_history(&app.db, globex, later)
        .await
        .unwrap();
    assert!(
        g.enrollments[0]
            .finish
            .as_deref()
            .unwrap()
            .starts_with("Exited: health.level in"),
        "{:?}",
        g.enrollments[0].finish
    );

    // The outbox: both e-mails and Acme's Slack message, filtered by status and kind.
    let all = views::outbox_page(&app.db, None, None, 0, later)
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(all.counts, [("pending".to_string(), 3)]);
    let mails = views::outbox_page(&app.db, Some("pending"), Some("email"), 0, later)
        .await
        .unwrap();
    assert_eq!(mails.total, 2);
    let m = &mails.rows[0];
    assert_eq!(m.playbook_key.as_deref(), Some("red-zone"));
    assert_eq!(m.step.as_deref(), Some("mail"));
    assert_eq!(m.recipient.as_deref(), Some("primary contact"));
    assert_eq!(m.summary.as_deref(), Some("template “personal-check-in”"));
    let slack = views::outbox_page(&app.db, None, Some("slack"), 0, later)
        .await
        .unwrap();
    assert_eq!(slack.rows.len(), 1);
    assert_eq!(slack.rows[0].customer_name, "Acme");
    assert_eq!(
        slack.rows[0].summary.as_deref(),
        Some("Still red after two days")
    );
    let sent = views::outbox_page(&app.db, Some("sent"), None, 0, later)
        .await
        .unwrap();
    assert_eq!(sent.total, 0);
    // The server function: admins only, and a filter it doesn't know is refused.
    let res = app
        .post_form(
            "list_outbox",
            &[("status", "nope"), ("kind", "all"), ("page", "0")],
        )
        .await;
    assert_eq!(res.status(), 422);
    app.sign_in_as("csm@example.com", "csm").await;
    let res = app
        .post_form(
            "list_outbox",
            &[("status", "all"), ("kind", "all"), ("page", "0")],
        )
        .await;
    assert_eq!(res.status(), 403);
}

const SPLIT: &str = r#"{
    "name": "Split test",
    "trigger": {"type": "manual"},
    "goal": {"name": "Converted", "within": "30d", "when": [{"field": "tag", "op": "eq", "value": "converted"}]},
    "steps": [
        {"id": "split", "type": "split", "holdout": 50,
         "arms": [{"name": "Nudge", "percent": 50, "steps": [{"id": "nudge", "type": "slack", "text": "Nudge {{ customer.name }}"}]}]}
    ]
}"#;

#[tokio::test]
async fn split_arms_are_read_from_their_step_runs_and_people_enroll_and_cancel_by_hand() {
    use app::backend::playbooks::views;
    let app = spawn_admin().await;
    let mut ids = Vec::new();
    for i in 0..16 {
        ids.push(
            app.create_customer(&format!("Split {i:02}"), &format!("acct_s{i}"))
                .await,
        );
    }
    let def = parse(SPLIT, &Catalog::default()).unwrap();
    let now = Utc::now().trunc_subsecs(3);
    playbooks::create(&app.db, "split-test", &def, false, None, now)
        .await
        .unwrap();
    let admin = admin_user(&app).await;
    views::set_status(&app.db, &admin, "split-test", "on", now)
        .await
        .unwrap();
    assert!(
        views::set_status(&app.db, &admin, "split-test", "sideways", now)
            .await
            .is_err()
    );

    // By hand, through the server functions: by name; again is refused with the reason;
    // a live enrollment is cancelled.
    let res = app
        .post_json(
            "enroll_customer",
            serde_json::json!({"key": "split-test", "customer": "split 00"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let first: i64 = res.json().await.unwrap();
    let res = app
        .post_json(
            "enroll_customer",
            serde_json::json!({"key": "split-test", "customer": "Split 00"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(body.contains("already enrolled"), "{body}");
    let res = app
        .post_json(
            "enroll_customer",
            serde_json::json!({"key": "split-test", "customer": "Split"}),
        )
        .await;
    assert_eq!(res.status(), 409, "several match");
    let change = |change: &str| {
        app.post_json(
            "change_enrollment",
            serde_json::json!({"enrollment_id": first, "change": change}),
        )
    };
    // One reader of the domain events for the whole test.
    let mut engine_loop = Engine::default();
    // Paused, it keeps its place and runs nothing; resumed, it goes on.
    assert_eq!(change("pause").await.status(), 200);
    assert_eq!(change("pause").await.status(), 409, "already paused");
    let held = enrollment::Entity::find_by_id(first)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.status, "paused");
    engine_loop.run(&app, "server-a", now).await;
    let ran = step_run::Entity::find()
        .filter(step_run::Column::EnrollmentId.eq(first))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(ran, 0, "a paused one runs nothing");
    assert_eq!(change("resume").await.status(), 200);
    let res = change("resume").await;
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Only a paused enrollment"));
    let back = enrollment::Entity::find_by_id(first)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.status.as_str(), back.step.clone()),
        ("active", held.step)
    );
    assert_eq!(change("pause").await.status(), 200);
    assert_eq!(
        change("cancel").await.status(),
        200,
        "a paused one can be cancelled"
    );
    assert_eq!(change("cancel").await.status(), 409, "already ended");
    assert_eq!(change("undo").await.status(), 400, "no such change");

    for id in &ids[1..] {
        views::enroll(&app.db, &admin, "split-test", &id.to_string(), now)
            .await
            .unwrap();
    }
    engine_loop.run(&app, "server-a", now).await;
    // Those who got the nudge converted: the arm's goal is met.
    enrollment::Entity::update_many()
        .col_expr(
            enrollment::Column::Goal,
            sea_orm::sea_query::Expr::value("met"),
        )
        .filter(enrollment::Column::Status.eq("completed"))
        .exec(&app.db)
        .await
        .unwrap();

    let d = views::detail(&app.db, "split-test", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.funnel.entered, 16);
    assert_eq!(d.funnel.cancelled, 1);
    assert_eq!(d.splits.len(), 1, "{:?}", d.splits);
    let s = &d.splits[0];
    assert_eq!(s.step, "split");
    assert_eq!(s.arms.len(), 1);
    let arm = &s.arms[0];
    assert_eq!(arm.name, "Nudge");
    assert_eq!(arm.tally.entered + s.holdout.entered, 15);
    assert_eq!(s.holdout.entered, d.funnel.holdout);
    assert_eq!(arm.tally.met, arm.tally.entered);
    assert_eq!(s.holdout.met, 0);
    assert!(arm.tally.entered > 0 && s.holdout.entered > 0, "{s:?}");
    let c = arm.comparison.as_ref().unwrap();
    assert!((c.difference - 1.0).abs() < 1e-9, "{c:?}");
    assert!(c.is_clear(), "{c:?}");
    let h = views::customer_history(&app.db, ids[0], now).await.unwrap();
    assert_eq!(h.enrollments[0].status, "cancelled");
    assert_eq!(
        h.enrollments[0].finish.as_deref(),
        Some("Cancelled by a person")
    );
}

#[tokio::test]
async fn a_template_previews_for_a_real_customer_and_a_broken_one_says_where() {
    use app::backend::playbooks::views;
    let app = spawn_admin().await;
    let id = app.create_customer("Acme & Sons", "acct_p").await;
    let now = Utc::now();
    playbooks::load_library(&app.db, now).await.unwrap();
    let p = views::preview(&app.db, "risk-personal", "acme & sons", now)
        .await
        .unwrap();
    assert_eq!(p.customer_id, id);
    let m = p.message.unwrap();
    assert_eq!(m.subject, "Checking in personally, Acme & Sons");
    assert!(p.recipient.unwrap_err().contains("no contact"));
    app::backend::entities::email_template::ActiveModel {
        key: Set("broken".into()),
        name: Set("Broken".into()),
        subject: Set("Hi".into()),
        body_text: Set("line one\nHi {{ custmer.name }}".into()),
        body_html: Set(None),
        operational: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let p = views::preview(&app.db, "broken", &id.to_string(), now)
        .await
        .unwrap();
    let e = p.message.unwrap_err();
    assert!(e.starts_with("body_text, line 2"), "{e}");
    assert!(views::preview(&app.db, "broken", "nobody", now)
        .await
        .is_err());
    let res = app
        .post_json(
            "preview_template",
            serde_json::json!({"template": "risk-personal", "customer": id.to_string()}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_filtered_list_and_a_list_of_ids_enroll_each_by_the_rules_or_nobody() {
    use app::backend::playbooks::views;
    use reqwest::Method;
    let app = spawn_admin().await;
    let now = Utc::now();
    playbooks::load_library(&app.db, now).await.unwrap();
    let def = parse(
        r#"{"name": "By hand", "trigger": {"type": "manual"},
            "steps": [{"id": "note", "type": "update_field", "field": "tag", "value": "listed"}]}"#,
        &Catalog::default(),
    )
    .unwrap();
    playbooks::create(&app.db, "by-hand", &def, false, None, now)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["Listed Alpha", "Listed Beta", "Listed Gamma", "Listed Zeta"] {
        ids.push(
            app.create_customer(name, &name.to_lowercase().replace(' ', "_"))
                .await,
        );
    }
    app.create_customer("Elsewhere", "elsewhere").await;
    // Zeta is archived: never enrolled, whatever the filter says.
    let mut zeta = customer::Entity::find_by_id(ids[3])
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    zeta.archived_at = Set(Some(now));
    zeta.update(&app.db).await.unwrap();
    let admin = admin_user(&app).await;
    views::enroll(&app.db, &admin, "by-hand", "Listed Beta", now)
        .await
        .unwrap();

    // The customer list's filter: the search "listed", with archived ones asked for.
    let query = vcsm::listing::CustomerQuery {
        search: "listed".into(),
        include_archived: true,
        ..Default::default()
    };
    let res = app
        .post_json(
            "enroll_matching",
            serde_json::json!({"key": "by-hand", "query": query}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let done: app::dto::playbooks::ListEnrollResult = res.json().await.unwrap();
    assert_eq!((done.matched, done.enrolled, done.refused_count), (3, 2, 1));
    assert_eq!(done.refused[0].customer_name, "Listed Beta");
    assert_eq!(done.refused[0].reason, "already enrolled");
    let live = |id: i64| {
        let db = app.db.clone();
        async move {
            enrollment::Entity::find()
                .filter(enrollment::Column::CustomerId.eq(id))
                .count(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(live(ids[0]).await, 1);
    assert_eq!(live(ids[1]).await, 1, "not twice");
    assert_eq!(live(ids[3]).await, 0, "archived");
    let nobody = vcsm::listing::CustomerQuery {
        search: "no such customer".into(),
        ..Default::default()
    };
    let res = app
        .post_json(
            "enroll_matching",
            serde_json::json!({"key": "by-hand", "query": nobody}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("No customer matches"));

    // Through the API: a list of ids; one unknown id and nobody is enrolled.
    let token = app::backend::tokens::create(&app.db, "ops", "manager", now)
        .await
        .unwrap();
    let path = "/api/v1/playbooks/by-hand/enrollments/list";
    let before = count::<enrollment::Entity>(&app).await;
    let body = serde_json::json!({"customer_ids": [ids[2], 999_999, 888_888]}).to_string();
    let (status, answer) = call(&app, Method::POST, path, &token.token, Some(body)).await;
    assert_eq!(status, 404, "{answer}");
    let message = answer["error"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("888888, 999999"), "{answer}");
    assert_eq!(
        count::<enrollment::Entity>(&app).await,
        before,
        "nobody enrolled"
    );
    let body = serde_json::json!({"customer_ids": []}).to_string();
    let (status, _) = call(&app, Method::POST, path, &token.token, Some(body)).await;
    assert_eq!(status, 400);
    // Cancel Gamma's run so it may enter again; Alpha stays enrolled.
    let gamma = enrollment::Entity::find()
        .filter(enrollment::Column::CustomerId.eq(ids[2]))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    engine::cancel(&app.db, gamma.id, now).await.unwrap();
    let body = serde_json::json!({"customer_ids": [ids[2], ids[0], ids[2]]}).to_string();
    let (status, answer) = call(&app, Method::POST, path, &token.token, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    let enrolled = answer["enrolled"].as_array().unwrap();
    assert_eq!(enrolled.len(), 1, "{answer}");
    assert_eq!(enrolled[0]["playbook"], "by-hand");
    assert_eq!(answer["refused"][0]["customer_id"], ids[0]);
    assert_eq!(answer["refused"][0]["reason"], "already enrolled");
}
