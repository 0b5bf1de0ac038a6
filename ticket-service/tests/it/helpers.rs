//! ticket-service against the real Postgres, RabbitMQ and S3 (Garage), with a real
//! account-service (holders' names, tokens) and event-service (what tickets print) in the
//! same broker namespace. Paid and refunded orders are published on the broker exactly as
//! order-service publishes them.

use std::{sync::Arc, time::Duration};

use common::{
    s3::ObjectStore,
    signing_keys::generate_signing_key,
    test_support::{TestApp, TestContext, connect_database, eventually, publish_event},
};
use contracts::{
    Envelope, Message,
    events::EventPlaces,
    orders::{OrderPaidV1, OrderRefundedV1, RefundReason},
    purchases::OrderPlace,
};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use ticket_service::{config::Config, test_support};
use time::OffsetDateTime;
use uuid::Uuid;

/// ticket-service alone, its neighbours unreachable.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let context = Arc::new(TestContext::new());
    let tokens = account_service::test_support::token_verification("http://127.0.0.1:1/jwks");
    let key = generate_signing_key().expect("a key");
    let mut config = test_support::config(
        &context,
        tokens,
        "http://127.0.0.1:1",
        "http://127.0.0.1:1",
        &key,
    );
    adjust(&mut config);
    test_support::spawn(context, config).await
}

/// Someone signed in.
pub(crate) struct Person {
    pub(crate) id: Uuid,
    pub(crate) token: String,
}

/// A published event with its ticket desk.
pub(crate) struct Desk {
    pub(crate) tickets: TestApp,
    pub(crate) context: Arc<TestContext>,
    pub(crate) config: Config,
    pub(crate) signing_key: SigningKey,
    pub(crate) organiser: Person,
    pub(crate) buyer: Person,
    pub(crate) event: EventPlaces,
    _events: TestApp,
    accounts: TestApp,
}

pub(crate) async fn spawn_desk() -> Desk {
    spawn_desk_with(|_| {}).await
}

pub(crate) async fn spawn_desk_with(adjust: impl FnOnce(&mut Config)) -> Desk {
    let accounts = account_service::test_support::spawn().await;
    let tokens =
        account_service::test_support::token_verification(&accounts.url("/.well-known/jwks.json"));
    let context = Arc::new(TestContext::new());
    let events_config =
        event_service::test_support::config(&context, tokens.clone(), "http://127.0.0.1:1");
    let events = event_service::test_support::spawn(context.clone(), events_config).await;
    let organiser = sign_up(&accounts, "org@example.org", "Olga Organiser", "organiser").await;
    let buyer = sign_up(&accounts, "ada@example.org", "Ada Lovelace", "buyer").await;
    let event = publish_venue_and_event(&events, &organiser.token).await;
    let signing_key = generate_signing_key().expect("a key");
    let mut config = test_support::config(
        &context,
        tokens,
        &events.address,
        &accounts.address,
        &signing_key,
    );
    adjust(&mut config);
    let tickets = test_support::spawn(context.clone(), config.clone()).await;
    Desk {
        tickets,
        context,
        config,
        signing_key,
        organiser,
        buyer,
        event,
        _events: events,
        accounts,
    }
}

async fn sign_up(accounts: &TestApp, email: &str, name: &str, account_type: &str) -> Person {
    let signed_up =
        account_service::test_support::sign_up(accounts, email, name, account_type, None).await;
    Person {
        id: signed_up.id,
        token: signed_up.access_token,
    }
}

/// A venue of one section (rows A and B of 5 seats) and a standing Floor of 20, and an event
/// there, published; returns what tickets print of it.
async fn publish_venue_and_event(events: &TestApp, token: &str) -> EventPlaces {
    let call = |path: &str, body: Value| {
        events
            .client
            .post(events.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let venue: Value = call(
        "/v1/venues",
        json!({"name": "Salle Pleyel", "city": "Paris", "address": "252 Rue du Faubourg Saint-Honoré",
               "sections": [{"name": "Stalls", "rows": [{"label": "A", "seats": 5}, {"label": "B", "seats": 5}]}],
               "areas": [{"name": "Floor", "capacity": 20}]}),
    )
    .await
    .expect("answer")
    .json()
    .await
    .expect("venue");
    let event: Value = call(
        "/v1/events",
        json!({"title": "Night Show", "description": "jazz", "category": "concert",
               "venue_id": venue["id"], "starts_at": "2031-06-01T20:00:00Z",
               "sales_open_at": "2031-03-01T10:00:00Z", "per_buyer_limit": 4,
               "tiers": [{"name": "Premium", "price_minor": 9900, "currency": "EUR", "sections": ["Stalls"]},
                         {"name": "Standing", "price_minor": 4900, "currency": "EUR", "areas": ["Floor"]}]}),
    )
    .await
    .expect("answer")
    .json()
    .await
    .expect("event");
    let event_id = event["id"].as_str().expect("an id");
    let published = call(&format!("/v1/events/{event_id}/publish"), json!({}))
        .await
        .expect("answer");
    assert_eq!(published.status(), 200);
    events
        .get(&format!("/internal/v1/events/{event_id}/places"))
        .await
        .json()
        .await
        .expect("places")
}

impl Desk {
    /// The first `seats` seats of the event as order places, plus `standing` places of the
    /// Floor.
    pub(crate) fn places(&self, seats: usize, standing: usize) -> Vec<OrderPlace> {
        let seated = self.event.seats.iter().take(seats).map(|seat| OrderPlace {
            place_id: seat.seat_id,
            tier_id: seat.tier_id,
            area_id: None,
            price_minor: 9_900,
        });
        let floor = &self.event.areas[0];
        let standing = (0..standing).map(|_| OrderPlace {
            place_id: Uuid::now_v7(),
            tier_id: floor.tier_id,
            area_id: Some(floor.area_id),
            price_minor: 4_900,
        });
        seated.chain(standing).collect()
    }

    /// `order.paid` for the buyer, as order-service writes it.
    pub(crate) fn paid(&self, places: Vec<OrderPlace>) -> Envelope<OrderPaidV1> {
        let purchase_id = Uuid::now_v7();
        Envelope::new(
            purchase_id,
            OrderPaidV1 {
                order_id: Uuid::now_v7(),
                purchase_id,
                buyer_id: self.buyer.id,
                event_id: self.event.event.id,
                amount_minor: places.iter().map(|place| place.price_minor).sum(),
                places,
                currency: "EUR".to_owned(),
                payment_id: Uuid::now_v7(),
                paid_at: OffsetDateTime::now_utc(),
            },
        )
    }

    pub(crate) fn refunded(&self, paid: &OrderPaidV1) -> Envelope<OrderRefundedV1> {
        Envelope::new(
            paid.purchase_id,
            OrderRefundedV1 {
                order_id: paid.order_id,
                purchase_id: paid.purchase_id,
                buyer_id: paid.buyer_id,
                event_id: paid.event_id,
                amount_minor: paid.amount_minor,
                currency: paid.currency.clone(),
                reason: RefundReason::Cancelled,
            },
        )
    }

    /// Publishes `envelope` on the events exchange.
    pub(crate) async fn send<P: Message>(&self, envelope: &Envelope<P>) {
        publish_event(&self.context.amqp(), envelope).await;
    }

    pub(crate) async fn db(&self) -> tokio_postgres::Client {
        connect_database(&self.config.postgres).await
    }

    /// Tickets of the order in each state: (state, count), sorted.
    pub(crate) async fn states(&self, order_id: Uuid) -> Vec<(String, i64)> {
        let db = self.db().await;
        let rows = db
            .query(
                "SELECT state, count(*) FROM tickets WHERE order_id = $1 GROUP BY state ORDER BY state",
                &[&order_id],
            )
            .await
            .expect("counts");
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    }

    /// Waits until the order has `count` valid tickets.
    pub(crate) async fn wait_for_valid(&self, order_id: Uuid, count: i64) {
        let issued = eventually(Duration::from_secs(20), || async {
            self.states(order_id).await == [("valid".to_owned(), count)]
        })
        .await;
        assert!(issued, "tickets: {:?}", self.states(order_id).await);
    }

    pub(crate) async fn outbox_count(&self, routing_key: &str) -> i64 {
        let db = self.db().await;
        db.query_one(
            "SELECT count(*) FROM outbox WHERE routing_key = $1",
            &[&routing_key],
        )
        .await
        .expect("count")
        .get(0)
    }

    /// The keys of the objects stored under the event.
    pub(crate) async fn stored_documents(&self) -> Vec<String> {
        let store = ObjectStore::new(&self.config.s3);
        let listing = store
            .client()
            .list_objects_v2()
            .bucket(store.bucket())
            .prefix(format!("events/{}/", self.event.event.id))
            .send()
            .await
            .expect("a listing");
        let mut keys: Vec<String> = listing
            .contents()
            .iter()
            .filter_map(|object| object.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    pub(crate) async fn document(&self, key: &str) -> Vec<u8> {
        ObjectStore::new(&self.config.s3)
            .get(key)
            .await
            .expect("the document")
    }

    /// The ids of the order's tickets.
    pub(crate) async fn ticket_ids(&self, order_id: Uuid) -> Vec<Uuid> {
        let db = self.db().await;
        let rows = db
            .query(
                "SELECT ticket_id FROM tickets WHERE order_id = $1 ORDER BY ticket_id",
                &[&order_id],
            )
            .await
            .expect("ids");
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// A call to ticket-service as `token`.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.tickets.client.request(method, self.tickets.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("answer")
    }

    /// Another signed-in person (another organiser, door staff, ...).
    pub(crate) async fn someone(&self, email: &str, account_type: &str) -> Person {
        sign_up(&self.accounts, email, "Someone Else", account_type).await
    }
}
