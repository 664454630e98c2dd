//! Alerts: one row per alert (an episode of a rule's condition for a customer) with its
//! handling, and the conditions that held at each customer's last evaluation, so a
//! condition opens an alert only when it starts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("alerts")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len("rule", 40))
                .col(string_len("severity", 10))
                .col(string_len("title", 300))
                // open, acknowledged, snoozed or resolved.
                .col(string_len("status", 20))
                .col(big_integer_null("owner_id"))
                .col(timestamp_with_time_zone("opened_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("snoozed_until"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .col(big_integer_null("handled_by"))
                .col(text_null("note"))
                .foreign_key(
                    ForeignKey::create()
                        .from("alerts", "customer_id")
                        .to("customers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // At most one unresolved alert per customer and rule, whatever races: a partial
        // unique index (Postgres and SQLite both have them).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_alerts_unresolved ON alerts (customer_id, rule) \
                 WHERE status <> 'resolved'",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("idx_alerts_status_opened")
                .table("alerts")
                .col("status")
                .col("opened_at")
                .to_owned(),
        )
        .await?;

        // The rules whose conditions held for a customer at its last evaluation.
        m.create_table(
            Table::create()
                .table("alert_conditions")
                .col(big_integer("customer_id"))
                .col(string_len("rule", 40))
                .col(timestamp_with_time_zone("since"))
                .primary_key(Index::create().col("customer_id").col("rule"))
                .foreign_key(
                    ForeignKey::create()
                        .from("alert_conditions", "customer_id")
                        .to("customers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
