//! The code a ticket's QR carries: `TKT1.<ticket id + event id>.<Ed25519 signature>`, both
//! parts base64url. The signature covers the prefix and the ids, so a scanner holding only
//! the public key tells a genuine code from a forged or altered one without a database.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use uuid::Uuid;

const PREFIX: &str = "TKT1";

/// What a genuine code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketCode {
    pub ticket_id: Uuid,
    pub event_id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a ticket code")]
    Malformed,
    #[error("the ticket code's signature does not match")]
    BadSignature,
}

impl TicketCode {
    pub fn sign(&self, key: &SigningKey) -> String {
        let mut ids = Vec::with_capacity(32);
        ids.extend_from_slice(self.ticket_id.as_bytes());
        ids.extend_from_slice(self.event_id.as_bytes());
        let signed = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(ids));
        let signature = key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    pub fn verify(code: &str, key: &VerifyingKey) -> Result<Self, CodeError> {
        let code = code.trim();
        let (signed, signature) = code.rsplit_once('.').ok_or(CodeError::Malformed)?;
        let (prefix, ids) = signed.split_once('.').ok_or(CodeError::Malformed)?;
        if prefix != PREFIX {
            return Err(CodeError::Malformed);
        }
        let ids = URL_SAFE_NO_PAD
            .decode(ids)
            .map_err(|_| CodeError::Malformed)?;
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| CodeError::Malformed)?
            .try_into()
            .map_err(|_| CodeError::Malformed)?;
        if ids.len() != 32 {
            return Err(CodeError::Malformed);
        }
        let (ticket, event) = ids.split_at(16);
        key.verify(signed.as_bytes(), &Signature::from_bytes(&signature))
            .map_err(|_| CodeError::BadSignature)?;
        Ok(Self {
            ticket_id: Uuid::from_slice(ticket).map_err(|_| CodeError::Malformed)?,
            event_id: Uuid::from_slice(event).map_err(|_| CodeError::Malformed)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_code_reads_back_and_any_change_is_detected() {
        let code = TicketCode {
            ticket_id: Uuid::now_v7(),
            event_id: Uuid::now_v7(),
        };
        let text = code.sign(&key(1));
        let public = key(1).verifying_key();

        assert_eq!(TicketCode::verify(&text, &public), Ok(code));
        assert_eq!(
            TicketCode::verify(&text, &key(2).verifying_key()),
            Err(CodeError::BadSignature),
            "signed with another key"
        );
        let other = TicketCode {
            ticket_id: Uuid::now_v7(),
            ..code
        }
        .sign(&key(1));
        let (_, other_signature) = other.rsplit_once('.').expect("three parts");
        let (signed, _) = text.rsplit_once('.').expect("three parts");
        assert_eq!(
            TicketCode::verify(&format!("{signed}.{other_signature}"), &public),
            Err(CodeError::BadSignature),
            "a signature grafted from another ticket"
        );
        let mut altered = text.clone().into_bytes();
        altered[7] = if altered[7] == b'A' { b'B' } else { b'A' };
        assert!(TicketCode::verify(&String::from_utf8(altered).expect("ascii"), &public).is_err());
        assert_eq!(
            TicketCode::verify("hello", &public),
            Err(CodeError::Malformed)
        );
        assert_eq!(TicketCode::verify("", &public), Err(CodeError::Malformed));
    }
}
