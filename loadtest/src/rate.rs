//! The `rate` scenario: the generator alone against one cheap endpoint (say `/healthz`), to
//! show what it can offer on this machine and how much CPU that costs it, apart from any
//! system under test.

use std::{path::PathBuf, sync::Arc, time::Duration};

use crate::{
    connections::Connections,
    generator::{self, Load},
    report::Report,
};

#[derive(clap::Args)]
pub struct RateArgs {
    /// The URL every request gets.
    #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
    url: String,
    #[arg(long, default_value_t = 10_000)]
    rps: u32,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    #[arg(long, default_value_t = 20_000)]
    max_in_flight: usize,
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    html: Option<PathBuf>,
}

pub async fn run(args: RateArgs) -> anyhow::Result<bool> {
    let connections = Arc::new(Connections::new(&args.url)?);
    let path = reqwest::Url::parse(&args.url)?.path().to_owned();
    let load = Load::for_duration(
        "requests",
        args.rps,
        Duration::from_secs(args.duration),
        args.max_in_flight,
    );
    let phase = generator::run(
        &load,
        |_| {
            let (connections, path) = (connections.clone(), path.clone());
            async move {
                connections
                    .get(&path)
                    .await
                    .map_or(0, |answer| answer.status)
            }
        },
        |second| generator::progress_line("requests", second),
    )
    .await;
    let mut report = Report::new("rate", &args.url);
    report.phases.push(phase);
    report.finish(args.json.as_deref(), args.html.as_deref())?;
    Ok(true)
}
