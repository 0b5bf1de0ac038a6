//! The state every service's handlers get: its flows' dependencies, and the token verifier
//! the `AuthUser` extractor needs.

use axum::extract::FromRef;

use crate::auth::Authenticator;

#[derive(Clone)]
pub struct AppState<D> {
    pub deps: D,
    pub authenticator: Authenticator,
}

impl<D> FromRef<AppState<D>> for Authenticator {
    fn from_ref(state: &AppState<D>) -> Self {
        state.authenticator.clone()
    }
}
