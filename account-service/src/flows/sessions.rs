//! Sessions: login (throttled per email and per client address), refresh with rotation and
//! reuse detection, logout.

use contracts::accounts::TokenPair;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AccountError, Deps};
use crate::{
    domain::Email,
    storage::{accounts, login_attempts, sessions},
    tokens::hash_refresh_token,
};

#[tracing::instrument(skip_all)]
pub async fn login(
    deps: &Deps,
    email: &str,
    password: String,
    client_address: &str,
) -> Result<TokenPair, AccountError> {
    // A malformed email is just an unknown one: same answer, same time.
    let email = Email::parse(email).ok();
    let throttle_keys = [
        email
            .as_ref()
            .map(|email| login_attempts::email_key(&deps.redis, email.as_str())),
        Some(login_attempts::address_key(&deps.redis, client_address)),
    ];
    refuse_if_throttled(deps, &throttle_keys).await?;

    let client = deps.database.pool().get().await?;
    let credentials = match &email {
        Some(email) => accounts::find_credentials_by_email(&client, email.as_str()).await?,
        None => None,
    };
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let verified = deps.passwords.verify(password, stored_hash).await?;
    let Some(credentials) = credentials.filter(|_| verified) else {
        for key in throttle_keys.iter().flatten() {
            login_attempts::record_failure(&deps.redis, key, deps.login_throttle.window)
                .await
                .map_err(anyhow::Error::from)?;
        }
        return Err(AccountError::InvalidCredentials);
    };
    if let Some(key) = &throttle_keys[0] {
        login_attempts::forget(&deps.redis, key)
            .await
            .map_err(anyhow::Error::from)?;
    }

    let session_id = Uuid::now_v7();
    let refresh = deps.tokens.refresh_token()?;
    sessions::insert_refresh_token(
        &client,
        &refresh.hash,
        session_id,
        credentials.account_id,
        refresh.expires_at,
    )
    .await?;
    let access = deps
        .tokens
        .access_token(credentials.account_id, credentials.role, session_id)?;
    tracing::info!(account_id = %credentials.account_id, %session_id, "signed in");
    Ok(deps.tokens.pair(access, refresh))
}

async fn refuse_if_throttled(deps: &Deps, keys: &[Option<String>; 2]) -> Result<(), AccountError> {
    let limits = [
        deps.login_throttle.max_failures_per_email,
        deps.login_throttle.max_failures_per_address,
    ];
    for (key, limit) in keys.iter().zip(limits) {
        let Some(key) = key else { continue };
        let (failures, ttl) = login_attempts::failures(&deps.redis, key)
            .await
            .map_err(anyhow::Error::from)?;
        if failures >= limit {
            return Err(AccountError::TooManyAttempts {
                retry_after_seconds: ttl.max(1),
            });
        }
    }
    Ok(())
}

/// Trades a refresh token for a new pair. The old token stops working; presenting it again
/// later revokes its whole session, since only a thief or a replay would.
#[tracing::instrument(skip_all)]
pub async fn refresh(deps: &Deps, refresh_token: &str) -> Result<TokenPair, AccountError> {
    let presented_hash = hash_refresh_token(refresh_token);
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let Some(presented) = sessions::lock_refresh_token(&transaction, &presented_hash).await? else {
        return Err(AccountError::InvalidRefreshToken);
    };
    if presented.used && !presented.revoked {
        sessions::revoke_family(&transaction, presented.family_id).await?;
        transaction.commit().await?;
        tracing::warn!(session_id = %presented.family_id, account_id = %presented.account_id,
            "refresh token reused; session revoked");
        return Err(AccountError::InvalidRefreshToken);
    }
    if presented.revoked || presented.used || presented.expires_at <= OffsetDateTime::now_utc() {
        return Err(AccountError::InvalidRefreshToken);
    }
    sessions::mark_refresh_token_used(&transaction, &presented_hash).await?;
    let next = deps.tokens.refresh_token()?;
    sessions::insert_refresh_token(
        &transaction,
        &next.hash,
        presented.family_id,
        presented.account_id,
        next.expires_at,
    )
    .await?;
    transaction.commit().await?;
    let access =
        deps.tokens
            .access_token(presented.account_id, presented.role, presented.family_id)?;
    Ok(deps.tokens.pair(access, next))
}

/// Ends the session the access token belongs to: its refresh tokens stop working at once
/// (access tokens already issued live out their short lifetime).
#[tracing::instrument(skip_all, fields(%session_id))]
pub async fn logout(deps: &Deps, session_id: Uuid) -> Result<(), AccountError> {
    let client = deps.database.pool().get().await?;
    sessions::revoke_family(&client, session_id).await?;
    Ok(())
}
