//! Users, sessions, customers and everything known about them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A timestamp column with time zone (`timestamptz` on Postgres); we store UTC.
fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

fn fk(
    name: &str,
    from_table: &'static str,
    from_col: &'static str,
    to_table: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(on_delete)
        .to_owned()
}

fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(*c);
    }
    i.to_owned()
}

fn unique_index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = index(name, table, cols);
    i.unique();
    i
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("users")
                .col(big_pk_auto("id"))
                .col(string_len_uniq("email", 254))
                .col(string_len("name", 200))
                .col(string_len("role", 20))
                .col(string_len("password_hash", 200))
                .col(boolean("active").default(true))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("sessions")
                // SHA-256 of the cookie's token: a leaked table row can't be used as a cookie.
                .col(string_len("id", 64).primary_key())
                .col(big_integer("user_id"))
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .col(string_len_null("user_agent", 300))
                .foreign_key(&mut fk(
                    "fk_sessions_user",
                    "sessions",
                    "user_id",
                    "users",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_sessions_user", "sessions", &["user_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("login_attempts")
                .col(big_pk_auto("id"))
                .col(string_len("email", 254))
                .col(string_len("ip", 64))
                .col(boolean("succeeded"))
                .col(ts("attempted_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_login_attempts_email",
            "login_attempts",
            &["email", "attempted_at"],
        ))
        .await?;
        m.create_index(index(
            "idx_login_attempts_ip",
            "login_attempts",
            &["ip", "attempted_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("customers")
                .col(big_pk_auto("id"))
                .col(string_len("name", 200))
                .col(string_len_null("external_id", 100).unique_key())
                .col(string_len_null("domain", 253))
                .col(string_len("tier", 20))
                .col(string_len("stage", 20))
                .col(date_null("churned_on"))
                .col(string_len_null("plan", 100))
                .col(big_integer("mrr_minor").default(0))
                .col(string_len("currency", 3).default("USD"))
                .col(integer("seats").default(0))
                .col(date_null("contract_start"))
                .col(date_null("renewal_date"))
                .col(big_integer_null("owner_id"))
                .col(json("tags"))
                // Lower-case name, domain and external id: what the list's search matches.
                .col(text("search_text"))
                .col(ts_null("last_seen_at"))
                .col(ts_null("archived_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk(
                    "fk_customers_owner",
                    "customers",
                    "owner_id",
                    "users",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("idx_customers_name", &["name"][..]),
            ("idx_customers_tier", &["tier"]),
            ("idx_customers_stage", &["stage"]),
            ("idx_customers_owner", &["owner_id"]),
            ("idx_customers_mrr", &["mrr_minor"]),
            ("idx_customers_renewal", &["renewal_date"]),
            ("idx_customers_last_seen", &["last_seen_at"]),
            ("idx_customers_domain", &["domain"]),
        ] {
            m.create_index(index(name, "customers", cols)).await?;
        }

        // Other systems' ids for a customer (Stripe, HubSpot, Segment group ids...).
        m.create_table(
            Table::create()
                .table("customer_identities")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len("source", 50))
                .col(string_len("external_id", 200))
                .col(ts("created_at"))
                .foreign_key(&mut fk(
                    "fk_identities_customer",
                    "customer_identities",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique_index(
            "uq_identities_source_external",
            "customer_identities",
            &["source", "external_id"],
        ))
        .await?;
        m.create_index(index(
            "idx_identities_customer",
            "customer_identities",
            &["customer_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("contacts")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len("name", 200))
                .col(string_len_null("email", 254))
                .col(string_len_null("title", 200))
                .col(string_len("role", 30))
                // The id the product's own analytics use for this person (Segment userId).
                .col(string_len_null("external_user_id", 200))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk(
                    "fk_contacts_customer",
                    "contacts",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_contacts_customer", "contacts", &["customer_id"]))
            .await?;
        m.create_index(index("idx_contacts_email", "contacts", &["email"]))
            .await?;
        // One contact per address and customer (contacts without e-mail are not limited).
        m.create_index(unique_index(
            "uq_contacts_customer_email",
            "contacts",
            &["customer_id", "email"],
        ))
        .await?;

        // Append-only: events are never updated, only added.
        m.create_table(
            Table::create()
                .table("usage_events")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(big_integer_null("contact_id"))
                .col(string_len("name", 200))
                .col(json("properties"))
                .col(ts("occurred_at"))
                .col(ts("received_at"))
                .col(string_len("message_id", 200).unique_key())
                .foreign_key(&mut fk(
                    "fk_events_customer",
                    "usage_events",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_events_contact",
                    "usage_events",
                    "contact_id",
                    "contacts",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_events_customer_time",
            "usage_events",
            &["customer_id", "occurred_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("subscriptions")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len_null("external_id", 200).unique_key())
                .col(string_len_null("plan", 100))
                .col(string_len("status", 30))
                .col(string_len("billing_interval", 10))
                .col(big_integer("unit_amount_minor"))
                .col(integer("quantity"))
                .col(big_integer("mrr_minor"))
                .col(string_len("currency", 3))
                .col(ts("started_at"))
                .col(ts_null("current_period_end"))
                .col(ts_null("canceled_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk(
                    "fk_subscriptions_customer",
                    "subscriptions",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_subscriptions_customer",
            "subscriptions",
            &["customer_id"],
        ))
        .await?;

        // Billing history: invoices paid, payments failed, refunds, plan changes.
        m.create_table(
            Table::create()
                .table("billing_events")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len_null("external_id", 200).unique_key())
                .col(string_len("kind", 40))
                .col(big_integer("amount_minor"))
                .col(string_len("currency", 3))
                .col(string_len_null("description", 500))
                .col(ts("occurred_at"))
                .col(ts("received_at"))
                .foreign_key(&mut fk(
                    "fk_billing_customer",
                    "billing_events",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_billing_customer_time",
            "billing_events",
            &["customer_id", "occurred_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("support_tickets")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string_len("source", 30))
                .col(string_len_null("external_id", 200))
                .col(string_len("subject", 500))
                .col(text("body"))
                .col(string_len("status", 20))
                .col(string_len("priority", 20))
                .col(ts("opened_at"))
                .col(ts_null("solved_at"))
                .col(string_len_null("satisfaction", 10))
                .col(double_null("sentiment"))
                .col(boolean("cancellation_intent").default(false))
                .col(ts("updated_at"))
                .foreign_key(&mut fk(
                    "fk_tickets_customer",
                    "support_tickets",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_tickets_customer_time",
            "support_tickets",
            &["customer_id", "opened_at"],
        ))
        .await?;
        m.create_index(unique_index(
            "uq_tickets_source_external",
            "support_tickets",
            &["source", "external_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("notes")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(big_integer_null("author_id"))
                .col(text("body"))
                .col(ts("created_at"))
                .foreign_key(&mut fk(
                    "fk_notes_customer",
                    "notes",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_notes_author",
                    "notes",
                    "author_id",
                    "users",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_notes_customer_time",
            "notes",
            &["customer_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("audit_log")
                .col(big_pk_auto("id"))
                .col(big_integer_null("actor_id"))
                .col(string_len("actor_label", 254))
                .col(string_len("action", 60))
                .col(string_len("entity_type", 40))
                .col(big_integer_null("entity_id"))
                .col(json("detail"))
                .col(ts("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_audit_entity",
            "audit_log",
            &["entity_type", "entity_id"],
        ))
        .await?;
        m.create_index(index("idx_audit_at", "audit_log", &["at"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_log",
            "notes",
            "support_tickets",
            "billing_events",
            "subscriptions",
            "usage_events",
            "contacts",
            "customer_identities",
            "customers",
            "login_attempts",
            "sessions",
            "users",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
