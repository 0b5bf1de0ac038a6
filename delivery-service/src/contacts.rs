//! Buyers' contacts and preferences, read from account-service's internal contacts lookup
//! when notices are written, many accounts per call (not cached: a buyer who just added a
//! phone number gets the SMS).

use std::collections::HashMap;

use anyhow::Context;
use contracts::accounts::{
    ContactDetails, ContactsLookup, ContactsLookupRequest, MAX_CONTACTS_LOOKUP,
};
use uuid::Uuid;

#[derive(Clone)]
pub struct Contacts {
    http: reqwest::Client,
    lookup_url: String,
}

impl Contacts {
    pub fn new(account_url: &str, timeout: std::time::Duration) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            lookup_url: format!(
                "{}/internal/v1/contacts/lookup",
                account_url.trim_end_matches('/')
            ),
        })
    }

    /// The contacts of the accounts that exist among `account_ids`.
    pub async fn fetch(
        &self,
        account_ids: &[Uuid],
    ) -> anyhow::Result<HashMap<Uuid, ContactDetails>> {
        let mut found = HashMap::with_capacity(account_ids.len());
        for chunk in account_ids.chunks(MAX_CONTACTS_LOOKUP) {
            let request = ContactsLookupRequest {
                account_ids: chunk.to_vec(),
            };
            let lookup: ContactsLookup = self
                .http
                .post(&self.lookup_url)
                .json(&request)
                .send()
                .await
                .context("asking account-service")?
                .error_for_status()
                .context("account-service's contacts")?
                .json()
                .await
                .context("reading account-service's contacts")?;
            found.extend(
                lookup
                    .contacts
                    .into_iter()
                    .map(|contacts| (contacts.account_id, contacts)),
            );
        }
        Ok(found)
    }
}
