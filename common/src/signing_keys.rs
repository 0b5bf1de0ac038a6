//! Ed25519 signing keys from configuration: a PKCS#8 PEM given directly, or a PEM file that
//! in development is generated once and reused. account-service signs access tokens with
//! one, ticket-service ticket codes with another.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding},
};

use crate::config::{ConfigError, Secret, env_or, state_dir_from_env};

/// Where an Ed25519 signing key comes from.
#[derive(Debug, Clone)]
pub enum SigningKeySource {
    /// A PKCS#8 PEM given directly.
    Pem(Secret<String>),
    /// A PKCS#8 PEM file; with `generate_if_missing` (the development default) a new key is
    /// written there on first start and reused afterwards.
    File {
        path: PathBuf,
        generate_if_missing: bool,
    },
}

impl SigningKeySource {
    /// `pem_variable` if set, else the file named by `file_variable`, else
    /// `$TICKETING_STATE_DIR/keys/<default_file_name>`, generated when missing.
    pub fn from_env(
        pem_variable: &str,
        file_variable: &str,
        default_file_name: &str,
    ) -> Result<Self, ConfigError> {
        Ok(match env_or(pem_variable, String::new())? {
            pem if !pem.is_empty() => SigningKeySource::Pem(Secret::new(pem)),
            _ => match env_or(file_variable, PathBuf::new())? {
                path if path.as_os_str().is_empty() => SigningKeySource::File {
                    path: state_dir_from_env()?.join("keys").join(default_file_name),
                    generate_if_missing: true,
                },
                path => SigningKeySource::File {
                    path,
                    generate_if_missing: false,
                },
            },
        })
    }

    pub fn load(&self) -> anyhow::Result<SigningKey> {
        match self {
            SigningKeySource::Pem(pem) => SigningKey::from_pkcs8_pem(pem.expose())
                .context("the signing key is not a PKCS#8 Ed25519 key"),
            SigningKeySource::File {
                path,
                generate_if_missing,
            } => read_or_generate(path, *generate_if_missing),
        }
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
                "generated a development signing key; configure a key file in production");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_development_key_is_generated_once_then_reused() {
        let folder = std::env::temp_dir().join(format!("ticketing-keys-{}", uuid::Uuid::new_v4()));
        let path = folder.join("keys/signing-key.pem");

        let first = read_or_generate(&path, true).expect("generated");
        let second = read_or_generate(&path, true).expect("read back");
        let missing_without_generation = read_or_generate(&folder.join("absent.pem"), false);
        std::fs::remove_dir_all(&folder).expect("clean up");

        assert_eq!(first.to_bytes(), second.to_bytes());
        assert!(missing_without_generation.is_err());
    }
}
