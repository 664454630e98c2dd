//! Domain events: the facts a playbook can start from, one row each, written by triggers
//! in the same transaction as the change that caused them — whichever code path makes
//! the change (a form, a webhook, an import, the scoring pipeline), none can forget one.
//! The rules they follow are the domain core's (`vcsm::events`; tests hold the two
//! together): a field's event when it changes, a health event when the level changes and
//! one per multiple of ten the score crosses, none for a first score or prediction.
//!
//! Consumers read them in order with a cursor kept in `event_cursors`. On Postgres,
//! ids are not handed out in commit order, so each row also carries its transaction's id
//! (`tx_id`): a consumer reads only rows of transactions older than every one still
//! running, in (`tx_id`, `id`) order, and so never skips a row that commits late. SQLite
//! has one writer: ids are in commit order there, and `tx_id` is 0.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The thresholds health events are made for (`vcsm::events::THRESHOLD_STEP`).
const THRESHOLDS: [i32; 10] = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == DatabaseBackend::Postgres;
        let tx_id = if postgres {
            big_integer("tx_id")
                .default(Expr::cust("(pg_current_xact_id()::text::bigint)"))
                .to_owned()
        } else {
            big_integer("tx_id").default(0).to_owned()
        };
        m.create_table(
            Table::create()
                .table("domain_events")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                // e.g. health.level_changed (`vcsm::events::EventKind`).
                .col(string_len("kind", 60))
                .col(json("data"))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(timestamp_with_time_zone("recorded_at"))
                .col(tx_id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_domain_events_customer")
                .table("domain_events")
                .col("customer_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_domain_events_order")
                .table("domain_events")
                .col("tx_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("event_cursors")
                .col(string_len("consumer", 60).primary_key())
                .col(big_integer("tx_id"))
                .col(big_integer("last_id"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let statements = if postgres {
            postgres_triggers()
        } else {
            sqlite_triggers()
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

fn thresholds_sqlite() -> String {
    THRESHOLDS
        .iter()
        .map(|t| format!("SELECT {t} AS v"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

fn sqlite_triggers() -> Vec<String> {
    let insert = "INSERT INTO domain_events (customer_id, kind, data, occurred_at, recorded_at)";
    let field = |kind: &str, col: &str| {
        format!(
            "UNION ALL SELECT '{kind}' AS k, json_object('from', OLD.{col}, 'to', NEW.{col}) AS d \
             WHERE OLD.{col} IS NOT NEW.{col} "
        )
    };
    vec![
        format!(
            "CREATE TRIGGER de_usage_events AFTER INSERT ON usage_events BEGIN \
             {insert} VALUES (NEW.customer_id, 'event.received', json_object('name', NEW.name, \
             'properties', json(NEW.properties), 'usage_event_id', NEW.id), NEW.occurred_at, \
             NEW.received_at); \
             {insert} SELECT NEW.customer_id, 'nps.answered', json_object('score', \
             json_extract(NEW.properties, '$.score'), 'usage_event_id', NEW.id), \
             NEW.occurred_at, NEW.received_at WHERE NEW.name = 'NPS Submitted'; END"
        ),
        format!(
            "CREATE TRIGGER de_customer_created AFTER INSERT ON customers BEGIN \
             {insert} VALUES (NEW.id, 'customer.created', json_object('name', NEW.name, \
             'stage', NEW.stage, 'tier', NEW.tier), NEW.created_at, NEW.created_at); END"
        ),
        format!(
            "CREATE TRIGGER de_customer_changed AFTER UPDATE ON customers BEGIN \
             {insert} SELECT NEW.id, k, d, NEW.updated_at, NEW.updated_at FROM (\
             SELECT NULL AS k, NULL AS d WHERE 0 {stage}{tier}{owner}{plan}); \
             {insert} SELECT NEW.id, 'health.level_changed', json_object('from', \
             OLD.health_level, 'to', NEW.health_level, 'score', NEW.health_score), \
             NEW.health_computed_at, NEW.health_computed_at WHERE OLD.health_level IS NOT NULL \
             AND NEW.health_level IS NOT NULL AND OLD.health_level IS NOT NEW.health_level; \
             {insert} SELECT NEW.id, 'health.threshold_crossed', json_object('threshold', t.v, \
             'direction', CASE WHEN NEW.health_score > OLD.health_score THEN 'up' ELSE 'down' END, \
             'from', OLD.health_score, 'to', NEW.health_score), NEW.health_computed_at, \
             NEW.health_computed_at FROM ({thresholds}) AS t WHERE OLD.health_score IS NOT NULL \
             AND NEW.health_score IS NOT NULL \
             AND t.v > MIN(OLD.health_score, NEW.health_score) \
             AND t.v <= MAX(OLD.health_score, NEW.health_score) ORDER BY t.v; END",
            stage = field("customer.stage_changed", "stage"),
            tier = field("customer.tier_changed", "tier"),
            owner = field("customer.owner_changed", "owner_id"),
            plan = field("customer.plan_changed", "plan"),
            thresholds = thresholds_sqlite(),
        ),
        format!(
            "CREATE TRIGGER de_churn_risk AFTER UPDATE OF risk ON churn_predictions \
             WHEN OLD.risk IS NOT NEW.risk BEGIN \
             {insert} VALUES (NEW.customer_id, 'churn.risk_changed', json_object('from', \
             OLD.risk, 'to', NEW.risk, 'probability', NEW.probability), NEW.computed_at, \
             NEW.computed_at); END"
        ),
        format!(
            "CREATE TRIGGER de_alert_opened AFTER INSERT ON alerts BEGIN \
             {insert} VALUES (NEW.customer_id, 'alert.opened', json_object('alert_id', NEW.id, \
             'rule', NEW.rule, 'severity', NEW.severity, 'title', NEW.title), NEW.opened_at, \
             NEW.opened_at); END"
        ),
        format!(
            "CREATE TRIGGER de_expansion_opened AFTER INSERT ON expansion_signals BEGIN \
             {insert} VALUES (NEW.customer_id, 'expansion.opened', json_object('signal_id', \
             NEW.id, 'kind', NEW.kind, 'title', NEW.title, 'uplift_minor', NEW.uplift_minor, \
             'currency', NEW.currency), NEW.opened_at, NEW.opened_at); END"
        ),
        format!(
            "CREATE TRIGGER de_trial_started AFTER INSERT ON subscriptions \
             WHEN NEW.status = 'trialing' BEGIN \
             {insert} VALUES (NEW.customer_id, 'billing.trial_started', json_object(\
             'subscription', NEW.external_id, 'plan', NEW.plan), NEW.started_at, \
             NEW.updated_at); END"
        ),
        format!(
            "CREATE TRIGGER de_trial_restarted AFTER UPDATE OF status ON subscriptions \
             WHEN NEW.status = 'trialing' AND OLD.status IS NOT 'trialing' BEGIN \
             {insert} VALUES (NEW.customer_id, 'billing.trial_started', json_object(\
             'subscription', NEW.external_id, 'plan', NEW.plan), NEW.updated_at, \
             NEW.updated_at); END"
        ),
        format!(
            "CREATE TRIGGER de_billing AFTER INSERT ON billing_events \
             WHEN NEW.kind IN ('payment_failed', 'subscription_canceled') BEGIN \
             {insert} VALUES (NEW.customer_id, CASE NEW.kind WHEN 'payment_failed' THEN \
             'billing.payment_failed' ELSE 'billing.subscription_cancelled' END, json_object(\
             'amount_minor', NEW.amount_minor, 'currency', NEW.currency, 'description', \
             NEW.description, 'subscription', NEW.subscription_ref), NEW.occurred_at, \
             NEW.received_at); END"
        ),
    ]
}

fn postgres_triggers() -> Vec<String> {
    let record = "PERFORM de_record";
    let field = |kind: &str, col: &str| {
        format!(
            "IF OLD.{col} IS DISTINCT FROM NEW.{col} THEN {record}(NEW.id, '{kind}', \
             json_build_object('from', OLD.{col}, 'to', NEW.{col}), NEW.updated_at, \
             NEW.updated_at); END IF; "
        )
    };
    let function = |name: &str, body: String| {
        format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
             DECLARE t integer; BEGIN {body} RETURN NULL; END $$"
        )
    };
    let thresholds = THRESHOLDS
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        "CREATE FUNCTION de_record(c bigint, k text, d json, occurred timestamptz, \
         recorded timestamptz) RETURNS void LANGUAGE sql AS $$ INSERT INTO domain_events \
         (customer_id, kind, data, occurred_at, recorded_at) VALUES (c, k, d, occurred, \
         recorded) $$"
            .to_string(),
        function(
            "de_usage_events",
            format!(
                "{record}(NEW.customer_id, 'event.received', json_build_object('name', \
                 NEW.name, 'properties', NEW.properties, 'usage_event_id', NEW.id), \
                 NEW.occurred_at, NEW.received_at); \
                 IF NEW.name = 'NPS Submitted' THEN {record}(NEW.customer_id, 'nps.answered', \
                 json_build_object('score', NEW.properties::json -> 'score', 'usage_event_id', \
                 NEW.id), NEW.occurred_at, NEW.received_at); END IF;"
            ),
        ),
        "CREATE TRIGGER de_usage_events AFTER INSERT ON usage_events FOR EACH ROW \
         EXECUTE FUNCTION de_usage_events()"
            .to_string(),
        function(
            "de_customers",
            format!(
                "IF TG_OP = 'INSERT' THEN {record}(NEW.id, 'customer.created', \
                 json_build_object('name', NEW.name, 'stage', NEW.stage, 'tier', NEW.tier), \
                 NEW.created_at, NEW.created_at); RETURN NULL; END IF; \
                 {stage}{tier}{owner}{plan}\
                 IF OLD.health_level IS NOT NULL AND NEW.health_level IS NOT NULL AND \
                 OLD.health_level IS DISTINCT FROM NEW.health_level THEN {record}(NEW.id, \
                 'health.level_changed', json_build_object('from', OLD.health_level, 'to', \
                 NEW.health_level, 'score', NEW.health_score), NEW.health_computed_at, \
                 NEW.health_computed_at); END IF; \
                 IF OLD.health_score IS NOT NULL AND NEW.health_score IS NOT NULL THEN \
                 FOREACH t IN ARRAY ARRAY[{thresholds}] LOOP \
                 IF t > LEAST(OLD.health_score, NEW.health_score) AND \
                 t <= GREATEST(OLD.health_score, NEW.health_score) THEN {record}(NEW.id, \
                 'health.threshold_crossed', json_build_object('threshold', t, 'direction', \
                 CASE WHEN NEW.health_score > OLD.health_score THEN 'up' ELSE 'down' END, \
                 'from', OLD.health_score, 'to', NEW.health_score), NEW.health_computed_at, \
                 NEW.health_computed_at); END IF; END LOOP; END IF;",
                stage = field("customer.stage_changed", "stage"),
                tier = field("customer.tier_changed", "tier"),
                owner = field("customer.owner_changed", "owner_id"),
                plan = field("customer.plan_changed", "plan"),
            ),
        ),
        "CREATE TRIGGER de_customers AFTER INSERT OR UPDATE ON customers FOR EACH ROW \
         EXECUTE FUNCTION de_customers()"
            .to_string(),
        function(
            "de_churn_risk",
            format!(
                "IF OLD.risk IS DISTINCT FROM NEW.risk THEN {record}(NEW.customer_id, \
                 'churn.risk_changed', json_build_object('from', OLD.risk, 'to', NEW.risk, \
                 'probability', NEW.probability), NEW.computed_at, NEW.computed_at); END IF;"
            ),
        ),
        "CREATE TRIGGER de_churn_risk AFTER UPDATE ON churn_predictions FOR EACH ROW \
         EXECUTE FUNCTION de_churn_risk()"
            .to_string(),
        function(
            "de_alert_opened",
            format!(
                "{record}(NEW.customer_id, 'alert.opened', json_build_object('alert_id', NEW.id, \
                 'rule', NEW.rule, 'severity', NEW.severity, 'title', NEW.title), NEW.opened_at, \
                 NEW.opened_at);"
            ),
        ),
        "CREATE TRIGGER de_alert_opened AFTER INSERT ON alerts FOR EACH ROW \
         EXECUTE FUNCTION de_alert_opened()"
            .to_string(),
        function(
            "de_expansion_opened",
            format!(
                "{record}(NEW.customer_id, 'expansion.opened', json_build_object('signal_id', \
                 NEW.id, 'kind', NEW.kind, 'title', NEW.title, 'uplift_minor', NEW.uplift_minor, \
                 'currency', NEW.currency), NEW.opened_at, NEW.opened_at);"
            ),
        ),
        "CREATE TRIGGER de_expansion_opened AFTER INSERT ON expansion_signals FOR EACH ROW \
         EXECUTE FUNCTION de_expansion_opened()"
            .to_string(),
        function(
            "de_trial_started",
            format!(
                "IF NEW.status = 'trialing' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT \
                 FROM 'trialing') THEN {record}(NEW.customer_id, 'billing.trial_started', \
                 json_build_object('subscription', NEW.external_id, 'plan', NEW.plan), \
                 CASE WHEN TG_OP = 'INSERT' THEN NEW.started_at ELSE NEW.updated_at END, \
                 NEW.updated_at); END IF;"
            ),
        ),
        "CREATE TRIGGER de_trial_started AFTER INSERT OR UPDATE ON subscriptions FOR EACH ROW \
         EXECUTE FUNCTION de_trial_started()"
            .to_string(),
        function(
            "de_billing",
            format!(
                "IF NEW.kind IN ('payment_failed', 'subscription_canceled') THEN \
                 {record}(NEW.customer_id, CASE NEW.kind WHEN 'payment_failed' THEN \
                 'billing.payment_failed' ELSE 'billing.subscription_cancelled' END, \
                 json_build_object('amount_minor', NEW.amount_minor, 'currency', NEW.currency, \
                 'description', NEW.description, 'subscription', NEW.subscription_ref), \
                 NEW.occurred_at, NEW.received_at); END IF;"
            ),
        ),
        "CREATE TRIGGER de_billing AFTER INSERT ON billing_events FOR EACH ROW \
         EXECUTE FUNCTION de_billing()"
            .to_string(),
    ]
}
