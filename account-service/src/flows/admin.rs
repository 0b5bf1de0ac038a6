//! What admins do: list accounts and change roles.

use common::http::pagination::{Cursor, Page};
use contracts::accounts::{Account, AccountPage, Role};
use uuid::Uuid;

use super::{AccountError, Deps};
use crate::{domain::Email, storage::accounts};

pub async fn list_accounts(deps: &Deps, page: Page) -> Result<AccountPage, AccountError> {
    let client = deps.database.pool().get().await?;
    let after = page.after.map(|cursor| (cursor.at, cursor.id));
    let rows = accounts::list_accounts(&client, after, page.fetch_limit()).await?;
    let (items, next_cursor) =
        page.finish(rows, |account| Cursor::new(account.created_at, account.id));
    Ok(AccountPage { items, next_cursor })
}

#[tracing::instrument(skip_all, fields(%account_id, role = role.as_str()))]
pub async fn change_role(
    deps: &Deps,
    account_id: Uuid,
    role: Role,
) -> Result<Account, AccountError> {
    let client = deps.database.pool().get().await?;
    let account = accounts::update_role(&client, account_id, role)
        .await?
        .ok_or(AccountError::NotFound)?;
    tracing::info!("role changed");
    Ok(account)
}

/// Appoints the first admin (from the command line: `account-service grant-admin EMAIL`).
pub async fn grant_admin(deps: &Deps, email: &str) -> Result<(), AccountError> {
    let email = Email::parse(email)
        .map_err(|error| AccountError::Invalid([("email".to_owned(), error.to_owned())].into()))?;
    let client = deps.database.pool().get().await?;
    if accounts::update_role_by_email(&client, email.as_str(), Role::Admin).await? {
        Ok(())
    } else {
        Err(AccountError::NotFound)
    }
}
