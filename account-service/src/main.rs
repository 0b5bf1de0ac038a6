//! Runs account-service until SIGTERM or SIGINT, or, with `grant-admin EMAIL`, appoints an
//! admin and exits (the first admin can only be made this way).

use account_service::{SERVICE, config::Config, flows, startup};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    common::telemetry::init(SERVICE, config.log_format);
    let shutdown = common::shutdown::on_signal()?;
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.as_slice() {
        [] => {
            tracing::info!(?config, "starting");
            startup::build(config, shutdown)
                .await?
                .run_until_stopped()
                .await
        }
        [command, email] if command == "grant-admin" => {
            let deps = startup::deps(&config, shutdown).await?;
            flows::admin::grant_admin(&deps, email).await?;
            println!("{email} is now an admin");
            Ok(())
        }
        _ => anyhow::bail!("usage: account-service [grant-admin EMAIL]"),
    }
}
