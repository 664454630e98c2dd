//! Health scores against a real database: the facts gathered from each kind of data (and
//! nothing after the moment scored), scoring that writes the day's history and the current
//! score, and versioned scorecards.

use crate::common;

use app::backend::entities::{billing_event, customer, health_score, subscription, support_ticket};
use app::backend::{health, worker};
use chrono::{Duration, Utc};
use common::{spawn_app, TestApp};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use vcsm::health::{Payment, Scorecard};

fn ticket(
    customer_id: i64,
    n: u32,
    opened: chrono::DateTime<Utc>,
    status: &str,
    priority: &str,
    sentiment: f64,
    email: &str,
) -> support_ticket::ActiveModel {
    support_ticket::ActiveModel {
        customer_id: Set(customer_id),
        source: Set("api".into()),
        external_id: Set(Some(format!("t{n}"))),
        subject: Set(format!("Ticket {n}")),
        body: Set("…".into()),
        status: Set(status.into()),
        priority: Set(priority.into()),
        opened_at: Set(opened),
        solved_at: Set(None),
        satisfaction: Set(None),
        sentiment: Set(Some(sentiment)),
        cancellation_intent: Set(false),
        updated_at: Set(opened),
        requester_email: Set(Some(email.into())),
        tags: Set(String::new()),
        intent_phrases: Set(None),
        source_updated_at: Set(None),
        ..Default::default()
    }
}

/// Acme: 10 seats, renewing in 45 days, with usage in both windows, two contacts, tickets,
/// a note and a failing payment.
/// The scorecard editor's view once the re-score with `version` has finished (or the last
/// seen after 20 s).
async fn rescored(app: &TestApp, version: i32) -> serde_json::Value {
    let mut status = serde_json::Value::Null;
    for _ in 0..1000 {
        app.run_due_jobs().await;
        status = app
            .post_form("get_scorecard", &[])
            .await
            .json()
            .await
            .unwrap();
        if status["rescore"]["finished"] == true && status["rescore"]["version"] == version {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    status
}

async fn acme(app: &TestApp) -> i64 {
    let id = app.create_customer("Acme", "acct_1").await;
    let mut c: customer::ActiveModel = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    c.seats = Set(10);
    c.renewal_date = Set(Some((Utc::now() + Duration::days(45)).date_naive()));
    c.csm_sentiment = Set(Some(4));
    c.update(&app.db).await.unwrap();
    let report = app
        .import_report(
            "Contacts",
            "customer_external_id,name,email,user_id\n\
             acct_1,Ann,ann@acme.com,u1\n\
             acct_1,Bo,bo@acme.com,u2\n\
             acct_1,Cy,cy@acme.com,u3\n",
        )
        .await;
    assert_eq!(report["imported"], 3, "{report}");
    let now = Utc::now();
    let at = |d: i64| (now - Duration::days(d)).to_rfc3339();
    let mut csv = String::from("customer_external_id,event,occurred_at,user_id\n");
    for (days_ago, event, user) in [
        (1, "Signed In", "u1"),
        (1, "Report Created", "u1"),
        (2, "Signed In", "u2"),
        (3, "Export", "u1"),
        (40, "Signed In", "u1"),
        (41, "Report Created", "u1"),
        (42, "Report Created", "u1"),
        (43, "Report Created", "u2"),
    ] {
        csv.push_str(&format!("acct_1,{event},{},{user}\n", at(days_ago)));
    }
    // After the moment scored: must not count.
    csv.push_str(&format!(
        "acct_1,Signed In,{},u3\n",
        (now + Duration::hours(2)).to_rfc3339()
    ));
    let report = app.import_report("Events", &csv).await;
    assert_eq!(report["imported"], 9, "{report}");
    for t in [
        ticket(
            id,
            1,
            now - Duration::days(2),
            "open",
            "urgent",
            -0.6,
            "cy@acme.com",
        ),
        ticket(
            id,
            2,
            now - Duration::days(5),
            "solved",
            "normal",
            0.2,
            "ann@acme.com",
        ),
        ticket(
            id,
            3,
            now - Duration::days(60),
            "open",
            "normal",
            0.9,
            "ann@acme.com",
        ),
        // Opened after the moment scored.
        ticket(
            id,
            4,
            now + Duration::hours(2),
            "open",
            "urgent",
            -0.9,
            "bo@acme.com",
        ),
    ] {
        t.insert(&app.db).await.unwrap();
    }
    let res = app
        .post_form(
            "add_note",
            &[("customer_id", &id.to_string()), ("body", "QBR booked")],
        )
        .await;
    assert_eq!(res.status(), 200);
    subscription::ActiveModel {
        customer_id: Set(id),
        external_id: Set(Some("sub_1".into())),
        plan: Set(Some("Pro".into())),
        status: Set("active".into()),
        billing_interval: Set("month".into()),
        unit_amount_minor: Set(50_000),
        quantity: Set(1),
        mrr_minor: Set(50_000),
        currency: Set("USD".into()),
        started_at: Set(now - Duration::days(300)),
        current_period_end: Set(None),
        canceled_at: Set(None),
        updated_at: Set(now),
        source_updated_at: Set(None),
        payment_status: Set("failing".into()),
        failed_attempts: Set(1),
        next_payment_attempt: Set(None),
        payment_updated_at: Set(Some(now)),
        cancel_at_period_end: Set(false),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    // The failure in the billing history too, so past days see it.
    billing_event::ActiveModel {
        customer_id: Set(id),
        external_id: Set(Some("in_failed".into())),
        kind: Set("payment_failed".into()),
        amount_minor: Set(50_000),
        currency: Set("USD".into()),
        subscription_ref: Set(Some("sub_1".into())),
        occurred_at: Set(now - Duration::days(10)),
        received_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn facts_come_from_each_kind_of_data_and_nothing_after_the_moment_scored() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = acme(&app).await;
    let quiet = app.create_customer("Quiet", "acct_2").await;
    let card = Scorecard::default();
    let as_of = Utc::now() + Duration::minutes(1);
    let facts = health::gather_facts(&app.db, &card, None, as_of, as_of)
        .await
        .unwrap();
    let f = &facts[&id];
    assert_eq!(f.current.events, 4);
    assert_eq!(f.current.active_days, 3);
    assert_eq!(f.current.active_users, 2);
    assert_eq!(f.current.features, 3);
    assert_eq!(f.current.by_name.get("Signed In"), Some(&2));
    assert_eq!(f.previous.events, 4);
    assert_eq!(f.previous.by_name.get("Signed In"), Some(&1));
    assert_eq!(f.seats, 10);
    assert_eq!(f.open_tickets, 2, "tickets 1 and 3; 4 is later");
    assert_eq!(f.tickets, 2, "opened in the window");
    assert_eq!(f.escalations, 1);
    let sentiment = f.ticket_sentiment.unwrap();
    assert!((sentiment - (-0.2)).abs() < 1e-9, "{sentiment}");
    assert_eq!(f.touches, 1);
    assert_eq!(f.contacts_engaged, 3, "u1 and u2 used it, Cy wrote in");
    assert_eq!(f.payment, Some(Payment::Failing));
    assert!(matches!(f.days_to_renewal, Some(44..=45)));
    assert_eq!(f.csm_sentiment, Some(4));
    assert_eq!(f.mrr_minor_before, None, "no history yet");
    let q = &facts[&quiet];
    assert_eq!(q.current.events, 0);
    assert_eq!(q.payment, None);

    // Only some customers: the same facts.
    let some = health::gather_facts(&app.db, &card, Some(&[id]), as_of, as_of)
        .await
        .unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(&some[&id], f);

    // A month earlier, the later data didn't exist yet.
    let before = health::gather_facts(
        &app.db,
        &card,
        Some(&[id]),
        as_of - Duration::days(30),
        as_of,
    )
    .await
    .unwrap();
    assert_eq!(before[&id].current.events, 4, "days 40-43 ago");
    assert_eq!(before[&id].touches, 0);
    assert_eq!(before[&id].open_tickets, 1, "only ticket 3");
}

#[tokio::test]
async fn scoring_writes_the_days_history_and_the_current_score() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = acme(&app).await;
    app.create_customer("Quiet", "acct_2").await;
    let now = Utc::now() + Duration::minutes(1);

    // A month ago first: history only, the current score untouched.
    let month_ago = now - Duration::days(28);
    let scored = app::backend::pipeline::score_customers(
        &app.db,
        &app.state.portfolio,
        None,
        month_ago,
        now,
    )
    .await
    .unwrap();
    assert_eq!(scored.customers, 2);
    assert_eq!(
        scored.version, 1,
        "the default scorecard, stored as version 1"
    );
    let c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.health_score, None);

    // Today, twice: one row for the day, and the customer carries it.
    app::backend::pipeline::score_customers(&app.db, &app.state.portfolio, None, now, now)
        .await
        .unwrap();
    let scored = app::backend::pipeline::score_customers(
        &app.db,
        &app.state.portfolio,
        Some(&[id]),
        now,
        now,
    )
    .await
    .unwrap();
    assert_eq!(scored.customers, 1);
    let rows = health_score::Entity::find()
        .filter(health_score::Column::CustomerId.eq(id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "a month ago and today");
    let today = rows.iter().find(|r| r.day == now.date_naive()).unwrap();
    let c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.health_score, Some(today.score));
    assert_eq!(c.health_level.as_deref(), Some(today.level.as_str()));
    assert_eq!(today.scorecard_version, 1);
    assert_eq!(today.mrr_minor, Some(250_000));
    let measures: Vec<vcsm::health::MeasureScore> =
        serde_json::from_value(today.measures.clone()).unwrap();
    let points: f64 = measures.iter().map(|m| m.points).sum();
    assert_eq!(
        i16::from(vcsm::health::HealthScore::from_points(points).value()),
        today.score
    );
    let payment = measures.iter().find(|m| m.id == "payment_health").unwrap();
    assert_eq!(payment.raw, Some(40.0));
    // MRR change reads the history a window back.
    let mrr = measures.iter().find(|m| m.id == "mrr_change").unwrap();
    assert_eq!(mrr.raw, Some(0.0));
    let mut c: customer::ActiveModel = c.into();
    c.mrr_minor = Set(300_000);
    c.update(&app.db).await.unwrap();
    app::backend::pipeline::score_customers(&app.db, &app.state.portfolio, Some(&[id]), now, now)
        .await
        .unwrap();
    let today = health_score::Entity::find()
        .filter(health_score::Column::CustomerId.eq(id))
        .filter(health_score::Column::Day.eq(now.date_naive()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let measures: Vec<vcsm::health::MeasureScore> = serde_json::from_value(today.measures).unwrap();
    let mrr = measures.iter().find(|m| m.id == "mrr_change").unwrap();
    assert_eq!(mrr.raw, Some(20.0));
    assert_eq!(
        health_score::Entity::find().count(&app.db).await.unwrap(),
        4,
        "two customers, two days"
    );
}

#[tokio::test]
async fn scorecards_are_validated_and_versioned() {
    let app = spawn_app().await;
    app.sign_in_as("root@example.com", "admin").await;
    let admin = app::dto::CurrentUser {
        id: 1,
        email: "root@example.com".into(),
        name: "root".into(),
        role: vcsm::auth::Role::Admin,
    };
    let first = health::active_scorecard(&app.db).await.unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.card, Scorecard::default());
    let mut bad = Scorecard::default();
    bad.groups[0].weight = -1.0;
    let err = health::save_scorecard(&app.db, &admin, &bad, Utc::now())
        .await
        .unwrap_err();
    assert_eq!(err.field_errors().unwrap().0[0].field, "groups[0].weight");
    assert_eq!(health::active_scorecard(&app.db).await.unwrap().version, 1);
    let mut card = Scorecard::default();
    card.levels.excellent = 85;
    let version = health::save_scorecard(&app.db, &admin, &card, Utc::now())
        .await
        .unwrap();
    assert_eq!(version, 2);
    let active = health::active_scorecard(&app.db).await.unwrap();
    assert_eq!(active.version, 2);
    assert_eq!(active.card.levels.excellent, 85);
    let id = app.create_customer("Acme", "acct_1").await;
    let scored = app::backend::pipeline::score_customers(
        &app.db,
        &app.state.portfolio,
        Some(&[id]),
        Utc::now(),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(scored.version, 2);
}

#[tokio::test]
async fn new_data_queues_a_debounced_rescore_and_the_nightly_run_happens_once_a_day() {
    use app::backend::entities::score_request;
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = app.create_customer("Acme", "acct_1").await;
    let other = app.create_customer("Globex", "acct_2").await;
    let cache = &app.state.portfolio;
    // Creating them queued both (scored at once): that run is done.
    let created = score_request::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(created.len(), 2);
    let past_debounce = Utc::now() + app::backend::score_queue::DEBOUNCE + Duration::seconds(1);
    assert_eq!(
        app::backend::pipeline::score_due(&app.db, cache, past_debounce)
            .await
            .unwrap(),
        2
    );
    let now = Utc::now();

    // Events for Acme (through the import, as any ingestion path): queued at the flush.
    let report = app
        .import_report(
            "Events",
            &format!(
                "customer_external_id,event,occurred_at\nacct_1,Signed In,{}\n",
                now.to_rfc3339()
            ),
        )
        .await;
    assert_eq!(report["imported"], 1);
    app.flush().await;
    let queued = score_request::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].customer_id, id);
    // More data before it is due doesn't push it back.
    app::backend::score_queue::request(&app.db, &[id], now + Duration::seconds(1))
        .await
        .unwrap();
    let again = score_request::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.due_at, queued[0].due_at);

    // Not due yet: nothing happens. Due: Acme alone is scored, and the queue empties.
    assert_eq!(
        app::backend::pipeline::score_due(&app.db, cache, now)
            .await
            .unwrap(),
        0
    );
    let later = Utc::now() + app::backend::score_queue::DEBOUNCE + Duration::seconds(1);
    assert_eq!(
        app::backend::pipeline::score_due(&app.db, cache, later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        score_request::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    let db = &app.db;
    let scored = |cid: i64| async move {
        customer::Entity::find_by_id(cid)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .health_computed_at
    };
    // Acme alone was scored again (at `later`); Globex keeps its score from creation.
    // (Postgres keeps microseconds.)
    let close = |t: Option<chrono::DateTime<Utc>>| {
        t.is_some_and(|t| (t - later).num_milliseconds().abs() < 1)
    };
    assert!(close(scored(id).await));
    let other_scored = scored(other).await;
    assert!(other_scored.is_some_and(|t| t < later - Duration::milliseconds(1)));

    // The nightly recompute is a job, queued once per day however often (and by however
    // many servers) it is queued, and it scores everyone.
    let nightly_runs = |at: chrono::DateTime<Utc>| {
        let state = app.state.clone();
        async move {
            let mut runs = Vec::new();
            for _ in 0..2 {
                worker::queue_periods(&state, at).await.unwrap();
            }
            while let Some((job, outcome)) = worker::run_next(&state, "test", at).await.unwrap() {
                if job.kind == worker::HEALTH_NIGHTLY {
                    runs.push(outcome.expect("the nightly recompute succeeds"));
                }
            }
            runs
        }
    };
    let ran = nightly_runs(later).await;
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0]["customers"], 2);
    assert_ne!(scored(other).await, other_scored);
    assert!(nightly_runs(later).await.is_empty());
    assert_eq!(nightly_runs(later + Duration::days(1)).await.len(), 1);
}

#[tokio::test]
async fn a_claimed_rescore_is_leased_requeued_by_new_data_and_taken_up_after_a_crash() {
    use app::backend::entities::score_request;
    use chrono::SubsecRound;
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let cache = &app.state.portfolio;
    let id = acme(&app).await;
    app.flush().await;
    score_request::Entity::delete_many()
        .exec(&app.db)
        .await
        .unwrap();
    // Whole seconds: Postgres keeps microseconds.
    let t0 = Utc::now().trunc_subsecs(0);
    app::backend::score_queue::request(&app.db, &[id], t0)
        .await
        .unwrap();
    let due_at = |db: &sea_orm::DatabaseConnection| {
        let db = db.clone();
        async move {
            score_request::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .map(|r| r.due_at)
        }
    };

    // A server claims it and dies before storing: nobody re-scores it during the lease...
    let at = t0 + app::backend::score_queue::DEBOUNCE;
    assert_eq!(
        app::backend::score_queue::claim(&app.db, at).await.unwrap(),
        vec![id]
    );
    assert_eq!(
        due_at(&app.db).await,
        Some(at + app::backend::score_queue::LEASE)
    );
    assert_eq!(
        app::backend::pipeline::score_due(&app.db, cache, at + Duration::seconds(30))
            .await
            .unwrap(),
        0
    );
    // ...and once it ends, another run takes it up and empties the queue.
    let after = at + app::backend::score_queue::LEASE + Duration::seconds(1);
    assert_eq!(
        app::backend::pipeline::score_due(&app.db, cache, after)
            .await
            .unwrap(),
        1
    );
    assert_eq!(due_at(&app.db).await, None);

    // New data while a run holds it brings it forward, a debounce after the data: the
    // run may have read before it.
    app::backend::score_queue::request(&app.db, &[id], after)
        .await
        .unwrap();
    let claimed_at = after + app::backend::score_queue::DEBOUNCE;
    assert_eq!(
        app::backend::score_queue::claim(&app.db, claimed_at)
            .await
            .unwrap(),
        vec![id]
    );
    let news = claimed_at + Duration::seconds(1);
    app::backend::score_queue::request(&app.db, &[id], news)
        .await
        .unwrap();
    assert_eq!(
        due_at(&app.db).await,
        Some(news + app::backend::score_queue::DEBOUNCE)
    );
    // Data on a queued, unclaimed customer leaves its time alone.
    app::backend::score_queue::request(&app.db, &[id], news + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        due_at(&app.db).await,
        Some(news + app::backend::score_queue::DEBOUNCE)
    );
    let later = news + app::backend::score_queue::DEBOUNCE;
    assert_eq!(
        app::backend::pipeline::score_due(&app.db, cache, later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(due_at(&app.db).await, None);
}

#[tokio::test]
async fn the_customer_page_gets_history_and_what_moved_the_score() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = acme(&app).await;
    let none = app
        .post_form("customer_health", &[("id", &id.to_string())])
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(none.is_null(), "not scored yet: {none}");
    let now = Utc::now() + Duration::minutes(1);
    let cache = &app.state.portfolio;
    app::backend::pipeline::score_customers(&app.db, cache, None, now - Duration::days(30), now)
        .await
        .unwrap();
    app::backend::pipeline::score_customers(&app.db, cache, None, now - Duration::days(7), now)
        .await
        .unwrap();
    // Payment recovers: today's score rises, and the financial group says why.
    let sub = subscription::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut sub: subscription::ActiveModel = sub.into();
    sub.payment_status = Set("good".into());
    sub.update(&app.db).await.unwrap();
    app::backend::pipeline::score_customers(&app.db, cache, None, now, now)
        .await
        .unwrap();
    let h: serde_json::Value = app
        .post_form("customer_health", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(h["history"].as_array().unwrap().len(), 3, "{h}");
    assert_eq!(h["scorecard_version"], 1);
    let week = &h["moves"][0];
    assert_eq!(week["days"], 7);
    assert!(week["from"].is_u64());
    assert_eq!(
        week["from_day"],
        (now - Duration::days(7)).date_naive().to_string()
    );
    let financial = week["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "financial")
        .unwrap();
    assert!(financial["points"].as_f64().unwrap() > 0.0, "{financial}");
    assert!(
        financial["text"]
            .as_str()
            .unwrap()
            .contains("payment health up 150 % (40 → 100)"),
        "{financial}"
    );
    assert!(h["moves"][1]["from"].is_u64(), "30 days back: {h}");
    let res = app.post_form("customer_health", &[("id", "999999")]).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn saving_the_scorecard_rescores_the_portfolio_with_progress() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = acme(&app).await;
    let card = serde_json::to_value(Scorecard::default()).unwrap();
    let res = app
        .post_json("save_scorecard", serde_json::json!({ "card": card }))
        .await;
    assert_eq!(res.status(), 403, "only admins edit the scorecard");

    app.sign_in_as("root@example.com", "admin").await;
    let mut bad = Scorecard::default();
    bad.groups[1].measures[2].weight = 0.0;
    let res = app
        .post_json("save_scorecard", serde_json::json!({ "card": bad }))
        .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body.to_string().contains("groups[1].measures[2].weight"),
        "{body}"
    );

    let mut card = Scorecard::default();
    card.groups.truncate(1);
    let res = app
        .post_json("save_scorecard", serde_json::json!({ "card": card }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<i32>().await.unwrap(), 2);
    let status = rescored(&app, 2).await;
    assert_eq!(status["version"], 2);
    assert_eq!(status["saved_by"], "root");
    assert_eq!(status["rescore"]["finished"], true, "{status}");
    assert_eq!(status["rescore"]["failed"], false);
    assert_eq!(status["rescore"]["done"], 1);
    let today = health_score::Entity::find()
        .filter(health_score::Column::CustomerId.eq(id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(today.scorecard_version, 2);
    let groups: Vec<vcsm::health::GroupScore> = serde_json::from_value(today.groups).unwrap();
    assert_eq!(groups.len(), 1, "scored with the one-group card");
}

#[tokio::test]
async fn the_csm_sets_a_sentiment_that_the_score_takes_in() {
    use app::backend::entities::score_request;
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let id = app.create_customer("Acme", "acct_1").await;
    let set = |v: &'static str| {
        let id = id.to_string();
        let app = &app;
        async move {
            let mut form = vec![("customer_id", id.clone())];
            if !v.is_empty() {
                form.push(("sentiment", v.to_string()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form("set_csm_sentiment", &form).await.status()
        }
    };
    assert_eq!(set("7").await, 422);
    assert_eq!(set("4").await, 200);
    let c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.csm_sentiment, Some(4));
    assert_eq!(
        score_request::Entity::find().count(&app.db).await.unwrap(),
        1,
        "queued for re-scoring"
    );
    let facts = health::gather_facts(
        &app.db,
        &Scorecard::default(),
        Some(&[id]),
        Utc::now(),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(facts[&id].csm_sentiment, Some(4));
    assert_eq!(set("").await, 200, "cleared");
    let c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.csm_sentiment, None);
    app.sign_in_as("exec@example.com", "executive").await;
    assert_eq!(set("3").await, 403);
}

#[tokio::test]
async fn settings_saved_during_a_rescore_rescore_again_and_concurrent_writers_wait() {
    let app = spawn_app().await;
    app.sign_in_as("root@example.com", "admin").await;
    acme(&app).await;
    for i in 0..40 {
        app.create_customer(&format!("Customer {i}"), &format!("acct_c{i}"))
            .await;
    }
    // Three saves in a row: the first starts a re-score, the others find it running and
    // make it run once more with the newest scorecard.
    let mut version = 0;
    for groups in [3, 2, 1] {
        let mut card = Scorecard::default();
        card.groups.truncate(groups);
        let res = app
            .post_json("save_scorecard", serde_json::json!({ "card": card }))
            .await;
        assert_eq!(res.status(), 200);
        version = res.json::<i32>().await.unwrap();
    }
    // Meanwhile other writers score the whole portfolio on the same database: on SQLite
    // they queue for the write lock instead of failing with "database is locked".
    let now = Utc::now();
    let writers = (0..3).map(|_| {
        let db = app.db.clone();
        let cache = app.state.portfolio.clone();
        tokio::spawn(async move {
            app::backend::pipeline::score_customers(&db, &cache, None, now, now).await
        })
    });
    for w in writers {
        w.await.unwrap().expect("a concurrent full scoring");
    }
    let status = rescored(&app, version).await;
    assert_eq!(status["rescore"]["version"], version, "{status}");
    assert_eq!(status["rescore"]["finished"], true, "{status}");
    assert_eq!(status["rescore"]["failed"], false, "{status}");
    let stale = health_score::Entity::find()
        .filter(health_score::Column::ScorecardVersion.ne(version))
        .filter(health_score::Column::Day.eq(Utc::now().date_naive()))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stale, 0, "every score of today is of the newest scorecard");
}
