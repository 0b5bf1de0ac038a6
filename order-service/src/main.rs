//! Runs order-service until SIGTERM or SIGINT.

use order_service::{SERVICE, config::Config, startup};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    common::telemetry::init(SERVICE, config.log_format);
    tracing::info!(?config, "starting");
    let shutdown = common::shutdown::on_signal()?;
    startup::build(config, shutdown)
        .await?
        .run_until_stopped()
        .await
}
