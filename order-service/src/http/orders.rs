//! A buyer's orders: the cabinet, paying a hold, cancelling.

use axum::extract::{Path, State};
use common::{
    auth::AuthUser,
    http::{ApiError, ApiJson, ApiQuery, IdempotencyKey, Problem, pagination::PageQuery},
};
use contracts::{
    ErrorCode,
    orders::{OrderPage, OrderView, PaymentRequest},
};
use uuid::Uuid;

use super::AppState;
use crate::flows;

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;
const MAX_CARD_TOKEN_BYTES: usize = 255;

/// `GET /v1/orders`: the caller's orders, newest first.
pub(super) async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<OrderPage>, ApiError> {
    let page = query.parse(DEFAULT_PAGE, MAX_PAGE)?;
    Ok(ApiJson(
        flows::orders::list(&state.deps, user.id, page).await?,
    ))
}

/// `GET /v1/orders/{id}`: one of the caller's orders; anyone else's is a 404.
pub(super) async fn order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<Uuid>,
) -> Result<ApiJson<OrderView>, ApiError> {
    Ok(ApiJson(
        flows::orders::order(&state.deps, order_id, user.id).await?,
    ))
}

/// `POST /v1/orders/{id}/payment`: 200 paid; 402 declined; 409 expired or paid already.
pub(super) async fn pay(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<Uuid>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<PaymentRequest>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let card_token = request.card_token.trim();
    if card_token.is_empty() || card_token.len() > MAX_CARD_TOKEN_BYTES {
        let message = format!("must be 1 to {MAX_CARD_TOKEN_BYTES} characters");
        return Err(Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            format!("card_token {message}"),
        )
        .with_errors([("card_token".to_owned(), message)].into())
        .into());
    }
    let paid =
        flows::payments::pay(&state.deps, user.id, order_id, key.as_str(), card_token).await?;
    Ok(ApiJson(paid))
}

/// `POST /v1/orders/{id}/cancel`: a reserved order's places go back on sale; a paid order is
/// refunded first. Someone else's order is a 404.
pub(super) async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(order_id): Path<Uuid>,
) -> Result<ApiJson<OrderView>, ApiError> {
    Ok(ApiJson(
        flows::cancellations::cancel(&state.deps, order_id, user.id).await?,
    ))
}
