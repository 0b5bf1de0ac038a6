//! Issuing tokens: short-lived EdDSA access tokens, and opaque refresh tokens of which only a
//! SHA-256 is stored.

use std::time::Duration;

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use contracts::accounts::{AccessClaims, Jwks, Role, TokenPair};
use jsonwebtoken::{Algorithm, Header};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{config::TokenConfig, keys::SigningKeys};

pub struct TokenIssuer {
    keys: SigningKeys,
    issuer: String,
    audience: String,
    access_token_ttl: Duration,
    refresh_token_ttl: Duration,
}

/// A refresh token as handed to the client, and the hash under which it is stored.
pub struct NewRefreshToken {
    pub token: String,
    pub hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

impl TokenIssuer {
    pub fn new(keys: SigningKeys, config: &TokenConfig) -> Self {
        Self {
            keys,
            issuer: config.verification.issuer.clone(),
            audience: config.verification.audience.clone(),
            access_token_ttl: config.access_token_ttl,
            refresh_token_ttl: config.refresh_token_ttl,
        }
    }

    pub fn jwks(&self) -> &Jwks {
        &self.keys.jwks
    }

    pub fn access_token(
        &self,
        account_id: Uuid,
        role: Role,
        session_id: Uuid,
    ) -> anyhow::Result<String> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(self.access_token_ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account_id,
            role,
            sid: session_id,
            iat: now,
            nbf: now,
            exp: now.saturating_add(ttl),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.keys.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.keys.encoding_key).context("signing")
    }

    pub fn refresh_token(&self) -> anyhow::Result<NewRefreshToken> {
        let mut secret = [0_u8; 32];
        getrandom::fill(&mut secret).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
        let token = URL_SAFE_NO_PAD.encode(secret);
        Ok(NewRefreshToken {
            hash: hash_refresh_token(&token),
            token,
            expires_at: OffsetDateTime::now_utc() + self.refresh_token_ttl,
        })
    }

    pub fn pair(&self, access_token: String, refresh: NewRefreshToken) -> TokenPair {
        TokenPair {
            access_token,
            refresh_token: refresh.token,
            token_type: "Bearer".to_owned(),
            expires_in: self.access_token_ttl.as_secs(),
        }
    }
}

/// Refresh tokens are 256 random bits, so a plain SHA-256 (no salt, no stretching) is enough
/// to make a database leak useless while keeping lookups by hash.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
