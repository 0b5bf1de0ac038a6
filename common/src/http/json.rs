//! `ApiJson<T>`: axum's JSON extractor with its rejections turned into problem+json, so that a
//! bad body gets the same kind of answer as every other error.

use axum::{
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use contracts::ErrorCode;
use serde::{Serialize, de::DeserializeOwned};

use super::problem::Problem;

/// A JSON body in, or a JSON body out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(problem_for(&rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn problem_for(rejection: &JsonRejection) -> Problem {
    match rejection {
        // Well-formed JSON of the wrong shape (missing field, wrong type): the body is invalid.
        JsonRejection::JsonDataError(error) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            error.body_text(),
        ),
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::MalformedRequest,
            "expected a body with Content-Type: application/json",
        ),
        other => Problem::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedRequest,
            other.body_text(),
        ),
    }
}

/// Query parameters, with a problem+json 422 when they do not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::ValidationFailed,
                    rejection.body_text(),
                )
            })
    }
}
