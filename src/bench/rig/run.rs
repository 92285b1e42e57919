//! Runs every scenario for every client, alternating: run k starts with the k-th client, so
//! no client always goes first (on a warm or a cold machine), and each run gets a fresh
//! server.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::clients::{ClientError, ClientKind, Outcome, Preparation, Subscriber};
use super::server::{Script, ScriptServer};
use super::{Scenario, ScenarioKind, Size, scenarios};

#[derive(Debug, Clone)]
pub struct RunPlan {
    pub scenarios: Vec<ScenarioKind>,
    /// brokerdash, then what it is compared with.
    pub clients: Vec<ClientKind>,
    pub runs: usize,
    pub size: Size,
    pub work_dir: PathBuf,
    pub floor_bin: Option<PathBuf>,
}

/// One subscriber's run of one scenario.
#[derive(Debug, Clone)]
pub struct Sample {
    pub client: ClientKind,
    pub run: usize,
    /// The subscriber's JSON line; None when it printed none.
    pub line: Option<Value>,
    /// Why this run gives no figures, if it does not.
    pub failure: Option<String>,
}

#[derive(Debug)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub samples: Vec<Sample>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{client}: {source}")]
    Prepare {
        client: &'static str,
        source: ClientError,
    },
    #[error("cannot start the scripted server: {0}")]
    Server(std::io::Error),
}

/// Prepares every client (installing or building what it needs), then measures.
/// `progress` hears one line per finished run.
pub fn run(
    plan: &RunPlan,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<ScenarioResult>, RunError> {
    let preparation = Preparation {
        work_dir: &plan.work_dir,
        floor_bin: plan.floor_bin.as_deref(),
    };
    let mut subscribers = Vec::new();
    for kind in &plan.clients {
        progress(&format!("preparing {}", kind.name()));
        let subscriber =
            Subscriber::prepare(*kind, &preparation).map_err(|source| RunError::Prepare {
                client: kind.name(),
                source,
            })?;
        subscribers.push(subscriber);
    }
    let mut results = Vec::new();
    for scenario in scenarios(&plan.scenarios, plan.size) {
        let mut samples = Vec::new();
        for run in 0..plan.runs.max(1) {
            for offset in 0..subscribers.len() {
                let subscriber = &subscribers[(run + offset) % subscribers.len()];
                let sample = measure_once(subscriber, &scenario.script, run)?;
                progress(&describe(&scenario, &sample));
                samples.push(sample);
            }
        }
        results.push(ScenarioResult { scenario, samples });
    }
    Ok(results)
}

fn measure_once(subscriber: &Subscriber, script: &Script, run: usize) -> Result<Sample, RunError> {
    let server = ScriptServer::start(script.clone()).map_err(RunError::Server)?;
    let timeout = expected_duration(script) + Duration::from_secs(60);
    let outcome = subscriber.measure(server.port(), script.channels, timeout);
    let served = server.finish();
    let (line, failure) = match outcome {
        Outcome::Line { line, completed } => {
            let failure = judge(&line, completed, served.all_attached);
            (Some(line), failure)
        }
        Outcome::Failed(why) => (None, Some(why)),
    };
    Ok(Sample {
        client: subscriber.kind,
        run,
        line,
        failure,
    })
}

/// How long the script plays once attached.
fn expected_duration(script: &Script) -> Duration {
    let sending = if script.rate_per_sec > 0.0 {
        Duration::from_secs_f64(script.messages as f64 / script.rate_per_sec)
    } else {
        Duration::ZERO
    };
    sending + script.hold
}

/// A run counts only if the subscriber completed and got everything exactly once.
fn judge(line: &Value, completed: bool, all_attached: bool) -> Option<String> {
    let count = |key: &str| line.get(key).and_then(Value::as_u64).unwrap_or(0);
    let errors: Vec<&str> = line
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| errors.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !all_attached {
        Some("the server never saw every channel attached".into())
    } else if !completed {
        Some(format!("did not complete: {}", errors.join("; ")))
    } else if count("lost") > 0 || count("duplicates") > 0 {
        Some(format!(
            "lost {}, duplicated {}",
            count("lost"),
            count("duplicates")
        ))
    } else if !errors.is_empty() {
        Some(errors.join("; "))
    } else {
        None
    }
}

fn describe(scenario: &Scenario, sample: &Sample) -> String {
    let what = match &sample.failure {
        Some(failure) => format!("failed: {failure}"),
        None => scenario
            .figures
            .iter()
            .filter_map(|figure| {
                let value = figure.read(sample.line.as_ref()?)?;
                Some(format!(
                    "{} {}",
                    figure.key(),
                    super::summary::format_value(value)
                ))
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "{} run {} {}: {what}",
        scenario.name,
        sample.run + 1,
        sample.client.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_counts_only_when_complete_and_exact() {
        let good = json!({"lost": 0, "duplicates": 0, "errors": []});
        assert_eq!(judge(&good, true, true), None);
        assert!(judge(&good, false, true).is_some());
        assert!(judge(&good, true, false).is_some());
        let lossy = json!({"lost": 3, "duplicates": 0, "errors": []});
        assert_eq!(
            judge(&lossy, true, true).as_deref(),
            Some("lost 3, duplicated 0")
        );
        let erring = json!({"lost": 0, "duplicates": 0, "errors": ["x failed"]});
        assert_eq!(judge(&erring, true, true).as_deref(), Some("x failed"));
    }

    #[test]
    fn the_timeout_follows_the_script() {
        let steady = super::super::scenarios(&[ScenarioKind::Steady], Size::Full);
        assert_eq!(
            expected_duration(&steady[0].script),
            Duration::from_secs(20)
        );
        let idle = super::super::scenarios(&[ScenarioKind::Idle], Size::Full);
        assert_eq!(expected_duration(&idle[0].script), Duration::from_secs(30));
    }
}
