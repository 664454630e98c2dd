//! Event sources (Segment-compatible write keys) and the quarantine of events whose
//! customer could not be resolved.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("sources")
                .col(big_pk_auto("id"))
                .col(string_len_uniq("name", 100))
                // SHA-256 of the write key: the key itself is shown once, at creation.
                .col(string_len_uniq("write_key_hash", 64))
                // First characters of the key, to recognise it in the UI.
                .col(string_len("key_prefix", 12))
                .col(boolean("can_create_customers").default(false))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("quarantined_events")
                .col(big_pk_auto("id"))
                .col(big_integer("source_id"))
                .col(string_len("message_id", 200).unique_key())
                .col(string_len("kind", 20))
                .col(json("payload"))
                .col(string_len("reason", 500))
                .col(timestamp_with_time_zone("received_at"))
                .col(timestamp_with_time_zone_null("replayed_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_quarantine_source")
                        .from("quarantined_events", "source_id")
                        .to("sources", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_quarantine_received")
                .table("quarantined_events")
                .col("received_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("quarantined_events").to_owned())
            .await?;
        m.drop_table(Table::drop().table("sources").to_owned())
            .await
    }
}
