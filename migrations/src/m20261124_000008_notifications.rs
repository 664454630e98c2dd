//! Alert rule settings (what the admin changed from the shipped defaults) and the
//! notification outbox: one row per alert and channel, written in the same transaction
//! as the alert, delivered by a worker with retries.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("alert_rules")
                .col(string_len("rule", 40).primary_key())
                .col(boolean("enabled"))
                .col(string_len("severity", 10))
                .col(double("threshold"))
                .col(boolean("notify"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(big_integer_null("updated_by"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("notifications")
                .col(big_pk_auto("id"))
                .col(big_integer("alert_id"))
                // slack or email.
                .col(string_len("channel", 10))
                // The e-mail address; empty for Slack (the channel is the configured one).
                .col(string_len("recipient", 320))
                // pending, sent or failed (gave up after the last retry).
                .col(string_len("status", 10))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notifications", "alert_id")
                        .to("alerts", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One delivery per alert, channel and recipient, however often it is enqueued.
        m.create_index(
            Index::create()
                .name("uq_notifications_alert_channel")
                .table("notifications")
                .col("alert_id")
                .col("channel")
                .col("recipient")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_notifications_due")
                .table("notifications")
                .col("status")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
