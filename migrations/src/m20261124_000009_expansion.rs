//! Plans as sold (price, limits, the features only bigger plans have) and expansion
//! signals: one row per episode of a signal for a customer, with its ARR uplift and
//! confidence, until it is won, dismissed or lapses.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("plans")
                .col(string_len("code", 100).primary_key())
                .col(string_len("name", 100))
                .col(integer("rank"))
                .col(big_integer("seat_price_minor"))
                .col(integer_null("seat_limit"))
                .col(big_integer_null("event_limit"))
                // A JSON list of feature names.
                .col(json("features"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("expansion_signals")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len("kind", 30))
                .col(string_len("title", 300))
                // Estimated extra ARR, in the customer's currency's minor unit.
                .col(big_integer("uplift_minor"))
                .col(string_len("currency", 3))
                .col(double("confidence"))
                // open, won, dismissed or lapsed (the signal stopped holding).
                .col(string_len("status", 12))
                .col(timestamp_with_time_zone("opened_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(big_integer_null("handled_by"))
                .col(text_null("note"))
                .foreign_key(
                    ForeignKey::create()
                        .from("expansion_signals", "customer_id")
                        .to("customers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // At most one open signal per customer and kind.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_expansion_open ON expansion_signals (customer_id, kind) \
                 WHERE status = 'open'",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("idx_expansion_status")
                .table("expansion_signals")
                .col("status")
                .col("customer_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
