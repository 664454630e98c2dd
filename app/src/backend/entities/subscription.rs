//! Table `subscriptions` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub external_id: Option<String>,
    pub plan: Option<String>,
    pub status: String,
    pub billing_interval: String,
    pub unit_amount_minor: i64,
    pub quantity: i32,
    pub mrr_minor: i64,
    pub currency: String,
    pub started_at: DateTimeUtc,
    pub current_period_end: Option<DateTimeUtc>,
    pub canceled_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    pub source_updated_at: Option<DateTimeUtc>,
    pub payment_status: String,
    pub failed_attempts: i32,
    pub next_payment_attempt: Option<DateTimeUtc>,
    pub payment_updated_at: Option<DateTimeUtc>,
    pub cancel_at_period_end: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
