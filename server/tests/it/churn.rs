//! Churn prediction against a real database: facts about a past moment never see later
//! data (the leakage test), churned customers leave the portfolio on their day, and a
//! model trained on a generated portfolio whose churn follows declining usage ranks it
//! well in cross-validation.

use crate::common;

use app::backend::entities::{
    billing_event, churn_model, churn_prediction, customer, note, subscription, support_ticket,
};
use app::backend::{churn, health};
use chrono::{DateTime, Duration, Utc};
use common::{spawn_app, TestApp};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use vcsm::health::{Payment, Scorecard};

async fn billing(app: &TestApp, customer_id: i64, kind: &str, amount: i64, at: DateTime<Utc>) {
    billing_event::ActiveModel {
        customer_id: Set(customer_id),
        external_id: Set(Some(format!("evt_{kind}_{}", at.timestamp_micros()))),
        kind: Set(kind.into()),
        amount_minor: Set(amount),
        currency: Set("USD".into()),
        description: Set(None),
        subscription_ref: Set(Some("sub_1".into())),
        occurred_at: Set(at),
        received_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

async fn events(app: &TestApp, days_ago: &[i64], now: DateTime<Utc>) {
    let mut csv = String::from("customer_external_id,event,occurred_at\n");
    for d in days_ago {
        csv.push_str(&format!(
            "acct_1,Signed In,{}\n",
            (now - Duration::days(*d)).to_rfc3339()
        ));
    }
    let report = app.import_report("Events", &csv).await;
    assert_eq!(report["imported"], days_ago.len(), "{report}");
}

async fn update_customer(app: &TestApp, id: i64, f: impl FnOnce(&mut customer::ActiveModel)) {
    let mut c: customer::ActiveModel = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    f(&mut c);
    c.update(&app.db).await.unwrap();
}

#[tokio::test]
async fn facts_about_a_past_moment_never_see_later_data() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let now = Utc::now();
    let id = app.create_customer("Acme", "acct_1").await;
    update_customer(&app, id, |c| {
        c.seats = Set(10);
        c.mrr_minor = Set(50_000);
        c.contract_start = Set(Some((now - Duration::days(300)).date_naive()));
        c.renewal_date = Set(Some((now + Duration::days(65)).date_naive()));
        c.csm_sentiment = Set(Some(5));
    })
    .await;
    subscription::ActiveModel {
        customer_id: Set(id),
        external_id: Set(Some("sub_1".into())),
        status: Set("active".into()),
        billing_interval: Set("month".into()),
        mrr_minor: Set(50_000),
        currency: Set("USD".into()),
        started_at: Set(now - Duration::days(300)),
        updated_at: Set(now),
        unit_amount_minor: Set(50_000),
        quantity: Set(1),
        payment_status: Set("good".into()),
        failed_attempts: Set(0),
        cancel_at_period_end: Set(false),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    billing(
        &app,
        id,
        "subscription_started",
        40_000,
        now - Duration::days(300),
    )
    .await;
    billing(&app, id, "payment_failed", 40_000, now - Duration::days(62)).await;
    billing(&app, id, "invoice_paid", 40_000, now - Duration::days(59)).await;
    events(&app, &[35, 40, 41, 50, 70], now).await;

    let card = Scorecard::default();
    let t = now - Duration::days(30);
    let before = health::gather_facts(&app.db, &card, Some(&[id]), t, now)
        .await
        .unwrap()
        .remove(&id)
        .expect("live then");
    // What was known then, from the histories.
    assert_eq!(
        before.mrr_minor, 40_000,
        "MRR from the subscription history"
    );
    assert_eq!(before.payment, Some(Payment::Good), "the retry was paid");
    assert_eq!(before.failed_payments, 1);
    assert_eq!(before.days_since_last_event, Some(5));
    assert_eq!(before.tenure_days, Some(270));
    assert_eq!(
        before.days_to_renewal,
        Some(95),
        "the contract's anniversary after then"
    );
    assert_eq!(before.csm_sentiment, None, "today's view is not history");
    assert_eq!(before.current.events, 4, "35, 40, 41 and 50 days ago");

    // Everything that happens afterwards, of every kind.
    events(&app, &[1, 2, 3, 29], now).await;
    billing(&app, id, "payment_failed", 50_000, now - Duration::days(10)).await;
    billing(
        &app,
        id,
        "subscription_changed",
        90_000,
        now - Duration::days(5),
    )
    .await;
    support_ticket::ActiveModel {
        customer_id: Set(id),
        source: Set("api".into()),
        subject: Set("We are cancelling".into()),
        body: Set("…".into()),
        status: Set("open".into()),
        priority: Set("urgent".into()),
        opened_at: Set(now - Duration::days(2)),
        sentiment: Set(Some(-0.9)),
        cancellation_intent: Set(true),
        updated_at: Set(now),
        tags: Set(String::new()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    note::ActiveModel {
        customer_id: Set(id),
        body: Set("Escalated".into()),
        created_at: Set(now - Duration::days(1)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    update_customer(&app, id, |c| {
        c.mrr_minor = Set(90_000);
        c.csm_sentiment = Set(Some(1));
        c.renewal_date = Set(Some((now + Duration::days(10)).date_naive()));
        c.churned_on = Set(Some((now - Duration::days(1)).date_naive()));
        c.stage = Set("churned".into());
    })
    .await;
    let sub = subscription::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut sub: subscription::ActiveModel = sub.into();
    sub.payment_status = Set("delinquent".into());
    sub.update(&app.db).await.unwrap();

    let after = health::gather_facts(&app.db, &card, Some(&[id]), t, now)
        .await
        .unwrap()
        .remove(&id)
        .expect("still live then: it churned later");
    assert_eq!(after, before, "no fact about then moved");
    assert_eq!(
        vcsm::churn::features(&after, card.window_days),
        vcsm::churn::features(&before, card.window_days)
    );
    // Today it has churned: left out of the portfolio.
    let today = health::gather_facts(&app.db, &card, None, now, now)
        .await
        .unwrap();
    assert!(!today.contains_key(&id));
}

#[tokio::test]
async fn live_facts_read_todays_state() {
    let app = spawn_app().await;
    app.sign_in_as("csm@example.com", "csm").await;
    let now = Utc::now();
    let id = app.create_customer("Acme", "acct_1").await;
    update_customer(&app, id, |c| {
        c.mrr_minor = Set(70_000);
        c.renewal_date = Set(Some((now + Duration::days(65)).date_naive()));
        c.csm_sentiment = Set(Some(2));
    })
    .await;
    billing(
        &app,
        id,
        "subscription_started",
        40_000,
        now - Duration::days(300),
    )
    .await;
    let f = health::gather_facts(&app.db, &Scorecard::default(), None, now, now)
        .await
        .unwrap()
        .remove(&id)
        .unwrap();
    assert_eq!(f.mrr_minor, 70_000, "today's MRR is the customer's");
    assert_eq!(f.mrr_minor_before, Some(40_000));
    assert_eq!(f.csm_sentiment, Some(2));
    assert_eq!(f.days_to_renewal, Some(65));
}

#[tokio::test]
async fn a_model_trained_on_a_declining_portfolio_ranks_churn_well() {
    let app = spawn_app().await;
    let now = Utc::now();
    let config = vcsm::demo::DemoConfig {
        customers: 320,
        days: 200,
        seed: 11,
        as_of: now.date_naive(),
    };
    app::backend::demo::seed(&app.db, &config, now)
        .await
        .unwrap();
    let outcome = app::backend::pipeline::retrain(&app.db, &app.state.portfolio, "test", now)
        .await
        .unwrap();
    assert_eq!(outcome.status, "trained", "{outcome:?}");
    let m = outcome.metrics.as_ref().unwrap();
    let auc = m.cv_auc.unwrap();
    let lift = m.top_decile_lift.unwrap();
    eprintln!(
        "{} observations, {} churned customers: AUC {auc:.3}, lift {lift:.2}, health AUC {:?}, forward {:?}",
        outcome.observations, outcome.churned, m.health_auc, m.forward
    );
    assert!(auc >= 0.75, "cross-validated AUC {auc}");
    assert!(lift >= 2.0, "top-decile lift {lift}");
    // Out-of-fold calibration is reported, and the run is stored with its metrics.
    assert!(!m.calibration.is_empty());
    let row = churn_model::Entity::find_by_id(outcome.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "trained");
    assert!(row.model.is_some() && row.metrics.is_some());

    // Every live customer has a prediction from this model, with factors behind it.
    let live = customer::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.churned_on.is_none())
        .count() as u64;
    let predictions = churn_prediction::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(predictions.len() as u64, live);
    assert!(predictions
        .iter()
        .all(|p| p.model_id == Some(outcome.id) && p.probability.is_some()));
    assert!(predictions.iter().any(|p| p.risk == "high"));
    let high = predictions.iter().find(|p| p.risk == "high").unwrap();
    let dto = churn::customer_churn(&app.db, high.customer_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!dto.factors.is_empty(), "{dto:?}");
    assert!(dto.model_trained_at.is_some());

    // A customer that churns is no longer at risk: its next scoring drops the prediction.
    update_customer(&app, high.customer_id, |c| {
        c.churned_on = Set(Some(now.date_naive()));
        c.stage = Set("churned".into());
    })
    .await;
    app::backend::pipeline::score_customers(
        &app.db,
        &app.state.portfolio,
        Some(&[high.customer_id]),
        now,
        now,
    )
    .await
    .unwrap();
    assert!(churn::customer_churn(&app.db, high.customer_id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn too_little_history_falls_back_to_health() {
    let app = spawn_app().await;
    let now = Utc::now();
    let config = vcsm::demo::DemoConfig {
        customers: 40,
        days: 150,
        seed: 3,
        as_of: now.date_naive(),
    };
    app::backend::demo::seed(&app.db, &config, now)
        .await
        .unwrap();
    let outcome = app::backend::pipeline::retrain(&app.db, &app.state.portfolio, "test", now)
        .await
        .unwrap();
    assert_eq!(outcome.status, "fallback", "{outcome:?}");
    assert!(outcome.detail.as_deref().unwrap().contains("health score"));
    let overview = churn::model_overview(&app.db, false).await.unwrap();
    assert!(overview.in_use.is_none());
    assert_eq!(overview.latest.unwrap().status, "fallback");
    // Predictions follow health: a risk for everyone live, no probability.
    let predictions = churn_prediction::Entity::find().all(&app.db).await.unwrap();
    assert!(!predictions.is_empty());
    assert!(predictions.iter().all(|p| p.probability.is_none()));
    assert_eq!(
        overview.risk_counts.iter().sum::<u64>(),
        churn_prediction::Entity::find()
            .count(&app.db)
            .await
            .unwrap()
    );
}

/// The bar, on data shaped like real churn: a portfolio whose churn is driven by
/// what customers do (errors raise it, reports lower it, young accounts leave most),
/// imported through the customers and events CSVs as a new user would, trained, and
/// measured forward (trained on what was known 90 days before each validation date).
#[tokio::test]
async fn behaviour_driven_churn_is_found_forward_better_than_tenure_and_health_points_right() {
    let app = spawn_app().await;
    app.sign_in_as("admin@example.com", "admin").await;
    let now = Utc::now();
    let lab = vcsm::demo::churn_lab::generate(&vcsm::demo::churn_lab::LabConfig {
        customers: 700,
        days: 360,
        today: now.date_naive(),
        seed: 5,
    });
    let report = app.import_report("Customers", &lab.customers_csv).await;
    assert!(report["imported"].as_u64().unwrap() > 400, "{report}");
    for file in &lab.events_csvs {
        let report = app.import_report("Events", file).await;
        assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    }
    let outcome = app::backend::pipeline::retrain(&app.db, &app.state.portfolio, "test", now)
        .await
        .unwrap();
    assert_eq!(outcome.status, "trained", "{outcome:?}");
    let m = outcome.metrics.as_ref().unwrap();
    let f = m.forward.as_ref().expect("a forward test");
    eprintln!(
        "lab: {} customers, {} churned, {} events, {} observations; forward over {} dates: \
         model AUC {:.3} lift {:.2}, tenure alone AUC {:.3} lift {:.2}, health AUC {:.3} lift {:.2}; \
         CV AUC {:.3}; chosen by {} (λ {}); candidates {:?}",
        report_count(&lab.customers_csv),
        lab.churned,
        lab.events,
        outcome.observations,
        f.dates.len(),
        f.model.auc.unwrap(),
        f.model.lift.unwrap(),
        f.tenure.auc.unwrap(),
        f.tenure.lift.unwrap(),
        f.health.auc.unwrap(),
        f.health.lift.unwrap(),
        m.cv_auc.unwrap(),
        m.chosen_by,
        m.lambda,
        m.candidates
            .iter()
            .map(|c| (c.name.as_str(), c.forward.auc.unwrap_or(0.0), c.chosen))
            .collect::<Vec<_>>(),
    );
    assert_eq!(m.chosen_by, "forward test");
    // Every candidate was tried forward, the trees among them, and one is in use.
    assert!(
        m.candidates
            .iter()
            .any(|c| c.name.starts_with("Gradient-boosted")),
        "{:?}",
        m.candidates
    );
    assert_eq!(m.candidates.iter().filter(|c| c.chosen).count(), 1);
    assert!(f.dates.len() >= 2, "{f:?}");
    let (model, tenure, health) = (
        f.model.auc.unwrap(),
        f.tenure.auc.unwrap(),
        f.health.auc.unwrap(),
    );
    assert!(
        model >= tenure + 0.05,
        "model {model} vs tenure alone {tenure}"
    );
    assert!(f.model.lift.unwrap() >= 3.0, "{f:?}");
    assert!(
        health >= 0.6,
        "health AUC {health}: healthier must churn less"
    );

    // The model reads what customers do, and says so.
    let (_, model_in_use) = churn::model_in_use(&app.db).await.unwrap().unwrap();
    for e in ["Report Created", "Error Shown"] {
        assert!(
            model_in_use.spec.events.iter().any(|x| x == e),
            "{:?}",
            model_in_use.spec
        );
    }
    let words: Vec<String> = m
        .coefficients
        .iter()
        .flat_map(|c| c.members.clone())
        .collect();
    assert!(words.iter().any(|w| w.contains("Error Shown")), "{words:?}");

    // Scorecard weights learned from the same observations, offered to admins as a draft
    // of the version in force: measures that told churners apart weigh more than those
    // that told nothing (support: nobody has tickets here).
    let s = m.suggested_weights.as_ref().expect("suggested weights");
    assert_eq!(s.observations, outcome.observations);
    let weight = |id: &str| s.measures.iter().find(|e| e.id == id).unwrap().suggested;
    assert!(weight("active_days") > weight("open_tickets"), "{s:?}");
    let active = app::backend::health::active_scorecard(&app.db)
        .await
        .unwrap();
    assert!(s.apply(&active.card).validate().is_ok());
    let editor: serde_json::Value = app
        .post_form("get_scorecard", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(editor["suggestion"]["version"], active.version, "{editor}");
}

fn report_count(csv: &str) -> usize {
    csv.lines().count() - 1
}
