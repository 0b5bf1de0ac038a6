//! The generator's own CPU use, read from `/proc/self/stat` (user + system time), so that a
//! report can show the load generator was not the limit.

use std::time::{Duration, Instant};

/// CPU seconds this process has used so far; `None` off Linux.
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports in clock ticks of 1/100 s (USER_HZ), whatever the kernel's HZ.
    Some(Duration::from_millis(ticks * 10))
}

/// Measures CPU use over a span of wall-clock time.
pub struct CpuMeter {
    started: Instant,
    cpu_at_start: Option<Duration>,
}

impl CpuMeter {
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            cpu_at_start: process_cpu(),
        }
    }

    /// Cores used on average since `start` (1.0 = one core busy all the time).
    pub fn cores(&self) -> Option<f64> {
        let used = process_cpu()?.checked_sub(self.cpu_at_start?)?;
        let wall = self.started.elapsed().as_secs_f64();
        (wall > 0.0).then(|| used.as_secs_f64() / wall)
    }
}
