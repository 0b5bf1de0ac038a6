//! delivery-service against the real Postgres and RabbitMQ, a real account-service (buyers'
//! contacts), a real SMTP server on loopback (mailin-embedded) and a local HTTP receiver for
//! SMS. Order and ticket events are published on the broker as their services publish them.

use std::{
    net::TcpListener,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Form, Router, extract::State, http::StatusCode, routing::post};
use common::{
    config::Secret,
    test_support::{TestApp, TestContext, connect_database, eventually, publish_event},
};
use contracts::{Envelope, Message};
use delivery_service::{
    config::{Config, EmailTransport, SmsTransport},
    test_support,
};
use mailin_embedded::{Handler, Response, Server, response};
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// delivery-service alone, its neighbours unreachable.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let context = Arc::new(TestContext::new());
    let tokens = account_service::test_support::token_verification("http://127.0.0.1:1/jwks");
    let mut config =
        test_support::config(&context, tokens, "http://127.0.0.1:1", &scratch_folder());
    adjust(&mut config);
    test_support::spawn(context, config).await
}

fn scratch_folder() -> PathBuf {
    std::env::temp_dir().join(format!("ticketing-delivery-{}", Uuid::now_v7()))
}

/// Mail the SMTP server accepted: (recipients, raw message).
pub(crate) type Mailbox = Arc<Mutex<Vec<(Vec<String>, String)>>>;

/// Accepts every message, but refuses recipients whose address starts with `refused`
/// (550, a permanent error), as a real server refuses unknown mailboxes.
#[derive(Clone)]
struct Sink {
    mailbox: Mailbox,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Sink {
    fn rcpt(&mut self, to: &str) -> Response {
        if to.starts_with("refused") {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&self.data).into_owned();
        lock(&self.mailbox).push((self.to.clone(), message));
        response::OK
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A port nothing listens on yet.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Starts an SMTP server on `port` (it runs until the test process ends).
pub(crate) fn start_smtp(port: u16) -> Mailbox {
    let mailbox = Mailbox::default();
    let sink = Sink {
        mailbox: mailbox.clone(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("the SMTP port");
    let mut server = Server::new(sink);
    server.with_name("smtp.test").with_tcp_listener(listener);
    std::thread::spawn(move || {
        if let Err(error) = server.serve() {
            eprintln!("test SMTP server stopped: {error}");
        }
    });
    mailbox
}

/// SMS the receiver got, as form fields.
pub(crate) type Texts = Arc<Mutex<Vec<Value>>>;

/// A provider's HTTP API on loopback: 201 for every message, as Twilio answers.
pub(crate) async fn start_sms_receiver() -> (String, Texts) {
    async fn receive(
        State(texts): State<Texts>,
        Form(fields): Form<std::collections::HashMap<String, String>>,
    ) -> StatusCode {
        lock(&texts).push(json!(fields));
        StatusCode::CREATED
    }
    let texts = Texts::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!(
        "http://{}/messages",
        listener.local_addr().expect("an address")
    );
    let app = Router::new()
        .route("/messages", post(receive))
        .with_state(texts.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, texts)
}

/// A buyer registered in account-service.
pub(crate) struct Buyer {
    pub(crate) id: Uuid,
    pub(crate) token: String,
}

/// delivery-service with account-service, SMTP at `smtp_port` and the SMS receiver.
pub(crate) struct PostOffice {
    pub(crate) delivery: TestApp,
    pub(crate) context: Arc<TestContext>,
    pub(crate) config: Config,
    pub(crate) texts: Texts,
    accounts: TestApp,
}

pub(crate) async fn spawn_post_office(smtp_port: u16) -> PostOffice {
    spawn_paced_post_office(smtp_port, 500).await
}

/// A post office that writes at most `notices_per_second`.
pub(crate) async fn spawn_paced_post_office(smtp_port: u16, notices_per_second: u32) -> PostOffice {
    let accounts = account_service::test_support::spawn().await;
    let tokens =
        account_service::test_support::token_verification(&accounts.url("/.well-known/jwks.json"));
    let context = Arc::new(TestContext::new());
    let (sms_url, texts) = start_sms_receiver().await;
    let mut config = test_support::config(&context, tokens, &accounts.address, &scratch_folder());
    config.delivery.email =
        EmailTransport::Smtp(Secret::new(format!("smtp://127.0.0.1:{smtp_port}")));
    config.delivery.sms = SmsTransport::Http {
        url: sms_url,
        account: "AC-test".to_owned(),
        token: Secret::new("sms-token".to_owned()),
    };
    config.delivery.max_notices_per_second = notices_per_second;
    let delivery = test_support::spawn(context.clone(), config.clone()).await;
    PostOffice {
        delivery,
        context,
        config,
        texts,
        accounts,
    }
}

impl PostOffice {
    /// Registers a buyer with `email`, `phone` (if any) and `locale`.
    pub(crate) async fn buyer(&self, email: &str, phone: Option<&str>, locale: &str) -> Buyer {
        let signed_up = account_service::test_support::sign_up(
            &self.accounts,
            email,
            "Ada Lovelace",
            "buyer",
            phone,
        )
        .await;
        let token = signed_up.access_token;
        let updated = self
            .accounts
            .client
            .patch(self.accounts.url("/v1/me"))
            .bearer_auth(&token)
            .json(&json!({"locale": locale, "notifications": {"email": true, "sms": true}}))
            .send()
            .await
            .expect("answer");
        assert_eq!(updated.status(), 200);
        Buyer {
            id: signed_up.id,
            token,
        }
    }

    /// Publishes `envelope` on the events exchange.
    pub(crate) async fn send<P: Message>(&self, envelope: &Envelope<P>) {
        publish_event(&self.context.amqp(), envelope).await;
    }

    /// (channel, state, attempts, last_error) of every notification, by channel.
    pub(crate) async fn log(&self) -> Vec<(String, String, i32, Option<String>)> {
        let db = connect_database(&self.config.postgres).await;
        let rows = db
            .query(
                "SELECT channel, state, attempts, last_error FROM notifications ORDER BY channel",
                &[],
            )
            .await
            .expect("the log");
        rows.iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect()
    }

    /// Waits until the log holds `expected` (channel, state) pairs.
    pub(crate) async fn wait_for(&self, expected: &[(&str, &str)]) {
        let reached = eventually(Duration::from_secs(20), || async {
            let log = self.log().await;
            log.len() == expected.len()
                && log.iter().zip(expected).all(
                    |((channel, state, ..), (want_channel, want_state))| {
                        channel == want_channel && state == want_state
                    },
                )
        })
        .await;
        assert!(
            reached,
            "log: {:?}, expected {expected:?}",
            self.log().await
        );
    }
}
