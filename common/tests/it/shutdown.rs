//! SIGTERM drains instead of killing.

use std::time::Duration;

#[tokio::test]
async fn sigterm_cancels_the_shutdown_token_and_the_process_lives_on() {
    let token = common::shutdown::on_signal().expect("signal handlers install");

    // A real signal to this very process, sent the way an orchestrator would.
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());

    tokio::time::timeout(Duration::from_secs(5), token.cancelled())
        .await
        .expect("the token fires instead of the process dying");
}
