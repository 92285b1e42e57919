//! `brokerdash bench run`: the client beside the official ably-js SDK and a floor (the least
//! a Rust subscriber can do), on the same scripted server and the same load, alternating
//! runs, with the medians and ranges of each figure side by side.
//!
//! Every subscriber is a process of its own that connects to the scripted server
//! (`server`), attaches `conversation:0` … `conversation:{N-1}` and prints the one JSON line
//! of `bench subscribe`'s contract; the figures below are read from that line.

pub mod clients;
pub mod run;
pub mod server;
pub mod summary;

use std::time::Duration;

use serde_json::Value;

use server::Script;

/// One load the clients are measured on.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub script: Script,
    pub figures: &'static [Figure],
}

/// The scenarios `--scenario` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScenarioKind {
    /// 1,000 channels, 2,000 msg/s for 20 s.
    Steady,
    /// 50,000 messages over 100 channels as fast as the socket drains.
    Burst,
    /// Attaching 1,000 and 5,000 channels.
    Attach,
    /// 1,000 attached channels and no traffic for 30 s.
    Idle,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 4] = [Self::Steady, Self::Burst, Self::Attach, Self::Idle];
}

/// How big the loads are: the full ones, or a smoke run's seconds-long versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Full,
    Smoke,
}

pub fn scenarios(kinds: &[ScenarioKind], size: Size) -> Vec<Scenario> {
    let smoke = size == Size::Smoke;
    let pick = |full: usize, small: usize| if smoke { small } else { full };
    let mut list = Vec::new();
    for kind in kinds {
        match kind {
            ScenarioKind::Steady => {
                let (channels, rate, seconds) = if smoke {
                    (50, 500, 1)
                } else {
                    (1_000, 2_000, 20)
                };
                list.push(Scenario {
                    name: "steady".into(),
                    description: format!(
                        "{} channels × {} msg/s for {seconds} s",
                        thousands(channels),
                        thousands(rate)
                    ),
                    script: script(channels, (rate * seconds) as u64, rate as f64, 0),
                    figures: &[
                        Figure::CpuPerMessage,
                        Figure::LatencyP50,
                        Figure::LatencyP99,
                        Figure::PeakMemory,
                    ],
                });
            }
            ScenarioKind::Burst => {
                let (channels, messages) = (pick(100, 20), pick(50_000, 2_000));
                list.push(Scenario {
                    name: "burst".into(),
                    description: format!(
                        "{} messages over {channels} channels, as fast as the socket drains",
                        thousands(messages)
                    ),
                    script: script(channels, messages as u64, 0.0, 0),
                    figures: &[
                        Figure::ReceiveRate,
                        Figure::CpuPerMessage,
                        Figure::LatencyP50,
                        Figure::PeakMemory,
                    ],
                });
            }
            ScenarioKind::Attach => {
                for channels in [pick(1_000, 100), pick(5_000, 300)] {
                    list.push(Scenario {
                        name: format!("attach-{channels}"),
                        description: format!("attaching {} channels", thousands(channels)),
                        script: script(channels, 0, 0.0, 0),
                        figures: &[Figure::AttachTime, Figure::PeakMemory],
                    });
                }
            }
            ScenarioKind::Idle => {
                let (channels, seconds) = (pick(1_000, 50), pick(30, 1));
                list.push(Scenario {
                    name: "idle".into(),
                    description: format!(
                        "{} attached channels, no traffic for {seconds} s",
                        thousands(channels)
                    ),
                    script: script(channels, 0, 0.0, seconds as u64),
                    figures: &[Figure::IdleCpu, Figure::PeakMemory],
                });
            }
        }
    }
    list
}

fn script(channels: usize, messages: u64, rate_per_sec: f64, hold_secs: u64) -> Script {
    Script {
        channels,
        messages,
        rate_per_sec,
        hold: Duration::from_secs(hold_secs),
        attach_timeout: Duration::from_secs(60),
    }
}

/// 1000 → "1,000".
pub fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A figure read from a subscriber's JSON line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    CpuPerMessage,
    LatencyP50,
    LatencyP99,
    PeakMemory,
    ReceiveRate,
    AttachTime,
    IdleCpu,
}

impl Figure {
    pub fn label(self) -> &'static str {
        match self {
            Self::CpuPerMessage => "CPU per message (µs)",
            Self::LatencyP50 => "latency p50 (ms)",
            Self::LatencyP99 => "latency p99 (ms)",
            Self::PeakMemory => "peak memory (MB)",
            Self::ReceiveRate => "receive rate (msg/s)",
            Self::AttachTime => "attach time (ms)",
            Self::IdleCpu => "CPU (%)",
        }
    }

    /// The key in `--json` output.
    pub fn key(self) -> &'static str {
        match self {
            Self::CpuPerMessage => "cpu_us_per_msg",
            Self::LatencyP50 => "lat_p50_ms",
            Self::LatencyP99 => "lat_p99_ms",
            Self::PeakMemory => "peak_rss_mb",
            Self::ReceiveRate => "rx_rate",
            Self::AttachTime => "attach_ms",
            Self::IdleCpu => "cpu_phase_pct",
        }
    }

    /// The figure from one subscriber line; None when the line does not have it.
    pub fn read(self, line: &Value) -> Option<f64> {
        let number = |key: &str| line.get(key).and_then(Value::as_f64);
        match self {
            Self::CpuPerMessage => {
                let received = number("received").filter(|received| *received > 0.0)?;
                Some(number("cpu_phase_s")? * 1e6 / received)
            }
            Self::LatencyP50 => line.get("lat_ms")?.get("p50")?.as_f64(),
            Self::LatencyP99 => line.get("lat_ms")?.get("p99")?.as_f64(),
            Self::PeakMemory => number("peak_rss_mb"),
            Self::ReceiveRate => number("rx_rate"),
            Self::AttachTime => number("attach_ms"),
            Self::IdleCpu => number("cpu_phase_pct"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(5), "5");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn figures_are_read_from_the_contract_line() {
        let line = json!({
            "received": 2000, "cpu_phase_s": 0.05, "lat_ms": {"p50": 0.2, "p99": 0.9},
            "peak_rss_mb": 12.5, "rx_rate": 150000.0, "attach_ms": 48.0, "cpu_phase_pct": 0.01,
        });
        assert_eq!(Figure::CpuPerMessage.read(&line), Some(25.0));
        assert_eq!(Figure::LatencyP99.read(&line), Some(0.9));
        assert_eq!(Figure::AttachTime.read(&line), Some(48.0));
        let nothing_received = json!({"received": 0, "cpu_phase_s": 0.05, "lat_ms": null});
        assert_eq!(Figure::CpuPerMessage.read(&nothing_received), None);
        assert_eq!(Figure::LatencyP50.read(&nothing_received), None);
    }

    #[test]
    fn every_kind_has_its_scenarios() {
        let full = scenarios(&ScenarioKind::ALL, Size::Full);
        let names: Vec<&str> = full.iter().map(|scenario| scenario.name.as_str()).collect();
        assert_eq!(
            names,
            ["steady", "burst", "attach-1000", "attach-5000", "idle"]
        );
        assert_eq!(full[0].script.messages, 40_000);
        assert_eq!(full[3].script.channels, 5_000);
        assert_eq!(full[4].script.hold, Duration::from_secs(30));
    }
}
