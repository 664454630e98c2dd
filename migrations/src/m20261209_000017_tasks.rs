//! The task cockpit (issue 17): each tier's SLA (how soon a task, or an alert nobody
//! handles, is due), editable by admins; whether an alert rule opens a task for the
//! owner when no running playbook handles the alert; and tasks found by their alert.
//! Contacts get their e-mail preferences: when they unsubscribed from success mail (one
//! click, RFC 8058), and their time zone (quiet hours are in theirs, else the account's).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("tier_slas")
                // A tier as stored on customers (`mid_market`); a missing row: the default.
                .col(string_len("tier", 20).primary_key())
                .col(integer("hours"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer_null("updated_by"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("alert_rules")
                // None: the default (high and critical rules open tasks).
                .add_column(boolean_null("opens_task"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("contacts")
                .add_column(timestamp_with_time_zone_null("unsubscribed_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("contacts")
                .add_column(string_len_null("time_zone", 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_tasks_alert")
                .table("tasks")
                .col("alert_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
