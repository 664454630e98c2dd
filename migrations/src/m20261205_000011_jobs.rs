//! The job runner's table: work that must happen once across every server (the nightly
//! recompute and retraining, the HubSpot sync, purging sessions), claimed by one server
//! for a lease that it renews while it works; if that server dies, the lease runs out
//! and another takes the job up. Replaces `scheduled_runs` (left in place, unused).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("jobs")
                .col(big_pk_auto("id"))
                // What to do: health.nightly, churn.nightly, hubspot.sync, sessions.purge…
                .col(string_len("kind", 60))
                .col(json("payload"))
                // For recurring work, "<kind>/<period>" (e.g. health.nightly/2026-12-05):
                // unique, so however many servers queue a period, it is one job. A unique
                // constraint of the table itself (not a separate index) so that
                // `ON CONFLICT (period_key)` matches it on both databases.
                .col(string_len_null("period_key", 120).unique_key())
                // queued, running, done, or dead (failed its last try).
                .col(string_len("state", 10))
                .col(timestamp_with_time_zone("run_at"))
                .col(integer("attempts"))
                .col(integer("max_attempts"))
                // The server running it, and until when its claim holds unless renewed.
                .col(string_len_null("locked_by", 120))
                .col(timestamp_with_time_zone_null("locked_until"))
                // Free text the job reports as it goes ("300 of 1,200 customers").
                .col(string_len_null("progress", 200))
                // Where a job that resumes is (the last customer done…): written as it goes,
                // read when another server takes the job up after a crash.
                .col(json_null("checkpoint"))
                .col(json_null("result"))
                .col(text_null("last_error"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_jobs_due")
                .table("jobs")
                .col("state")
                .col("run_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
