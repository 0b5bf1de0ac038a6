//! Password hashing with argon2id, off the async workers (spawn_blocking) and behind a
//! semaphore, so that a burst of logins queues instead of stalling every other request.

use std::sync::Arc;

use anyhow::Context;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordConfig;

#[derive(Clone)]
pub struct Passwords {
    argon2: Arc<Argon2<'static>>,
    permits: Arc<Semaphore>,
    /// A real hash of a random password: verified against when the email is unknown, so that
    /// a login takes as long whether or not the account exists.
    decoy_hash: Arc<String>,
}

impl Passwords {
    pub fn new(config: &PasswordConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy = uuid::Uuid::new_v4().to_string();
        let decoy_hash = argon2
            .hash_password(decoy.as_bytes())
            .map_err(|error| anyhow::anyhow!("hashing the decoy: {error}"))?
            .to_string();
        Ok(Self {
            argon2: Arc::new(argon2),
            permits: Arc::new(Semaphore::new(config.max_concurrent_hashes.max(1))),
            decoy_hash: Arc::new(decoy_hash),
        })
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let argon2 = Arc::clone(&self.argon2);
        self.run_blocking(move || {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
        })
        .await
    }

    /// Whether `password` matches `stored`; with no stored hash it checks the decoy and says
    /// no, in the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let argon2 = Arc::clone(&self.argon2);
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy_hash.as_ref().clone());
        let matches = self
            .run_blocking(move || {
                Ok(argon2
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password hashing is shut down")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing panicked")?
    }
}
