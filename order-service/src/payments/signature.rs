//! Webhook signatures: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, the scheme
//! most card processors use. The timestamp is signed with the body, so a captured webhook
//! cannot be replayed later than the tolerance allows. Pure: no I/O, no clock of its own.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use super::WebhookError;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header value for `body` sent at `at`.
pub fn sign(secret: &[u8], at: OffsetDateTime, body: &[u8]) -> String {
    let timestamp = at.unix_timestamp();
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Accepts `header` only if it signs `body` with `secret` and its timestamp is within
/// `tolerance_seconds` of `now`. The comparison takes constant time.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: OffsetDateTime,
    tolerance_seconds: i64,
) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::BadSignature)?;
    let signed = signatures
        .iter()
        .any(|signature| mac(secret, timestamp, body).verify_slice(signature).is_ok());
    if !signed {
        return Err(WebhookError::BadSignature);
    }
    if (now.unix_timestamp() - timestamp).abs() > tolerance_seconds {
        return Err(WebhookError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signed_body_verifies_and_any_change_is_refused() {
        let now = OffsetDateTime::now_utc();
        let header = sign(SECRET, now, b"{\"a\":1}");
        assert_eq!(verify(SECRET, &header, b"{\"a\":1}", now, 300), Ok(()));
        assert_eq!(
            verify(SECRET, &header, b"{\"a\":2}", now, 300),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(b"another secret", &header, b"{\"a\":1}", now, 300),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, "t=1,v1=zz", b"{\"a\":1}", now, 300),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, "", b"", now, 300),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn an_old_signature_is_stale_even_when_it_is_genuine() {
        let then = OffsetDateTime::now_utc() - time::Duration::minutes(10);
        let header = sign(SECRET, then, b"body");
        assert_eq!(
            verify(SECRET, &header, b"body", OffsetDateTime::now_utc(), 300),
            Err(WebhookError::Stale)
        );
    }

    #[test]
    fn a_forged_timestamp_breaks_the_signature() {
        let now = OffsetDateTime::now_utc();
        let header = sign(SECRET, now - time::Duration::minutes(10), b"body");
        let signature = header.split_once(",v1=").expect("two parts").1;
        let replayed = format!("t={},v1={signature}", now.unix_timestamp());
        assert_eq!(
            verify(SECRET, &replayed, b"body", now, 300),
            Err(WebhookError::BadSignature)
        );
    }
}
