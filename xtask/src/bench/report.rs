//! The benchmark's results: a JSON file for comparing runs, and Markdown tables (written into
//! `docs/benchmarks.md` by a full run).

use std::{fmt::Write as _, fs, path::Path, process::Command};

use anyhow::Context;
use foundation::Backend;
use serde::Serialize;

use super::{
    Plan, bench_root, load::LoadResult, replay::LimitResult, run::Scenario, seed::Dataset,
};

const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";

/// One load of the service and the replay of its statements that ran right after it.
#[derive(Debug, Serialize)]
pub(crate) struct Round {
    pub(crate) service: LoadResult,
    /// Server CPU seconds (user + system) spent during the load.
    pub(crate) server_cpu_seconds: f64,
    pub(crate) limit: LimitResult,
}

impl Round {
    fn ratio(&self) -> f64 {
        if self.limit.per_second > 0.0 {
            self.service.per_second / self.limit.per_second
        } else {
            0.0
        }
    }
}

/// The medians of a row's rounds, each figure taken on its own.
#[derive(Debug, Serialize)]
struct Medians {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests_per_core_second: f64,
    limit_per_second: f64,
    limit_p50_ms: f64,
    service_over_limit: f64,
}

/// One scenario at one connection count on one backend and dataset: its rounds, service and
/// limit alternating, and their medians.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    backend: String,
    devices: &'static str,
    scenario: &'static str,
    #[serde(skip)]
    kind: Scenario,
    connections: u32,
    median: Medians,
    /// The lowest and the highest per-round service ÷ limit.
    service_over_limit_range: (f64, f64),
    rounds: Vec<Round>,
}

impl Row {
    pub(crate) fn new(
        backend: Backend,
        data: Dataset,
        kind: Scenario,
        connections: u32,
        rounds: Vec<Round>,
    ) -> Row {
        let of = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
        let ratios: Vec<f64> = rounds.iter().map(Round::ratio).collect();
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        let median = Medians {
            per_second: of(&|r| r.service.per_second),
            p50_ms: of(&|r| r.service.p50_ms),
            p99_ms: of(&|r| r.service.p99_ms),
            requests_per_core_second: of(&|r| {
                if r.server_cpu_seconds > 0.0 {
                    r.service.requests as f64 / r.server_cpu_seconds
                } else {
                    0.0
                }
            }),
            limit_per_second: of(&|r| r.limit.per_second),
            limit_p50_ms: of(&|r| r.limit.p50_ms),
            service_over_limit: median(ratios),
        };
        Row {
            backend: backend.to_string(),
            devices: data.name,
            scenario: kind.name(),
            kind,
            connections,
            median,
            service_over_limit_range: (if low.is_finite() { low } else { 0.0 }, high),
            rounds,
        }
    }
}

/// The middle value (the mean of the two middle ones for an even count; 0 when empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub(crate) struct Results {
    command: String,
    machine: String,
    quick: bool,
    seconds_per_measurement: u64,
    /// Service and limit measurements per row, alternating.
    rounds: u32,
    /// Database connections of each benchmarked server.
    server_pool: u32,
    pub(crate) rows: Vec<Row>,
    /// Peak resident memory of the loaded server per backend and dataset, MiB.
    peak_rss_mib: Vec<(String, f64)>,
    /// PostgreSQL claims/s with one server process and with three.
    scale_out_claims_per_second: Option<(f64, f64)>,
}

impl Results {
    pub(crate) fn new(plan: &Plan, args: &[String]) -> Results {
        Results {
            command: format!("cargo xtask bench {}", args.join(" ")).trim_end().to_owned(),
            machine: machine(),
            quick: plan.quick,
            seconds_per_measurement: plan.seconds,
            rounds: plan.rounds,
            server_pool: plan.pool,
            rows: Vec::new(),
            peak_rss_mib: Vec::new(),
            scale_out_claims_per_second: None,
        }
    }

    pub(crate) fn scale_out(&mut self, one: f64, three: f64) {
        self.scale_out_claims_per_second = Some((one, three));
    }

    pub(crate) fn peak_rss(&mut self, backend: Backend, data: Dataset, mib: f64) {
        self.peak_rss_mib.push((format!("{backend}, {} devices", data.name), mib));
    }

    /// Writes the JSON and the tables; a full run also updates `docs/`.
    pub(crate) fn finish(&self, plan: &Plan) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        fs::write(bench_root().join("results.json"), &json)?;
        let markdown = self.markdown(plan);
        println!("{markdown}");
        if !plan.quick {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
            fs::write(docs.join("benchmarks.json"), json + "\n")?;
            let page = docs.join("benchmarks.md");
            let text = fs::read_to_string(&page)?;
            let (head, rest) = text.split_once(START).context("no bench:start marker")?;
            let (_, tail) = rest.split_once(END).context("no bench:end marker")?;
            fs::write(&page, format!("{head}{START}\n{markdown}{END}{tail}"))?;
        }
        Ok(())
    }

    fn markdown(&self, plan: &Plan) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "Command: `{}`. Machine: {}. Server database pool: {} connections; the limit uses \
             as many as the load generator. Each row is {} of {} s, the service's load and the \
             limit's replay alternating; every figure is the median of its rounds, and the last \
             column gives the lowest and highest per-round ratio.\n",
            self.command,
            self.machine,
            self.server_pool,
            if self.rounds == 1 { "1 round".to_owned() } else { format!("{} rounds", self.rounds) },
            self.seconds_per_measurement
        );
        let _ = writeln!(
            md,
            "| backend | devices | scenario | conns | req/s | p50 ms | p99 ms | req/s per server core | limit tx/s | limit p50 ms | service ÷ limit | per round |\n\
             | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for r in &self.rows {
            let m = &r.median;
            let (low, high) = r.service_over_limit_range;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} | {:.2} | {low:.2}–{high:.2} |",
                r.backend,
                r.devices,
                r.scenario,
                r.connections,
                m.per_second,
                m.p50_ms,
                m.p99_ms,
                m.requests_per_core_second,
                m.limit_per_second,
                m.limit_p50_ms,
                m.service_over_limit
            );
        }
        self.scale_table(plan, &mut md);
        let _ = writeln!(md, "\nPeak server RSS under load:");
        for (backend, mib) in &self.peak_rss_mib {
            let _ = writeln!(md, "- {backend}: {mib:.1} MiB");
        }
        if let Some((one, three)) = self.scale_out_claims_per_second {
            let _ = writeln!(
                md,
                "\nScale-out (PostgreSQL, claims, servers unpinned): 1 process {one:.0} req/s, \
                 3 processes {three:.0} req/s ({:.2}×).",
                three / one.max(1.0)
            );
        }
        md
    }

    /// p50 latency on the larger dataset over the smaller one, at the lowest connection count.
    fn scale_table(&self, plan: &Plan, md: &mut String) {
        let [small, large] = &plan.datasets;
        let conns = plan.connections.first().copied().unwrap_or(1);
        let _ = writeln!(
            md,
            "\n| backend | scenario | p50 ms at {} | p50 ms at {} | ratio |\n| --- | --- | ---: | ---: | ---: |",
            small.name, large.name
        );
        for r in self.rows.iter().filter(|r| r.devices == small.name && r.connections == conns) {
            let Some(big) = self.rows.iter().find(|b| {
                b.devices == large.name
                    && b.connections == conns
                    && b.backend == r.backend
                    && b.kind == r.kind
            }) else {
                continue;
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} | {:.2} | {:.2} |",
                r.backend,
                r.scenario,
                r.median.p50_ms,
                big.median.p50_ms,
                big.median.p50_ms / r.median.p50_ms.max(0.001)
            );
        }
    }
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), run on {date}")
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_two_middles() {
        assert_eq!(median(vec![0.9, 0.7, 0.8]), 0.8);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![0.75]), 0.75);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
