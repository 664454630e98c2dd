//! Churn prediction: the trained models (one row per training, with its metrics, kept as
//! the model page's history), each customer's current prediction, and the subscription a
//! billing event belongs to (so MRR on any past day can be summed from the history).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // `subscription_*` events carry the subscription's MRR after the change; with the
        // subscription named, a day's MRR is the sum of each one's latest event before it.
        m.alter_table(
            Table::alter()
                .table("billing_events")
                .add_column(string_len_null("subscription_ref", 200))
                .to_owned(),
        )
        .await?;

        // Every training run, kept: status `trained` (with the model), `fallback` (too
        // little history: risk follows health) or `failed`. The newest `trained` row is the
        // model in use.
        m.create_table(
            Table::create()
                .table("churn_models")
                .col(big_pk_auto("id"))
                .col(timestamp_with_time_zone("trained_at"))
                .col(string_len("status", 20))
                .col(string_len_null("detail", 500))
                .col(string_len("trigger", 20))
                .col(integer("horizon_days"))
                .col(big_integer("observations"))
                .col(big_integer("customers"))
                .col(big_integer("churned"))
                .col(json_null("model"))
                .col(json_null("metrics"))
                .col(big_integer("duration_ms"))
                .to_owned(),
        )
        .await?;

        // Each customer's latest prediction, rewritten whenever its health is: a probability
        // from the model (none in fallback), the risk band and the factors behind it.
        m.create_table(
            Table::create()
                .table("churn_predictions")
                .col(big_integer("customer_id").primary_key())
                .col(big_integer_null("model_id"))
                .col(double_null("probability"))
                .col(string_len("risk", 10))
                .col(json("factors"))
                .col(timestamp_with_time_zone("computed_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("churn_predictions", "customer_id")
                        .to("customers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_churn_predictions_risk")
                .table("churn_predictions")
                .col("risk")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
