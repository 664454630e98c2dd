//! Table `customers` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub external_id: Option<String>,
    pub domain: Option<String>,
    pub tier: String,
    pub stage: String,
    pub churned_on: Option<Date>,
    pub plan: Option<String>,
    pub mrr_minor: i64,
    pub currency: String,
    pub seats: i32,
    pub contract_start: Option<Date>,
    pub renewal_date: Option<Date>,
    pub owner_id: Option<i64>,
    pub tags: Json,
    pub search_text: String,
    pub last_seen_at: Option<DateTimeUtc>,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub health_score: Option<i16>,
    pub health_level: Option<String>,
    pub health_computed_at: Option<DateTimeUtc>,
    pub csm_sentiment: Option<i16>,
    pub billing_period: Option<String>,
    pub attributes: Json,
    pub time_zone: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
