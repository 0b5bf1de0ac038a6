//! Registering, and reading or changing one's own profile and contacts.

use contracts::accounts::{
    Account, ContactDetails, MAX_CONTACTS_LOOKUP, RegisterAccountRequest, UpdateProfileRequest,
};
use uuid::Uuid;

use super::{AccountError, Deps};
use crate::{
    domain::{FieldErrors, NewAccount, ProfileChange},
    storage::accounts,
};

#[tracing::instrument(skip_all)]
pub async fn register(
    deps: &Deps,
    request: RegisterAccountRequest,
) -> Result<Account, AccountError> {
    let account = NewAccount::parse(request).map_err(AccountError::Invalid)?;
    let password_hash = deps.passwords.hash(account.password.clone()).await?;
    let client = deps.database.pool().get().await?;
    let created = accounts::insert_account(&client, &account, &password_hash).await?;
    tracing::info!(account_id = %created.id, role = created.role.as_str(), "account registered");
    Ok(created)
}

pub async fn profile(deps: &Deps, account_id: Uuid) -> Result<Account, AccountError> {
    let client = deps.database.pool().get().await?;
    accounts::find_account_by_id(&client, account_id)
        .await?
        .ok_or(AccountError::NotFound)
}

#[tracing::instrument(skip_all, fields(%account_id))]
pub async fn update_profile(
    deps: &Deps,
    account_id: Uuid,
    request: UpdateProfileRequest,
) -> Result<Account, AccountError> {
    let change = ProfileChange::parse(request).map_err(AccountError::Invalid)?;
    let client = deps.database.pool().get().await?;
    accounts::update_profile(&client, account_id, &change)
        .await?
        .ok_or(AccountError::NotFound)
}

/// For delivery-service and ticket-service: where and how to reach account holders.
pub async fn contact_details(
    deps: &Deps,
    account_ids: &[Uuid],
) -> Result<Vec<ContactDetails>, AccountError> {
    if account_ids.is_empty() || account_ids.len() > MAX_CONTACTS_LOOKUP {
        let mut errors = FieldErrors::new();
        errors.insert(
            "account_ids".to_owned(),
            format!("must name 1 to {MAX_CONTACTS_LOOKUP} accounts"),
        );
        return Err(AccountError::Invalid(errors));
    }
    let client = deps.database.pool().get().await?;
    Ok(accounts::find_contact_details(&client, account_ids).await?)
}
