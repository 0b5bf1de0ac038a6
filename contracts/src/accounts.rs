//! Accounts and sessions on the wire: registration, login, token pairs, profiles, roles, the
//! access-token claims every service verifies, and the JWKS that publishes the keys.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a signed-in user may do. Carried in the access token (`role` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Buyer,
    Organiser,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::Organiser => "organiser",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "buyer" => Some(Role::Buyer),
            "organiser" => Some(Role::Organiser),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The kinds of account anyone may register; admins are appointed, never self-registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Buyer,
    Organiser,
}

/// Languages notifications are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    #[default]
    En,
    Ru,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "en" => Some(Locale::En),
            "ru" => Some(Locale::Ru),
            _ => None,
        }
    }
}

/// `POST /v1/accounts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterAccountRequest {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub account_type: Option<AccountType>,
    #[serde(default)]
    pub locale: Option<Locale>,
}

/// Channels a buyer wants notifications on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPreferences {
    pub email: bool,
    pub sms: bool,
}

/// An account as its owner (or an admin) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub locale: Locale,
    pub notifications: NotificationPreferences,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `PATCH /v1/me`: only the fields present change; `"phone": null` removes the phone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateProfileRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<NotificationPreferences>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `POST /v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `POST /v1/sessions/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The answer to a login or a refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token, in seconds.
    pub expires_in: u64,
}

/// Claims of an access token (a JWT signed with EdDSA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The account id.
    pub sub: Uuid,
    pub role: Role,
    /// The session (refresh-token family) this token was issued in; logout revokes it.
    pub sid: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// One public key of the JWKS (RFC 7517 / RFC 8037: an Ed25519 `OKP` key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

/// `GET /.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

/// `GET /v1/admin/accounts`: a page, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountPage {
    pub items: Vec<Account>,
    pub next_cursor: Option<String>,
}

/// `PUT /v1/admin/accounts/{id}/role`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeRoleRequest {
    pub role: Role,
}

/// What delivery-service needs to notify an account holder (internal lookup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetails {
    pub account_id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub locale: Locale,
    pub notifications: NotificationPreferences,
}

/// The most accounts one contacts lookup may ask for.
pub const MAX_CONTACTS_LOOKUP: usize = 500;

/// `POST /internal/v1/contacts/lookup`: the contacts of many accounts in one call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactsLookupRequest {
    pub account_ids: Vec<Uuid>,
}

/// The accounts found (unknown ids are left out).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactsLookup {
    pub contacts: Vec<ContactDetails>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_an_absent_phone_from_a_null_one() {
        let absent: UpdateProfileRequest = serde_json::from_str(r#"{"name":"A"}"#).expect("ok");
        let null: UpdateProfileRequest = serde_json::from_str(r#"{"phone":null}"#).expect("ok");
        let set: UpdateProfileRequest =
            serde_json::from_str(r#"{"phone":"+15550100"}"#).expect("ok");
        assert_eq!(absent.phone, None);
        assert_eq!(null.phone, Some(None));
        assert_eq!(set.phone, Some(Some("+15550100".to_owned())));
    }
}
