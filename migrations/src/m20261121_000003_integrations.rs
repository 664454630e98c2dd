//! What the Integrations page shows and the REST API needs: per-channel daily counts and
//! recent errors, integration secrets and settings, and API tokens.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("sources")
                .add_column(timestamp_with_time_zone_null("last_event_at"))
                .to_owned(),
        )
        .await?;

        // One row per channel ("source:3", "stripe", "zendesk"…) and UTC day, bumped once
        // per request: the page reads today's counts without scanning the events.
        m.create_table(
            Table::create()
                .table("integration_stats")
                .col(big_pk_auto("id"))
                .col(string_len("channel", 60))
                .col(date("day"))
                .col(big_integer("received").default(0))
                .col(big_integer("stored").default(0))
                .col(big_integer("duplicates").default(0))
                .col(big_integer("quarantined").default(0))
                .col(big_integer("rejected").default(0))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_integration_stats_channel_day")
                .table("integration_stats")
                .col("channel")
                .col("day")
                .unique()
                .to_owned(),
        )
        .await?;

        // Refused requests, with what was wrong and the start of the payload.
        m.create_table(
            Table::create()
                .table("integration_errors")
                .col(big_pk_auto("id"))
                .col(string_len("channel", 60))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(integer("status"))
                .col(string_len("problem", 2000))
                .col(string_len("excerpt", 2000))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_integration_errors_channel_time")
                .table("integration_errors")
                .col("channel")
                .col("occurred_at")
                .to_owned(),
        )
        .await?;

        // Webhook secrets, tokens and URLs set on the Integrations page. The previous
        // secret stays valid for a while after a rotation so senders can switch over.
        m.create_table(
            Table::create()
                .table("integration_settings")
                .col(string_len("name", 40).primary_key())
                .col(string_len_null("secret", 500))
                .col(string_len_null("previous_secret", 500))
                .col(timestamp_with_time_zone_null("rotated_at"))
                .col(json_null("config"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_index(
            Index::create()
                .name("idx_quarantine_source_time")
                .table("quarantined_events")
                .col("source_id")
                .col("received_at")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_tokens")
                .col(big_pk_auto("id"))
                .col(string_len("name", 100))
                // SHA-256 of the token, which is shown once.
                .col(string_len_uniq("token_hash", 64))
                .col(string_len("prefix", 12))
                .col(string_len("role", 20))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "api_tokens",
            "integration_settings",
            "integration_errors",
            "integration_stats",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        m.drop_index(
            Index::drop()
                .name("idx_quarantine_source_time")
                .table("quarantined_events")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("sources")
                .drop_column("last_event_at")
                .to_owned(),
        )
        .await
    }
}
