//! SMS through a provider's HTTP API (the shape of Twilio's Messages API: form fields `To`,
//! `From`, `Body`, the account and token as HTTP basic auth), or a local log of JSON lines.

use std::{io::Write, path::PathBuf, sync::Arc, time::Duration};

use tokio::sync::Mutex;

use super::SendError;
use crate::config::SmsTransport;

#[derive(Clone)]
pub enum SmsSender {
    Http {
        http: reqwest::Client,
        url: String,
        account: String,
        token: String,
    },
    Log {
        path: PathBuf,
        /// One writer at a time, so that lines never interleave.
        lock: Arc<Mutex<()>>,
    },
}

impl SmsSender {
    pub fn new(transport: &SmsTransport, timeout: Duration) -> anyhow::Result<Self> {
        Ok(match transport {
            SmsTransport::Http {
                url,
                account,
                token,
            } => Self::Http {
                http: reqwest::Client::builder().timeout(timeout).build()?,
                url: url.clone(),
                account: account.clone(),
                token: token.expose().clone(),
            },
            SmsTransport::Log(path) => {
                if let Some(folder) = path.parent() {
                    std::fs::create_dir_all(folder)?;
                }
                Self::Log {
                    path: path.clone(),
                    lock: Arc::default(),
                }
            }
        })
    }

    pub async fn send(&self, from: &str, to: &str, body: &str) -> Result<(), SendError> {
        match self {
            Self::Http {
                http,
                url,
                account,
                token,
            } => {
                let answer = http
                    .post(url)
                    .basic_auth(account, Some(token))
                    .form(&[("To", to), ("From", from), ("Body", body)])
                    .send()
                    .await
                    .map_err(|error| SendError::Transient(error.to_string()))?;
                let status = answer.status();
                if status.is_success() {
                    Ok(())
                } else if status.is_client_error()
                    && status != reqwest::StatusCode::TOO_MANY_REQUESTS
                {
                    Err(SendError::Permanent(format!(
                        "the SMS provider answered {status}"
                    )))
                } else {
                    Err(SendError::Transient(format!(
                        "the SMS provider answered {status}"
                    )))
                }
            }
            Self::Log { path, lock } => {
                let line = serde_json::json!({"to": to, "from": from, "body": body}).to_string();
                let _guard = lock.lock().await;
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)?;
                    writeln!(file, "{line}")
                })
                .await
                .map_err(|error| SendError::Transient(error.to_string()))?
                .map_err(|error| SendError::Transient(error.to_string()))
            }
        }
    }
}
