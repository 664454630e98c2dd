//! The demo portfolio lands in the database whole, and the dashboard agrees with it.

mod common;

use app::backend::entities::{customer, usage_event};
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

    // A second seed into a non-empty database clashes on external ids and writes nothing.
    assert!(app::backend::demo::seed(&app.db, &config, now)
        .await
        .is_err());
    assert_eq!(customer::Entity::find().count(&app.db).await.unwrap(), 40);
}
