//! The Ed25519 keys access tokens are signed with: loading (or, in development, generating
//! once) the signing key, and the JWKS that publishes every public key still accepted.

use std::path::Path;

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use contracts::accounts::{Jwks, PublicJwk};
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::EncodingKey;
use sha2::{Digest, Sha256};

use crate::config::{SigningKeySource, TokenConfig};

/// The current signing key, its id, and the published key set.
pub struct SigningKeys {
    pub encoding_key: EncodingKey,
    pub kid: String,
    pub jwks: Jwks,
}

impl SigningKeys {
    pub fn load(config: &TokenConfig) -> anyhow::Result<Self> {
        let signing_key = match &config.signing_key {
            SigningKeySource::Pem(pem) => SigningKey::from_pkcs8_pem(pem.expose())
                .context("TICKETING_JWT_SIGNING_KEY is not a PKCS#8 Ed25519 key")?,
            SigningKeySource::File {
                path,
                generate_if_missing,
            } => read_or_generate(path, *generate_if_missing)?,
        };
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

/// A fresh key from the OS's random source.
pub fn generate_signing_key() -> anyhow::Result<SigningKey> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

fn read_or_generate(path: &Path, generate_if_missing: bool) -> anyhow::Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
            .with_context(|| format!("{} is not a PKCS#8 Ed25519 key", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && generate_if_missing => {
            let key = generate_signing_key()?;
            let pem = key.to_pkcs8_pem(LineEnding::LF).context("encoding")?;
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            write_private(path, pem.as_bytes())?;
            tracing::warn!(path = %path.display(),
                "generated a development signing key; configure TICKETING_JWT_SIGNING_KEY_FILE in production");
            Ok(key)
        }
        Err(error) => {
            bail!("cannot read the signing key {}: {error}", path.display())
        }
    }
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
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

    #[test]
    fn a_development_key_is_generated_once_then_reused() {
        let folder = std::env::temp_dir().join(format!("ticketing-keys-{}", uuid::Uuid::new_v4()));
        let path = folder.join("keys/jwt-signing-key.pem");

        let first = read_or_generate(&path, true).expect("generated");
        let second = read_or_generate(&path, true).expect("read back");
        let missing_without_generation = read_or_generate(&folder.join("absent.pem"), false);
        std::fs::remove_dir_all(&folder).expect("clean up");

        assert_eq!(first.to_bytes(), second.to_bytes());
        assert!(missing_without_generation.is_err());
    }
}
