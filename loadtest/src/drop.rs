//! The `drop` scenario (and `soak`, the same with reads mixed in, longer and slower): an event
//! with numbered seats and a standing area goes on sale a few seconds after it is published;
//! purchase requests arrive at a constant rate; every accepted purchase is followed to its
//! decision; a share of the holds is paid (some with a declined card, the rest left to
//! expire); paid orders are followed to their tickets and a sample of documents fetched; then
//! the invariants are audited, through the API and, given their URLs, the databases.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use contracts::purchases::{PurchaseAccepted, PurchaseRequest};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    api::Api,
    audit,
    connections::Connections,
    generator::{self, Load},
    report::Report,
    stats::Stats,
    targets::Targets,
};

/// The event, its buyers, and where the report goes.
#[derive(clap::Args, Clone)]
pub struct EventArgs {
    /// Base URL of the public API (client-service).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// Places on sale: half numbered seats (rows of 50), half one standing area.
    #[arg(long, default_value_t = 10_000)]
    pub seats: u32,
    /// Buyers registered (concurrently, before the drop; argon2 makes this take a while).
    #[arg(long, default_value_t = 1_500)]
    pub buyers: usize,
    /// The event's per-buyer ticket limit.
    #[arg(long, default_value_t = 10)]
    pub per_buyer_limit: u32,
    /// Each request asks for 1 to this many places.
    #[arg(long, default_value_t = 4)]
    pub max_quantity: u32,
    /// Seconds between publishing and the drop.
    #[arg(long, default_value_t = 3)]
    pub lead: u64,
    /// Requests in flight at most; beyond it a due request counts as failed (status 0).
    #[arg(long, default_value_t = 20_000)]
    pub max_in_flight: usize,
    /// Connections opened to the target before the drop, as buyers waiting on the sales page
    /// have theirs: the drop then measures the intake, not TCP set-up. 0 opens none ahead.
    #[arg(long, default_value_t = 512)]
    pub connections: usize,
    /// Share of reserved holds that are paid (the rest are left to expire).
    #[arg(long, default_value_t = 0.8)]
    pub pay_share: f64,
    /// Share of the payments made with a card that is declined.
    #[arg(long, default_value_t = 0.05)]
    pub decline_share: f64,
    /// Payments offered per second (buyers pay over minutes, not all at the drop).
    #[arg(long, default_value_t = 200)]
    pub pay_rps: u32,
    /// Ticket documents downloaded whole (through their download links) after the payments;
    /// of every other valid ticket the first bytes are fetched from the store.
    #[arg(long, default_value_t = 20)]
    pub ticket_samples: usize,
    /// Read-only connection string of order-service's database, for the deep audit
    /// (e.g. postgres://postgres@127.0.0.1:5432/orders).
    #[arg(long)]
    pub orders_db: Option<String>,
    /// Read-only connection string of ticket-service's database (one ticket per sold place).
    #[arg(long)]
    pub tickets_db: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the report as a self-contained HTML page with charts to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub targets: Targets,
}

#[derive(clap::Args)]
pub struct DropArgs {
    #[command(flatten)]
    pub event: EventArgs,
    /// Purchase requests offered per second.
    #[arg(long, default_value_t = 5_000)]
    pub rps: u32,
    /// How long requests are offered, in seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
}

#[derive(clap::Args)]
pub struct SoakArgs {
    #[command(flatten)]
    pub event: EventArgs,
    /// Requests offered per second (reads and purchases together).
    #[arg(long, default_value_t = 500)]
    pub rps: u32,
    /// How long requests are offered, in seconds.
    #[arg(long, default_value_t = 300)]
    pub duration: u64,
    /// Share of the requests that are catalog and availability reads.
    #[arg(long, default_value_t = 0.7)]
    pub read_share: f64,
}

pub(crate) struct Scenario {
    pub(crate) event_id: Uuid,
    pub(crate) tiers: Vec<(Uuid, u64)>,
    pub(crate) sales_open_at: OffsetDateTime,
    pub(crate) buyers: Vec<Buyer>,
}

/// A registered buyer: their access token, and the `Authorization` header made from it once
/// (a drop sends thousands a second).
pub(crate) struct Buyer {
    pub(crate) token: String,
    pub(crate) authorization: reqwest::header::HeaderValue,
}

/// A purchase the system accepted (202).
#[derive(Clone)]
pub(crate) struct Accepted {
    pub(crate) buyer: usize,
    pub(crate) purchase_id: Uuid,
}

/// What became of an accepted purchase.
#[derive(Clone)]
pub(crate) struct Decision {
    pub(crate) accepted: Accepted,
    pub(crate) status: String,
    pub(crate) order_id: Option<Uuid>,
    pub(crate) places: u64,
}

pub async fn run_drop(args: DropArgs) -> anyhow::Result<bool> {
    run(args.event, "drop", args.rps, args.duration, 0.0).await
}

pub async fn run_soak(args: SoakArgs) -> anyhow::Result<bool> {
    run(args.event, "soak", args.rps, args.duration, args.read_share).await
}

async fn run(
    args: EventArgs,
    name: &str,
    rps: u32,
    duration: u64,
    read_share: f64,
) -> anyhow::Result<bool> {
    let api = Api::new(&args.target)?;
    let mut report = Report::new(name, &args.target);
    let scenario = prepare(&api, &args, &mut report).await?;
    let accepted = storm(
        &api,
        &args,
        &scenario,
        rps,
        duration,
        read_share,
        &mut report,
    )
    .await?;
    let decisions = follow(&api, &scenario, &accepted, &mut report).await;
    let paid = pay(&api, &args, &scenario, &decisions, &mut report).await;
    tickets(&api, &args, &scenario, &paid, &mut report).await;
    audit::audit(&api, &args, &scenario, &decisions, &paid, &mut report).await?;
    report.finish(args.json.as_deref(), args.html.as_deref())?;
    Ok(report.passed())
}

async fn prepare(api: &Api, args: &EventArgs, report: &mut Report) -> anyhow::Result<Scenario> {
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
    let mut areas = Vec::new();
    if standing > 0 {
        areas.push(json!({"name": "Floor", "capacity": standing}));
    }
    let venue = api
        .post(
            &organiser,
            "/v1/venues",
            &json!({"name": format!("Arena {run}"), "city": "Loadville", "address": "1 Test Road",
                    "sections": sections, "areas": areas}),
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
    let buyers: Vec<Buyer> = stream::iter(0..args.buyers)
        .map(|index| {
            let email = format!("buyer-{run}-{index}@load.test");
            async move {
                let token = api.account(&email, "buyer").await?;
                let authorization = Api::authorization(&token)?;
                Ok(Buyer {
                    token,
                    authorization,
                })
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let registering = started.elapsed();
    println!(
        "prepared event {event_id}: {} places in {} tiers; {} buyers registered in {registering:.1?}",
        args.seats,
        tiers.len(),
        buyers.len(),
    );
    if (buyers.len() as u64) * u64::from(args.per_buyer_limit) < u64::from(args.seats) {
        println!("note: buyers x per-buyer limit is below the capacity; the event cannot sell out");
    }
    report.fact("event", event_id);
    report.fact("places", args.seats);
    report.fact("buyers", buyers.len());
    report.fact("buyers registered in", format!("{registering:.1?}"));
    Ok(Scenario {
        event_id,
        tiers,
        sales_open_at,
        buyers,
    })
}

async fn storm(
    api: &Api,
    args: &EventArgs,
    scenario: &Scenario,
    rps: u32,
    duration: u64,
    read_share: f64,
    report: &mut Report,
) -> anyhow::Result<Vec<Accepted>> {
    let connections = Arc::new(Connections::new(&args.target)?);
    let opened = connections.open(args.connections).await;
    if opened < args.connections {
        println!(
            "opened {opened} of {} connections before the drop",
            args.connections
        );
    }
    let wait = scenario.sales_open_at - OffsetDateTime::now_utc();
    if wait.is_positive() {
        tokio::time::sleep(wait.unsigned_abs()).await;
    }
    let accepted: Arc<Mutex<Vec<Accepted>>> = Arc::default();
    let remaining = Arc::new(AtomicI64::new(-1));
    let sampler = tokio::spawn(sample_remaining(
        api.clone(),
        scenario.event_id,
        remaining.clone(),
    ));
    let sold_out_after = Arc::new(Mutex::new(None::<Duration>));
    let drop_at = Instant::now();
    println!(
        "{}: offering {rps} requests/s for {duration}s",
        report.scenario
    );
    let reads_per_hundred = (read_share.clamp(0.0, 1.0) * 100.0) as u64;
    let load = Load::for_duration(
        "purchases",
        rps,
        Duration::from_secs(duration),
        args.max_in_flight,
    );
    let phase = generator::run(
        &load,
        |sent| {
            let connections = connections.clone();
            let event_id = scenario.event_id;
            if sent % 100 < reads_per_hundred {
                let path = if sent % 2 == 0 {
                    format!("/v1/events/{event_id}/availability")
                } else {
                    format!("/v1/events/{event_id}")
                };
                return futures::future::Either::Left(async move {
                    connections
                        .get(&path)
                        .await
                        .map_or(0, |answer| answer.status)
                });
            }
            let buyer = (sent.wrapping_mul(7_919) % scenario.buyers.len() as u64) as usize;
            let tier = scenario.tiers[(sent % scenario.tiers.len() as u64) as usize].0;
            let quantity = 1 + (sent % u64::from(args.max_quantity.max(1))) as u32;
            let body = serde_json::to_vec(&PurchaseRequest {
                event_id,
                tier_id: Some(tier),
                quantity: Some(quantity),
                seat_ids: None,
            })
            .unwrap_or_default();
            let authorization = scenario.buyers[buyer].authorization.clone();
            let accepted = accepted.clone();
            futures::future::Either::Right(async move {
                let Ok(answer) = connections.purchase(authorization, body).await else {
                    return 0;
                };
                // Only a 202's body is parsed.
                if answer.status == 202
                    && let Ok(PurchaseAccepted { purchase_id, .. }) =
                        serde_json::from_slice(&answer.body)
                {
                    lock(&accepted).push(Accepted { buyer, purchase_id });
                }
                answer.status
            })
        },
        |second| {
            let places = remaining.load(Ordering::Relaxed);
            second.remaining_places = (places >= 0).then_some(places);
            let mut sold_out = lock(&sold_out_after);
            if places == 0 && sold_out.is_none() {
                *sold_out = Some(drop_at.elapsed());
            }
            generator::progress_line("purchases", second);
        },
    )
    .await;
    sampler.abort();
    match *lock(&sold_out_after) {
        Some(after) => report.fact(
            "sold out after the drop",
            format!("{:.1}s", after.as_secs_f64()),
        ),
        None => report.fact("sold out after the drop", "not within the run"),
    }
    args.targets.check_load(&phase, report);
    report.phases.push(phase);
    Ok(lock(&accepted).clone())
}

/// Keeps `remaining` at the places the event shows, once a second.
async fn sample_remaining(api: Api, event_id: Uuid, remaining: Arc<AtomicI64>) {
    loop {
        if let Ok((200, availability)) = api
            .get(None, &format!("/v1/events/{event_id}/availability"))
            .await
        {
            let places: i64 = availability["tiers"]
                .as_array()
                .map(|tiers| {
                    tiers
                        .iter()
                        .filter_map(|tier| tier["remaining"].as_i64())
                        .sum()
                })
                .unwrap_or(-1);
            remaining.store(places, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Polls a purchase until its status is not one of `waiting`; `None` past the deadline.
async fn poll_until(
    api: &Api,
    token: &str,
    purchase_id: Uuid,
    waiting: &[&str],
    deadline: Duration,
) -> Option<Value> {
    let until = Instant::now() + deadline;
    loop {
        if let Ok((200, view)) = api
            .get(Some(token), &format!("/v1/purchases/{purchase_id}"))
            .await
            && !waiting.contains(&view["status"].as_str().unwrap_or("queued"))
        {
            return Some(view);
        }
        if Instant::now() > until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn follow(
    api: &Api,
    scenario: &Scenario,
    accepted: &[Accepted],
    report: &mut Report,
) -> Vec<Decision> {
    let started = Instant::now();
    let decisions: Vec<Decision> = stream::iter(accepted)
        .map(|purchase| {
            let token = &scenario.buyers[purchase.buyer].token;
            async move {
                let view = poll_until(
                    api,
                    token,
                    purchase.purchase_id,
                    &["queued"],
                    Duration::from_secs(120),
                )
                .await;
                match view {
                    Some(view) => Decision {
                        accepted: purchase.clone(),
                        status: view["status"].as_str().unwrap_or("?").to_owned(),
                        order_id: view["order_id"].as_str().and_then(|id| id.parse().ok()),
                        places: view["seats"].as_array().map_or(0, Vec::len) as u64,
                    },
                    None => Decision {
                        accepted: purchase.clone(),
                        status: "undecided".to_owned(),
                        order_id: None,
                        places: 0,
                    },
                }
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for decision in &decisions {
        *counts.entry(decision.status.clone()).or_default() += 1;
    }
    println!(
        "followed {} accepted purchases in {:.1?}: {counts:?}",
        accepted.len(),
        started.elapsed()
    );
    report.fact("decisions", format!("{counts:?}"));
    decisions
}

/// A payment the run made: the decision it paid for and the answer.
#[derive(Clone)]
pub(crate) struct Payment {
    pub(crate) decision: Decision,
    pub(crate) status: u16,
}

async fn pay(
    api: &Api,
    args: &EventArgs,
    scenario: &Scenario,
    decisions: &[Decision],
    report: &mut Report,
) -> Vec<Payment> {
    let holds: Vec<&Decision> = decisions
        .iter()
        .filter(|decision| decision.status == "reserved" && decision.order_id.is_some())
        .collect();
    let paying: Vec<Decision> = holds
        .iter()
        .enumerate()
        .filter(|(index, _)| ((*index as f64 + 0.5) / holds.len() as f64) < args.pay_share)
        .map(|(_, decision)| (*decision).clone())
        .collect();
    if paying.is_empty() {
        return Vec::new();
    }
    let declined_every = if args.decline_share > 0.0 {
        (1.0 / args.decline_share).round().max(1.0) as usize
    } else {
        usize::MAX
    };
    let payments: Arc<Mutex<Vec<Payment>>> = Arc::default();
    let load = Load {
        name: "payments",
        rate_per_second: args.pay_rps.max(1),
        requests: paying.len() as u64,
        max_in_flight: args.max_in_flight,
    };
    println!(
        "paying {} of {} holds at {}/s (every {declined_every}th declined)",
        paying.len(),
        holds.len(),
        load.rate_per_second
    );
    let phase = generator::run(
        &load,
        |sent| {
            let index = sent as usize;
            let decision = paying[index].clone();
            let token = scenario.buyers[decision.accepted.buyer].token.clone();
            let card = if index % declined_every == declined_every - 1 {
                "tok_declined"
            } else {
                "tok_visa"
            };
            let (api, payments) = (api.clone(), payments.clone());
            async move {
                let order_id = decision.order_id.unwrap_or_default();
                let status = api.pay(&token, order_id, card).await.unwrap_or(0);
                lock(&payments).push(Payment { decision, status });
                status
            }
        },
        |second| generator::progress_line("payments", second),
    )
    .await;
    report.phases.push(phase);
    lock(&payments).clone()
}

async fn tickets(
    api: &Api,
    args: &EventArgs,
    scenario: &Scenario,
    payments: &[Payment],
    report: &mut Report,
) {
    let paid: Vec<&Payment> = payments
        .iter()
        .filter(|payment| payment.status == 200)
        .collect();
    if paid.is_empty() {
        return;
    }
    let started = Instant::now();
    let to_ticketed = Stats::default();
    let ticketed: Vec<bool> = stream::iter(&paid)
        .map(|payment| {
            let token = &scenario.buyers[payment.decision.accepted.buyer].token;
            let to_ticketed = to_ticketed.clone();
            let began = Instant::now();
            async move {
                let view = poll_until(
                    api,
                    token,
                    payment.decision.accepted.purchase_id,
                    &["queued", "reserved", "paid"],
                    Duration::from_secs(180),
                )
                .await;
                to_ticketed.record(200, began.elapsed());
                view.is_some_and(|view| view["status"] == "ticketed")
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let issued = ticketed.iter().filter(|ticketed| **ticketed).count();
    let elapsed = started.elapsed();
    println!(
        "{issued} of {} paid purchases ticketed within {elapsed:.1?}",
        paid.len()
    );
    report.fact(
        "paid purchases ticketed",
        format!("{issued} of {} in {elapsed:.1?}", paid.len()),
    );
    report.latencies_ms.insert(
        "paid to ticketed seen (polled)".to_owned(),
        to_ticketed.percentiles_ms(),
    );
    report.check(
        "every paid purchase got its tickets",
        issued == paid.len(),
        format!("{issued} of {} ticketed", paid.len()),
    );

    let paid_orders: HashSet<String> = paid
        .iter()
        .filter_map(|payment| payment.decision.order_id)
        .map(|order_id| order_id.to_string())
        .collect();
    let buyers: BTreeSet<usize> = paid
        .iter()
        .map(|payment| payment.decision.accepted.buyer)
        .collect();
    let listed: Vec<anyhow::Result<Vec<(usize, String)>>> = stream::iter(buyers)
        .map(|buyer| {
            let paid_orders = &paid_orders;
            async move {
                let tickets = api.tickets(&scenario.buyers[buyer].token).await?;
                Ok(tickets
                    .iter()
                    .filter(|ticket| {
                        ticket["state"] == "valid"
                            && ticket["order_id"]
                                .as_str()
                                .is_some_and(|order| paid_orders.contains(order))
                    })
                    .filter_map(|ticket| ticket["ticket_id"].as_str())
                    .map(|ticket_id| (buyer, ticket_id.to_owned()))
                    .collect())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut failed: Vec<String> = Vec::new();
    let mut valid = Vec::new();
    for buyer_tickets in listed {
        match buyer_tickets {
            Ok(tickets) => valid.extend(tickets),
            Err(error) => failed.push(format!("{error:#}")),
        }
    }
    let samples = args.ticket_samples;
    let fetched: Vec<Result<(), String>> = stream::iter(valid.iter().enumerate())
        .map(|(index, (buyer, ticket_id))| async move {
            let whole = index < samples;
            match api
                .ticket_document(&scenario.buyers[*buyer].token, ticket_id, whole)
                .await
            {
                Ok(bytes) if bytes.starts_with(b"%PDF-") => Ok(()),
                Ok(_) => Err(format!("{ticket_id}: not a PDF")),
                Err(error) => Err(format!("{ticket_id}: {error:#}")),
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let stored = fetched.iter().filter(|outcome| outcome.is_ok()).count();
    failed.extend(fetched.into_iter().filter_map(Result::err));
    failed.truncate(5);
    report.check(
        "every valid ticket's document is in the store (S3)",
        failed.is_empty() && stored == valid.len(),
        format!(
            "{stored} of {} fetched through their links ({} whole, the rest their first bytes); failures: {failed:?}",
            valid.len(),
            samples.min(valid.len())
        ),
    );
}

/// How a scenario's reads and purchases spread; used by the audit to total places.
pub(crate) fn places_by_status(decisions: &[Decision]) -> HashMap<String, u64> {
    let mut places = HashMap::new();
    for decision in decisions {
        *places.entry(decision.status.clone()).or_default() += decision.places;
    }
    places
}
