//! The side-by-side table (and `--json`): per scenario and figure, each client's median
//! with its range over the runs that counted, and brokerdash's median over each other
//! client's. A run that failed gives no figure; the failures are listed under the table.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::Figure;
use super::clients::ClientKind;
use super::run::ScenarioResult;

/// The median, least and greatest of one figure over the runs that counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut sorted: Vec<f64> = values
        .iter()
        .copied()
        .filter(|value| value.is_finite())
        .collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    };
    Some(Spread {
        median,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        runs: sorted.len(),
    })
}

pub fn figure_spread(
    result: &ScenarioResult,
    client: ClientKind,
    figure: Figure,
) -> Option<Spread> {
    let values: Vec<f64> = result
        .samples
        .iter()
        .filter(|sample| sample.client == client && sample.failure.is_none())
        .filter_map(|sample| figure.read(sample.line.as_ref()?))
        .collect();
    spread(&values)
}

/// brokerdash's median over another client's.
pub fn ratio(result: &ScenarioResult, figure: Figure, other: ClientKind) -> Option<f64> {
    let ours = figure_spread(result, ClientKind::Brokerdash, figure)?;
    let theirs = figure_spread(result, other, figure)?;
    (theirs.median > 0.0).then(|| ours.median / theirs.median)
}

/// Three significant figures, without a needless exponent.
pub fn format_value(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        format!("{value:.0}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

fn format_spread(spread: Option<Spread>) -> String {
    match spread {
        None => "—".into(),
        Some(spread) if spread.runs == 1 => format_value(spread.median),
        Some(spread) => format!(
            "{} ({}–{})",
            format_value(spread.median),
            format_value(spread.min),
            format_value(spread.max)
        ),
    }
}

pub struct Heading<'a> {
    pub machine: &'a str,
    pub runs: usize,
    pub command: &'a str,
}

/// The table for people.
pub fn table(results: &[ScenarioResult], clients: &[ClientKind], heading: &Heading<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", heading.command);
    let _ = writeln!(out, "machine: {}", heading.machine);
    let _ = writeln!(
        out,
        "{} run(s) per client, alternating; median (least–greatest) over the runs that completed exactly",
        heading.runs
    );
    let others: Vec<ClientKind> = clients
        .iter()
        .copied()
        .filter(|kind| *kind != ClientKind::Brokerdash)
        .collect();
    let mut header = vec!["figure".to_owned()];
    header.extend(clients.iter().map(|kind| kind.column()));
    header.extend(
        others
            .iter()
            .map(|kind| format!("brokerdash/{}", kind.name())),
    );
    for result in results {
        let _ = writeln!(
            out,
            "\n{}: {}",
            result.scenario.name, result.scenario.description
        );
        let mut rows = vec![header.clone()];
        for figure in result.scenario.figures {
            let mut row = vec![figure.label().to_owned()];
            row.extend(
                clients
                    .iter()
                    .map(|kind| format_spread(figure_spread(result, *kind, *figure))),
            );
            row.extend(others.iter().map(|kind| {
                ratio(result, *figure, *kind)
                    .map_or_else(|| "—".into(), |ratio| format!("{ratio:.2}"))
            }));
            rows.push(row);
        }
        out.push_str(&align(&rows));
        for sample in &result.samples {
            if let Some(failure) = &sample.failure {
                let _ = writeln!(
                    out,
                    "  run {} {} gave no figures: {failure}",
                    sample.run + 1,
                    sample.client.name()
                );
            }
        }
    }
    out
}

fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(column, cell)| format!("{cell:<width$}", width = widths[column]))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    out
}

/// The same, for machines: every sample's line as well as the spreads and ratios.
pub fn to_json(results: &[ScenarioResult], clients: &[ClientKind], heading: &Heading<'_>) -> Value {
    let scenarios: Vec<Value> = results
        .iter()
        .map(|result| {
            let figures: Vec<Value> = result
                .scenario
                .figures
                .iter()
                .map(|figure| {
                    let by_client: serde_json::Map<String, Value> = clients
                        .iter()
                        .map(|kind| {
                            let spread = figure_spread(result, *kind, *figure).map(|spread| {
                                json!({"median": spread.median, "min": spread.min, "max": spread.max, "runs": spread.runs})
                            });
                            (kind.name().to_owned(), spread.unwrap_or(Value::Null))
                        })
                        .collect();
                    let ratios: serde_json::Map<String, Value> = clients
                        .iter()
                        .filter(|kind| **kind != ClientKind::Brokerdash)
                        .map(|kind| (kind.name().to_owned(), json!(ratio(result, *figure, *kind))))
                        .collect();
                    json!({"figure": figure.key(), "label": figure.label(), "clients": by_client, "brokerdash_over": ratios})
                })
                .collect();
            let samples: Vec<Value> = result
                .samples
                .iter()
                .map(|sample| json!({"client": sample.client.name(), "run": sample.run + 1, "line": sample.line, "failure": sample.failure}))
                .collect();
            json!({"scenario": result.scenario.name, "description": result.scenario.description, "figures": figures, "samples": samples})
        })
        .collect();
    json!({"command": heading.command, "machine": heading.machine, "runs": heading.runs, "scenarios": scenarios})
}

/// The processor, its cores and the kernel, as /proc tells them.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split(':').nth(1))
        .map_or("unknown processor", str::trim)
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores, Linux {}", kernel.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_take_the_median_and_range() {
        let spread = spread(&[3.0, 1.0, 2.0]).unwrap_or_else(|| panic!("values"));
        assert_eq!(
            (spread.median, spread.min, spread.max, spread.runs),
            (2.0, 1.0, 3.0, 3)
        );
        let even = super::spread(&[4.0, 1.0, 2.0, 3.0]).map(|spread| spread.median);
        assert_eq!(even, Some(2.5));
        assert_eq!(super::spread(&[]), None);
        assert_eq!(super::spread(&[f64::NAN]), None);
    }

    #[test]
    fn values_keep_three_figures() {
        assert_eq!(format_value(55.432), "55.43");
        assert_eq!(format_value(0.3691), "0.369");
        assert_eq!(format_value(167_412.7), "167413");
        assert_eq!(format_value(431.26), "431.3");
    }

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["figure".to_owned(), "a".to_owned()],
            vec!["CPU".to_owned(), "12.5".to_owned()],
        ];
        assert_eq!(align(&rows), "  figure  a\n  CPU     12.5\n");
    }
}
