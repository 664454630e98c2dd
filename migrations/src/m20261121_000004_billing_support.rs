//! Billing and support webhooks: every delivery kept (idempotency, out-of-order guard,
//! and a hold for what can't be matched to a customer yet), subscription payment health,
//! and ticket fields from helpdesks.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite takes one change per `ALTER TABLE`.
async fn add_column(
    m: &SchemaManager<'_>,
    table: &'static str,
    col: ColumnDef,
) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(col).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Each webhook delivery (Stripe, Zendesk, Intercom, the tickets API): its id makes
        // redelivery harmless; `status` is applied, ignored or held (no customer yet).
        m.create_table(
            Table::create()
                .table("webhook_events")
                .col(big_pk_auto("id"))
                .col(string_len("provider", 20))
                .col(string_len("event_id", 200))
                .col(string_len("kind", 100))
                .col(json("payload"))
                .col(timestamp_with_time_zone("received_at"))
                .col(timestamp_with_time_zone_null("processed_at"))
                .col(string_len("status", 20))
                .col(string_len_null("detail", 500))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_webhook_events_provider_event")
                .table("webhook_events")
                .col("provider")
                .col("event_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_events_status")
                .table("webhook_events")
                .col("status")
                .col("received_at")
                .to_owned(),
        )
        .await?;

        // When the billing system last changed the subscription (its event time): an older
        // event arriving late never overwrites newer state.
        add_column(
            m,
            "subscriptions",
            timestamp_with_time_zone_null("source_updated_at"),
        )
        .await?;
        add_column(
            m,
            "subscriptions",
            string_len("payment_status", 20).default("good").to_owned(),
        )
        .await?;
        add_column(
            m,
            "subscriptions",
            integer("failed_attempts").default(0).to_owned(),
        )
        .await?;
        add_column(
            m,
            "subscriptions",
            timestamp_with_time_zone_null("next_payment_attempt"),
        )
        .await?;
        add_column(
            m,
            "subscriptions",
            timestamp_with_time_zone_null("payment_updated_at"),
        )
        .await?;
        add_column(
            m,
            "subscriptions",
            boolean("cancel_at_period_end").default(false).to_owned(),
        )
        .await?;

        add_column(
            m,
            "support_tickets",
            string_len_null("requester_email", 254),
        )
        .await?;
        add_column(
            m,
            "support_tickets",
            string_len("tags", 1000).default("").to_owned(),
        )
        .await?;
        add_column(m, "support_tickets", string_len_null("intent_phrases", 500)).await?;
        add_column(
            m,
            "support_tickets",
            timestamp_with_time_zone_null("source_updated_at"),
        )
        .await?;
        // (source, external_id) is unique since the foundation migration: the upsert key.
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            "requester_email",
            "tags",
            "intent_phrases",
            "source_updated_at",
        ] {
            m.alter_table(
                Table::alter()
                    .table("support_tickets")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        for col in [
            "source_updated_at",
            "payment_status",
            "failed_attempts",
            "next_payment_attempt",
            "payment_updated_at",
            "cancel_at_period_end",
        ] {
            m.alter_table(
                Table::alter()
                    .table("subscriptions")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table("webhook_events").to_owned())
            .await
    }
}
