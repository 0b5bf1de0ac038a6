//! What a run found, and the three ways it is shown: text on the terminal, JSON
//! (`--json FILE`) and a self-contained HTML page with charts (`--html FILE`, inline SVG: it
//! opens in a browser without network access).

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde::Serialize;

/// One second of a phase.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    pub at_seconds: u64,
    pub answers_by_status: BTreeMap<u16, u64>,
    pub p99_ms: f64,
    pub in_flight: usize,
    /// Places the event still showed (drop only).
    pub remaining_places: Option<i64>,
}

/// One phase under load (the drop's purchases, payments, reads...).
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub requests: u64,
    pub seconds: f64,
    pub throughput_per_second: f64,
    pub answers_by_status: BTreeMap<u16, u64>,
    /// p50, p90, p99, p99.9, max, from when each request was due.
    pub latency_ms: BTreeMap<String, f64>,
    pub timeline: Vec<Second>,
    /// Cores the generator used meanwhile (1.0 = one core).
    pub generator_cores: Option<f64>,
}

/// One invariant and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub scenario: String,
    pub target: String,
    pub started_at: String,
    /// Free-form facts of the run (places, buyers, how long preparing took...).
    pub facts: BTreeMap<String, String>,
    pub phases: Vec<PhaseReport>,
    /// Named latency distributions measured outside a phase (time to reserved...).
    pub latencies_ms: BTreeMap<String, BTreeMap<String, f64>>,
    pub checks: Vec<Check>,
}

impl Report {
    /// An empty report of `scenario` against `target`, started now.
    pub fn new(scenario: &str, target: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            target: target.to_owned(),
            started_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            ..Self::default()
        }
    }

    pub fn fact(&mut self, name: &str, value: impl ToString) {
        self.facts.insert(name.to_owned(), value.to_string());
    }

    pub fn check(&mut self, name: &str, passed: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_owned(),
            passed,
            detail: detail.into(),
        });
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    pub fn print(&self) {
        println!(
            "\n== {} against {} ({})",
            self.scenario, self.target, self.started_at
        );
        for (name, value) in &self.facts {
            println!("  {name}: {value}");
        }
        for phase in &self.phases {
            println!(
                "\n{}: {} requests in {:.1}s ({:.0}/s), answers {:?}",
                phase.name,
                phase.requests,
                phase.seconds,
                phase.throughput_per_second,
                phase.answers_by_status
            );
            println!(
                "  latency from when due: {}",
                percentiles(&phase.latency_ms)
            );
            if let Some(cores) = phase.generator_cores {
                println!("  generator CPU: {cores:.2} cores");
            }
        }
        for (name, latency) in &self.latencies_ms {
            println!("{name}: {}", percentiles(latency));
        }
        println!("\naudit:");
        for check in &self.checks {
            let mark = if check.passed { "ok    " } else { "FAILED" };
            println!("  {mark} {}: {}", check.name, check.detail);
        }
        if self.checks.is_empty() {
            println!("  (no invariant checked in this scenario)");
        }
    }

    /// Prints the report and writes it to the files asked for.
    pub fn finish(&self, json: Option<&Path>, html: Option<&Path>) -> anyhow::Result<()> {
        self.print();
        if let Some(path) = json {
            self.write_json(path)?;
            println!("report written to {}", path.display());
        }
        if let Some(path) = html {
            self.write_html(path)?;
            println!("report written to {}", path.display());
        }
        Ok(())
    }

    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }

    pub fn write_html(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.html())?;
        Ok(())
    }

    fn html(&self) -> String {
        let mut page = String::new();
        let _ = write!(
            page,
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{} report</title>\
             <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}\
             table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}\
             .ok{{color:#080}}.failed{{color:#b00;font-weight:bold}}</style></head><body>",
            escape(&self.scenario)
        );
        let _ = write!(
            page,
            "<h1>{} against {}</h1><p>{}</p><table>",
            escape(&self.scenario),
            escape(&self.target),
            escape(&self.started_at)
        );
        for (name, value) in &self.facts {
            let _ = write!(
                page,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name),
                escape(value)
            );
        }
        page.push_str("</table>");
        for phase in &self.phases {
            let _ = write!(
                page,
                "<h2>{}</h2><p>{} requests in {:.1}s ({:.0}/s); answers {}; latency {}; generator {}</p>",
                escape(&phase.name),
                phase.requests,
                phase.seconds,
                phase.throughput_per_second,
                escape(&format!("{:?}", phase.answers_by_status)),
                escape(&percentiles(&phase.latency_ms)),
                phase
                    .generator_cores
                    .map_or("?".to_owned(), |cores| format!("{cores:.2} cores")),
            );
            let answered: Vec<f64> = phase
                .timeline
                .iter()
                .map(|second| second.answers_by_status.values().sum::<u64>() as f64)
                .collect();
            page.push_str(&chart("answers per second", &answered, "#36c"));
            let p99: Vec<f64> = phase.timeline.iter().map(|second| second.p99_ms).collect();
            page.push_str(&chart("p99 latency (ms) per second", &p99, "#c63"));
            let remaining: Vec<f64> = phase
                .timeline
                .iter()
                .filter_map(|second| second.remaining_places.map(|places| places as f64))
                .collect();
            if !remaining.is_empty() {
                page.push_str(&chart("places remaining", &remaining, "#393"));
            }
        }
        if !self.latencies_ms.is_empty() {
            page.push_str("<h2>Other latencies</h2><ul>");
            for (name, latency) in &self.latencies_ms {
                let _ = write!(
                    page,
                    "<li>{}: {}</li>",
                    escape(name),
                    escape(&percentiles(latency))
                );
            }
            page.push_str("</ul>");
        }
        page.push_str("<h2>Audit</h2><ul>");
        for check in &self.checks {
            let (class, mark) = if check.passed {
                ("ok", "ok")
            } else {
                ("failed", "FAILED")
            };
            let _ = write!(
                page,
                "<li class=\"{class}\">{mark} {}: {}</li>",
                escape(&check.name),
                escape(&check.detail)
            );
        }
        page.push_str("</ul></body></html>\n");
        page
    }
}

fn percentiles(latency: &BTreeMap<String, f64>) -> String {
    ["p50", "p90", "p99", "p99.9", "max"]
        .iter()
        .filter_map(|name| latency.get(*name).map(|ms| format!("{name} {ms:.1}ms")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart of one value per second, as inline SVG.
fn chart(title: &str, values: &[f64], color: &str) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 160.0;
    let max = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let step = WIDTH / (values.len().max(2) - 1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            format!(
                "{:.1},{:.1}",
                index as f64 * step,
                HEIGHT - value / max * (HEIGHT - 10.0)
            )
        })
        .collect();
    format!(
        "<h3>{}</h3><svg width=\"{WIDTH}\" height=\"{}\" viewBox=\"0 -4 {WIDTH} {}\" \
         style=\"border:1px solid #ddd\"><text x=\"4\" y=\"10\" font-size=\"11\">max {max:.0}</text>\
         <polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/></svg>\
         <p style=\"font-size:small\">one point per second, {} seconds</p>",
        escape(title),
        HEIGHT + 8.0,
        HEIGHT + 8.0,
        points.join(" "),
        values.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_report_is_self_contained_and_escaped() {
        let mut report = Report {
            scenario: "drop <test>".to_owned(),
            ..Report::default()
        };
        report.check("no seat sold twice", true, "0 doubles");
        report.phases.push(PhaseReport {
            name: "purchases".to_owned(),
            requests: 2,
            seconds: 1.0,
            throughput_per_second: 2.0,
            answers_by_status: BTreeMap::from([(202, 2)]),
            latency_ms: BTreeMap::from([("p99".to_owned(), 3.0)]),
            timeline: vec![Second {
                at_seconds: 1,
                answers_by_status: BTreeMap::from([(202, 2)]),
                p99_ms: 3.0,
                in_flight: 0,
                remaining_places: Some(8),
            }],
            generator_cores: Some(0.2),
        });
        let html = report.html();
        assert!(html.contains("drop &lt;test&gt;"));
        assert!(html.contains("<svg"));
        assert!(html.contains("places remaining"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no network"
        );
        assert!(report.passed());
    }
}
