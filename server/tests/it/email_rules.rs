//! The sending rules of playbook e-mail with a real SMTP server: a cap per contact per
//! 7 days holds the rest until there is room; quiet hours follow the contact's (else the
//! account's) time zone; success mail carries RFC 8058's one-click unsubscribe, whose
//! signed link works without signing in, twice, and stops later success mail while
//! operational mail still goes.

use crate::common;
use crate::playbooks::Engine;

use app::backend::entities::{contact, customer, outbox, user};
use app::backend::notify::Channels;
use app::backend::playbooks;
use app::backend::playbooks::delivery::{self, status};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use vcsm::playbooks::validate::{parse, Catalog};

const FIVE_MAILS: &str = r#"{
    "name": "Five mails",
    "trigger": {"type": "health_level_changed", "to": "poor"},
    "steps": [
        {"id": "m1", "type": "send_email", "template": "risk-personal", "to": "primary_contact"},
        {"id": "m2", "type": "send_email", "template": "risk-success-tips", "to": "primary_contact"},
        {"id": "m3", "type": "send_email", "template": "risk-usage-guide", "to": "primary_contact"},
        {"id": "m4", "type": "send_email", "template": "risk-personal", "to": "primary_contact"},
        {"id": "pay", "type": "send_email", "template": "payment-failed", "to": "primary_contact"}
    ]
}"#;

/// Noon UTC today: outside the default quiet hours (20:00–08:00) in UTC.
pub(crate) fn noon() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap())
        .and_utc()
}

pub(crate) async fn customer_with_contact(
    app: &common::TestApp,
    name: &str,
    zone: Option<&str>,
) -> (i64, i64) {
    let id = app.create_customer(name, &name.to_lowercase()).await;
    let admin = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut c = customer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    c.owner_id = Set(Some(admin.id));
    c.time_zone = Set(zone.map(str::to_owned));
    c.update(&app.db).await.unwrap();
    let k = contact::ActiveModel {
        customer_id: Set(id),
        name: Set("Dana Reyes".into()),
        email: Set(Some(format!("dana@{}.example", name.to_lowercase()))),
        role: Set("champion".into()),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    (id, k.id)
}

pub(crate) async fn poor(app: &common::TestApp, id: i64, at: DateTime<Utc>) {
    for (score, level) in [(62, "fair"), (35, "poor")] {
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
}

async fn rows_of(app: &common::TestApp, customer_id: i64) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::CustomerId.eq(customer_id))
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .map(|l| l[name.len() + 1..].trim())
}

#[tokio::test]
async fn a_weekly_cap_quiet_hours_and_a_one_click_unsubscribe() {
    let (smtp, mails) = common::smtp_stand_in(false).await;
    let app = common::spawn_app_with(app::backend::Config {
        smtp_url: Some(smtp),
        mail_from: Some("Virtual CSM <csm@vendor.example>".into()),
        ..common::test_config()
    })
    .await;
    app.sign_in_as("admin@example.com", "admin").await;
    let now = noon();
    playbooks::load_library(&app.db, now).await.unwrap();
    let def = parse(FIVE_MAILS, &Catalog::default()).unwrap();
    playbooks::create(&app.db, "five", &def, true, None, now)
        .await
        .unwrap();
    let (acme, dana) = customer_with_contact(&app, "Acme", None).await;
    // Tokyo's 21:00 at noon UTC: quiet.
    let (tokyo, _) = customer_with_contact(&app, "Tokyo", Some("Asia/Tokyo")).await;
    poor(&app, acme, now).await;
    poor(&app, tokyo, now).await;
    Engine::default().run(&app, "server-a", now).await;
    assert_eq!(rows_of(&app, acme).await.len(), 5);

    let http = reqwest::Client::new();
    let meter = app.state.meter.clone();
    let channels = Channels {
        http: &http,
        meter: &meter,
        mailer: app.state.mailer.as_deref(),
        public_url: &app.base,
    };
    delivery::deliver_due(&app.db, &channels, "server-a", now)
        .await
        .unwrap();

    // Three success mails and the operational one go; the fourth waits a week.
    let rows = rows_of(&app, acme).await;
    let states: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        states,
        vec!["sent", "sent", "sent", "unsent", "sent"],
        "in order of the steps"
    );
    assert_eq!(rows[3].next_attempt_at, now + Duration::days(7));
    assert!(
        rows[3]
            .last_error
            .as_deref()
            .unwrap()
            .contains("the cap is 3"),
        "{:?}",
        rows[3]
    );
    // Tokyo's wait for 08:00 there (23:00 UTC); its operational mail doesn't.
    for r in rows_of(&app, tokyo).await {
        if r.step.as_deref() == Some("pay") {
            assert_eq!(r.status, status::SENT, "operational mail is not held");
        } else {
            assert_eq!(r.status, status::UNSENT);
            assert_eq!(r.next_attempt_at, now + Duration::hours(11), "{r:?}");
            assert!(
                r.last_error.as_deref().unwrap().contains("Asia/Tokyo"),
                "{r:?}"
            );
        }
    }
    let sent = mails.lock().unwrap().clone();
    let to_acme: Vec<_> = sent.iter().filter(|m| m.to[0].contains("@acme.")).collect();
    assert_eq!(to_acme.len(), 4);
    let unsubscribe = header(&to_acme[0].data, "List-Unsubscribe")
        .expect("a List-Unsubscribe header")
        .to_owned();
    assert_eq!(
        header(&to_acme[0].data, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let payment = to_acme
        .iter()
        .find(|m| m.data.contains("payment"))
        .expect("the payment mail");
    assert_eq!(
        header(&payment.data, "List-Unsubscribe"),
        None,
        "operational mail has none"
    );

    // The link, as a mail provider follows it: POST, no cookie, another origin; twice.
    let url = unsubscribe
        .trim_matches(|c| c == '<' || c == '>')
        .to_owned();
    assert!(
        url.starts_with(&format!("{}/unsubscribe/{dana}.", app.base)),
        "{url}"
    );
    let provider = reqwest::Client::new();
    let mut first = None;
    for _ in 0..2 {
        let res = provider
            .post(&url)
            .header("origin", "https://mail.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("You are unsubscribed"));
        let k = contact::Entity::find_by_id(dana)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(k.unsubscribed_at.is_some());
        assert_eq!(
            *first.get_or_insert(k.unsubscribed_at),
            k.unsubscribed_at,
            "the first moment is kept"
        );
    }
    // Opening it shows a button and unsubscribes nobody; a forged link changes nothing.
    let page = provider.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let forged = url.replacen(&format!("/{dana}."), &format!("/{}.", dana + 1), 1);
    assert_eq!(provider.post(&forged).send().await.unwrap().status(), 404);
    assert_eq!(provider.get(&forged).send().await.unwrap().status(), 404);

    // A week later there is room, but Dana unsubscribed: the held mail is skipped.
    let week = now + Duration::days(7) + Duration::minutes(1);
    delivery::deliver_due(&app.db, &channels, "server-a", week)
        .await
        .unwrap();
    let held = &rows_of(&app, acme).await[3];
    assert_eq!(held.status, status::SKIPPED);
    assert!(held.last_error.as_deref().unwrap().contains("unsubscribed"));
    assert_eq!(
        mails
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to[0].contains("@acme."))
            .count(),
        4
    );
}
