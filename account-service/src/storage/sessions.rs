//! The `refresh_tokens` table: sessions as families of rotating refresh tokens.

use contracts::accounts::Role;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn insert_refresh_token(
    client: &impl GenericClient,
    token_hash: &[u8],
    family_id: Uuid,
    account_id: Uuid,
    expires_at: OffsetDateTime,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, account_id, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[&token_hash, &family_id, &account_id, &expires_at],
        )
        .await?;
    Ok(())
}

/// A presented refresh token, as found (and locked) in its transaction.
pub struct PresentedToken {
    pub family_id: Uuid,
    pub account_id: Uuid,
    pub role: Role,
    pub expires_at: OffsetDateTime,
    pub used: bool,
    pub revoked: bool,
}

/// Locks the token's row, so that two refreshes with one token are decided one after the
/// other: the second sees it used.
pub async fn lock_refresh_token(
    client: &impl GenericClient,
    token_hash: &[u8],
) -> Result<Option<PresentedToken>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT t.family_id, t.account_id, a.role, t.expires_at,
                    t.used_at IS NOT NULL, t.revoked_at IS NOT NULL
             FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id
             WHERE t.token_hash = $1 FOR UPDATE OF t",
            &[&token_hash],
        )
        .await?;
    Ok(row.map(|row| PresentedToken {
        family_id: row.get(0),
        account_id: row.get(1),
        role: Role::parse(row.get(2)).unwrap_or(Role::Buyer),
        expires_at: row.get(3),
        used: row.get(4),
        revoked: row.get(5),
    }))
}

pub async fn mark_refresh_token_used(
    client: &impl GenericClient,
    token_hash: &[u8],
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
            &[&token_hash],
        )
        .await?;
    Ok(())
}

/// Revokes every token of a session (logout, or reuse detected).
pub async fn revoke_family(
    client: &impl GenericClient,
    family_id: Uuid,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "UPDATE refresh_tokens SET revoked_at = now()
             WHERE family_id = $1 AND revoked_at IS NULL",
            &[&family_id],
        )
        .await
}
