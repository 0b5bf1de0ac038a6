//! The `accounts` table.

use contracts::accounts::{Account, ContactDetails, Locale, NotificationPreferences, Role};
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::{Row, error::SqlState};
use uuid::Uuid;

use crate::domain::{NewAccount, ProfileChange};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the email is taken")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

fn unique_violation(error: tokio_postgres::Error) -> WriteError {
    if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        WriteError::EmailTaken
    } else {
        WriteError::Database(error)
    }
}

const ACCOUNT_COLUMNS: &str =
    "id, email, name, phone, role, locale, notify_email, notify_sms, created_at";

fn account_from_row(row: &Row) -> Account {
    Account {
        id: row.get("id"),
        email: row.get("email"),
        name: row.get("name"),
        phone: row.get("phone"),
        // The CHECK constraints admit only the values these parse.
        role: Role::parse(row.get("role")).unwrap_or(Role::Buyer),
        locale: Locale::parse(row.get("locale")).unwrap_or_default(),
        notifications: NotificationPreferences {
            email: row.get("notify_email"),
            sms: row.get("notify_sms"),
        },
        created_at: row.get("created_at"),
    }
}

pub async fn insert_account(
    client: &impl GenericClient,
    account: &NewAccount,
    password_hash: &str,
) -> Result<Account, WriteError> {
    let phone = account.phone.clone().map(|phone| phone.into_string());
    let row = client
        .query_one(
            &format!(
                "INSERT INTO accounts (id, email, password_hash, name, phone, role, locale)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ACCOUNT_COLUMNS}"
            ),
            &[
                &Uuid::now_v7(),
                &account.email.as_str(),
                &password_hash,
                &account.name,
                &phone,
                &account.role.as_str(),
                &account.locale.as_str(),
            ],
        )
        .await
        .map_err(unique_violation)?;
    Ok(account_from_row(&row))
}

/// What login needs: the account's id, role and password hash.
pub struct Credentials {
    pub account_id: Uuid,
    pub role: Role,
    pub password_hash: String,
}

pub async fn find_credentials_by_email(
    client: &impl GenericClient,
    email: &str,
) -> Result<Option<Credentials>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT id, role, password_hash FROM accounts WHERE email = $1",
            &[&email],
        )
        .await?;
    Ok(row.map(|row| Credentials {
        account_id: row.get(0),
        role: Role::parse(row.get(1)).unwrap_or(Role::Buyer),
        password_hash: row.get(2),
    }))
}

pub async fn find_account_by_id(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<Account>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(account_from_row))
}

pub async fn find_contact_details(
    client: &impl GenericClient,
    ids: &[Uuid],
) -> Result<Vec<ContactDetails>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1)"),
            &[&ids],
        )
        .await?;
    Ok(rows
        .iter()
        .map(account_from_row)
        .map(|account| ContactDetails {
            account_id: account.id,
            name: account.name,
            email: account.email,
            phone: account.phone,
            locale: account.locale,
            notifications: account.notifications,
        })
        .collect())
}

/// Changes the fields present in `change`; `None` when there is no such account.
pub async fn update_profile(
    client: &impl GenericClient,
    id: Uuid,
    change: &ProfileChange,
) -> Result<Option<Account>, WriteError> {
    let email = change.email.as_ref().map(|email| email.as_str());
    let phone_changes = change.phone.is_some();
    let phone = change
        .phone
        .clone()
        .flatten()
        .map(|phone| phone.into_string());
    let locale = change.locale.map(|locale| locale.as_str());
    let notify_email = change.notifications.map(|n| n.email);
    let notify_sms = change.notifications.map(|n| n.sms);
    let row = client
        .query_opt(
            &format!(
                "UPDATE accounts SET
                    name = COALESCE($2, name),
                    email = COALESCE($3, email),
                    phone = CASE WHEN $4 THEN $5 ELSE phone END,
                    locale = COALESCE($6, locale),
                    notify_email = COALESCE($7, notify_email),
                    notify_sms = COALESCE($8, notify_sms),
                    updated_at = now()
                 WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}"
            ),
            &[
                &id,
                &change.name,
                &email,
                &phone_changes,
                &phone,
                &locale,
                &notify_email,
                &notify_sms,
            ],
        )
        .await
        .map_err(unique_violation)?;
    Ok(row.as_ref().map(account_from_row))
}

/// A page of accounts, newest first, after the `(created_at, id)` of the previous page's last.
pub async fn list_accounts(
    client: &impl GenericClient,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<Account>, tokio_postgres::Error> {
    let (created_at, id) = after.unzip();
    let rows = client
        .query(
            &format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts
                 WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2)
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            ),
            &[&created_at, &id, &limit],
        )
        .await?;
    Ok(rows.iter().map(account_from_row).collect())
}

pub async fn update_role(
    client: &impl GenericClient,
    id: Uuid,
    role: Role,
) -> Result<Option<Account>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!(
                "UPDATE accounts SET role = $2, updated_at = now() WHERE id = $1
                 RETURNING {ACCOUNT_COLUMNS}"
            ),
            &[&id, &role.as_str()],
        )
        .await?;
    Ok(row.as_ref().map(account_from_row))
}

pub async fn update_role_by_email(
    client: &impl GenericClient,
    email: &str,
    role: Role,
) -> Result<bool, tokio_postgres::Error> {
    let updated = client
        .execute(
            "UPDATE accounts SET role = $2, updated_at = now() WHERE email = $1",
            &[&email, &role.as_str()],
        )
        .await?;
    Ok(updated == 1)
}
