//! The `drop` scenario: an event with numbered seats and a standing area goes on sale a few
//! seconds after it is published; purchase requests then arrive at a constant rate (open
//! model: sent by the clock, not by answers, and timed from when they were due), every
//! accepted purchase is followed to its decision, and the invariants are audited.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{api::Api, stats::Stats};

#[derive(clap::Args)]
pub struct DropArgs {
    /// Base URL of the public API (client-service).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Places on sale: half numbered seats (rows of 50), half one standing area.
    #[arg(long, default_value_t = 10_000)]
    seats: u32,
    /// Buyers registered (concurrently, before the drop; argon2 makes this take a while).
    #[arg(long, default_value_t = 1_500)]
    buyers: usize,
    /// Purchase requests offered per second.
    #[arg(long, default_value_t = 5_000)]
    rps: u32,
    /// How long requests are offered, in seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The event's per-buyer ticket limit.
    #[arg(long, default_value_t = 10)]
    per_buyer_limit: u32,
    /// Each request asks for 1 to this many places.
    #[arg(long, default_value_t = 4)]
    max_quantity: u32,
    /// Seconds between publishing and the drop.
    #[arg(long, default_value_t = 3)]
    lead: u64,
    /// Requests in flight at most; beyond it a due request counts as failed (status 0)
    /// instead of queueing inside the generator.
    #[arg(long, default_value_t = 20_000)]
    max_in_flight: usize,
    /// Read-only connection string of order-service's database, for the deep audit
    /// (e.g. postgres://postgres@127.0.0.1:5432/orders).
    #[arg(long)]
    orders_db: Option<String>,
}

struct Scenario {
    event_id: Uuid,
    tiers: Vec<(Uuid, u64)>,
    sales_open_at: OffsetDateTime,
    buyers: Vec<String>,
}

pub async fn run(args: DropArgs) -> anyhow::Result<bool> {
    let api = Api::new(&args.target)?;
    let scenario = prepare(&api, &args).await?;
    let accepted = storm(&api, &args, &scenario).await;
    let decided = follow(&api, &scenario, &accepted).await;
    audit(&api, &args, &scenario, &accepted, decided).await
}

async fn prepare(api: &Api, args: &DropArgs) -> anyhow::Result<Scenario> {
    let run = Uuid::now_v7().simple().to_string();
    let organiser = api
        .account(&format!("organiser-{run}@load.test"), "organiser")
        .await?;
    let seated = args.seats / 2;
    let standing = args.seats - seated;
    let rows: Vec<Value> = (0..seated.div_ceil(50))
        .map(|row| json!({"label": format!("R{row}"), "seats": (seated - row * 50).min(50)}))
        .collect();
    let sections: Vec<Value> = rows
        .chunks(40)
        .enumerate()
        .map(|(index, rows)| json!({"name": format!("Block {index}"), "rows": rows}))
        .collect();
    let section_names: Vec<Value> = sections
        .iter()
        .map(|section| section["name"].clone())
        .collect();
    let venue = api
        .post(
            &organiser,
            "/v1/venues",
            &json!({"name": format!("Arena {run}"), "city": "Loadville", "address": "1 Test Road",
                    "sections": sections, "areas": [{"name": "Floor", "capacity": standing}]}),
            201,
        )
        .await?;
    let sales_open_at = OffsetDateTime::now_utc() + Duration::from_secs(args.lead + 2);
    let rfc3339 = |at: OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let mut tiers = Vec::new();
    if seated > 0 {
        tiers.push(json!({"name": "Seated", "price_minor": 7_500, "currency": "EUR", "sections": section_names}));
    }
    if standing > 0 {
        tiers.push(json!({"name": "Standing", "price_minor": 4_500, "currency": "EUR", "areas": ["Floor"]}));
    }
    let event = api
        .post(
            &organiser,
            "/v1/events",
            &json!({"title": format!("Drop {run}"), "description": "load test", "category": "concert",
                    "venue_id": venue["id"], "starts_at": rfc3339(sales_open_at + Duration::from_secs(86_400)),
                    "sales_open_at": rfc3339(sales_open_at), "per_buyer_limit": args.per_buyer_limit,
                    "tiers": tiers}),
            201,
        )
        .await?;
    let event_id: Uuid = event["id"].as_str().context("event id")?.parse()?;
    let published = api
        .post(
            &organiser,
            &format!("/v1/events/{event_id}/publish"),
            &json!({}),
            200,
        )
        .await?;
    let tiers = published["tiers"]
        .as_array()
        .context("tiers")?
        .iter()
        .map(|tier| {
            Ok((
                tier["id"].as_str().context("tier id")?.parse()?,
                tier["capacity"].as_u64().context("capacity")?,
            ))
        })
        .collect::<anyhow::Result<Vec<(Uuid, u64)>>>()?;

    let started = Instant::now();
    let buyers: Vec<String> = stream::iter(0..args.buyers)
        .map(|index| {
            let email = format!("buyer-{run}-{index}@load.test");
            async move { api.account(&email, "buyer").await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    println!(
        "prepared event {event_id}: {} places in {} tiers; {} buyers registered in {:.1?}",
        args.seats,
        tiers.len(),
        buyers.len(),
        started.elapsed()
    );
    if (buyers.len() as u64) * u64::from(args.per_buyer_limit) < u64::from(args.seats) {
        println!("note: buyers x per-buyer limit is below the capacity; the event cannot sell out");
    }
    Ok(Scenario {
        event_id,
        tiers,
        sales_open_at,
        buyers,
    })
}

/// Accepted purchases: (buyer index, purchase id).
type Accepted = Vec<(usize, Uuid)>;

async fn storm(api: &Api, args: &DropArgs, scenario: &Scenario) -> Accepted {
    let wait = scenario.sales_open_at - OffsetDateTime::now_utc();
    if wait.is_positive() {
        tokio::time::sleep(wait.unsigned_abs()).await;
    }
    let stats = Stats::default();
    let accepted: Arc<Mutex<Accepted>> = Arc::default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let last_accept_ms = Arc::new(AtomicU64::new(0));
    let total = u64::from(args.rps) * args.duration;
    let rate = f64::from(args.rps);
    let started = Instant::now();
    let mut sent: u64 = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    let mut next_report = Duration::from_secs(1);
    println!(
        "drop: offering {} requests/s for {}s",
        args.rps, args.duration
    );
    while sent < total {
        ticker.tick().await;
        let elapsed = started.elapsed();
        let due = ((elapsed.as_secs_f64() * rate) as u64).min(total);
        while sent < due {
            let scheduled = started + Duration::from_secs_f64(sent as f64 / rate);
            if in_flight.load(Ordering::Relaxed) >= args.max_in_flight {
                stats.record(0, scheduled.elapsed());
            } else {
                let buyer = (sent.wrapping_mul(7_919) % scenario.buyers.len() as u64) as usize;
                let tier = scenario.tiers[(sent % scenario.tiers.len() as u64) as usize].0;
                let quantity = 1 + (sent % u64::from(args.max_quantity.max(1))) as u32;
                let body =
                    json!({"event_id": scenario.event_id, "tier_id": tier, "quantity": quantity});
                let (api, stats, accepted, in_flight, last_accept_ms) = (
                    api.clone(),
                    stats.clone(),
                    accepted.clone(),
                    in_flight.clone(),
                    last_accept_ms.clone(),
                );
                let token = scenario.buyers[buyer].clone();
                in_flight.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let answer = api.purchase(&token, &body).await;
                    let status = answer.as_ref().map_or(0, |(status, _)| *status);
                    stats.record(status, scheduled.elapsed());
                    if let Ok((202, body)) = answer
                        && let Some(id) =
                            body["purchase_id"].as_str().and_then(|id| id.parse().ok())
                    {
                        let at = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        last_accept_ms.fetch_max(at, Ordering::Relaxed);
                        accepted
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((buyer, id));
                    }
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                });
            }
            sent += 1;
        }
        if started.elapsed() >= next_report {
            let window = stats.take_window();
            let answered: u64 = window.by_status.values().sum();
            println!(
                "  t={:>3}s answered {answered:>6}/s  {:?}  p99 {:>6.1?}  in flight {}",
                next_report.as_secs(),
                window.by_status,
                window.p99,
                in_flight.load(Ordering::Relaxed)
            );
            next_report += Duration::from_secs(1);
        }
    }
    while in_flight.load(Ordering::Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "\naccept call: {sent} requests in {elapsed:.1?} ({:.0}/s offered)",
        sent as f64 / elapsed.as_secs_f64()
    );
    println!("  answers by status: {:?}", stats.by_status());
    let percentiles: Vec<String> = stats
        .percentiles()
        .iter()
        .map(|(name, value)| format!("{name} {value:.1?}"))
        .collect();
    println!("  latency (from when due): {}", percentiles.join(", "));
    println!(
        "  last purchase accepted {:.1}s after the drop",
        last_accept_ms.load(Ordering::Relaxed) as f64 / 1_000.0
    );
    let accepted = accepted
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    accepted.clone()
}

/// Decisions of the accepted purchases: status -> (purchases, places).
type Decided = HashMap<String, (u64, u64)>;

async fn follow(api: &Api, scenario: &Scenario, accepted: &Accepted) -> Decided {
    let started = Instant::now();
    let outcomes: Vec<(String, u64)> = stream::iter(accepted)
        .map(|(buyer, purchase_id)| {
            let token = &scenario.buyers[*buyer];
            async move {
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    let answer = api
                        .get(Some(token), &format!("/v1/purchases/{purchase_id}"))
                        .await;
                    if let Ok((200, view)) = &answer
                        && view["status"] != "queued"
                    {
                        let places = view["seats"].as_array().map_or(0, Vec::len) as u64;
                        return (view["status"].as_str().unwrap_or("?").to_owned(), places);
                    }
                    if Instant::now() > deadline {
                        return ("undecided".to_owned(), 0);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut decided = Decided::new();
    for (status, places) in outcomes {
        let entry = decided.entry(status).or_default();
        entry.0 += 1;
        entry.1 += places;
    }
    println!(
        "\nfollowed {} accepted purchases in {:.1?}: {decided:?}",
        accepted.len(),
        started.elapsed()
    );
    decided
}

async fn audit(
    api: &Api,
    args: &DropArgs,
    scenario: &Scenario,
    accepted: &Accepted,
    decided: Decided,
) -> anyhow::Result<bool> {
    let mut failures = Vec::new();
    let capacity: u64 = scenario.tiers.iter().map(|(_, capacity)| capacity).sum();
    let reserved_places = decided.get("reserved").map_or(0, |(_, places)| *places);
    if decided.contains_key("undecided") {
        failures.push("some accepted purchases never reached a decision".to_owned());
    }
    let (_, availability) = api
        .get(
            None,
            &format!("/v1/events/{}/availability", scenario.event_id),
        )
        .await?;
    let remaining: HashMap<Uuid, i64> = availability["tiers"]
        .as_array()
        .map(|tiers| {
            tiers
                .iter()
                .filter_map(|tier| {
                    Some((
                        tier["tier_id"].as_str()?.parse().ok()?,
                        tier["remaining"].as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let remaining_total: i64 = remaining.values().sum();
    println!(
        "\naudit: capacity {capacity}, reserved {reserved_places}, remaining (Redis) {remaining_total}"
    );
    if reserved_places + remaining_total.max(0) as u64 != capacity {
        failures.push(format!(
            "reserved {reserved_places} + remaining {remaining_total} != capacity {capacity}"
        ));
    }
    if reserved_places > capacity {
        failures.push("more places reserved than exist".to_owned());
    }
    if let Some(url) = &args.orders_db {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute("SET default_transaction_read_only = on")
            .await?;
        let event_id = scenario.event_id;
        let row = client
            .query_one(
                "SELECT count(*), count(DISTINCT place_id) FROM order_places WHERE event_id = $1 AND active",
                &[&event_id],
            )
            .await?;
        let (claims, distinct): (i64, i64) = (row.get(0), row.get(1));
        println!("  postgres: {claims} active claims on {distinct} distinct places");
        if claims != distinct {
            failures.push(format!("{} places are claimed twice", claims - distinct));
        }
        if claims as u64 != reserved_places {
            failures.push(format!(
                "postgres holds {claims} places, the buyers were told {reserved_places}"
            ));
        }
        let ids: Vec<Uuid> = accepted.iter().map(|(_, id)| *id).collect();
        let orders: i64 = client
            .query_one(
                "SELECT count(*) FROM orders WHERE purchase_id = ANY($1)",
                &[&ids],
            )
            .await?
            .get(0);
        if orders as usize != ids.len() {
            failures.push(format!(
                "{} accepted purchases have no order",
                ids.len() as i64 - orders
            ));
        }
        for row in client
            .query(
                "SELECT tier_id, count(*) FILTER (WHERE state = 'available') FROM places
                 WHERE event_id = $1 GROUP BY tier_id",
                &[&event_id],
            )
            .await?
        {
            let (tier_id, available): (Uuid, i64) = (row.get(0), row.get(1));
            if remaining.get(&tier_id) != Some(&available) {
                failures.push(format!(
                    "tier {tier_id}: Redis says {:?} remaining, Postgres {available}",
                    remaining.get(&tier_id)
                ));
            }
        }
        let row = client
            .query_one(
                "SELECT extract(epoch FROM max(created_at) - min(created_at))::float8, coalesce(sum(quantity), 0)
                 FROM orders WHERE event_id = $1 AND state = 'reserved'",
                &[&event_id],
            )
            .await?;
        let (seconds, places): (Option<f64>, i64) = (row.get(0), row.get(1));
        if let Some(seconds) = seconds.filter(|seconds| *seconds > 0.0) {
            println!(
                "  order-service reserved {places} places in {seconds:.2}s ({:.0} places/s)",
                places as f64 / seconds
            );
        }
    }
    if failures.is_empty() {
        println!("  every invariant holds");
    } else {
        for failure in &failures {
            println!("  FAILED: {failure}");
        }
    }
    Ok(failures.is_empty())
}
