//! `ApiError`: what every handler returns on failure. Each service converts its flows' error
//! type into it in its own `http/error.rs` (the one place that service chooses status codes);
//! authentication failures and ready-made problems convert here.

use axum::response::{IntoResponse, Response};

use super::Problem;
use crate::auth::AuthError;

#[derive(Debug)]
pub enum ApiError {
    Auth(AuthError),
    Problem(Problem),
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::Auth(error)
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        ApiError::Problem(problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Auth(error) => error.into_response(),
            ApiError::Problem(problem) => problem.into_response(),
        }
    }
}
