//! Table `alerts` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub rule: String,
    pub severity: String,
    pub title: String,
    pub status: String,
    pub owner_id: Option<i64>,
    pub opened_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub snoozed_until: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub handled_by: Option<i64>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
