//! Validating a registration as a whole, so that one 422 names every bad field.

use contracts::accounts::{AccountType, Locale, RegisterAccountRequest, Role};

use super::{
    FieldErrors,
    fields::{Email, Phone, check_password, parse_name},
};

/// A registration that passed every rule.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub password: String,
    pub name: String,
    pub phone: Option<Phone>,
    pub role: Role,
    pub locale: Locale,
}

impl NewAccount {
    pub fn parse(request: RegisterAccountRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = Email::parse(&request.email)
            .map_err(|error| errors.insert("email".to_owned(), error.to_owned()))
            .ok();
        if let Err(error) = check_password(&request.password, email.as_ref()) {
            errors.insert("password".to_owned(), error.to_owned());
        }
        let name = parse_name(&request.name)
            .map_err(|error| errors.insert("name".to_owned(), error.to_owned()))
            .ok();
        let phone = match request.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Phone::parse(raw)
                .map_err(|error| errors.insert("phone".to_owned(), error.to_owned()))
                .ok(),
        };
        let role = match request.account_type.unwrap_or(AccountType::Buyer) {
            AccountType::Buyer => Role::Buyer,
            AccountType::Organiser => Role::Organiser,
        };
        match (email, name) {
            (Some(email), Some(name)) if errors.is_empty() => Ok(Self {
                email,
                password: request.password,
                name,
                phone,
                role,
                locale: request.locale.unwrap_or_default(),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        email: &str,
        password: &str,
        name: &str,
        phone: Option<&str>,
    ) -> RegisterAccountRequest {
        RegisterAccountRequest {
            email: email.to_owned(),
            password: password.to_owned(),
            name: name.to_owned(),
            phone: phone.map(str::to_owned),
            account_type: None,
            locale: None,
        }
    }

    #[test]
    fn every_invalid_field_is_named_at_once() {
        let errors =
            NewAccount::parse(request("nope", "short", " ", Some("12"))).expect_err("invalid");
        assert_eq!(
            errors.keys().map(String::as_str).collect::<Vec<_>>(),
            ["email", "name", "password", "phone"]
        );
    }

    #[test]
    fn a_valid_registration_defaults_to_a_buyer_in_english() {
        let account = NewAccount::parse(request(
            "Ada@Example.org",
            "correct horse battery",
            "Ada",
            None,
        ))
        .expect("valid");
        assert_eq!(account.role, Role::Buyer);
        assert_eq!(account.locale, Locale::En);
        assert_eq!(account.email.as_str(), "ada@example.org");
    }
}
