//! `spawn_app`: event-service built by the same `startup::build` as production, on a free port,
//! with its own database, Redis prefix, broker namespace and bucket (`TestContext`).

use std::sync::Arc;

use account_service::test_support::token_verification;
use common::test_support::{TestApp, TestContext};
use event_service::{config::Config, test_support};
use serde_json::{Value, json};

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to change the configuration first.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_in(Arc::new(TestContext::new()), adjust).await
}

/// event-service in `context`, which other services of the test may share.
async fn spawn_in(context: Arc<TestContext>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    // Tests that need signed-in users use `spawn_with_accounts`, order-service
    // `spawn_with_orders`.
    let mut config = test_support::config(
        &context,
        token_verification("http://127.0.0.1:1/jwks"),
        "http://127.0.0.1:1",
    );
    adjust(&mut config);
    test_support::spawn(context, config).await
}

/// event-service with a real account-service issuing the tokens it verifies.
pub(crate) struct Catalog {
    pub(crate) events: TestApp,
    pub(crate) accounts: TestApp,
    /// order-service in the same broker namespace and Redis prefix, when the test needs it.
    pub(crate) orders: Option<TestApp>,
}

pub(crate) async fn spawn_with_accounts() -> Catalog {
    spawn_with_accounts_and(|_| {}).await
}

/// Like `spawn_with_accounts`, with a chance to change event-service's configuration.
pub(crate) async fn spawn_with_accounts_and(adjust: impl FnOnce(&mut Config)) -> Catalog {
    let accounts = account_service::test_support::spawn().await;
    let jwks_url = accounts.url("/.well-known/jwks.json");
    let events = spawn_app_with(|config| {
        config.tokens.jwks_url = jwks_url;
        adjust(config);
    })
    .await;
    Catalog {
        events,
        accounts,
        orders: None,
    }
}

/// Like `spawn_with_accounts`, with a real order-service that builds the inventory of what
/// event-service publishes.
pub(crate) async fn spawn_with_orders() -> Catalog {
    let accounts = account_service::test_support::spawn().await;
    let jwks_url = accounts.url("/.well-known/jwks.json");
    let context = Arc::new(TestContext::new());
    let mut config = order_service::test_support::config(&context, token_verification(&jwks_url));
    // Lost counters stay lost during a test, so that what event-service shows without them
    // can be seen.
    config.reservations.counter_check_interval = std::time::Duration::from_secs(3600);
    config.reservations.reconcile_interval = std::time::Duration::from_secs(3600);
    let orders = order_service::test_support::spawn(context.clone(), config).await;
    let order_url = orders.address.clone();
    let events = spawn_in(context, |config| {
        config.tokens.jwks_url = jwks_url;
        config.order_url = order_url;
    })
    .await;
    Catalog {
        events,
        accounts,
        orders: Some(orders),
    }
}

impl Catalog {
    /// Stops event-service and starts a new one on the same database, broker namespace and
    /// Redis prefix (a restart, or a deploy).
    pub(crate) async fn restart_events(&mut self) {
        let jwks_url = self.accounts.url("/.well-known/jwks.json");
        let context = self.events.context.clone();
        let restarted = spawn_in(context, |config| config.tokens.jwks_url = jwks_url).await;
        std::mem::replace(&mut self.events, restarted).stop().await;
    }

    /// Registers an account of `account_type` and returns its access token.
    pub(crate) async fn sign_in(&self, email: &str, account_type: &str) -> String {
        account_service::test_support::sign_up(&self.accounts, email, "Someone", account_type, None)
            .await
            .access_token
    }

    /// An anonymous `GET`, its body as JSON.
    pub(crate) async fn get_json(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None, None)
            .await
            .json()
            .await
            .expect("a JSON body")
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self.events.client.request(method, self.events.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("answer")
    }

    /// Creates a venue (2 sections, 1 area) for `token`; returns its id.
    pub(crate) async fn venue(&self, token: &str) -> String {
        let response = self
            .call(
                reqwest::Method::POST,
                "/v1/venues",
                Some(token),
                Some(&venue_body(10, 20)),
            )
            .await;
        assert_eq!(response.status(), 201);
        let venue: Value = response.json().await.expect("venue");
        venue["id"].as_str().expect("id").to_owned()
    }

    /// Drafts an event at `venue_id`; returns its id.
    pub(crate) async fn draft(
        &self,
        token: &str,
        venue_id: &str,
        title: &str,
        description: &str,
    ) -> String {
        let response = self
            .call(
                reqwest::Method::POST,
                "/v1/events",
                Some(token),
                Some(&event_body(venue_id, title, description)),
            )
            .await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        let event: Value = response.json().await.expect("event");
        event["id"].as_str().expect("id").to_owned()
    }
}

impl Catalog {
    /// Publishes `event_id` (200 expected); returns the published event.
    pub(crate) async fn publish(&self, token: &str, event_id: &str) -> Value {
        let response = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/events/{event_id}/publish"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("event")
    }
}

/// Stalls (`rows` rows of `seats` seats), Balcony (2 rows of 5) and a standing Floor of 100.
pub(crate) fn venue_body(rows: u32, seats: u32) -> Value {
    let stalls: Vec<Value> = (0..rows)
        .map(|row| json!({"label": format!("R{row}"), "seats": seats}))
        .collect();
    json!({
        "name": "Grand Hall", "city": "Lyon", "address": "1 Place Bellecour",
        "sections": [
            {"name": "Stalls", "rows": stalls},
            {"name": "Balcony", "rows": [{"label": "A", "seats": 5}, {"label": "B", "seats": 5}]}
        ],
        "areas": [{"name": "Floor", "capacity": 100}]
    })
}

pub(crate) fn event_body(venue_id: &str, title: &str, description: &str) -> Value {
    json!({
        "title": title, "description": description, "category": "concert",
        "venue_id": venue_id,
        "starts_at": "2031-06-01T20:00:00Z", "sales_open_at": "2031-03-01T10:00:00Z",
        "per_buyer_limit": 4,
        "tiers": [
            {"name": "Premium", "price_minor": 9900, "currency": "EUR", "sections": ["Stalls"]},
            {"name": "Standard", "price_minor": 4900, "currency": "EUR",
             "sections": ["Balcony"], "areas": ["Floor"]}
        ]
    })
}
