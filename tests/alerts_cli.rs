//! `brokerdash alerts` as a separate process on a store written through the library, as the
//! dashboard writes it: the window, the order, each format, and a clear error for a bad
//! `--since`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;
use std::process::{Command, Output};

use brokerdash::app::alert::{Alert, AlertSource, Resolution};
use brokerdash::app::conversation::SlaLevel;
use brokerdash::store::Store;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_brokerdash");

fn alerts(state: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .arg("alerts")
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .env_remove("BROKERDASH_STATE_DIR")
        .output()
        .expect("run brokerdash alerts")
}

fn alert(conversation: &str, customer: &str, level: SlaLevel, age_ms: i64, now_ms: i64) -> Alert {
    Alert {
        conversation: conversation.into(),
        customer: Some(customer.into()),
        level,
        source: AlertSource::Client,
        threshold_ms: 120_000,
        actual_ms: 125_000,
        waiting_since_ms: now_ms - age_ms - 125_000,
        raised_ms: now_ms - age_ms,
        resolution: None,
    }
}

/// One alert two hours old, one answered 20 minutes ago, one still open from 5 minutes ago.
fn recorded_store(state: &Path) -> Store {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let store = Store::open(state).expect("open the store");
    let old = alert(
        "conversation:1",
        "Old Timer",
        SlaLevel::Breach,
        7_200_000,
        now_ms,
    );
    let answered = Alert {
        source: AlertSource::Server,
        resolution: Some(Resolution {
            answered_ms: now_ms - 1_200_000 + 30_000,
            by: "Sam".into(),
        }),
        ..alert(
            "conversation:2",
            "Jo, \"the boss\"",
            SlaLevel::Warning,
            1_200_000,
            now_ms,
        )
    };
    let open = alert(
        "conversation:3",
        "=SUM(A1)\u{1b}[2J",
        SlaLevel::Breach,
        300_000,
        now_ms,
    );
    for alert in [&old, &answered, &open] {
        store.record_alert(alert).expect("record an alert");
    }
    store
}

#[test]
fn csv_lists_the_recent_alerts_newest_first() {
    let state = tempfile::tempdir().expect("temp dir");
    // Kept open, as a running dashboard keeps it.
    let _store = recorded_store(state.path());
    let output = alerts(state.path(), &["--since", "1h", "--csv"]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        "raised,conversation,customer,level,source,threshold_s,waited_s,answered_after_s,answered_by"
    );
    assert!(
        lines[1].contains(",conversation:3,'=SUM(A1),breach,client,120,125,,"),
        "{text}"
    );
    assert!(
        lines[2]
            .contains(",conversation:2,\"Jo, \"\"the boss\"\"\",warning,server,120,125,155,Sam"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}') && !text.contains("conversation:1"));
}

#[test]
fn jsonl_gives_one_object_per_alert_with_every_field() {
    let state = tempfile::tempdir().expect("temp dir");
    let _store = recorded_store(state.path());
    let output = alerts(state.path(), &["--since", "1h", "--jsonl"]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let objects: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 2, "{text}");
    for object in &objects {
        for field in [
            "raisedAt",
            "raisedMs",
            "conversationId",
            "customer",
            "level",
            "source",
            "thresholdSecs",
            "waitedSecs",
            "answeredAt",
            "answeredAfterSecs",
            "answeredBy",
        ] {
            assert!(object.get(field).is_some(), "{field} missing in {object}");
        }
        let raised_at = object["raisedAt"].as_str().expect("raisedAt");
        assert!(
            raised_at.ends_with('Z') && raised_at.len() == 20,
            "{raised_at}"
        );
    }
    assert_eq!(objects[0]["conversationId"], "conversation:3");
    assert_eq!(objects[0]["answeredBy"], Value::Null);
    assert_eq!(objects[0]["answeredAfterSecs"], Value::Null);
    assert_eq!(objects[1]["conversationId"], "conversation:2");
    assert_eq!(objects[1]["answeredBy"], "Sam");
    assert_eq!(objects[1]["answeredAfterSecs"], 155);
    assert!(objects[1]["answeredAt"].is_string());
}

#[test]
fn a_bad_since_is_a_clear_error() {
    let state = tempfile::tempdir().expect("temp dir");
    let output = alerts(state.path(), &["--since", "abc"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(r#"--since "abc": expected a duration like 90s, 15m, 1h or 2d"#),
        "{stderr}"
    );
}

#[test]
fn a_folder_without_a_store_says_so_and_creates_nothing() {
    let state = tempfile::tempdir().expect("temp dir");
    let missing = state.path().join("never-used");
    let output = alerts(&missing, &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no alerts recorded in"), "{stderr}");
    assert!(!missing.exists());
}
