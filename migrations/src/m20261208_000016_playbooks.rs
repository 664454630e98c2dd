//! Playbooks (issue 17): definitions and their immutable versions, e-mail templates,
//! enrollments (a customer's run through one version), the step runs that say what each
//! step did and why, the outbox of their side effects, and tasks. Every side effect is
//! keyed by (enrollment, step): a unique key, so a retried step can't act twice.
//! Customers get a time zone (waits "until 09:00" are in theirs). Segment-entry
//! playbooks remember who matched at their last sweep.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table));
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("customers")
                // An IANA name ("Europe/Paris"); none: the account's.
                .add_column(string_len_null("time_zone", 64))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("email_templates")
                .col(big_pk_auto("id"))
                // What playbooks name it by ("trial-day-1").
                .col(string_len("key", 80).unique_key())
                .col(string_len("name", 200))
                .col(text("subject"))
                .col(text("body_text"))
                .col(text_null("body_html"))
                // Operational mail (payment failed…) ignores caps and unsubscribes.
                .col(boolean("operational").default(false))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("playbooks")
                .col(big_pk_auto("id"))
                .col(string_len("key", 80).unique_key())
                .col(string_len("name", 200))
                // off, on, paused.
                .col(string_len("status", 10))
                // The version new enrollments start on (the latest published).
                .col(big_integer_null("current_version_id"))
                // The trigger's type, copied from the current version, so the engine
                // finds the playbooks an event can start without reading every definition.
                .col(string_len("trigger_type", 40))
                // Triggers no event starts (a schedule, days after start, segment entry)
                // are swept: the last sweep's moment, claimed by one server at a time.
                .col(timestamp_with_time_zone_null("swept_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("playbook_versions")
                .col(big_pk_auto("id"))
                .col(big_integer("playbook_id"))
                .col(integer("version"))
                .col(json("definition"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_playbook_versions_number",
            "playbook_versions",
            &["playbook_id", "version"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("enrollments")
                .col(big_pk_auto("id"))
                .col(big_integer("playbook_id"))
                .col(big_integer("version_id"))
                .col(big_integer("customer_id"))
                // active, waiting (for an event), paused, completed, exited, holdout,
                // cancelled, failed.
                .col(string_len("status", 12))
                // The customer id while the enrollment is live, else null: unique with
                // the playbook, so a customer is enrolled at most once at a time
                // (nulls never collide).
                .col(big_integer_null("live_customer_id"))
                // The step to run next, and when.
                .col(string_len_null("step", 64))
                .col(timestamp_with_time_zone_null("due_at"))
                // Waiting for an event: its name, where to go on it and on the timeout.
                .col(string_len_null("wait_event", 200))
                .col(string_len_null("on_event", 64))
                .col(string_len_null("on_timeout", 64))
                // A server running the step, and until when its claim holds.
                .col(string_len_null("locked_by", 120))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(integer("attempts").default(0))
                .col(text_null("last_error"))
                // 0–99: its place in a split test.
                .col(integer("bucket"))
                // What enrolled it: the domain event, or a person.
                .col(big_integer_null("trigger_event_id"))
                .col(big_integer_null("enrolled_by"))
                .col(timestamp_with_time_zone("entered_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(json_null("finish"))
                // open, met, missed, none.
                .col(string_len("goal", 8))
                .col(timestamp_with_time_zone_null("goal_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_enrollments_live",
            "enrollments",
            &["playbook_id", "live_customer_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "idx_enrollments_due",
            "enrollments",
            &["status", "due_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "idx_enrollments_customer",
            "enrollments",
            &["customer_id", "entered_at"],
            false,
        ))
        .await?;
        // Who matches a segment-entry playbook's condition now: entering is starting to
        // match, so a sweep compares with the last one.
        m.create_table(
            Table::create()
                .table("segment_members")
                .col(big_integer("playbook_id"))
                .col(big_integer("customer_id"))
                .col(timestamp_with_time_zone("since"))
                .primary_key(Index::create().col("playbook_id").col("customer_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("step_runs")
                .col(big_pk_auto("id"))
                .col(big_integer("enrollment_id"))
                .col(string_len("step", 64))
                .col(string_len("step_type", 20))
                .col(timestamp_with_time_zone("ran_at"))
                // The machine's outcome: effect, decision (with what it read), next.
                .col(json("outcome"))
                .to_owned(),
        )
        .await?;
        // A step runs once per enrollment (the tree has no loops): a retry finds it done.
        m.create_index(index(
            "idx_step_runs_once",
            "step_runs",
            &["enrollment_id", "step"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("outbox")
                .col(big_pk_auto("id"))
                // email, task, slack, webhook, field.
                .col(string_len("kind", 12))
                .col(big_integer("customer_id"))
                .col(big_integer_null("enrollment_id"))
                .col(string_len_null("step", 64))
                .col(json("payload"))
                // pending, sent, unsent (waiting for a relay or allowed hours), dead.
                .col(string_len("status", 10))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(string_len_null("locked_by", 120))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(text_null("last_error"))
                // What went out (the rendered message, the task id…).
                .col(json_null("result"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_outbox_once",
            "outbox",
            &["enrollment_id", "step"],
            true,
        ))
        .await?;
        m.create_index(index(
            "idx_outbox_due",
            "outbox",
            &["status", "next_attempt_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "idx_outbox_customer",
            "outbox",
            &["customer_id", "created_at"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("tasks")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len("title", 300))
                .col(text("description"))
                .col(big_integer_null("assignee_id"))
                // low, normal, high, urgent.
                .col(string_len("priority", 8))
                .col(timestamp_with_time_zone("due_at"))
                // open, done.
                .col(string_len("status", 8))
                .col(timestamp_with_time_zone_null("snoozed_until"))
                // reached_engaged, no_answer, risk_averted, lost, done…
                .col(string_len_null("outcome", 30))
                .col(text_null("outcome_note"))
                // manual, playbook, alert.
                .col(string_len("source", 10))
                .col(big_integer_null("enrollment_id"))
                .col(string_len_null("step", 64))
                .col(big_integer_null("alert_id"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(big_integer_null("completed_by"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_tasks_once",
            "tasks",
            &["enrollment_id", "step"],
            true,
        ))
        .await?;
        m.create_index(index(
            "idx_tasks_assignee",
            "tasks",
            &["assignee_id", "status", "due_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "idx_tasks_customer",
            "tasks",
            &["customer_id", "status"],
            false,
        ))
        .await?;
        Ok(())
    }
}
