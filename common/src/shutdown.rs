//! The one shutdown signal of a process: a `CancellationToken` created in `main`, cancelled on
//! SIGTERM or SIGINT, and passed down to the HTTP server, consumers and background loops.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Returns a token that is cancelled when the process receives SIGTERM or SIGINT.
///
/// The handlers are installed before this returns, so a signal that arrives at any moment
/// after it (even before the returned token is first awaited) drains instead of killing.
pub fn on_signal() -> std::io::Result<CancellationToken> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutdown signal received; finishing in-flight work");
        cancel.cancel();
    });
    Ok(token)
}
