//! The `browse` scenario: catalog and availability reads, as buyers looking around make them:
//! the catalog, one event, its availability and its seat map, over the published events the
//! catalog shows.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, bail};

use crate::{
    api::Api,
    connections::Connections,
    generator::{self, Load},
    report::Report,
};

#[derive(clap::Args)]
pub struct BrowseArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    #[arg(long, default_value_t = 2_000)]
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

pub async fn run(args: BrowseArgs) -> anyhow::Result<bool> {
    let api = Api::new(&args.target)?;
    let connections = Arc::new(Connections::new(&args.target)?);
    let (status, page) = api.get(None, "/v1/events?limit=50").await?;
    if status != 200 {
        bail!("the catalog answered {status}");
    }
    let events: Vec<String> = page["items"]
        .as_array()
        .context("a catalog page")?
        .iter()
        .filter_map(|event| event["id"].as_str().map(str::to_owned))
        .collect();
    if events.is_empty() {
        bail!("no published event to browse: run a drop first");
    }
    let load = Load::for_duration(
        "reads",
        args.rps,
        Duration::from_secs(args.duration),
        args.max_in_flight,
    );
    let phase = generator::run(
        &load,
        |sent| {
            let event = &events[(sent as usize / 4) % events.len()];
            let path = match sent % 8 {
                0 => "/v1/events?limit=20".to_owned(),
                1 => "/v1/events?q=drop&limit=20".to_owned(),
                2 | 3 => format!("/v1/events/{event}"),
                7 => format!("/v1/events/{event}/seats"),
                _ => format!("/v1/events/{event}/availability"),
            };
            let connections = connections.clone();
            async move {
                connections
                    .get(&path)
                    .await
                    .map_or(0, |answer| answer.status)
            }
        },
        |second| generator::progress_line("reads", second),
    )
    .await;
    let mut report = Report::new("browse", &args.target);
    report.fact("events browsed", events.len());
    let errors: u64 = phase
        .answers_by_status
        .iter()
        .filter(|(status, _)| **status != 200)
        .map(|(_, count)| count)
        .sum();
    report.check(
        "every read answered 200",
        errors == 0,
        format!("{errors} other answers"),
    );
    report.phases.push(phase);
    report.finish(args.json.as_deref(), args.html.as_deref())?;
    Ok(report.passed())
}
