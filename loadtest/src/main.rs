//! Runs one scenario; the exit code is 1 when an invariant failed. See `loadtest --help`.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !loadtest::run(loadtest::Cli::parse()).await? {
        std::process::exit(1);
    }
    Ok(())
}
