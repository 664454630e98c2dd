//! Table `tasks` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub title: String,
    pub description: String,
    pub assignee_id: Option<i64>,
    pub priority: String,
    pub due_at: DateTimeUtc,
    pub status: String,
    pub snoozed_until: Option<DateTimeUtc>,
    pub outcome: Option<String>,
    pub outcome_note: Option<String>,
    pub source: String,
    pub enrollment_id: Option<i64>,
    pub step: Option<String>,
    pub alert_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub completed_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
