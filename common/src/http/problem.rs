//! Turning a `ProblemDetails` into an HTTP answer. Each service's `ApiError` builds one of these;
//! this is the only place the problem+json media type is written.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use contracts::{ErrorCode, ProblemDetails, problem::PROBLEM_JSON};

/// A problem document ready to be sent, optionally with `Retry-After`.
#[derive(Debug, Clone)]
pub struct Problem {
    details: ProblemDetails,
    retry_after_seconds: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        Self {
            details: ProblemDetails::new(code, status.as_u16(), title, detail),
            retry_after_seconds: None,
        }
    }

    pub fn with_errors(mut self, errors: std::collections::BTreeMap<String, String>) -> Self {
        self.details = self.details.with_errors(errors);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// 500 with nothing internal in the body; the caller logs the cause.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "an unexpected error occurred; it has been logged",
        )
    }

    pub fn details(&self) -> &ProblemDetails {
        &self.details
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.details.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.details)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
