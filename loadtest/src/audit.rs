//! The audit after a drop or soak: the invariants, checked through the public API and, given
//! their URLs, in the databases themselves (read-only).

use std::collections::HashMap;

use uuid::Uuid;

/// Longest wait for pending payments to settle (the recovery sweep looks after a minute).
const SETTLE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(150);

use crate::{
    api::Api,
    drop::{Decision, EventArgs, Payment, Scenario, places_by_status},
    report::Report,
    stats::QUANTILES,
};

pub(crate) async fn audit(
    api: &Api,
    args: &EventArgs,
    scenario: &Scenario,
    decisions: &[Decision],
    payments: &[Payment],
    report: &mut Report,
) -> anyhow::Result<()> {
    let undecided = decisions
        .iter()
        .filter(|decision| decision.status == "undecided")
        .count();
    report.check(
        "every accepted purchase reached a decision",
        undecided == 0,
        format!("{} accepted, {undecided} undecided", decisions.len()),
    );
    let capacity: u64 = scenario.tiers.iter().map(|(_, capacity)| capacity).sum();
    let held_or_sold = places_by_status(decisions)
        .get("reserved")
        .copied()
        .unwrap_or(0);
    let remaining = api_remaining(api, scenario.event_id).await?;
    let remaining_total: i64 = remaining.values().sum();
    report.check(
        "places held or sold + remaining = capacity (API)",
        held_or_sold + remaining_total.max(0) as u64 == capacity && held_or_sold <= capacity,
        format!("{held_or_sold} + {remaining_total} vs {capacity}"),
    );
    let paid_answers = payments
        .iter()
        .filter(|payment| payment.status == 200)
        .count() as i64;
    let mut places_per_second = None;
    if let Some(url) = &args.orders_db {
        places_per_second = orders_audit(
            url,
            scenario,
            decisions,
            &remaining,
            held_or_sold,
            paid_answers,
            report,
        )
        .await?;
    }
    args.targets.check_reservations(places_per_second, report);
    if let Some(url) = &args.tickets_db {
        tickets_audit(url, args.orders_db.as_deref(), scenario, report).await?;
    }
    Ok(())
}

async fn api_remaining(api: &Api, event_id: Uuid) -> anyhow::Result<HashMap<Uuid, i64>> {
    let (_, availability) = api
        .get(None, &format!("/v1/events/{event_id}/availability"))
        .await?;
    Ok(availability["tiers"]
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
        .unwrap_or_default())
}

async fn read_only(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await?;
    Ok(client)
}

async fn orders_audit(
    url: &str,
    scenario: &Scenario,
    decisions: &[Decision],
    remaining: &HashMap<Uuid, i64>,
    held_or_sold: u64,
    paid_answers: i64,
    report: &mut Report,
) -> anyhow::Result<Option<f64>> {
    let client = read_only(url).await?;
    let event_id = scenario.event_id;
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT place_id) FROM order_places
             WHERE event_id = $1 AND active",
            &[&event_id],
        )
        .await?;
    let (claims, distinct): (i64, i64) = (row.get(0), row.get(1));
    report.check(
        "no place in two orders",
        claims == distinct,
        format!("{claims} active claims on {distinct} places"),
    );
    report.check(
        "Postgres holds what buyers were told",
        claims as u64 == held_or_sold,
        format!("Postgres {claims}, buyers told {held_or_sold}"),
    );
    let ids: Vec<Uuid> = decisions
        .iter()
        .map(|decision| decision.accepted.purchase_id)
        .collect();
    let orders: i64 = client
        .query_one(
            "SELECT count(*) FROM orders WHERE purchase_id = ANY($1)",
            &[&ids],
        )
        .await?
        .get(0);
    report.check(
        "every 202 has its order (nothing lost)",
        orders as usize == ids.len(),
        format!("{orders} orders for {} accepted purchases", ids.len()),
    );
    for (tier_id, capacity) in &scenario.tiers {
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE state = 'available'),
                        count(*) FILTER (WHERE state = 'held'),
                        count(*) FILTER (WHERE state = 'sold')
                 FROM places WHERE event_id = $1 AND tier_id = $2",
                &[&event_id, tier_id],
            )
            .await?;
        let (available, held, sold): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        report.check(
            &format!("tier {tier_id}: sold + held + remaining = capacity"),
            (available + held + sold) as u64 == *capacity,
            format!("{sold} sold + {held} held + {available} available vs {capacity}"),
        );
        report.check(
            &format!("tier {tier_id}: Redis counter = Postgres"),
            remaining.get(tier_id) == Some(&available),
            format!("Redis {:?}, Postgres {available}", remaining.get(tier_id)),
        );
    }
    // Payments answered 503 (busy) are pending until the provider's webhook or the recovery
    // sweep settles them: compare money and orders once none is left.
    let settle_started = std::time::Instant::now();
    let mut pending: i64 = 0;
    while settle_started.elapsed() < SETTLE_DEADLINE {
        pending = client
            .query_one(
                "SELECT count(*) FROM payments p JOIN orders o ON o.order_id = p.order_id
                 WHERE o.event_id = $1 AND p.state = 'pending'",
                &[&event_id],
            )
            .await?
            .get(0);
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    report.check(
        "every payment settled",
        pending == 0,
        format!("{pending} pending after {:.0?}", settle_started.elapsed()),
    );
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM orders
                     WHERE event_id = $1 AND state IN ('paid', 'ticketed')),
                    (SELECT count(*) FROM payments p
                     JOIN orders o ON o.order_id = p.order_id
                     JOIN sandbox_charges c ON c.idempotency_key = p.payment_id::text
                     WHERE o.event_id = $1 AND c.status = 'succeeded'
                       AND NOT EXISTS (SELECT 1 FROM sandbox_refunds r WHERE r.charge_id = c.charge_id)),
                    (SELECT count(*) FROM (
                         SELECT p.order_id FROM payments p
                         JOIN orders o ON o.order_id = p.order_id
                         JOIN sandbox_charges c ON c.idempotency_key = p.payment_id::text
                         WHERE o.event_id = $1 AND c.status = 'succeeded'
                         GROUP BY p.order_id HAVING count(*) > 1) twice)",
            &[&event_id],
        )
        .await?;
    let (paid_orders, charges, charged_twice): (i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2));
    report.check(
        "paid orders = sandbox charges (nobody charged twice)",
        paid_orders == charges && charged_twice == 0,
        format!("{paid_orders} paid orders, {charges} charges kept, {charged_twice} orders charged twice"),
    );
    report.check(
        "every payment answered 200 is a paid order",
        paid_answers <= paid_orders,
        format!("{paid_answers} answered 200, {paid_orders} paid (the rest settled after a 503)"),
    );
    let row = client
        .query_one(
            "SELECT extract(epoch FROM max(created_at) - min(created_at))::float8,
                    coalesce(sum(quantity), 0)
             FROM orders WHERE event_id = $1 AND state IN ('reserved', 'paid', 'ticketed')",
            &[&event_id],
        )
        .await?;
    let (seconds, places): (Option<f64>, i64) = (row.get(0), row.get(1));
    time_to_order(&client, event_id, report).await?;
    let Some(seconds) = seconds.filter(|seconds| *seconds > 0.0) else {
        return Ok(None);
    };
    let places_per_second = places as f64 / seconds;
    report.fact(
        "order-service reservation rate",
        format!("{places} places in {seconds:.2}s ({places_per_second:.0} places/s)"),
    );
    Ok(Some(places_per_second))
}

/// How long accepted purchases waited for their orders: from client-service's admission
/// (`requested_at`) to the start of the transaction that wrote the order, as the database saw
/// it (time in the queue and waiting for a batch).
async fn time_to_order(
    client: &tokio_postgres::Client,
    event_id: Uuid,
    report: &mut Report,
) -> anyhow::Result<()> {
    let quantiles: Vec<f64> = QUANTILES.iter().map(|(_, quantile)| *quantile).collect();
    let row = client
        .query_one(
            "SELECT percentile_cont($2::float8[]) WITHIN GROUP
                        (ORDER BY extract(epoch FROM created_at - requested_at) * 1000)
             FROM orders WHERE event_id = $1",
            &[&event_id, &quantiles],
        )
        .await?;
    if let Some(values) = row.get::<_, Option<Vec<f64>>>(0) {
        report.latencies_ms.insert(
            "accepted to order written (orders: created_at - requested_at)".to_owned(),
            QUANTILES
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .zip(values)
                .collect(),
        );
    }
    Ok(())
}

async fn tickets_audit(
    url: &str,
    orders_url: Option<&str>,
    scenario: &Scenario,
    report: &mut Report,
) -> anyhow::Result<()> {
    let client = read_only(url).await?;
    let event_id = scenario.event_id;
    // Orders paid late (settled after a 503) are still being ticketed: wait for them.
    let waiting = std::time::Instant::now();
    while waiting.elapsed() < SETTLE_DEADLINE {
        let issuing: i64 = client
            .query_one(
                "SELECT count(*) FROM tickets WHERE event_id = $1 AND state = 'issuing'",
                &[&event_id],
            )
            .await?
            .get(0);
        if issuing == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE state IN ('valid', 'used')),
                    count(*) FILTER (WHERE state = 'issuing'),
                    count(*) - count(DISTINCT (order_id, place_id)),
                    extract(epoch FROM max(issued_at) - min(issued_at))::float8
             FROM tickets WHERE event_id = $1",
            &[&event_id],
        )
        .await?;
    let (valid, issuing, doubled, span): (i64, i64, i64, Option<f64>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if let Some(span) = span.filter(|span| *span > 0.0) {
        report.fact(
            "ticket-service issuing rate",
            format!(
                "{valid} tickets in {span:.2}s ({:.0} tickets/s)",
                valid as f64 / span
            ),
        );
    }
    let sold = match orders_url {
        Some(orders_url) => {
            let orders = read_only(orders_url).await?;
            let sold: i64 = orders
                .query_one(
                    "SELECT count(*) FROM places WHERE event_id = $1 AND state = 'sold'",
                    &[&event_id],
                )
                .await?
                .get(0);
            Some(sold)
        }
        None => None,
    };
    report.check(
        "one ticket per sold place, each with its document stored",
        doubled == 0 && issuing == 0 && sold.is_none_or(|sold| sold == valid),
        format!(
            "{valid} valid tickets (documents stored before they become valid), {issuing} still issuing, {doubled} doubled, {} places sold",
            sold.map_or("?".to_owned(), |sold| sold.to_string())
        ),
    );
    Ok(())
}
