//! Builds account-service from its configuration: the same `build` serves `main` and the tests.

use std::sync::Arc;

use anyhow::Context;
use common::{
    app::App, auth::Authenticator, postgres::Database, readiness::Readiness, redis::RedisStore,
};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::{
    SERVICE,
    config::Config,
    flows::Deps,
    http::{self, AppState},
    keys::SigningKeys,
    passwords::Passwords,
    storage,
    tokens::TokenIssuer,
};

/// The flows' dependencies, without the HTTP server (also used by the command line).
pub async fn deps(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Deps> {
    let database = Database::open(&config.postgres, storage::migrations::runner, shutdown).await?;
    let keys = SigningKeys::load(&config.tokens).context("loading the JWT signing key")?;
    Ok(Deps {
        database,
        redis: RedisStore::open(&config.redis)?,
        passwords: Passwords::new(&config.passwords)?,
        tokens: Arc::new(TokenIssuer::new(keys, &config.tokens)),
        login_throttle: config.login_throttle.clone(),
    })
}

/// Connects to the dependencies (a dependency that is down is retried in the background and
/// reported by `/readyz`), assembles the routes and binds the listener.
pub async fn build(config: Config, shutdown: CancellationToken) -> anyhow::Result<App> {
    let deps = deps(&config, shutdown.clone()).await?;
    let verification = &config.tokens.verification;
    // account-service verifies its own tokens with the keys it holds, without a JWKS fetch.
    let authenticator = Authenticator::fixed(
        deps.tokens.jwks(),
        &verification.issuer,
        &verification.audience,
    )?;
    let readiness = Readiness::new(SERVICE)
        .postgres(&deps.database)
        .redis(&deps.redis);
    let router = common::http::router(
        http::routes(AppState {
            deps: Arc::new(deps),
            authenticator,
        }),
        readiness,
        Registry::default(),
        config.http.request_timeout,
    );
    App::bind(SERVICE, &config.http, router, shutdown).await
}
