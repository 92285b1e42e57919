//! SLA alerts as the supervisor's feed keeps them: who waited, which threshold was crossed
//! and when, who raised it (the server's monitor or this client's own clock), and how it
//! ended. The store keeps them so a restart shows the last hour.

use super::conversation::SlaLevel;

/// Who raised an alert first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertSource {
    /// An `sla:warning` / `sla:violation` event on the channel.
    Server,
    /// The dashboard's own SLA clock.
    Client,
}

impl AlertSource {
    pub fn word(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }

    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "server" => Some(Self::Server),
            "client" => Some(Self::Client),
            _ => None,
        }
    }
}

impl SlaLevel {
    pub fn word(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Breach => "breach",
        }
    }

    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "warning" => Some(Self::Warning),
            "breach" => Some(Self::Breach),
            _ => None,
        }
    }
}

/// How an alert ended: the customer was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub answered_ms: i64,
    /// Who answered: "you", a broker's name, or "AI".
    pub by: String,
}

/// One threshold crossed while one customer waited. (`conversation`, `level`,
/// `waiting_since_ms`) names it: the same crossing reported twice is one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub conversation: String,
    pub customer: Option<String>,
    pub level: SlaLevel,
    pub source: AlertSource,
    pub threshold_ms: u64,
    /// How long the customer had waited when it was raised.
    pub actual_ms: u64,
    /// When the customer started waiting.
    pub waiting_since_ms: i64,
    /// When it was raised.
    pub raised_ms: i64,
    pub resolution: Option<Resolution>,
}

/// Alerts kept in memory, newest first: enough for the last hour on a busy floor.
pub const ALERTS_KEPT: usize = 5_000;

/// What raising an alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A new alert: worth a notification.
    New,
    /// The same crossing, now known to have happened earlier (from the other source).
    Earlier,
    /// Already known.
    Known,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFeed {
    alerts: std::collections::VecDeque<Alert>,
}

impl AlertFeed {
    /// Newest first.
    pub fn iter(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter()
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Alerts from the store at start (newest first), under any already raised.
    pub fn restore(&mut self, alerts: Vec<Alert>) {
        for alert in alerts {
            let known = self.alerts.iter().any(|kept| {
                kept.conversation == alert.conversation
                    && kept.level == alert.level
                    && kept.waiting_since_ms == alert.waiting_since_ms
            });
            if !known && self.alerts.len() < ALERTS_KEPT {
                self.alerts.push_back(alert);
            }
        }
    }

    /// One crossing is one alert: an open alert of the same level for the same
    /// conversation is the same crossing, and the earlier report of it wins.
    pub fn raise(&mut self, alert: Alert) -> (Raised, &Alert) {
        let open = self.alerts.iter().position(|kept| {
            kept.conversation == alert.conversation
                && kept.level == alert.level
                && kept.resolution.is_none()
        });
        if let Some(index) = open {
            let kept = &mut self.alerts[index];
            if alert.raised_ms >= kept.raised_ms {
                return (Raised::Known, &self.alerts[index]);
            }
            let mut earlier = self.alerts.remove(index).unwrap_or(alert.clone());
            earlier.source = alert.source;
            earlier.raised_ms = alert.raised_ms;
            earlier.threshold_ms = alert.threshold_ms;
            earlier.actual_ms = alert.actual_ms;
            let (_, kept) = self.raise(earlier);
            return (Raised::Earlier, kept);
        }
        // Newest first by when it was raised (several can cross in one tick, in any order).
        let at = self
            .alerts
            .iter()
            .position(|kept| kept.raised_ms <= alert.raised_ms)
            .unwrap_or(self.alerts.len());
        self.alerts.insert(at, alert);
        self.alerts.truncate(ALERTS_KEPT);
        let at = at.min(self.alerts.len().saturating_sub(1));
        (Raised::New, &self.alerts[at])
    }

    /// The customer was answered: every open alert of the conversation ends. Returns the
    /// alerts resolved, to be written again.
    pub fn resolve(&mut self, conversation: &str, answered_ms: i64, by: &str) -> Vec<Alert> {
        let mut resolved = Vec::new();
        for alert in &mut self.alerts {
            if alert.conversation == conversation && alert.resolution.is_none() {
                alert.resolution = Some(Resolution {
                    answered_ms,
                    by: by.to_owned(),
                });
                resolved.push(alert.clone());
            }
        }
        resolved
    }

    /// Alerts raised in each of the last `minutes` minutes, oldest first.
    pub fn per_minute(&self, now_ms: i64, minutes: usize) -> Vec<u64> {
        let mut counts = vec![0u64; minutes];
        let current = now_ms.div_euclid(60_000);
        for alert in &self.alerts {
            let age = current.saturating_sub(alert.raised_ms.div_euclid(60_000));
            if let Ok(age) = usize::try_from(age)
                && age < minutes
            {
                counts[minutes - 1 - age] += 1;
            }
        }
        counts
    }
}
