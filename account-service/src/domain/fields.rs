//! Single fields: email (normalised), password policy, E.164 phone, display name.

/// An email address, trimmed and lower-cased, so that `Ada@Example.org ` and `ada@example.org`
/// are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must be an email address like name@example.org");
        };
        let valid = email.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(email))
        } else {
            Err("must be an email address like name@example.org")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Minimum password length (NIST SP 800-63B asks for at least 8; we ask for 10).
pub(super) const MIN_PASSWORD_CHARS: usize = 10;
/// Upper bound so that a huge body cannot make hashing expensive.
pub(super) const MAX_PASSWORD_CHARS: usize = 256;

/// The password policy: long enough, not absurdly long, and not the email (or its local part).
pub(super) fn check_password(password: &str, email: Option<&Email>) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err("must be at least 10 characters long");
    }
    if length > MAX_PASSWORD_CHARS {
        return Err("must be at most 256 characters long");
    }
    if let Some(email) = email {
        let lowered = password.trim().to_lowercase();
        let local = email.as_str().split('@').next().unwrap_or_default();
        if lowered == email.as_str() || lowered == local {
            return Err("must not be your email address");
        }
    }
    Ok(())
}

/// A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let phone = raw.trim();
        let digits = phone.strip_prefix('+').unwrap_or_default();
        let valid = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(phone.to_owned()))
        } else {
            Err("must be in E.164 form, like +447700900123")
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A display name: trimmed, 1 to 200 characters.
pub(super) fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("must not be empty"),
        1..=200 => Ok(name.to_owned()),
        _ => Err("must be at most 200 characters long"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.ORG ").expect("valid");
        assert_eq!(email.as_str(), "ada.lovelace@example.org");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a da@example.org",
            "a@b@c.org",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn short_passwords_and_the_email_itself_are_refused() {
        let email = Email::parse("ada.lovelace@example.org").expect("valid");
        assert!(check_password("short", Some(&email)).is_err());
        assert!(check_password("ADA.LOVELACE@example.org", Some(&email)).is_err());
        assert!(check_password("ada.lovelace", Some(&email)).is_err());
        assert!(check_password("correct horse battery", Some(&email)).is_ok());
        assert!(check_password(&"x".repeat(257), Some(&email)).is_err());
    }

    #[test]
    fn phones_must_be_e164() {
        assert!(Phone::parse("+447700900123").is_ok());
        for raw in [
            "447700900123",
            "+0447700900",
            "+44 7700 900123",
            "+1234",
            "+1234567890123456",
        ] {
            assert!(Phone::parse(raw).is_err(), "{raw}");
        }
    }
}
