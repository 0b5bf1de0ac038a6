//! `loadtest`: drives a deployment through its public API the way a ticket drop does, and
//! audits the invariants afterwards.
//!
//! - [`drop`]: the drop scenario (prepare, storm, follow, audit).
//! - [`api`]: the public API calls it makes.
//! - [`stats`]: answers and latency histograms.

pub mod api;
pub mod drop;
pub mod stats;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Ticket-drop simulator and invariant auditor")]
pub struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Prepares an event, opens its sales and sends purchase requests at a constant rate, then
    /// follows every accepted purchase and audits the result.
    Drop(drop::DropArgs),
}

/// Runs the chosen scenario; `Ok(false)` when an invariant failed.
pub async fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.scenario {
        Scenario::Drop(args) => drop::run(args).await,
    }
}
