//! Events by name and time: the expansion signals read the latest NPS answers
//! (`NPS Submitted`) of the whole portfolio, a few rows among millions of events.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_events_name_time")
                .table("usage_events")
                .col("name")
                .col("occurred_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_events_name_time")
                .table("usage_events")
                .to_owned(),
        )
        .await
    }
}
