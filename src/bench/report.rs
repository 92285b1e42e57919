//! The one JSON line every measuring subscriber prints (`bench subscribe`, the floor
//! subscriber), built from what it counted. No figure is printed that was not measured: a
//! figure without samples is null, and the errors say why.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::measure::{peak_rss_mb, percentile, round3};

/// What a subscriber counted over one run.
#[derive(Debug, Default)]
pub struct Counts {
    pub client: &'static str,
    pub channels: usize,
    pub attached: usize,
    pub connections: usize,
    pub connect: Option<Duration>,
    pub attach: Option<Duration>,
    pub expected: u64,
    pub received: u64,
    pub duplicates: u64,
    /// None when the subscriber does not look at order (the floor keeps no per-channel state).
    pub reordered: Option<u64>,
    pub latencies_ms: Vec<f64>,
    /// Messages whose `sentNs` was missing or unreadable: no latency sample for them.
    pub unstamped: u64,
    pub first_rx: Option<Instant>,
    pub last_rx: Option<Instant>,
    /// From every channel settled to the end of the load.
    pub phase: Duration,
    pub cpu_phase: Duration,
    pub cpu_total: Duration,
    pub errors: Vec<String>,
}

impl Counts {
    pub fn into_json(mut self) -> Value {
        let millis = |duration: Duration| round3(duration.as_secs_f64() * 1000.0);
        self.latencies_ms.sort_by(f64::total_cmp);
        let latency = self.latency();
        let rx = match (self.first_rx, self.last_rx) {
            (Some(first), Some(last)) => last.duration_since(first),
            _ => Duration::ZERO,
        };
        let rx_rate = (!rx.is_zero()).then(|| round3(self.received as f64 / rx.as_secs_f64()));
        let cpu_phase_s = self.cpu_phase.as_secs_f64();
        let cpu_phase_pct =
            (!self.phase.is_zero()).then(|| round3(100.0 * cpu_phase_s / self.phase.as_secs_f64()));
        let msgs_per_cpu_s = (cpu_phase_s > 0.0 && self.received > 0)
            .then(|| round3(self.received as f64 / cpu_phase_s));
        json!({
            "client": self.client,
            "channels": self.channels,
            "attached": self.attached,
            "connections": self.connections,
            "connect_ms": self.connect.map(millis),
            "attach_ms": self.attach.map(millis),
            "expected": self.expected,
            "received": self.received,
            "lost": self.expected.saturating_sub(self.received),
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "lat_ms": latency,
            "rx_ms": millis(rx),
            "rx_rate": rx_rate,
            "phase_ms": millis(self.phase),
            "cpu_phase_s": round3(cpu_phase_s),
            "cpu_phase_pct": cpu_phase_pct,
            "cpu_s": round3(self.cpu_total.as_secs_f64()),
            "msgs_per_cpu_s": msgs_per_cpu_s,
            "peak_rss_mb": peak_rss_mb().map(round3),
            "errors": self.errors,
        })
    }

    /// Percentiles of the sorted samples, or null with the reason among the errors.
    fn latency(&mut self) -> Value {
        let latencies = &self.latencies_ms;
        if latencies.is_empty() {
            if self.received > 0 {
                self.errors.push(format!(
                    "no latency measured: none of the {} messages received carried a readable sentNs",
                    self.received
                ));
            } else if self.expected > 0 {
                self.errors.push(format!(
                    "no latency measured: none of the {} messages expected arrived",
                    self.expected
                ));
            }
            return Value::Null;
        }
        let summary = json!({
            "p50": round3(percentile(latencies, 50.0)),
            "p95": round3(percentile(latencies, 95.0)),
            "p99": round3(percentile(latencies, 99.0)),
            "max": round3(latencies.last().copied().unwrap_or(0.0)),
        });
        if self.unstamped > 0 {
            self.errors.push(format!(
                "{} of {} messages carried no readable sentNs: latency is over the rest",
                self.unstamped, self.received
            ));
        }
        summary
    }
}
