//! Postgres: "event received" domain events written once per statement instead of once
//! per row. Ingestion inserts events hundreds at a time; the row trigger ran its function
//! (and one insert) per event, the statement trigger runs one `INSERT … SELECT` over the
//! statement's new rows (a transition table), in the same transaction, in the rows' order.
//! SQLite has only row triggers; its trigger stays as it is. On both, an index for the
//! daily purge of old "event received" rows (by kind and age).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The daily purge of old "event received" rows finds them by kind and age.
        m.create_index(
            Index::create()
                .name("idx_domain_events_kind_recorded")
                .table("domain_events")
                .col("kind")
                .col("recorded_at")
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        for sql in [
            "DROP TRIGGER de_usage_events ON usage_events",
            "DROP FUNCTION de_usage_events()",
            // Per new row: "event received", then "NPS answered" when it is one — the order
            // the row trigger wrote them in.
            "CREATE FUNCTION de_usage_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             INSERT INTO domain_events (customer_id, kind, data, occurred_at, recorded_at) \
             SELECT customer_id, kind, data, occurred_at, received_at FROM (\
             SELECT id, 0 AS seq, customer_id, 'event.received' AS kind, json_build_object(\
             'name', name, 'properties', properties, 'usage_event_id', id) AS data, \
             occurred_at, received_at FROM new_rows \
             UNION ALL \
             SELECT id, 1, customer_id, 'nps.answered', json_build_object('score', \
             properties::json -> 'score', 'usage_event_id', id), occurred_at, received_at \
             FROM new_rows WHERE name = 'NPS Submitted') AS e ORDER BY id, seq; \
             RETURN NULL; END $$",
            "CREATE TRIGGER de_usage_events AFTER INSERT ON usage_events \
             REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT \
             EXECUTE FUNCTION de_usage_events()",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
