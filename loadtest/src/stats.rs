//! Counting answers and latencies while the load runs.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use hdrhistogram::Histogram;

/// The quantiles every latency in a report is given at, by name.
pub const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("max", 1.0),
];

/// Shared by every request task; cheap to clone.
#[derive(Clone)]
pub struct Stats {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    latency_us: Histogram<u64>,
    window_us: Histogram<u64>,
    by_status: BTreeMap<u16, u64>,
    window_by_status: BTreeMap<u16, u64>,
}

/// Answers since the last window, and their p99.
pub struct Window {
    pub by_status: BTreeMap<u16, u64>,
    pub p99: Duration,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 2 minutes at 3 significant digits: constant bounds that are always valid.
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                latency_us: histogram(),
                window_us: histogram(),
                by_status: BTreeMap::new(),
                window_by_status: BTreeMap::new(),
            })),
        }
    }
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One answer (status 0: no answer at all) after `latency`, measured from when the
    /// request was due, not when it was sent.
    pub fn record(&self, status: u16, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut inner = self.lock();
        inner.latency_us.saturating_record(micros);
        inner.window_us.saturating_record(micros);
        *inner.by_status.entry(status).or_default() += 1;
        *inner.window_by_status.entry(status).or_default() += 1;
    }

    pub fn take_window(&self) -> Window {
        let mut inner = self.lock();
        let p99 = Duration::from_micros(inner.window_us.value_at_quantile(0.99));
        inner.window_us.reset();
        Window {
            by_status: std::mem::take(&mut inner.window_by_status),
            p99,
        }
    }

    pub fn by_status(&self) -> BTreeMap<u16, u64> {
        self.lock().by_status.clone()
    }

    /// [`QUANTILES`], in milliseconds.
    pub fn percentiles_ms(&self) -> std::collections::BTreeMap<String, f64> {
        let inner = self.lock();
        QUANTILES
            .into_iter()
            .map(|(name, quantile)| {
                let micros = if inner.latency_us.is_empty() {
                    0
                } else {
                    inner.latency_us.value_at_quantile(quantile)
                };
                (name.to_owned(), micros as f64 / 1_000.0)
            })
            .collect()
    }
}
