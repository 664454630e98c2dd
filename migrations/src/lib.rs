//! Database schema, valid on SQLite and Postgres. Migrations only ever add: a later
//! capability (health history, playbooks, success plans) gets its own migration.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_foundation;
mod m20261121_000002_sources;
mod m20261121_000003_integrations;
mod m20261121_000004_billing_support;
mod m20261122_000005_health;
mod m20261123_000006_churn;
mod m20261123_000007_alerts;
mod m20261124_000008_notifications;
mod m20261124_000009_expansion;
mod m20261125_000010_event_name_index;
mod m20261205_000011_jobs;
mod m20261206_000012_import_files;
mod m20261206_000013_domain_events;
mod m20261206_000014_usage_events_statement_trigger;
mod m20261207_000015_billing_period_attributes;
mod m20261208_000016_playbooks;
mod m20261209_000017_tasks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_foundation::Migration),
            Box::new(m20261121_000002_sources::Migration),
            Box::new(m20261121_000003_integrations::Migration),
            Box::new(m20261121_000004_billing_support::Migration),
            Box::new(m20261122_000005_health::Migration),
            Box::new(m20261123_000006_churn::Migration),
            Box::new(m20261123_000007_alerts::Migration),
            Box::new(m20261124_000008_notifications::Migration),
            Box::new(m20261124_000009_expansion::Migration),
            Box::new(m20261125_000010_event_name_index::Migration),
            Box::new(m20261205_000011_jobs::Migration),
            Box::new(m20261206_000012_import_files::Migration),
            Box::new(m20261206_000013_domain_events::Migration),
            Box::new(m20261206_000014_usage_events_statement_trigger::Migration),
            Box::new(m20261207_000015_billing_period_attributes::Migration),
            Box::new(m20261208_000016_playbooks::Migration),
            Box::new(m20261209_000017_tasks::Migration),
        ]
    }
}
