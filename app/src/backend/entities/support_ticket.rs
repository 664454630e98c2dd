//! Table `support_tickets` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "support_tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub source: String,
    pub external_id: Option<String>,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub priority: String,
    pub opened_at: DateTimeUtc,
    pub solved_at: Option<DateTimeUtc>,
    pub satisfaction: Option<String>,
    pub sentiment: Option<f64>,
    pub cancellation_intent: bool,
    pub updated_at: DateTimeUtc,
    pub requester_email: Option<String>,
    pub tags: String,
    pub intent_phrases: Option<String>,
    pub source_updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
