//! What a customer's contract says about its renewals, and what else is known about it:
//! `billing_period` (month, quarter or year; `NULL` when unknown) so renewal follows the
//! billing period instead of assuming a yearly anniversary, and `attributes` (a JSON
//! object of short text values: channel, country, industry…) from the customers CSV,
//! the form or the CRM, for the churn model to weigh. One column per statement: SQLite
//! alters one at a time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("customers")
                .add_column(string_len_null("billing_period", 10))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("customers")
                .add_column(json("attributes").default(Expr::cust("'{}'")))
                .to_owned(),
        )
        .await
    }
}
