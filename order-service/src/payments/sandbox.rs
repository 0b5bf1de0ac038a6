//! The sandbox provider: a card processor's test mode, built in. `tok_visa` succeeds,
//! `tok_declined` declines, `tok_slow` succeeds after `slow_delay` (to exercise timeouts);
//! any other token is declined as unknown. It keeps its own ledger of charges and refunds
//! (tables `sandbox_charges`, `sandbox_refunds`) with the merchant's idempotency keys unique,
//! so a retried charge returns the first outcome and the ledger shows what was really
//! charged. After each new charge it posts a signed webhook to `webhook_url`, retrying a few
//! times, as a processor does.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use async_trait::async_trait;
use axum::http::HeaderMap;
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, RefundRequest, WebhookError,
    WebhookNotice, signature,
};
use crate::config::PaymentConfig;

/// The header the sandbox signs its webhooks in.
pub const SIGNATURE_HEADER: &str = "sandbox-signature";
const WEBHOOK_ATTEMPTS: u32 = 5;
/// Processors send webhooks a moment after they answered; the merchant has usually settled
/// the payment from the answer by then, and the webhook finds nothing left to do.
const WEBHOOK_DELAY: Duration = Duration::from_millis(500);
const WEBHOOK_FIRST_BACKOFF: Duration = Duration::from_millis(200);
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// The sandbox; cheap to clone (webhook deliveries hold a clone).
#[derive(Clone)]
pub struct Sandbox(Arc<Inner>);

struct Inner {
    pool: Pool,
    webhook_secret: Vec<u8>,
    webhook_tolerance_seconds: i64,
    slow_delay: Duration,
    http: reqwest::Client,
    /// Known once the service has bound its port, when no URL is configured.
    webhook_url: OnceLock<String>,
}

/// The body of a sandbox webhook.
#[derive(Debug, Serialize, Deserialize)]
struct WebhookBody {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    idempotency_key: String,
    charge_id: String,
    amount_minor: i64,
    currency: String,
    #[serde(default)]
    decline_reason: Option<String>,
}

impl Sandbox {
    pub fn new(pool: Pool, config: &PaymentConfig) -> anyhow::Result<Self> {
        let inner = Inner {
            pool,
            webhook_secret: config.webhook_secret.expose().as_bytes().to_vec(),
            webhook_tolerance_seconds: i64::try_from(config.webhook_tolerance.as_secs())?,
            slow_delay: config.sandbox_slow_delay,
            http: reqwest::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                .build()?,
            webhook_url: OnceLock::new(),
        };
        if let Some(url) = &config.webhook_url {
            let _ = inner.webhook_url.set(url.clone());
        }
        Ok(Self(Arc::new(inner)))
    }

    /// Where webhooks go when no URL was configured: this service itself.
    pub fn deliver_webhooks_to(&self, url: String) {
        // A configured URL wins; setting twice keeps the first.
        let _ = self.0.webhook_url.set(url);
    }

    async fn record_charge(
        &self,
        request: &ChargeRequest,
    ) -> Result<(ChargeOutcome, bool), ProviderError> {
        let decline_reason = match request.card_token.as_str() {
            "tok_visa" | "tok_slow" => None,
            "tok_declined" => Some("card_declined"),
            _ => Some("unknown_card_token"),
        };
        let status = if decline_reason.is_some() {
            "declined"
        } else {
            "succeeded"
        };
        let client = self.0.pool.get().await.map_err(unavailable)?;
        let inserted = client
            .execute(
                "INSERT INTO sandbox_charges (charge_id, idempotency_key, amount_minor, currency,
                                              card_token, status, decline_reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (idempotency_key) DO NOTHING",
                &[
                    &format!("ch_{}", Uuid::now_v7().simple()),
                    &request.idempotency_key,
                    &request.amount_minor,
                    &request.currency,
                    &request.card_token,
                    &status,
                    &decline_reason,
                ],
            )
            .await
            .map_err(unavailable)?;
        let outcome = find(&client, &request.idempotency_key)
            .await?
            .ok_or_else(|| ProviderError::Unavailable("charge vanished".to_owned()))?;
        Ok((outcome, inserted == 1))
    }

    fn send_webhook(&self, request: &ChargeRequest, outcome: &ChargeOutcome) {
        let Some(url) = self.0.webhook_url.get().cloned() else {
            tracing::warn!("sandbox webhook URL unknown; webhook not sent");
            return;
        };
        let (kind, charge_id, decline_reason) = match outcome {
            ChargeOutcome::Succeeded { charge_id } => ("charge.succeeded", charge_id.clone(), None),
            ChargeOutcome::Declined { reason } => ("charge.declined", String::new(), Some(reason)),
        };
        let body = WebhookBody {
            id: format!("evt_{}", Uuid::now_v7().simple()),
            kind: kind.to_owned(),
            idempotency_key: request.idempotency_key.clone(),
            charge_id,
            amount_minor: request.amount_minor,
            currency: request.currency.clone(),
            decline_reason: decline_reason.cloned(),
        };
        let Ok(body) = serde_json::to_vec(&body) else {
            return;
        };
        let sandbox = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(WEBHOOK_DELAY).await;
            let mut backoff = WEBHOOK_FIRST_BACKOFF;
            for attempt in 1..=WEBHOOK_ATTEMPTS {
                let signed =
                    signature::sign(&sandbox.0.webhook_secret, OffsetDateTime::now_utc(), &body);
                let sent = sandbox
                    .0
                    .http
                    .post(&url)
                    .header(SIGNATURE_HEADER, signed)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => {
                        tracing::warn!(attempt, status = %response.status(), "sandbox webhook refused");
                    }
                    Err(error) => tracing::warn!(attempt, %error, "sandbox webhook not delivered"),
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        });
    }
}

fn unavailable(error: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(error.to_string())
}

async fn find(
    client: &deadpool_postgres::Client,
    idempotency_key: &str,
) -> Result<Option<ChargeOutcome>, ProviderError> {
    let row = client
        .query_opt(
            "SELECT charge_id, status, decline_reason FROM sandbox_charges
             WHERE idempotency_key = $1",
            &[&idempotency_key],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.map(|row| {
        if row.get::<_, &str>(1) == "succeeded" {
            ChargeOutcome::Succeeded {
                charge_id: row.get(0),
            }
        } else {
            ChargeOutcome::Declined {
                reason: row
                    .get::<_, Option<String>>(2)
                    .unwrap_or_else(|| "declined".to_owned()),
            }
        }
    }))
}

#[async_trait]
impl PaymentProvider for Sandbox {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        let sandbox = self.clone();
        // A processor finishes a charge whether or not the merchant waits for the answer:
        // the work runs in a task of its own, which a caller's timeout does not cancel.
        let processing = tokio::spawn(async move {
            if request.card_token == "tok_slow" {
                tokio::time::sleep(sandbox.0.slow_delay).await;
            }
            let (outcome, new) = sandbox.record_charge(&request).await?;
            if new {
                sandbox.send_webhook(&request, &outcome);
            }
            Ok(outcome)
        });
        processing.await.map_err(unavailable)?
    }

    async fn find_charge(
        &self,
        idempotency_key: &str,
    ) -> Result<Option<ChargeOutcome>, ProviderError> {
        let client = self.0.pool.get().await.map_err(unavailable)?;
        find(&client, idempotency_key).await
    }

    async fn refund(&self, request: RefundRequest) -> Result<String, ProviderError> {
        let client = self.0.pool.get().await.map_err(unavailable)?;
        client
            .execute(
                "INSERT INTO sandbox_refunds (refund_id, idempotency_key, charge_id, amount_minor)
                 SELECT $1, $2, charge_id, $4 FROM sandbox_charges
                 WHERE charge_id = $3 AND status = 'succeeded'
                 ON CONFLICT DO NOTHING",
                &[
                    &format!("re_{}", Uuid::now_v7().simple()),
                    &request.idempotency_key,
                    &request.charge_id,
                    &request.amount_minor,
                ],
            )
            .await
            .map_err(unavailable)?;
        let row = client
            .query_opt(
                "SELECT refund_id FROM sandbox_refunds WHERE charge_id = $1",
                &[&request.charge_id],
            )
            .await
            .map_err(unavailable)?;
        row.map(|row| row.get(0)).ok_or_else(|| {
            ProviderError::Unavailable(format!("no succeeded charge {}", request.charge_id))
        })
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookNotice, WebhookError> {
        let header = headers
            .get(SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or(WebhookError::BadSignature)?;
        signature::verify(
            &self.0.webhook_secret,
            header,
            body,
            OffsetDateTime::now_utc(),
            self.0.webhook_tolerance_seconds,
        )?;
        let body: WebhookBody = serde_json::from_slice(body)
            .map_err(|error| WebhookError::Malformed(error.to_string()))?;
        let outcome = match body.kind.as_str() {
            "charge.succeeded" => ChargeOutcome::Succeeded {
                charge_id: body.charge_id,
            },
            "charge.declined" => ChargeOutcome::Declined {
                reason: body.decline_reason.unwrap_or_else(|| "declined".to_owned()),
            },
            other => return Err(WebhookError::Malformed(format!("unknown type {other}"))),
        };
        Ok(WebhookNotice {
            idempotency_key: body.idempotency_key,
            outcome,
        })
    }
}
