//! Table `step_runs` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "step_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enrollment_id: i64,
    pub step: String,
    pub step_type: String,
    pub ran_at: DateTimeUtc,
    pub outcome: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
