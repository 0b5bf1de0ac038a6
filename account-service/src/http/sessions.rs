//! Login, refresh, logout and the public keys.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson},
};
use contracts::accounts::{LoginRequest, RefreshRequest, TokenPair};

use super::AppState;
use crate::flows;

pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<ApiJson<TokenPair>, ApiError> {
    let address = client_address(&headers, peer);
    let pair =
        flows::sessions::login(&state.deps, &request.email, request.password, &address).await?;
    Ok(ApiJson(pair))
}

pub(super) async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<ApiJson<TokenPair>, ApiError> {
    let pair = flows::sessions::refresh(&state.deps, &request.refresh_token).await?;
    Ok(ApiJson(pair))
}

pub(super) async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    flows::sessions::logout(&state.deps, user.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        ApiJson(state.deps.tokens.jwks().clone()),
    )
}

/// The buyer's address: client-service (the only public entry point) puts it first in
/// `X-Forwarded-For`; a direct caller is its peer address.
fn client_address(headers: &HeaderMap, peer: SocketAddr) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .map_or_else(|| peer.ip().to_string(), str::to_owned)
}
