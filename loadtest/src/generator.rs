//! The open-model load generator every scenario uses: requests are started by the clock at a
//! constant rate, not when earlier ones answer, and each is timed from when it was due, so a
//! slow system cannot hide its latency by slowing the generator down. Past `max_in_flight`
//! a due request is counted as failed (status 0) instead of queueing inside the generator.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    cpu::CpuMeter,
    report::{PhaseReport, Second},
    stats::Stats,
};

pub struct Load {
    pub name: &'static str,
    pub rate_per_second: u32,
    /// Requests offered in all: `rate_per_second` times the seconds the phase lasts.
    pub requests: u64,
    pub max_in_flight: usize,
}

impl Load {
    /// `rate_per_second` for `duration`.
    pub fn for_duration(
        name: &'static str,
        rate_per_second: u32,
        duration: Duration,
        max_in_flight: usize,
    ) -> Self {
        Self {
            name,
            rate_per_second,
            requests: (f64::from(rate_per_second) * duration.as_secs_f64()) as u64,
            max_in_flight,
        }
    }
}

/// Offers `load`, calling `request(n)` for the n-th request; it answers the status code (0
/// for no answer). `each_second` is called once a second with the second's numbers (for
/// live progress, and to sample what the system shows).
pub async fn run<F, Fut>(
    load: &Load,
    request: F,
    mut each_second: impl FnMut(&mut Second),
) -> PhaseReport
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = u16> + Send + 'static,
{
    let stats = Stats::default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let total = load.requests;
    let rate = f64::from(load.rate_per_second.max(1));
    let cpu = CpuMeter::start();
    let started = Instant::now();
    let mut sent: u64 = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next_second = Duration::from_secs(1);
    let mut seconds = Vec::new();
    while sent < total || in_flight.load(Ordering::Relaxed) > 0 {
        ticker.tick().await;
        let due = ((started.elapsed().as_secs_f64() * rate) as u64).min(total);
        while sent < due {
            let scheduled = started + Duration::from_secs_f64(sent as f64 / rate);
            if in_flight.load(Ordering::Relaxed) >= load.max_in_flight {
                stats.record(0, scheduled.elapsed());
            } else {
                in_flight.fetch_add(1, Ordering::Relaxed);
                let (stats, in_flight) = (stats.clone(), in_flight.clone());
                let answer = request(sent);
                tokio::spawn(async move {
                    let status = answer.await;
                    stats.record(status, scheduled.elapsed());
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                });
            }
            sent += 1;
        }
        if started.elapsed() >= next_second {
            let window = stats.take_window();
            let mut second = Second {
                at_seconds: next_second.as_secs(),
                answers_by_status: window.by_status,
                p99_ms: window.p99.as_secs_f64() * 1_000.0,
                in_flight: in_flight.load(Ordering::Relaxed),
                remaining_places: None,
            };
            each_second(&mut second);
            seconds.push(second);
            next_second += Duration::from_secs(1);
        }
    }
    let elapsed = started.elapsed();
    PhaseReport {
        name: load.name.to_owned(),
        requests: sent,
        seconds: elapsed.as_secs_f64(),
        throughput_per_second: sent as f64 / elapsed.as_secs_f64(),
        answers_by_status: stats.by_status(),
        latency_ms: stats.percentiles_ms(),
        timeline: seconds,
        generator_cores: cpu.cores(),
    }
}

/// One progress line for the terminal.
pub fn progress_line(phase: &str, second: &Second) {
    let answered: u64 = second.answers_by_status.values().sum();
    let remaining = second
        .remaining_places
        .map(|remaining| format!("  remaining {remaining}"))
        .unwrap_or_default();
    println!(
        "  {phase} t={:>3}s {answered:>6}/s {:?} p99 {:>7.1}ms in flight {}{remaining}",
        second.at_seconds, second.answers_by_status, second.p99_ms, second.in_flight
    );
}
