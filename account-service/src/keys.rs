//! The Ed25519 keys access tokens are signed with: loading (or, in development, generating
//! once) the signing key, and the JWKS that publishes every public key still accepted.

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use contracts::accounts::{Jwks, PublicJwk};
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{DecodePublicKey, EncodePrivateKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::EncodingKey;
use sha2::{Digest, Sha256};

use crate::config::TokenConfig;

/// The current signing key, its id, and the published key set.
pub struct SigningKeys {
    pub encoding_key: EncodingKey,
    pub kid: String,
    pub jwks: Jwks,
}

impl SigningKeys {
    pub fn load(config: &TokenConfig) -> anyhow::Result<Self> {
        let signing_key = config.signing_key.load()?;
        let extra = config
            .extra_public_key_files
            .iter()
            .map(|path| {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("reading public key {}", path.display()))?;
                VerifyingKey::from_public_key_pem(&pem)
                    .with_context(|| format!("{} is not an Ed25519 public key", path.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Self::new(&signing_key, &extra)
    }

    /// Signs with `signing_key`; publishes its public key and the `extra` ones.
    pub fn new(signing_key: &SigningKey, extra: &[VerifyingKey]) -> anyhow::Result<Self> {
        let pem = signing_key
            .to_pkcs8_pem(LineEnding::LF)
            .context("encoding the signing key")?;
        let encoding_key =
            EncodingKey::from_ed_pem(pem.as_bytes()).context("loading the signing key")?;
        let current = signing_key.verifying_key();
        let keys = std::iter::once(&current)
            .chain(extra)
            .map(public_jwk)
            .collect();
        Ok(Self {
            encoding_key,
            kid: key_id(&current),
            jwks: Jwks { keys },
        })
    }
}

/// The key id: the first 8 bytes of the public key's SHA-256, in hex. Stable for a key.
fn key_id(key: &VerifyingKey) -> String {
    Sha256::digest(key.as_bytes())[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn public_jwk(key: &VerifyingKey) -> PublicJwk {
    PublicJwk {
        kty: "OKP".to_owned(),
        crv: "Ed25519".to_owned(),
        x: URL_SAFE_NO_PAD.encode(key.as_bytes()),
        kid: key_id(key),
        alg: "EdDSA".to_owned(),
        key_use: "sig".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::signing_keys::generate_signing_key;

    #[test]
    fn the_jwks_publishes_the_signing_key_and_every_extra_key_under_distinct_ids() {
        let current = generate_signing_key().expect("key");
        let previous = generate_signing_key().expect("key");

        let keys = SigningKeys::new(&current, &[previous.verifying_key()]).expect("keys");

        assert_eq!(keys.jwks.keys.len(), 2);
        assert_eq!(keys.jwks.keys[0].kid, keys.kid);
        assert_ne!(keys.jwks.keys[0].kid, keys.jwks.keys[1].kid);
        assert!(keys.jwks.keys.iter().all(|jwk| jwk.alg == "EdDSA"));
    }
}
