//! Table `playbook_versions` (generated shape: change the migration first).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "playbook_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub playbook_id: i64,
    pub version: i32,
    pub definition: Json,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
