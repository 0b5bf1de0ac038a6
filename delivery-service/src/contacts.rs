//! Buyers' contacts and preferences, read from account-service's internal contacts endpoint
//! when a notice is written (not cached: a buyer who just added a phone number gets the SMS).

use anyhow::Context;
use contracts::accounts::ContactDetails;
use uuid::Uuid;

#[derive(Clone)]
pub struct Contacts {
    http: reqwest::Client,
    account_url: String,
}

impl Contacts {
    pub fn new(account_url: &str, timeout: std::time::Duration) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            account_url: account_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The account's contacts, or `None` if there is no such account.
    pub async fn fetch(&self, account_id: Uuid) -> anyhow::Result<Option<ContactDetails>> {
        let url = format!(
            "{}/internal/v1/accounts/{account_id}/contacts",
            self.account_url
        );
        let answer = self
            .http
            .get(url)
            .send()
            .await
            .context("asking account-service")?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(
            answer
                .error_for_status()
                .context("account-service's contacts")?
                .json()
                .await
                .context("reading account-service's contacts")?,
        ))
    }
}
