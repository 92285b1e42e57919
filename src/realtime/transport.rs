//! Which transport carries the channels: WebSocket (Ably's realtime protocol), polling
//! (REST history on an interval), or `auto`, which starts on WebSocket and polls while
//! WebSocket upgrades keep failing.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What the user asked for (`--transport`, `[connection] transport`,
/// `ENABLE_ABLY_REALTIME=false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportChoice {
    WebSocket,
    Poll,
    #[default]
    Auto,
}

impl TransportChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
            Self::Poll => "poll",
            Self::Auto => "auto",
        }
    }

    /// The web app's rollback switch: `ENABLE_ABLY_REALTIME=false` means polling.
    pub fn realtime_disabled(value: Option<&str>) -> bool {
        value.is_some_and(|value| value.trim().eq_ignore_ascii_case("false"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?}: expected websocket, poll or auto")]
pub struct UnknownTransport(String);

impl FromStr for TransportChoice {
    type Err = UnknownTransport;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "websocket" | "ws" => Ok(Self::WebSocket),
            "poll" | "polling" => Ok(Self::Poll),
            "auto" => Ok(Self::Auto),
            _ => Err(UnknownTransport(text.to_owned())),
        }
    }
}

impl fmt::Display for TransportChoice {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The transport a connection uses now, as the application is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    /// Polling REST history, and why (the choice, or the upgrade failures).
    Polling {
        reason: String,
    },
}

/// How often the polling transport asks, and how much it may ask in all.
#[derive(Debug, Clone, PartialEq)]
pub struct PollTiming {
    /// The conversation on screen.
    pub focused: Duration,
    /// A channel with a message in the last `idle_after`.
    pub active: Duration,
    /// Every other channel.
    pub idle: Duration,
    pub idle_after: Duration,
    /// How often presence is read, per channel (the focused one every 2.5 × `active`).
    pub presence: Duration,
    /// The most REST requests per second this client makes while polling.
    pub max_requests_per_sec: f64,
}

impl Default for PollTiming {
    fn default() -> Self {
        Self {
            focused: Duration::from_secs(1),
            active: Duration::from_secs(2),
            idle: Duration::from_secs(10),
            idle_after: Duration::from_secs(60),
            presence: Duration::from_secs(60),
            max_requests_per_sec: 25.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TransportChoice;

    #[test]
    fn a_choice_reads_from_its_name_and_only_false_disables_realtime() {
        assert_eq!("poll".parse(), Ok(TransportChoice::Poll));
        assert_eq!("WebSocket".parse(), Ok(TransportChoice::WebSocket));
        assert_eq!("auto".parse(), Ok(TransportChoice::Auto));
        assert!("carrier pigeon".parse::<TransportChoice>().is_err());
        assert!(TransportChoice::realtime_disabled(Some("false")));
        assert!(TransportChoice::realtime_disabled(Some(" FALSE ")));
        assert!(!TransportChoice::realtime_disabled(Some("true")));
        assert!(!TransportChoice::realtime_disabled(Some("0")));
        assert!(!TransportChoice::realtime_disabled(None));
    }
}
