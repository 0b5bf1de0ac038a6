//! `loadtest`: drives a deployment through its public API the way a ticket drop does, and
//! audits the invariants afterwards.
//!
//! - [`drop`]: the drop and soak scenarios (prepare, purchases, follow, pay, tickets).
//! - [`audit`]: the invariants, through the API and the databases.
//! - [`browse`]: catalog and availability reads.
//! - [`rate`]: the generator alone, to show it is not the limit.
//! - [`generator`]: the open-model request generator every scenario uses.
//! - [`report`]: text, JSON and HTML reports.
//! - [`targets`]: performance targets from the command line, checked like the invariants.
//! - [`connections`]: the keep-alive connections the generator offers its load over.
//! - [`api`], [`stats`], [`cpu`]: the public API calls, histograms, the generator's CPU use.

pub mod api;
mod audit;
pub mod browse;
pub mod connections;
pub mod cpu;
pub mod drop;
pub mod generator;
pub mod rate;
pub mod report;
pub mod stats;
pub mod targets;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Ticket-drop simulator and invariant auditor")]
pub struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Prepares an event, opens its sales and sends purchase requests at a constant rate,
    /// follows every accepted purchase, pays a share of the holds, fetches tickets, audits.
    Drop(drop::DropArgs),
    /// Like drop, slower and longer, with catalog and availability reads mixed in.
    Soak(drop::SoakArgs),
    /// Catalog and availability reads over the published events.
    Browse(browse::BrowseArgs),
    /// The generator alone against one URL: the rate it offers and the CPU that costs.
    Rate(rate::RateArgs),
}

/// Runs the chosen scenario; `Ok(false)` when an invariant failed.
pub async fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.scenario {
        Scenario::Drop(args) => drop::run_drop(args).await,
        Scenario::Soak(args) => drop::run_soak(args).await,
        Scenario::Browse(args) => browse::run(args).await,
        Scenario::Rate(args) => rate::run(args).await,
    }
}
