//! Postgres: the database a service owns, created if missing, migrated with refinery at start,
//! and a deadpool connection pool over it.
//!
//! A service starts even when Postgres is down: preparation (create + migrate) is tried once
//! at start and then retried in the background, and `/readyz` stays 503 until it succeeds.

use std::{
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, bail};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{NoTls, Row, types::ToSql};
use tokio_util::sync::CancellationToken;

use crate::config::PostgresConfig;

/// How long to wait between two attempts at preparing the database while Postgres is down.
const PREPARE_RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// A service's own database: its pool, and whether its schema is in place yet.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    name: String,
    /// `None` once migrations have run; otherwise why they have not.
    not_prepared: Arc<Mutex<Option<String>>>,
}

impl Database {
    /// Creates the pool (no connection yet), then prepares the database: once now, and again in
    /// the background until it works or `shutdown` fires.
    pub async fn open(
        config: &PostgresConfig,
        migrations: fn() -> refinery::Runner,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let server = server_config(config)?;
        let mut target = server.clone();
        target.dbname(&config.database);
        if target.get_options().is_none() {
            // The default (4) prices a random page like a spinning disk's: the planner then
            // scans and hashes a whole event's places to update the few hundred a batch
            // claims. 1.1 is the usual figure for SSDs; a URL's own `options` win.
            target.options("-c random_page_cost=1.1");
        }
        let manager = Manager::from_config(
            target,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.connect_timeout))
            .create_timeout(Some(config.connect_timeout))
            .build()
            .context("building the Postgres pool")?;
        let database = Self {
            pool,
            name: config.database.clone(),
            not_prepared: Arc::new(Mutex::new(Some("not prepared yet".to_owned()))),
        };

        if let Err(error) = database.prepare(&server, migrations).await {
            tracing::warn!(database = %database.name, error = format!("{error:#}"),
                "cannot prepare the database yet; retrying in the background");
            database.set_not_prepared(Some(format!("{error:#}")));
            let retrying = database.clone();
            tokio::spawn(async move {
                retrying
                    .prepare_until_done(server, migrations, shutdown)
                    .await;
            });
        }
        Ok(database)
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Readiness: migrated, and a connection answers.
    pub async fn check(&self) -> anyhow::Result<()> {
        let pending = self
            .not_prepared
            .lock()
            .map_err(|_| anyhow::anyhow!("readiness state poisoned"))?
            .clone();
        if let Some(reason) = pending {
            bail!("database {} is not migrated: {reason}", self.name);
        }
        let client = self.pool.get().await.context("no connection")?;
        client.simple_query("SELECT 1").await.context("SELECT 1")?;
        Ok(())
    }

    async fn prepare_until_done(
        &self,
        server: tokio_postgres::Config,
        migrations: fn() -> refinery::Runner,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(PREPARE_RETRY_INTERVAL) => {}
            }
            match self.prepare(&server, migrations).await {
                Ok(()) => {
                    tracing::info!(database = %self.name, "database prepared");
                    return;
                }
                Err(error) => self.set_not_prepared(Some(format!("{error:#}"))),
            }
        }
    }

    async fn prepare(
        &self,
        server: &tokio_postgres::Config,
        migrations: fn() -> refinery::Runner,
    ) -> anyhow::Result<()> {
        create_database_if_missing(server, &self.name).await?;
        let mut target = server.clone();
        target.dbname(&self.name);
        migrate(&target, migrations()).await?;
        self.set_not_prepared(None);
        Ok(())
    }

    fn set_not_prepared(&self, reason: Option<String>) {
        match self.not_prepared.lock() {
            Ok(mut state) => *state = reason,
            Err(poisoned) => *poisoned.into_inner() = reason,
        }
    }
}

/// Statements prepared once per pooled connection (deadpool keeps them), for the statements
/// a hot path runs many times a second. A plain `query` with SQL text parses and plans the
/// statement at every call and takes an extra round trip to describe it: on the reservation
/// path that was a tenth of Postgres' CPU.
///
/// From its sixth run on a connection Postgres may use a generic plan, made without the
/// parameters' values: check it (`SET plan_cache_mode = force_generic_plan; PREPARE …;
/// EXPLAIN EXECUTE …`) before moving a statement here. The claim statement's generic plan
/// once probed a table per claim and per array element, and reservations fell fivefold.
pub trait CachedStatements: GenericClient {
    fn query_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send;

    fn query_one_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Row, tokio_postgres::Error>> + Send;

    fn query_opt_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>, tokio_postgres::Error>> + Send;

    fn execute_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, tokio_postgres::Error>> + Send;
}

impl<C: GenericClient> CachedStatements for C {
    async fn query_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.query(&self.prepare_cached(sql).await?, params).await
    }

    async fn query_one_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        self.query_one(&self.prepare_cached(sql).await?, params)
            .await
    }

    async fn query_opt_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        self.query_opt(&self.prepare_cached(sql).await?, params)
            .await
    }

    async fn execute_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        self.execute(&self.prepare_cached(sql).await?, params).await
    }
}

fn server_config(config: &PostgresConfig) -> anyhow::Result<tokio_postgres::Config> {
    let mut server = tokio_postgres::Config::from_str(config.server_url.expose())
        .context("TICKETING_POSTGRES_URL is not a Postgres URL")?;
    server.connect_timeout(config.connect_timeout);
    server.application_name("ticketing");
    Ok(server)
}

/// Opens one connection outside the pool (for administration and migrations).
pub async fn connect(config: &tokio_postgres::Config) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .context("connecting to Postgres")?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "administrative Postgres connection ended");
        }
    });
    Ok(client)
}

/// Database names are identifiers we choose (`orders`, `test_<uuid>`); anything else is refused
/// rather than quoted, so that a configuration typo can't turn into SQL.
fn validate_database_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!("database name {name:?} must be 1-63 characters of a-z, 0-9 and _");
    }
    Ok(())
}

async fn create_database_if_missing(
    server: &tokio_postgres::Config,
    name: &str,
) -> anyhow::Result<()> {
    validate_database_name(name)?;
    let mut maintenance = server.clone();
    maintenance.dbname("postgres");
    let client = connect(&maintenance).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    match client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
    {
        Ok(()) => {
            tracing::info!(database = name, "database created");
            Ok(())
        }
        // Another instance created it between our check and our CREATE.
        Err(error)
            if error.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) =>
        {
            Ok(())
        }
        Err(error) => Err(error).context(format!("CREATE DATABASE {name}")),
    }
}

/// Runs the embedded migrations under an advisory lock, so that instances starting together
/// apply each migration once.
async fn migrate(target: &tokio_postgres::Config, runner: refinery::Runner) -> anyhow::Result<()> {
    const MIGRATION_LOCK: i64 = 0x7469_636b_6574; // "ticket"
    let mut client = connect(target).await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let outcome = runner.run_async(&mut client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    let report = outcome.context("running migrations")?;
    for migration in report.applied_migrations() {
        tracing::info!(migration = %migration, "migration applied");
    }
    Ok(())
}

/// Drops a database, ending its sessions first (test clean-up and tools).
pub async fn drop_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    validate_database_name(name)?;
    let mut maintenance = tokio_postgres::Config::from_str(server_url)?;
    maintenance.dbname("postgres");
    let client = connect(&maintenance).await?;
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .context(format!("DROP DATABASE {name}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_outside_the_safe_alphabet_are_refused() {
        assert!(validate_database_name("orders").is_ok());
        assert!(validate_database_name("test_0a1b").is_ok());
        assert!(validate_database_name("orders\"; DROP").is_err());
        assert!(validate_database_name("").is_err());
        assert!(validate_database_name("Orders").is_err());
    }
}
