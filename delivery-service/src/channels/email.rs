//! Email through lettre: a multipart (plain text + HTML) message, sent over SMTP with the TLS
//! and authentication the URL asks for, or written as an `.eml` file.

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

use super::SendError;
use crate::config::EmailTransport;

pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

#[derive(Clone)]
pub enum EmailSender {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

impl EmailSender {
    pub fn new(transport: &EmailTransport) -> anyhow::Result<Self> {
        Ok(match transport {
            EmailTransport::Smtp(url) => Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
            ),
            EmailTransport::Folder(folder) => {
                std::fs::create_dir_all(folder)?;
                Self::Folder(AsyncFileTransport::new(folder))
            }
        })
    }

    pub async fn send(&self, from: &str, email: &Email<'_>) -> Result<(), SendError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|error| SendError::Permanent(format!("address {}: {error}", email.to)))?;
        let from: Mailbox = from
            .parse()
            .map_err(|error| SendError::Permanent(format!("sender {from}: {error}")))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(
                email.text.to_owned(),
                email.html.to_owned(),
            ))
            .map_err(|error| SendError::Permanent(format!("building the message: {error}")))?;
        match self {
            Self::Smtp(transport) => transport.send(message).await.map(|_| ()).map_err(|error| {
                if error.is_permanent() {
                    SendError::Permanent(error.to_string())
                } else {
                    SendError::Transient(error.to_string())
                }
            }),
            Self::Folder(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|error| SendError::Transient(error.to_string())),
        }
    }
}
