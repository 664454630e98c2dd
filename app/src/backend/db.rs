//! Connecting to SQLite or Postgres and running migrations.

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DbErr, IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// The embedded default: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/vcsm.db?mode=rwc";

/// Opens a pool. For a SQLite file, creates its directory and switches to WAL so readers
/// don't block the writer.
///
/// # Errors
/// Returns the driver's error when the database can't be reached or created.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let file = path.split('?').next().unwrap_or("");
        if let Some(parent) = std::path::Path::new(file)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
        }
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .max_connections(if url.starts_with("sqlite") { 8 } else { 16 });
    // Per-connection SQLite settings, applied to every pooled connection: WAL so readers
    // don't block the writer, NORMAL sync (durable across app crashes in WAL mode), and
    // a writer waits up to BUSY_TIMEOUT for another's transaction (an import chunk, a
    // portfolio re-score) instead of failing with "database is locked".
    options.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
    });
    Database::connect(options).await
}

/// How long a SQLite writer waits for the write lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write
/// lock is taken (waiting up to [`BUSY_TIMEOUT`]) before the first read. A deferred
/// transaction that reads and then writes fails at once with "database is locked" when
/// another connection wrote in between, whatever the busy timeout. Inside a transaction
/// it is a savepoint; on Postgres a plain `BEGIN`.
///
/// # Errors
/// Returns the driver's error when the transaction can't start.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Starts a transaction that only reads: one connection and one consistent snapshot
/// (Postgres: `REPEATABLE READ, READ ONLY`; SQLite: a deferred transaction, which takes
/// no lock as long as it doesn't write). Its queries run one after another, so work
/// read this way uses one core at a time and leaves the other to pages.
///
/// # Errors
/// Returns the driver's error when the transaction can't start.
pub async fn begin_read<C: TransactionTrait + ConnectionTrait>(
    db: &C,
) -> Result<C::Transaction, DbErr> {
    let options = match db.get_database_backend() {
        DatabaseBackend::Postgres => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            sqlite_transaction_mode: None,
        },
        _ => TransactionOptions::default(),
    };
    db.begin_with_options(options).await
}

/// Applies every pending migration.
///
/// # Errors
/// Returns the failing migration's error.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
