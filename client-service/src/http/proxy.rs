//! Forwarding public calls to the service that owns them: one pooled HTTP client per
//! upstream, bodies streamed both ways (server-sent events included), hop-by-hop headers
//! dropped, `X-Forwarded-For` set to the caller's address, and the request id passed along.
//! An upstream that cannot be reached is a problem+json 503, one that does not answer a 504.

use std::net::SocketAddr;

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use common::http::Problem;
use contracts::ErrorCode;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::config::UpstreamConfig;

/// One service behind the gateway.
#[derive(Clone)]
pub struct Upstream {
    name: &'static str,
    base_url: String,
    client: reqwest::Client,
    /// Ends streamed answers (server-sent events) when the gateway stops, so that a watcher
    /// cannot hold a graceful shutdown open.
    shutdown: CancellationToken,
}

impl Upstream {
    pub fn new(
        name: &'static str,
        base_url: &str,
        config: &UpstreamConfig,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .pool_max_idle_per_host(config.max_idle_connections_per_upstream)
            // Redirects are the client's business (ticket downloads answer 302).
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            name,
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
            shutdown,
        })
    }

    /// Routes every method of each of `paths` to this upstream, unchanged.
    pub fn routes(self, paths: &[&str]) -> Router {
        paths
            .iter()
            .fold(Router::new(), |router, path| {
                router.route(path, any(forward))
            })
            .with_state(self)
    }
}

/// Headers that describe one hop, not the message (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        let hop = HOP_BY_HOP.contains(name)
            || name == header::TRANSFER_ENCODING
            || name == header::HOST
            || name.as_str() == "keep-alive";
        if !hop {
            to.append(name.clone(), value.clone());
        }
    }
}

async fn forward(
    State(upstream): State<Upstream>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
    let mut headers = HeaderMap::new();
    copy_end_to_end(&parts.headers, &mut headers);
    // This is the edge: what a caller claims in X-Forwarded-For is replaced, not trusted.
    if let Ok(address) = HeaderValue::from_str(&peer.ip().to_string()) {
        headers.insert("x-forwarded-for", address);
    }
    let sent = upstream
        .client
        .request(parts.method, format!("{}{path}", upstream.base_url))
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            if let Some(headers) = response.headers_mut() {
                copy_end_to_end(answer.headers(), headers);
            }
            let body = answer
                .bytes_stream()
                .take_until(upstream.shutdown.clone().cancelled_owned());
            response
                .body(Body::from_stream(body))
                .unwrap_or_else(|_| Problem::internal().into_response())
        }
        Err(error) => {
            tracing::warn!(upstream = upstream.name, %error, "upstream call failed");
            let (status, detail) = if error.is_timeout() {
                (StatusCode::GATEWAY_TIMEOUT, "did not answer in time")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "is unavailable")
            };
            Problem::new(
                status,
                ErrorCode::Unavailable,
                format!("{} {detail}", upstream.name),
            )
            .with_retry_after(1)
            .into_response()
        }
    }
}
