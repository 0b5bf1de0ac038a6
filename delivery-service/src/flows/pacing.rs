//! Pacing: delivery-service writes (and so sends) at most `max_notices_per_second` notices.
//!
//! Notices are background work. At a drop, order-service decides thousands of purchases a
//! second, and writing and sending a hold notice for each as fast as they come takes the CPU
//! (and the database) that buyers are waiting on; email and SMS providers cap a sender's rate
//! anyway. What is not written yet waits in the broker's queue, unacked, and is written in
//! its turn: later, never lost.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Most notices written in one transaction, paced or not.
const MAX_CHUNK: usize = 500;

/// A rate of notices, shared by whoever writes them. Each caller reserves its slot in time
/// (the notices before it, at the rate) and waits for it, so bursts are spread evenly.
pub struct Pace {
    /// Time one notice takes of the rate; `None` when unpaced.
    per_notice: Option<Duration>,
    chunk: usize,
    next_free: Mutex<Instant>,
}

impl Pace {
    /// At most `per_second` notices a second; 0 leaves them unpaced.
    pub fn new(per_second: u32) -> Self {
        let per_notice = (per_second > 0).then(|| Duration::from_secs(1) / per_second);
        // A tenth of a second's notices per chunk: small enough to stay smooth, large enough
        // that a chunk's one contacts lookup and one transaction are shared by many.
        let chunk = match per_second {
            0 => MAX_CHUNK,
            rate => (rate as usize / 10).clamp(1, MAX_CHUNK),
        };
        Self {
            per_notice,
            chunk,
            next_free: Mutex::new(Instant::now()),
        }
    }

    /// How many notices to write at once.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Waits for the turn of `count` notices; `false` if `shutdown` came first (the turn is
    /// then lost, which only makes later callers wait a little longer).
    pub async fn wait_turn(&self, count: usize, shutdown: &CancellationToken) -> bool {
        let Some(per_notice) = self.per_notice else {
            return true;
        };
        let cost = per_notice * u32::try_from(count).unwrap_or(u32::MAX);
        let turn = {
            let mut next_free = self
                .next_free
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let turn = (*next_free).max(Instant::now());
            *next_free = turn + cost;
            turn
        };
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep_until(turn) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn notices_are_spread_at_the_rate_and_the_first_goes_at_once() {
        let pace = Pace::new(100);
        let shutdown = CancellationToken::new();
        let start = Instant::now();

        assert_eq!(pace.chunk(), 10);
        for _ in 0..5 {
            assert!(pace.wait_turn(10, &shutdown).await);
        }

        // Five chunks of ten at 100 a second: the fifth starts after the first four's 0.4 s.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unpaced_writer_never_waits() {
        let pace = Pace::new(0);
        let shutdown = CancellationToken::new();
        let start = Instant::now();

        for _ in 0..100 {
            assert!(pace.wait_turn(MAX_CHUNK, &shutdown).await);
        }

        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(pace.chunk(), MAX_CHUNK);
    }

    #[tokio::test(start_paused = true)]
    async fn shutting_down_ends_the_wait() {
        let pace = Pace::new(1);
        let shutdown = CancellationToken::new();
        assert!(pace.wait_turn(1, &shutdown).await);

        shutdown.cancel();

        assert!(
            !pace.wait_turn(1, &shutdown).await,
            "the next turn is a second away"
        );
    }
}
