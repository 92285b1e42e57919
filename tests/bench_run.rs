//! `brokerdash bench run --compare ably-js,floor` as a newcomer runs it, on the seconds-long
//! loads of `--smoke`: the real binary, the scripted server, the official ably-js SDK (its
//! pinned npm package installed by the run itself) and the floor subscriber built by cargo.
//! It asserts that every client produced every figure and the contract's fields, not what the
//! figures are: speed is measured by the full run, not by a test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::process::Command;

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_brokerdash");

/// The fields of `bench subscribe`'s one JSON line, which every subscriber prints.
const CONTRACT: [&str; 20] = [
    "client",
    "channels",
    "attached",
    "connect_ms",
    "attach_ms",
    "expected",
    "received",
    "lost",
    "duplicates",
    "reordered",
    "lat_ms",
    "rx_ms",
    "rx_rate",
    "phase_ms",
    "cpu_phase_s",
    "cpu_phase_pct",
    "cpu_s",
    "msgs_per_cpu_s",
    "peak_rss_mb",
    "errors",
];

const CLIENTS: [&str; 3] = ["brokerdash", "ably-js", "floor"];

#[test]
fn bench_run_compares_brokerdash_with_ably_js_and_the_floor_on_every_scenario() {
    let work_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-run");
    let output = Command::new(BINARY)
        .args([
            "bench",
            "run",
            "--compare",
            "ably-js,floor",
            "--runs",
            "1",
            "--smoke",
            "--json",
        ])
        .arg("--work-dir")
        .arg(&work_dir)
        .output()
        .expect("run brokerdash bench run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench run failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert!(
        report["machine"]
            .as_str()
            .is_some_and(|machine| machine.contains("cores"))
    );

    let scenarios = report["scenarios"].as_array().expect("scenarios");
    let names: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["scenario"].as_str())
        .collect();
    assert_eq!(
        names,
        ["steady", "burst", "attach-100", "attach-300", "idle"]
    );
    for scenario in scenarios {
        let name = scenario["scenario"].as_str().unwrap();
        for figure in scenario["figures"].as_array().unwrap() {
            for client in CLIENTS {
                let median = &figure["clients"][client]["median"];
                assert!(
                    median.is_number(),
                    "{name}: {} of {client}: {median}",
                    figure["figure"]
                );
            }
            for other in ["ably-js", "floor"] {
                let ratio = &figure["brokerdash_over"][other];
                assert!(
                    ratio.is_number(),
                    "{name}: {} ratio to {other}: {ratio}",
                    figure["figure"]
                );
            }
        }
        let samples = scenario["samples"].as_array().unwrap();
        assert_eq!(
            samples.len(),
            CLIENTS.len(),
            "{name}: one run of each client"
        );
        for sample in samples {
            let line = &sample["line"];
            for field in CONTRACT {
                assert!(
                    line.get(field).is_some(),
                    "{name}: {} has no {field}: {line}",
                    sample["client"]
                );
            }
            assert_eq!(line["client"], sample["client"]);
            assert_eq!(line["lost"], 0, "{name}: {line}");
            assert!(sample["failure"].is_null(), "{name}: {sample}");
        }
    }
    // The table, for people, from the same run's figures.
    for client in CLIENTS {
        assert!(
            stderr.contains(&format!("steady run 1 {client}: cpu_us_per_msg")),
            "{stderr}"
        );
    }
}

#[test]
fn bench_run_prints_a_median_and_range_per_figure_over_its_runs() {
    let work_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-run-table");
    let output = Command::new(BINARY)
        .args([
            "bench",
            "run",
            "--scenario",
            "attach",
            "--runs",
            "2",
            "--smoke",
        ])
        .arg("--work-dir")
        .arg(&work_dir)
        .output()
        .expect("run brokerdash bench run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("attach-100: attaching 100 channels"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|line| line.trim_start().starts_with("attach time (ms)"))
        .expect("an attach time row");
    // Two runs: a median with its range.
    assert!(row.contains('(') && row.contains('–'), "{row}");
}
