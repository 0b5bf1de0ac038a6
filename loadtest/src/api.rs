//! The public API calls the scenarios make (only what API.md promises).

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use uuid::Uuid;

/// Tries of one payment when it is answered 503.
const PAYMENT_ATTEMPTS: u32 = 10;

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    /// For ticket downloads: the 302 to the store is followed by hand, without the token.
    no_redirects: reqwest::Client,
    pub target: String,
}

impl Api {
    pub fn new(target: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4_096)
            .timeout(Duration::from_secs(30))
            .build()?;
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;
        let target = target.trim_end_matches('/').to_owned();
        Ok(Self {
            http,
            no_redirects,
            target,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target)
    }

    async fn expect(
        &self,
        request: reqwest::RequestBuilder,
        status: u16,
        what: &str,
    ) -> anyhow::Result<Value> {
        let response = request.send().await.with_context(|| what.to_owned())?;
        let code = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if code != status {
            bail!("{what}: expected {status}, got {code}: {body}");
        }
        Ok(body)
    }

    /// Registers an account and signs it in; returns its access token.
    pub async fn account(&self, email: &str, account_type: &str) -> anyhow::Result<String> {
        let password = "load-test password 1234";
        self.expect(
            self.http.post(self.url("/v1/accounts")).json(&json!({
                "email": email, "password": password, "name": "Load Test",
                "account_type": account_type
            })),
            201,
            "registering",
        )
        .await?;
        let tokens = self
            .expect(
                self.http
                    .post(self.url("/v1/sessions"))
                    .json(&json!({"email": email, "password": password})),
                200,
                "signing in",
            )
            .await?;
        tokens["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access token")
    }

    pub async fn post(
        &self,
        token: &str,
        path: &str,
        body: &Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        self.expect(
            self.http.post(self.url(path)).bearer_auth(token).json(body),
            status,
            path,
        )
        .await
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// A buyer's `Authorization` header, made once per buyer rather than once per request.
    pub fn authorization(token: &str) -> anyhow::Result<HeaderValue> {
        HeaderValue::from_str(&format!("Bearer {token}")).context("a token that fits a header")
    }

    /// `POST /v1/orders/{id}/payment`, as a careful client pays: one key, and on a 503 the
    /// same request again after `Retry-After` (a few times). The last status code.
    pub async fn pay(&self, token: &str, order_id: Uuid, card_token: &str) -> anyhow::Result<u16> {
        let key = Uuid::now_v7().to_string();
        let mut status = 0;
        for _ in 0..PAYMENT_ATTEMPTS {
            let response = self
                .http
                .post(self.url(&format!("/v1/orders/{order_id}/payment")))
                .bearer_auth(token)
                .header("Idempotency-Key", &key)
                .json(&json!({ "card_token": card_token }))
                .send()
                .await?;
            status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(1);
            let _ = response.bytes().await;
            if status != 503 {
                break;
            }
            tokio::time::sleep(Duration::from_secs(retry_after)).await;
        }
        Ok(status)
    }

    /// Every ticket of the buyer, all pages.
    pub async fn tickets(&self, token: &str) -> anyhow::Result<Vec<Value>> {
        let mut tickets = Vec::new();
        let mut path = "/v1/tickets?limit=100".to_owned();
        loop {
            let (status, page) = self.get(Some(token), &path).await?;
            if status != 200 {
                bail!("the ticket list answered {status}");
            }
            tickets.extend(page["tickets"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/tickets?limit=100&cursor={cursor}"),
                None => return Ok(tickets),
            }
        }
    }

    /// A ticket's document (only its first bytes when `whole` is false), through its
    /// download link.
    pub async fn ticket_document(
        &self,
        token: &str,
        ticket_id: &str,
        whole: bool,
    ) -> anyhow::Result<Vec<u8>> {
        let redirect = self
            .no_redirects
            .get(self.url(&format!("/v1/tickets/{ticket_id}/document")))
            .bearer_auth(token)
            .send()
            .await?;
        if redirect.status().as_u16() != 302 {
            bail!("the download answered {}", redirect.status());
        }
        let link = redirect
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .context("a 302 without a link")?
            .to_owned();
        let mut request = self.no_redirects.get(link);
        if !whole {
            request = request.header("range", "bytes=0-4");
        }
        let document = request.send().await?;
        if !document.status().is_success() {
            bail!("the store answered {}", document.status());
        }
        Ok(document.bytes().await?.to_vec())
    }
}
