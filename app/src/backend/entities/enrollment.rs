//! Table `enrollments` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub playbook_id: i64,
    pub version_id: i64,
    pub customer_id: i64,
    pub status: String,
    pub live_customer_id: Option<i64>,
    pub step: Option<String>,
    pub due_at: Option<DateTimeUtc>,
    pub wait_event: Option<String>,
    pub on_event: Option<String>,
    pub on_timeout: Option<String>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub bucket: i32,
    pub trigger_event_id: Option<i64>,
    pub enrolled_by: Option<i64>,
    pub entered_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub finish: Option<Json>,
    pub goal: String,
    pub goal_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
