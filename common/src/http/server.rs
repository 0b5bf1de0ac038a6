//! The HTTP shell every service shares: operational routes (`/healthz`, `/readyz`,
//! `/metrics`), request ids, tracing, timeouts, per-route metrics, problem+json for unknown
//! routes, and serving until the shutdown token fires.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
    serve::ListenerExt,
};
use contracts::{ErrorCode, ops::ReadinessStatus};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnFailure, TraceLayer},
};

use super::{
    metrics::{HttpMetrics, render, track},
    problem::Problem,
};
use crate::readiness::Readiness;

/// What the operational routes need to answer.
#[derive(Clone)]
struct Ops {
    readiness: Readiness,
    registry: Arc<Registry>,
}

/// Wraps a service's API router with the operational routes and the shared layers. The HTTP
/// metrics are added to `registry`, which may already hold the service's own metrics.
pub fn router(
    api: Router,
    readiness: Readiness,
    mut registry: Registry,
    request_timeout: Duration,
) -> Router {
    let metrics = HttpMetrics::register(&mut registry);
    let ops = Ops {
        readiness,
        registry: Arc::new(registry),
    };
    let ops_routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus_metrics))
        .with_state(ops);
    api.merge(ops_routes)
        .route_layer(middleware::from_fn_with_state(metrics, track))
        .fallback(unknown_route)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            // A 5xx is not logged per request here: a 500 logs its cause where it is mapped,
            // and 503s under an overload are expected answers (counted in /metrics) that would
            // otherwise turn an overload into a storm of log writes.
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG))
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        uri = %request.uri().path(),
                        request_id,
                    )
                }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Serves until `shutdown` is cancelled, then stops accepting and lets in-flight requests end.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // Connect info lets handlers see the peer address (login throttling per address).
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Request/answer traffic: Nagle's algorithm must not hold a streamed answer's body (the
    // gateway's proxied answers) behind its headers until the peer's delayed ACK.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let report = ops.readiness.report().await;
    let status = match report.status {
        ReadinessStatus::Ready => StatusCode::OK,
        ReadinessStatus::NotReady => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, axum::Json(report)).into_response()
}

async fn prometheus_metrics(State(ops): State<Ops>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        render(&ops.registry),
    )
        .into_response()
}

async fn unknown_route(request: Request) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("no route for {} {}", request.method(), request.uri().path()),
    )
}
