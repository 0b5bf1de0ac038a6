//! Validating a profile update (`PATCH /v1/me`): only the fields present change.

use contracts::accounts::{Locale, NotificationPreferences, UpdateProfileRequest};

use super::{
    FieldErrors,
    fields::{Email, Phone, parse_name},
};

#[derive(Debug, Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub email: Option<Email>,
    /// `Some(None)` removes the phone.
    pub phone: Option<Option<Phone>>,
    pub locale: Option<Locale>,
    pub notifications: Option<NotificationPreferences>,
}

impl ProfileChange {
    pub fn parse(request: UpdateProfileRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = request.name.and_then(|raw| {
            parse_name(&raw)
                .map_err(|error| errors.insert("name".to_owned(), error.to_owned()))
                .ok()
        });
        let email = request.email.and_then(|raw| {
            Email::parse(&raw)
                .map_err(|error| errors.insert("email".to_owned(), error.to_owned()))
                .ok()
        });
        let phone = match request.phone {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) if raw.trim().is_empty() => Some(None),
            Some(Some(raw)) => Phone::parse(&raw)
                .map_err(|error| errors.insert("phone".to_owned(), error.to_owned()))
                .ok()
                .map(Some),
        };
        if errors.is_empty() {
            Ok(Self {
                name,
                email,
                phone,
                locale: request.locale,
                notifications: request.notifications,
            })
        } else {
            Err(errors)
        }
    }
}
