//! Health scores: versioned scorecards, a daily history of every customer's score with
//! each measure's value, the current score on the customer (for lists and sorting), the
//! CSM's own sentiment (a manual measure), and a durable queue of customers to re-score.

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
        // Every saved scorecard is a new version; the highest is in force. History rows
        // name the version that scored them, so old scores stay explainable.
        m.create_table(
            Table::create()
                .table("scorecards")
                .col(big_pk_auto("id"))
                .col(integer("version").unique_key())
                .col(json("definition"))
                .col(timestamp_with_time_zone("created_at"))
                .col(big_integer_null("created_by"))
                .to_owned(),
        )
        .await?;

        // One row per customer and day: the day's latest score, level, and every measure
        // (raw, normalised, share, points) as JSON.
        m.create_table(
            Table::create()
                .table("health_scores")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(date("day"))
                .col(small_integer("score"))
                .col(string_len("level", 10))
                .col(integer("scorecard_version"))
                .col(json("groups"))
                .col(json("measures"))
                .col(timestamp_with_time_zone("computed_at"))
                // The customer's MRR that day: MRR change compares against it.
                .col(big_integer_null("mrr_minor"))
                .foreign_key(
                    ForeignKey::create()
                        .from("health_scores", "customer_id")
                        .to("customers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_health_scores_customer_day")
                .table("health_scores")
                .col("customer_id")
                .col("day")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_health_scores_day")
                .table("health_scores")
                .col("day")
                .to_owned(),
        )
        .await?;

        // The current score, on the customer: lists sort and filter by it without a join.
        add_column(m, "customers", small_integer_null("health_score")).await?;
        add_column(m, "customers", string_len_null("health_level", 10)).await?;
        add_column(
            m,
            "customers",
            timestamp_with_time_zone_null("health_computed_at"),
        )
        .await?;
        // The CSM's own view, 1–5 (a manual measure of the scorecard).
        add_column(m, "customers", small_integer_null("csm_sentiment")).await?;
        m.create_index(
            Index::create()
                .name("idx_customers_health_score")
                .table("customers")
                .col("health_score")
                .to_owned(),
        )
        .await?;

        // Customers with new data, to re-score once `due_at` passes (debounced: more data
        // before then pushes nothing back, one row per customer). Written in the same
        // transaction as the data, so a restart loses no request.
        m.create_table(
            Table::create()
                .table("score_requests")
                .col(big_integer("customer_id").primary_key())
                .col(timestamp_with_time_zone("due_at"))
                .col(timestamp_with_time_zone("requested_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_score_requests_due")
                .table("score_requests")
                .col("due_at")
                .to_owned(),
        )
        .await?;

        // Work that must happen once per day across every server (the nightly full
        // recompute): the first to insert the (name, day) row does it.
        m.create_table(
            Table::create()
                .table("scheduled_runs")
                .col(string_len("name", 50))
                .col(date("day"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .primary_key(Index::create().col("name").col("day"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
