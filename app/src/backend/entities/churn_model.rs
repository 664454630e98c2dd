//! Table `churn_models` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "churn_models")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub trained_at: DateTimeUtc,
    pub status: String,
    pub detail: Option<String>,
    pub trigger: String,
    pub horizon_days: i32,
    pub observations: i64,
    pub customers: i64,
    pub churned: i64,
    pub model: Option<Json>,
    pub metrics: Option<Json>,
    pub duration_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
