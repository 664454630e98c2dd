//! Files sent to the import page, kept until their import job has written them: the job
//! runs on whichever server claims it, so the file can't live in the memory of the server
//! that received it. The import deletes its file in the transaction that writes its rows,
//! so a file is imported once even when a server dies after writing it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("import_files")
                .col(big_pk_auto("id"))
                // Customers, Contacts or Events.
                .col(string_len("kind", 20))
                // The file as sent (UTF-8, at most the upload limit).
                .col(text("content"))
                .col(big_integer("size_bytes"))
                .col(big_integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await
    }
}
