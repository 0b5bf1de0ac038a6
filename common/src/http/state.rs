//! The state every service's handlers get: its flows' dependencies, and the token verifier
//! the `AuthUser` extractor needs.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::Authenticator;

/// Cloned for every request (axum's `State`), so the dependencies sit behind one `Arc`.
#[derive(Clone)]
pub struct AppState<D> {
    pub deps: Arc<D>,
    pub authenticator: Authenticator,
}

impl<D> FromRef<AppState<D>> for Authenticator {
    fn from_ref(state: &AppState<D>) -> Self {
        state.authenticator.clone()
    }
}
