//! Logging set-up, done once per process from `main`. Filters come from `RUST_LOG` (default
//! `info`); the format from `TICKETING_LOG_FORMAT` (`text` or `json`).

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global subscriber. Calling it twice is an error from tracing, so only `main`
/// calls it; tests rely on the default (no output) or `test_support::init_test_logging`.
pub fn init(service: &'static str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false),
            )
            .init(),
        LogFormat::Text => registry.with(fmt::layer()).init(),
    }
    tracing::info!(service, "telemetry initialised");
}
