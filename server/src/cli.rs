//! Commands: serve, migrate, demo, create-user.

use app::backend::{db, demo, users, AppState, Config};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "vcsm",
    version,
    about = "Virtual CSM: customer success, self-hosted"
)]
pub struct Cli {
    /// Database URL: `sqlite://data/vcsm.db?mode=rwc` (default) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL, global = true)]
    database_url: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Migrate the database and serve the web app (default).
    Serve {
        /// Demo mode: create the demo users and, on an empty database, the demo portfolio.
        #[arg(long, env = "VCSM_DEMO")]
        demo: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Generate a deterministic demo portfolio into the database.
    Demo {
        #[arg(long, default_value_t = 300)]
        customers: usize,
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Last day of the generated history (default: today, UTC).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Manage event sources (Segment-compatible write keys).
    Source {
        #[command(subcommand)]
        action: SourceAction,
    },
    /// Import companies and contacts from HubSpot now (token from the Integrations page or
    /// HUBSPOT_TOKEN).
    HubspotSync,
    /// The churn model.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Playbooks as JSON: list, export one, import one (a new playbook turned off, or the
    /// next version of an existing one).
    Playbook {
        #[command(subcommand)]
        action: PlaybookAction,
    },
    /// Manage REST API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Create a user.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long, env = "VCSM_NEW_USER_PASSWORD")]
        password: String,
        /// admin, manager, csm or executive.
        #[arg(long)]
        role: String,
        /// Display name (default: the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum SourceAction {
    /// Create a source and print its write key (shown only once).
    Create {
        name: String,
        /// Let `group` calls create customers that don't exist yet.
        #[arg(long)]
        create_customers: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ModelAction {
    /// Retrain the churn model on the portfolio's history now, re-predict every customer,
    /// and print the model's metrics.
    Train,
}

#[derive(Subcommand, Debug)]
enum PlaybookAction {
    /// Every playbook: key, status, version, name.
    List,
    /// Print a playbook's current definition as JSON.
    Export { key: String },
    /// Read a definition from a JSON file (`-` for standard input) and store it under `key`.
    Import { key: String, file: String },
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Create a token and print it (shown only once).
    Create {
        /// What it is for, e.g. "data warehouse sync".
        #[arg(long, default_value = "API token")]
        name: String,
        /// admin, manager, csm or executive.
        #[arg(long)]
        role: String,
    },
    /// Revoke a token by its id.
    Revoke { id: i64 },
}

/// Runs a command.
///
/// # Errors
/// Returns a message for the user; the process exits non-zero.
pub async fn run(cli: Cli) -> Result<(), String> {
    let conn = db::connect(&cli.database_url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db::migrate(&conn)
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    app::backend::playbooks::load_library(&conn, Utc::now())
        .await
        .map_err(|e| format!("loading the ready playbooks failed: {e}"))?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Migrate => {
            println!("database is up to date");
            Ok(())
        }
        Command::Demo {
            customers,
            days,
            seed,
            as_of,
        } => {
            if demo::has_customers(&conn)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(
                    "the database already has customers; the demo portfolio goes into an empty one"
                        .into(),
                );
            }
            seed_demo(&conn, customers, days, seed, as_of).await
        }
        Command::Source {
            action:
                SourceAction::Create {
                    name,
                    create_customers,
                },
        } => {
            match app::backend::ingest::create_source(
                &conn,
                None,
                &name,
                create_customers,
                Utc::now(),
            )
            .await
            {
                Ok(s) => {
                    println!("created source {:?} (id {})", s.name, s.id);
                    println!("write key: {}", s.write_key);
                    Ok(())
                }
                Err(app::error::AppError::Validation(v)) => Err(v.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
        Command::HubspotSync => {
            use app::backend::hubspot;
            let now = Utc::now();
            let token = hubspot::token(&conn, now)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no HubSpot token: set it on the Integrations page or in HUBSPOT_TOKEN")?;
            let meter = app::backend::meter::Meter::default();
            let http = reqwest::Client::new();
            let report = hubspot::sync(
                &conn,
                &http,
                &meter,
                &hubspot::api_base(std::env::var("HUBSPOT_API_BASE").ok().as_deref()),
                &token,
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            meter.flush(&conn).await.map_err(|e| e.to_string())?;
            println!(
                "HubSpot: {} companies created, {} linked; {} contacts created, {} updated; {} skipped",
                report.companies_created,
                report.companies_linked,
                report.contacts_created,
                report.contacts_updated,
                report.skipped_total
            );
            for s in &report.skipped {
                println!("  skipped: {s}");
            }
            Ok(())
        }
        Command::Model {
            action: ModelAction::Train,
        } => {
            let cache = app::backend::health::PortfolioCache::default();
            let outcome = app::backend::pipeline::retrain(&conn, &cache, "cli", Utc::now())
                .await
                .map_err(|e| format!("training failed: {e}"))?;
            print_training(&outcome);
            if outcome.status == "failed" {
                return Err("training failed; the previous model stays in use".into());
            }
            Ok(())
        }
        Command::Token {
            action: TokenAction::Create { name, role },
        } => match app::backend::tokens::create(&conn, &name, &role, Utc::now()).await {
            Ok(t) => {
                println!("created API token {} ({})", t.id, t.role.as_str());
                println!("token: {}", t.token);
                println!("use it as: Authorization: Bearer {}", t.token);
                Ok(())
            }
            Err(app::error::AppError::Validation(v)) => Err(v.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Command::Token {
            action: TokenAction::Revoke { id },
        } => app::backend::tokens::revoke(&conn, id, Utc::now())
            .await
            .map(|()| println!("revoked API token {id}"))
            .map_err(|e| e.to_string()),
        Command::Playbook { action } => playbook_command(&conn, action).await,
        Command::CreateUser {
            email,
            password,
            role,
            name,
        } => {
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            let input = users::NewUser {
                email,
                name,
                role,
                password,
            };
            match users::create_user(&conn, None, &input, Utc::now()).await {
                Ok(u) => {
                    println!("created {} ({})", u.email, u.role.as_str());
                    Ok(())
                }
                Err(app::error::AppError::Validation(v)) => Err(v.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
        Command::Serve { demo: demo_mode } => {
            if demo_mode {
                if !demo::has_customers(&conn)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    seed_demo(&conn, 300, 365, 42, None).await?;
                }
                demo::ensure_demo_users(&conn, Utc::now())
                    .await
                    .map_err(|e| e.to_string())?;
            } else if users::count(&conn).await.map_err(|e| e.to_string())? == 0 {
                tracing::warn!("no users yet: create one with `vcsm create-user --email … --password … --role admin`");
            }
            let config = Config {
                secure_cookies: env_flag("VCSM_SECURE_COOKIES"),
                trust_proxy: env_flag("VCSM_TRUST_PROXY"),
                demo_mode,
                hubspot_api_base: std::env::var("HUBSPOT_API_BASE").ok(),
                smtp_url: std::env::var("VCSM_SMTP_URL")
                    .ok()
                    .filter(|v| !v.is_empty()),
                mail_from: std::env::var("VCSM_MAIL_FROM")
                    .ok()
                    .filter(|v| !v.is_empty()),
                public_url: std::env::var("VCSM_PUBLIC_URL")
                    .ok()
                    .filter(|v| !v.is_empty()),
                allow_private_urls: env_flag("VCSM_ALLOW_PRIVATE_URLS"),
            };
            config.mailer()?;
            let leptos_options = leptos::config::get_configuration(None)
                .map_err(|e| format!("bad Leptos settings: {e}"))?
                .leptos_options;
            let state = AppState::new(leptos_options, conn, config);
            if demo_mode {
                println!(
                    "Demo login: admin@example.com / {}  (also manager@, priya@, exec@example.com)",
                    vcsm::demo::DEMO_PASSWORD
                );
            }
            crate::http::serve(state).await
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

/// The figures of a training run, for people at a terminal.
fn print_training(o: &app::backend::churn::TrainingOutcome) {
    println!(
        "churn model: {} in {:.1}s (run {}): {} observations of {} customers, {} churned within {} days",
        o.status,
        o.duration.as_secs_f64(),
        o.id,
        o.observations,
        o.customers,
        o.churned,
        vcsm::churn::HORIZON_DAYS
    );
    if let Some(d) = &o.detail {
        println!("  {d}");
    }
    let Some(m) = &o.metrics else {
        return;
    };
    println!(
        "  cross-validated AUC {} ({} folds, grouped by customer), top-decile lift {}, base rate {:.1} %",
        pct(m.cv_auc),
        m.cv_folds,
        m.top_decile_lift
            .map_or_else(|| "n/a".into(), |l| format!("{l:.2}×")),
        m.base_rate * 100.0
    );
    println!("  health score alone: AUC {}", pct(m.health_auc));
    for c in &m.candidates {
        println!(
            "  forward test: {}: AUC {}, lift {}{}",
            c.name,
            pct(c.forward.auc),
            c.forward
                .lift
                .map_or_else(|| "n/a".into(), |l| format!("{l:.2}×")),
            if c.chosen { "  ← in use" } else { "" }
        );
    }
    match &m.backtest {
        Some(b) => println!(
            "  backtest: scored {} → {}: {} customers, {} churned, AUC {}, {} of {} flagged high risk churned",
            b.scored_on,
            b.until,
            b.customers,
            b.churned,
            pct(b.auc),
            b.caught,
            b.flagged
        ),
        None => println!("  backtest: not enough history a horizon back"),
    }
    println!("  calibration (predicted → observed):");
    for bin in &m.calibration {
        println!(
            "    {:>3.0}–{:>3.0} %: {:>6} observations, predicted {:>5.1} %, observed {:>5.1} %",
            bin.from * 100.0,
            bin.from * 100.0 + 10.0,
            bin.samples,
            bin.mean_predicted * 100.0,
            bin.observed * 100.0
        );
    }
    let mut coefficients = m.coefficients.clone();
    coefficients.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    if m.algorithm.starts_with("Gradient-boosted") {
        println!("  strongest groups (mean push on the log-odds; sign: higher values raise (+) or lower (−) the risk):");
    } else {
        println!("  strongest coefficients (log-odds per standard deviation):");
    }
    for c in coefficients.iter().take(6) {
        println!("    {:+.2}  {}", c.weight, c.label);
    }
}

async fn playbook_command(
    conn: &sea_orm::DatabaseConnection,
    action: PlaybookAction,
) -> Result<(), String> {
    use app::backend::playbooks;
    use sea_orm::EntityTrait;
    let db_err = |e: sea_orm::DbErr| e.to_string();
    match action {
        PlaybookAction::List => {
            let all = app::backend::entities::playbook::Entity::find()
                .all(conn)
                .await
                .map_err(db_err)?;
            for pb in all {
                let version = playbooks::current(conn, &pb)
                    .await
                    .map_err(db_err)?
                    .map_or(0, |(v, _)| v.version);
                println!(
                    "{:<28} {:<7} v{:<3} {}",
                    pb.key, pb.status, version, pb.name
                );
            }
            Ok(())
        }
        PlaybookAction::Export { key } => {
            let pb = playbooks::by_key(conn, &key)
                .await
                .map_err(db_err)?
                .ok_or_else(|| format!("no playbook “{key}”"))?;
            let (_, def) = playbooks::current(conn, &pb)
                .await
                .map_err(db_err)?
                .ok_or_else(|| format!("playbook “{key}” has no version"))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&def).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        PlaybookAction::Import { key, file } => {
            if !playbooks::valid_key(&key) {
                return Err(format!(
                    "“{key}”: a key is 1 to {} lowercase letters, digits, - or _",
                    playbooks::MAX_KEY
                ));
            }
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?
            } else {
                std::fs::read_to_string(&file).map_err(|e| format!("cannot read {file}: {e}"))?
            };
            let catalog = playbooks::catalog(conn).await.map_err(db_err)?;
            let def = vcsm::playbooks::validate::parse(&text, &catalog).map_err(|problems| {
                let lines: Vec<String> = problems
                    .0
                    .iter()
                    .map(|p| format!("  {}: {}", p.field, p.message))
                    .collect();
                format!("the playbook was not saved:\n{}", lines.join("\n"))
            })?;
            // One transaction: a playbook is stored whole or not at all.
            let txn = db::begin_write(conn).await.map_err(db_err)?;
            let (pb, v, created) = playbooks::import(&txn, &key, &def, None, Utc::now())
                .await
                .map_err(db_err)?;
            sea_orm::TransactionSession::commit(txn)
                .await
                .map_err(db_err)?;
            if created {
                println!("created playbook {} (version 1, turned off)", pb.key);
            } else {
                println!("published version {} of {}", v.version, pb.key);
            }
            Ok(())
        }
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes" | "on"))
}

async fn seed_demo(
    conn: &sea_orm::DatabaseConnection,
    customers: usize,
    days: u32,
    seed: u64,
    as_of: Option<NaiveDate>,
) -> Result<(), String> {
    let config = vcsm::demo::DemoConfig {
        customers,
        days,
        seed,
        as_of: as_of.unwrap_or_else(|| Utc::now().date_naive()),
    };
    let started = std::time::Instant::now();
    println!("generating the demo portfolio: {customers} customers × {days} days (seed {seed})…");
    let stats = demo::seed(conn, &config, Utc::now())
        .await
        .map_err(|e| format!("demo seeding failed: {e}"))?;
    println!(
        "demo portfolio ready in {:.1}s: {} customers, {} contacts, {} usage events, {} invoices, {} tickets",
        started.elapsed().as_secs_f64(),
        stats.customers,
        stats.contacts,
        stats.events,
        stats.invoices,
        stats.tickets
    );
    let started = std::time::Instant::now();
    let cache = app::backend::health::PortfolioCache::default();
    let weeks = (days / 7).min(12);
    let scored = app::backend::pipeline::score_history(conn, &cache, weeks, Utc::now())
        .await
        .map_err(|e| format!("scoring the demo portfolio failed: {e}"))?;
    println!(
        "health scored in {:.1}s: {} customers, weekly for {weeks} weeks and today",
        started.elapsed().as_secs_f64(),
        scored.customers
    );
    let outcome = app::backend::pipeline::retrain(conn, &cache, "demo", Utc::now())
        .await
        .map_err(|e| format!("training the churn model failed: {e}"))?;
    print_training(&outcome);
    let started = std::time::Instant::now();
    let history = app::backend::playbooks::history::seed_demo_history(conn, Utc::now())
        .await
        .map_err(|e| format!("writing the playbooks' history failed: {e}"))?;
    println!(
        "playbook history written in {:.1}s: {} enrollments, {} steps, {} e-mails sent, {} tasks done",
        started.elapsed().as_secs_f64(),
        history.enrollments,
        history.steps,
        history.emails,
        history.tasks
    );
    Ok(())
}
