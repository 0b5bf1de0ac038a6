//! The connections the generator offers its load over: HTTP/1.1 keep-alive connections to
//! one origin, driven through hyper's connection API and kept in a stack of idle ones.
//!
//! The generator shares the machine with the system it measures, so its CPU per request is
//! taken from the system: through reqwest a drop's request cost it ~65 µs (URL and header
//! copies, its pool's bookkeeping keyed by origin, a redirect policy, a body wrapper). Here a
//! request is the request itself, a connection taken from the stack and given back once its
//! answer has been read to the end. The scenarios' set-up and audits, a few thousand calls,
//! stay on reqwest (`api`).

use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Method, Request,
    client::conn::http1::{self, SendRequest},
    header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue},
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::drop::lock;

/// An answer not complete by then counts as none (status 0).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An answer: its status code and its whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Keep-alive connections to one `http://` origin; share one per scenario.
pub struct Connections {
    /// `host:port`, to connect to.
    address: String,
    host: HeaderValue,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Connections {
    /// Connections to the origin of `url` (`http://host:port`, any path ignored); none is
    /// opened yet.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
        if url.scheme() != "http" {
            bail!("the generator speaks plain http, not {}", url.scheme());
        }
        let host = url.host_str().context("a URL without a host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        let address = format!("{host}:{port}");
        Ok(Self {
            host: HeaderValue::from_str(&address)?,
            address,
            idle: Mutex::default(),
        })
    }

    /// Opens `count` connections and keeps them idle, as buyers waiting on the sales page
    /// have theirs open; answers how many opened.
    pub async fn open(&self, count: usize) -> usize {
        let opened: Vec<_> = futures::future::join_all((0..count).map(|_| self.connect()))
            .await
            .into_iter()
            .flatten()
            .collect();
        let count = opened.len();
        self.idle().extend(opened);
        count
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.send(Request::get(path).body(Full::default())?).await
    }

    /// `POST /v1/purchases` as a drop sends it: the buyer's `Authorization` value made once
    /// per buyer, the body serialised by the caller, a fresh `Idempotency-Key`.
    pub async fn purchase(
        &self,
        authorization: HeaderValue,
        body: Vec<u8>,
    ) -> anyhow::Result<Answer> {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/purchases")
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("idempotency-key", Uuid::now_v7().to_string())
            .body(Full::new(Bytes::from(body)))?;
        self.send(request).await
    }

    async fn send(&self, mut request: Request<Full<Bytes>>) -> anyhow::Result<Answer> {
        request.headers_mut().insert(HOST, self.host.clone());
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request))
            .await
            .context("no answer in time")?
    }

    async fn exchange(&self, request: Request<Full<Bytes>>) -> anyhow::Result<Answer> {
        let mut sender = self.ready_connection().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        // Read to the end, or the connection could not carry the next request.
        let body = response.into_body().collect().await?.to_bytes();
        self.idle().push(sender);
        Ok(Answer { status, body })
    }

    /// An idle connection that can take a request, or a new one.
    async fn ready_connection(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        loop {
            let Some(mut sender) = self.idle().pop() else {
                return self.connect().await;
            };
            // A connection the server closed is dropped; the next idle one is tried.
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(&self.address)
            .await
            .with_context(|| format!("connecting to {}", self.address))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the connection closes; its requests learn why through their senders.
            let _ = connection.await;
        });
        Ok(sender)
    }

    fn idle(&self) -> MutexGuard<'_, Vec<SendRequest<Full<Bytes>>>> {
        lock(&self.idle)
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashSet,
        net::SocketAddr,
        sync::{Arc, Mutex},
    };

    use axum::{
        Router,
        extract::{ConnectInfo, State},
        http::{HeaderMap, StatusCode, header::CONNECTION},
        routing::{get, post},
    };

    use super::*;

    /// What the server saw: the peers that connected, and each purchase's headers.
    #[derive(Clone, Default)]
    struct Seen {
        peers: Arc<Mutex<HashSet<SocketAddr>>>,
        purchases: Arc<Mutex<Vec<HeaderMap>>>,
    }

    async fn server() -> (String, Seen) {
        let seen = Seen::default();
        let app = Router::new()
            .route(
                "/healthz",
                get(
                    |State(seen): State<Seen>, ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                        lock(&seen.peers).insert(peer);
                        "ok"
                    },
                ),
            )
            .route(
                "/closing",
                get(|| async { ([(CONNECTION, "close")], "bye") }),
            )
            .route(
                "/v1/purchases",
                post(
                    |State(seen): State<Seen>, headers: HeaderMap, body: String| async move {
                        lock(&seen.purchases).push(headers);
                        (StatusCode::ACCEPTED, body)
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        (format!("http://{address}"), seen)
    }

    #[tokio::test]
    async fn requests_one_after_another_reuse_one_connection() {
        let (url, seen) = server().await;
        let connections = Connections::new(&url).expect("an http URL");
        assert_eq!(connections.open(1).await, 1);
        for _ in 0..20 {
            let answer = connections.get("/healthz").await.expect("an answer");
            assert_eq!((answer.status, &answer.body[..]), (200, &b"ok"[..]));
        }
        assert_eq!(lock(&seen.peers).len(), 1, "one connection carried all");
    }

    #[tokio::test]
    async fn concurrent_requests_open_what_they_need_and_keep_it() {
        let (url, seen) = server().await;
        let connections = Connections::new(&url).expect("an http URL");
        let answers = futures::future::join_all((0..8).map(|_| connections.get("/healthz"))).await;
        assert!(
            answers
                .iter()
                .all(|answer| matches!(answer, Ok(a) if a.status == 200))
        );
        let opened = lock(&seen.peers).len();
        assert!(
            (1..=8).contains(&opened),
            "{opened} connections for 8 requests"
        );
        assert_eq!(connections.idle().len(), opened, "every connection kept");
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced() {
        let (url, _seen) = server().await;
        let connections = Connections::new(&url).expect("an http URL");
        assert_eq!(
            connections.get("/closing").await.expect("an answer").status,
            200
        );
        // The connection that answered is closed; the next request must not fail on it.
        for _ in 0..3 {
            assert_eq!(
                connections.get("/healthz").await.expect("an answer").status,
                200
            );
        }
    }

    #[tokio::test]
    async fn a_purchase_carries_the_buyer_the_body_and_a_fresh_key() {
        let (url, seen) = server().await;
        let connections = Connections::new(&url).expect("an http URL");
        let authorization = HeaderValue::from_static("Bearer token");
        for _ in 0..2 {
            let answer = connections
                .purchase(authorization.clone(), br#"{"quantity":1}"#.to_vec())
                .await
                .expect("an answer");
            assert_eq!(
                (answer.status, &answer.body[..]),
                (202, &br#"{"quantity":1}"#[..])
            );
        }
        let purchases = lock(&seen.purchases);
        for headers in purchases.iter() {
            assert_eq!(headers[AUTHORIZATION], "Bearer token");
            assert_eq!(headers[CONTENT_TYPE], "application/json");
            assert_eq!(headers[HOST], url.trim_start_matches("http://"));
        }
        let keys: HashSet<_> = purchases
            .iter()
            .map(|h| h["idempotency-key"].clone())
            .collect();
        assert_eq!(keys.len(), 2, "each purchase has its own Idempotency-Key");
    }

    #[test]
    fn only_plain_http_origins_are_taken() {
        assert!(Connections::new("https://127.0.0.1:8080").is_err());
        assert!(Connections::new("127.0.0.1:8080").is_err());
        assert!(Connections::new("http://127.0.0.1:8080/healthz").is_ok());
    }
}
