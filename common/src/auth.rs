//! Verifying access tokens, locally, in every service: the `AuthUser` extractor checks the
//! JWT's EdDSA signature against the keys account-service publishes (JWKS, fetched once and
//! cached, fetched again when a token names an unknown `kid`), then `iss`, `aud`, `exp`, `nbf`.
//! No service calls account-service per request.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use contracts::{
    ErrorCode,
    accounts::{AccessClaims, Jwks, Role},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{config::TokenVerificationConfig, http::Problem};

const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Tokens remembered as verified. A buyer at a drop sends the same token many times, and an
/// EdDSA check costs ~50 µs of CPU; a token is looked up by its whole text, so a changed
/// byte is verified afresh, and it is forgotten at its expiry.
const MAX_VERIFIED_TOKENS: usize = 100_000;
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 5;

/// Who made the request, as proven by a valid access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: Role,
    pub session_id: Uuid,
}

impl AuthUser {
    /// 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AuthError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AuthError::Forbidden)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid access token: {0}")]
    Invalid(String),
    #[error("the signing keys cannot be fetched: {0}")]
    KeysUnavailable(String),
    #[error("this action needs another role")]
    Forbidden,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let problem = match &self {
            AuthError::Missing | AuthError::Invalid(_) => Problem::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                self.to_string(),
            ),
            AuthError::KeysUnavailable(cause) => {
                tracing::error!(%cause, "cannot verify tokens: JWKS unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "tokens cannot be verified right now",
                )
                .with_retry_after(1)
            }
            AuthError::Forbidden => Problem::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                self.to_string(),
            ),
        };
        let mut response = problem.into_response();
        if matches!(self, AuthError::Missing | AuthError::Invalid(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

enum KeySource {
    /// Keys given at construction (account-service verifies its own tokens this way).
    Fixed,
    /// Keys fetched from account-service's JWKS URL.
    Remote {
        jwks_url: String,
        http: reqwest::Client,
        min_refresh_interval: Duration,
        last_fetch: Mutex<Option<Instant>>,
    },
}

/// Verifies access tokens. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Authenticator {
    keys: Arc<RwLock<HashMap<String, DecodingKey>>>,
    verified: Arc<RwLock<HashMap<String, (AuthUser, i64)>>>,
    source: Arc<KeySource>,
    validation: Arc<Validation>,
}

impl Authenticator {
    /// Verifies against the keys at `config.jwks_url`, fetched on first use.
    pub fn remote(config: &TokenVerificationConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            keys: Arc::default(),
            verified: Arc::default(),
            source: Arc::new(KeySource::Remote {
                jwks_url: config.jwks_url.clone(),
                http,
                min_refresh_interval: config.jwks_min_refresh_interval,
                last_fetch: Mutex::new(None),
            }),
            validation: Arc::new(validation(&config.issuer, &config.audience)),
        }
    }

    /// Verifies against a fixed set of keys.
    pub fn fixed(jwks: &Jwks, issuer: &str, audience: &str) -> Result<Self, AuthError> {
        Ok(Self {
            keys: Arc::new(RwLock::new(decoding_keys(jwks)?)),
            verified: Arc::default(),
            source: Arc::new(KeySource::Fixed),
            validation: Arc::new(validation(issuer, audience)),
        })
    }

    /// Checks signature, algorithm, issuer, audience, expiry and not-before.
    pub async fn verify(&self, token: &str) -> Result<AuthUser, AuthError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Ok(verified) = self.verified.read()
            && let Some((user, expires_at)) = verified.get(token)
            && *expires_at > now
        {
            return Ok(*user);
        }
        let (user, expires_at) = self.verify_signed(token).await?;
        if let Ok(mut verified) = self.verified.write() {
            if verified.len() >= MAX_VERIFIED_TOKENS {
                verified.retain(|_, (_, expires_at)| *expires_at > now);
                if verified.len() >= MAX_VERIFIED_TOKENS {
                    verified.clear();
                }
            }
            verified.insert(token.to_owned(), (user, expires_at));
        }
        Ok(user)
    }

    async fn verify_signed(&self, token: &str) -> Result<(AuthUser, i64), AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| AuthError::Invalid(error.to_string()))?;
        // The algorithm is pinned: whatever the header claims, only EdDSA is accepted.
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("no key id".to_owned()))?;
        if let Some(user) = self.verify_with_known_key(token, &kid)? {
            return Ok(user);
        }
        self.refresh_keys().await?;
        self.verify_with_known_key(token, &kid)?
            .ok_or_else(|| AuthError::Invalid(format!("unknown key id {kid}")))
    }

    fn verify_with_known_key(
        &self,
        token: &str,
        kid: &str,
    ) -> Result<Option<(AuthUser, i64)>, AuthError> {
        let keys = self
            .keys
            .read()
            .map_err(|_| AuthError::KeysUnavailable("key cache poisoned".to_owned()))?;
        let Some(key) = keys.get(kid) else {
            return Ok(None);
        };
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|error| AuthError::Invalid(error.to_string()))?;
        let user = AuthUser {
            id: data.claims.sub,
            role: data.claims.role,
            session_id: data.claims.sid,
        };
        Ok(Some((user, data.claims.exp)))
    }

    async fn refresh_keys(&self) -> Result<(), AuthError> {
        let KeySource::Remote {
            jwks_url,
            http,
            min_refresh_interval,
            last_fetch,
        } = self.source.as_ref()
        else {
            return Ok(());
        };
        let mut last_fetch = last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < *min_refresh_interval) {
            return Ok(());
        }
        let fetched = async {
            http.get(jwks_url)
                .send()
                .await?
                .error_for_status()?
                .json::<Jwks>()
                .await
        }
        .await
        .map_err(|error| AuthError::KeysUnavailable(error.to_string()))?;
        let keys = decoding_keys(&fetched)?;
        *self
            .keys
            .write()
            .map_err(|_| AuthError::KeysUnavailable("key cache poisoned".to_owned()))? = keys;
        *last_fetch = Some(Instant::now());
        Ok(())
    }
}

fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation
}

fn decoding_keys(jwks: &Jwks) -> Result<HashMap<String, DecodingKey>, AuthError> {
    jwks.keys
        .iter()
        .filter(|jwk| jwk.kty == "OKP" && jwk.crv == "Ed25519")
        .map(|jwk| {
            DecodingKey::from_ed_components(&jwk.x)
                .map(|key| (jwk.kid.clone(), key))
                .map_err(|error| AuthError::KeysUnavailable(format!("key {}: {error}", jwk.kid)))
        })
        .collect()
}

/// `Authorization: Bearer <token>` -> a verified user, or 401/403 as problem+json.
impl<S> FromRequestParts<S> for AuthUser
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        Authenticator::from_ref(state).verify(token).await
    }
}

/// For routes anyone may call but that show more to some: no `Authorization` header is
/// `None`; a header with a bad token is still refused.
impl<S> OptionalFromRequestParts<S> for AuthUser
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            <Self as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}
