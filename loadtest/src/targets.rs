//! Performance targets given on the command line, checked like the invariants: a run that
//! misses one fails (exit code 1), so a figure claimed in a note is a command that can fail.

use crate::report::{PhaseReport, Report};

/// What the load must show; none is checked unless given.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Targets {
    /// Fail unless the purchases' p99 latency (from when each request was due) is under this
    /// many milliseconds.
    #[arg(long)]
    pub p99_under_ms: Option<f64>,
    /// Fail unless at least this many purchase requests per second were answered with a
    /// decision (2xx or 4xx; a 503 or a failed request is not one).
    #[arg(long)]
    pub min_answers_per_second: Option<f64>,
    /// Fail unless order-service reserved at least this many places per second, from its
    /// first order of the event to its last (needs --orders-db).
    #[arg(long)]
    pub min_places_per_second: Option<f64>,
}

impl Targets {
    /// Checks the load targets against the phase the requests were offered in.
    pub fn check_load(&self, phase: &PhaseReport, report: &mut Report) {
        if let Some(limit) = self.p99_under_ms {
            let p99 = phase
                .latency_ms
                .get("p99")
                .copied()
                .unwrap_or(f64::INFINITY);
            report.check(
                &format!("{}: p99 under {limit} ms", phase.name),
                p99 < limit,
                format!("p99 {p99:.1} ms over {} requests", phase.requests),
            );
        }
        if let Some(floor) = self.min_answers_per_second {
            let decided: u64 = phase
                .answers_by_status
                .iter()
                .filter(|(status, _)| (200..500).contains(*status))
                .map(|(_, count)| count)
                .sum();
            let per_second = decided as f64 / phase.seconds.max(f64::EPSILON);
            report.check(
                &format!("{}: at least {floor} decisions per second", phase.name),
                per_second >= floor,
                format!(
                    "{decided} answered 2xx or 4xx in {:.1}s ({per_second:.0}/s); all answers {:?}",
                    phase.seconds, phase.answers_by_status
                ),
            );
        }
    }

    /// Checks the reservation rate order-service reached, when it could be measured.
    pub fn check_reservations(&self, places_per_second: Option<f64>, report: &mut Report) {
        let Some(floor) = self.min_places_per_second else {
            return;
        };
        let name = format!("order-service reserved at least {floor} places per second");
        match places_per_second {
            Some(rate) => report.check(&name, rate >= floor, format!("{rate:.0} places/s")),
            None => report.check(
                &name,
                false,
                "not measured: it needs --orders-db and orders written in more than one transaction",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn phase(p99_ms: f64, answers: &[(u16, u64)], seconds: f64) -> PhaseReport {
        PhaseReport {
            name: "purchases".to_owned(),
            requests: answers.iter().map(|(_, count)| count).sum(),
            seconds,
            throughput_per_second: 0.0,
            answers_by_status: answers.iter().copied().collect(),
            latency_ms: BTreeMap::from([("p99".to_owned(), p99_ms)]),
            timeline: Vec::new(),
            generator_cores: None,
        }
    }

    #[test]
    fn a_p99_at_or_over_its_limit_fails_the_run() {
        let targets = Targets {
            p99_under_ms: Some(100.0),
            ..Targets::default()
        };
        let mut report = Report::default();
        targets.check_load(&phase(99.9, &[(202, 10)], 1.0), &mut report);
        assert!(report.passed());
        targets.check_load(&phase(100.0, &[(202, 10)], 1.0), &mut report);
        assert!(!report.passed());
        assert_eq!(report.checks.len(), 2);
    }

    #[test]
    fn only_decisions_count_towards_the_answer_rate() {
        let targets = Targets {
            min_answers_per_second: Some(9_000.0),
            ..Targets::default()
        };
        let mut decided = Report::default();
        targets.check_load(
            &phase(5.0, &[(202, 100), (409, 89_900)], 10.0),
            &mut decided,
        );
        assert!(decided.passed(), "{:?}", decided.checks);
        // The same number of answers, a fifth of them shed or failed: too few decisions.
        let mut shed = Report::default();
        targets.check_load(
            &phase(5.0, &[(0, 9_000), (409, 72_000), (503, 9_000)], 10.0),
            &mut shed,
        );
        assert!(!shed.passed());
    }

    #[test]
    fn a_reservation_rate_not_measured_misses_its_target() {
        let targets = Targets {
            min_places_per_second: Some(3_000.0),
            ..Targets::default()
        };
        let mut report = Report::default();
        targets.check_reservations(Some(6_244.0), &mut report);
        assert!(report.passed());
        targets.check_reservations(None, &mut report);
        assert!(!report.passed());
        let mut slow = Report::default();
        targets.check_reservations(Some(2_999.0), &mut slow);
        assert!(!slow.passed());
    }

    #[test]
    fn no_target_no_check() {
        let mut report = Report::default();
        let targets = Targets::default();
        targets.check_load(&phase(10_000.0, &[(503, 1)], 1.0), &mut report);
        targets.check_reservations(None, &mut report);
        assert!(report.checks.is_empty());
    }
}
