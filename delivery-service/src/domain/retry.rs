//! When to try a failed send again: exponential backoff with full jitter, capped.

use std::time::Duration;

/// The delay before attempt `attempts + 1`, given `attempts` failed ones: a random point in
/// `[d/2, d]` where `d = min(cap, base * 2^(attempts - 1))`. The jitter spreads retries of
/// many notifications that failed together (an SMTP outage) instead of sending them in waves.
pub fn delay(attempts: u32, base: Duration, cap: Duration, random: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1 << exponent).min(cap);
    ceiling.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stay_within_their_jitter() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        assert_eq!(delay(1, base, cap, 1.0), Duration::from_secs(1));
        assert_eq!(delay(2, base, cap, 1.0), Duration::from_secs(2));
        assert_eq!(delay(4, base, cap, 1.0), Duration::from_secs(8));
        assert_eq!(delay(30, base, cap, 1.0), cap);
        assert_eq!(delay(3, base, cap, 0.0), Duration::from_secs(2));
        let jittered = delay(3, base, cap, 0.3);
        assert!(jittered > Duration::from_secs(2) && jittered < Duration::from_secs(4));
    }
}
