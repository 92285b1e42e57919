//! The SLA monitor: watches every conversation channel and raises `sla:warning` and
//! `sla:violation` while a customer waits for a human. A conversation waits from the first
//! customer message not yet followed by a `message:broker` (AI answers do not count: the
//! SLA is about people); each alert fires once per waiting period, and a broker's reply
//! ends the period.
//!
//! The decision is the pure [`WaitClock`]; [`SlaMonitor`] feeds it what arrives and asks it
//! on a timer (the alert may be up to one check late).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior, interval};
use tokio_util::sync::CancellationToken;

use crate::protocol::events::{ConversationEvent, Severity};
use crate::realtime::{AttachOptions, NetEvent, discover, opened_channel};

use super::connection::ActorConnection;
use super::{SimConfig, SimError, is_conversation};

pub(crate) const CLIENT_ID: &str = "sla-monitor";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thresholds {
    pub warning_ms: u64,
    pub violation_ms: u64,
}

impl Thresholds {
    pub fn new(warning: Duration, violation: Duration) -> Self {
        let ms = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self {
            warning_ms: ms(warning),
            violation_ms: ms(violation),
        }
    }

    /// How often to check: often enough that an alert is at most a quarter of the warning
    /// threshold late, and at least once a second.
    fn check_every(self) -> Duration {
        Duration::from_millis((self.warning_ms / 4).clamp(50, 1_000))
    }
}

/// What the monitor saw on a conversation that matters to the SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    CustomerMessage,
    BrokerMessage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alert {
    Warning { threshold_ms: u64, waited_ms: u64 },
    Violation { threshold_ms: u64, waited_ms: u64 },
}

impl Alert {
    pub fn event(self) -> ConversationEvent {
        let (violation, threshold_ms, actual_ms, severity) = match self {
            Self::Warning {
                threshold_ms,
                waited_ms,
            } => (false, threshold_ms, waited_ms, Severity::Warning),
            Self::Violation {
                threshold_ms,
                waited_ms,
            } => (true, threshold_ms, waited_ms, Severity::Critical),
        };
        ConversationEvent::Sla {
            violation,
            threshold_ms,
            actual_ms,
            severity,
        }
    }
}

/// One conversation's waiting period, in ms on any monotonic clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WaitClock {
    waiting_since_ms: Option<u64>,
    warned: bool,
    violated: bool,
}

impl WaitClock {
    pub fn observe(&mut self, seen: Seen, at_ms: u64) {
        match seen {
            // Only the first unanswered message starts the clock.
            Seen::CustomerMessage => {
                self.waiting_since_ms.get_or_insert(at_ms);
            }
            Seen::BrokerMessage => *self = Self::default(),
        }
    }

    /// The alerts due at `now_ms` and not yet raised in this waiting period; raising them
    /// is the caller's job, remembering them is this one's.
    pub fn due(&mut self, now_ms: u64, thresholds: Thresholds) -> Vec<Alert> {
        let Some(since) = self.waiting_since_ms else {
            return Vec::new();
        };
        let waited_ms = now_ms.saturating_sub(since);
        let mut alerts = Vec::new();
        // Both can be due at once (a late check): the warning still goes first.
        if !self.warned && waited_ms >= thresholds.warning_ms {
            self.warned = true;
            alerts.push(Alert::Warning {
                threshold_ms: thresholds.warning_ms,
                waited_ms,
            });
        }
        if !self.violated && waited_ms >= thresholds.violation_ms {
            self.violated = true;
            alerts.push(Alert::Violation {
                threshold_ms: thresholds.violation_ms,
                waited_ms,
            });
        }
        alerts
    }
}

pub(crate) struct SlaMonitor {
    connection: ActorConnection,
}

impl SlaMonitor {
    /// Connects, then attaches the simulated conversations and every other conversation
    /// channel already open, and follows the lifecycle metachannel for new ones.
    pub async fn connect(config: &SimConfig, channels: &[String]) -> Result<Self, SimError> {
        let mut connection = ActorConnection::connect(config, CLIENT_ID).await?;
        let mut watched = match discover(&connection.publisher.client).await {
            Ok(found) => found,
            Err(error) => {
                connection.close().await;
                return Err(SimError::Discovery(error));
            }
        };
        watched.extend(channels.iter().cloned());
        watched.sort_unstable();
        watched.dedup();
        if let Err(error) = connection.attach_all(&watched).await {
            connection.close().await;
            return Err(error);
        }
        Ok(Self { connection })
    }

    pub fn into_link(self) -> ActorConnection {
        self.connection
    }

    pub async fn run(mut self, thresholds: Thresholds, shutdown: CancellationToken) {
        let started = Instant::now();
        let elapsed_ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // BTreeMap: alerts go out in a stable order of conversations.
        let mut clocks: BTreeMap<String, WaitClock> = BTreeMap::new();
        let mut check = interval(thresholds.check_every());
        check.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                event = self.connection.next_event() => match event {
                    Some(NetEvent::Message { channel, message, .. }) => {
                        if let Some(opened) = opened_channel(&channel, &message) {
                            self.connection.publisher.client.attach(&opened, AttachOptions::default());
                            continue;
                        }
                        if !is_conversation(&channel) {
                            continue;
                        }
                        let parsed = ConversationEvent::parse(message.name.as_deref(), message.payload);
                        let seen = match parsed.event {
                            ConversationEvent::UserMessage { .. } => Seen::CustomerMessage,
                            ConversationEvent::BrokerMessage { .. } => Seen::BrokerMessage,
                            _ => continue,
                        };
                        clocks.entry(channel).or_default().observe(seen, elapsed_ms());
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = check.tick() => {
                    let now = elapsed_ms();
                    for (channel, clock) in &mut clocks {
                        for alert in clock.due(now, thresholds) {
                            self.connection.publisher.publish(channel, &alert.event(), &shutdown);
                        }
                    }
                }
            }
        }
        self.connection.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THRESHOLDS: Thresholds = Thresholds {
        warning_ms: 45_000,
        violation_ms: 90_000,
    };

    /// Feeds a timeline of (ms, what) and checks every second up to `until_ms`; returns the
    /// alerts with the time they were raised.
    fn replay(timeline: &[(u64, Seen)], until_ms: u64) -> Vec<(u64, Alert)> {
        let mut clock = WaitClock::default();
        let mut events = timeline.iter().peekable();
        let mut raised = Vec::new();
        for now in (0..=until_ms).step_by(1_000) {
            while let Some((at, seen)) = events.next_if(|(at, _)| *at <= now) {
                clock.observe(*seen, *at);
            }
            raised.extend(clock.due(now, THRESHOLDS).into_iter().map(|a| (now, a)));
        }
        raised
    }

    #[test]
    fn nothing_is_due_without_a_waiting_customer() {
        assert!(replay(&[], 200_000).is_empty());
        assert!(replay(&[(0, Seen::BrokerMessage)], 200_000).is_empty());
    }

    #[test]
    fn warning_then_violation_once_each_from_the_first_unanswered_message() {
        let timeline = [
            (2_000, Seen::CustomerMessage),
            (20_000, Seen::CustomerMessage), // does not restart the clock
        ];
        assert_eq!(
            replay(&timeline, 300_000),
            vec![
                (
                    47_000,
                    Alert::Warning {
                        threshold_ms: 45_000,
                        waited_ms: 45_000
                    }
                ),
                (
                    92_000,
                    Alert::Violation {
                        threshold_ms: 90_000,
                        waited_ms: 90_000
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_broker_reply_ends_the_waiting_period_and_the_next_message_starts_another() {
        let timeline = [
            (0, Seen::CustomerMessage),
            (50_000, Seen::BrokerMessage),
            (60_000, Seen::CustomerMessage),
        ];
        let raised: Vec<(u64, bool)> = replay(&timeline, 200_000)
            .into_iter()
            .map(|(at, alert)| (at, matches!(alert, Alert::Violation { .. })))
            .collect();
        // Warned at 45 s, reset at 50 s (no violation at 90 s), then again from 60 s.
        assert_eq!(
            raised,
            vec![(45_000, false), (105_000, false), (150_000, true)]
        );
    }

    #[test]
    fn a_late_check_raises_both_in_order() {
        let mut clock = WaitClock::default();
        clock.observe(Seen::CustomerMessage, 0);
        let alerts = clock.due(100_000, THRESHOLDS);
        assert!(matches!(
            alerts.as_slice(),
            [
                Alert::Warning { .. },
                Alert::Violation {
                    waited_ms: 100_000,
                    ..
                }
            ]
        ));
        assert!(clock.due(200_000, THRESHOLDS).is_empty());
    }

    #[test]
    fn alerts_become_the_wire_events() {
        let warning = Alert::Warning {
            threshold_ms: 45_000,
            waited_ms: 46_000,
        };
        let (name, data) = warning.event().to_wire();
        assert_eq!(name, "sla:warning");
        assert_eq!(data["threshold"], 45_000);
        assert_eq!(data["actual"], 46_000);
        assert_eq!(data["severity"], "warning");
        let (name, data) = Alert::Violation {
            threshold_ms: 90_000,
            waited_ms: 91_000,
        }
        .event()
        .to_wire();
        assert_eq!(name, "sla:violation");
        assert_eq!(data["severity"], "critical");
    }
}
