//! The connection state machine of Ably's spec (RTN), as pure code: inputs in, effects out,
//! time passed in. The transport task (`shard`) performs the effects.
//!
//! Longer than 80 lines, kept whole: `handle`, the state machine's dispatch `match`.

use std::time::{Duration, Instant};

use crate::protocol::{ConnectionDetails, ErrorInfo};

use super::backoff::retry_delay;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Initialized,
    Connecting,
    Connected,
    Disconnected,
    Suspended,
    Closing,
    Closed,
    Failed,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialized => "initialized",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Suspended => "suspended",
            Self::Closing => "closing",
            Self::Closed => "closed",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The application asks to connect (or reconnect after closed/failed).
    Connect,
    /// CONNECTED arrived.
    Connected {
        connection_id: String,
        details: ConnectionDetails,
        error: Option<ErrorInfo>,
    },
    /// The transport could not open, dropped, or went idle; or DISCONNECTED arrived.
    Lost(ErrorInfo),
    /// ERROR without a channel: fatal unless it is a token error.
    Error(ErrorInfo),
    /// Credentials could not be obtained; `fatal` when the auth server refused outright.
    AuthFailed { error: ErrorInfo, fatal: bool },
    /// CLOSED arrived, or the transport ended while closing.
    Closed,
    /// The application asks to close.
    Close,
    /// The retry timer fired.
    RetryDue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Open a transport, resuming with this key when there is one. `renew_token` asks for
    /// fresh credentials first (after a token error).
    Open {
        resume_key: Option<String>,
        renew_token: bool,
    },
    /// Abandon the current transport, if any.
    Drop,
    /// Send CLOSE on the current transport.
    SendClose,
    RetryIn(Duration),
    /// Re-attach every channel; `resumed` tells whether continuity held.
    Reattach {
        resumed: bool,
    },
    /// Re-send publishes awaiting ACK: same msgSerials if resumed, renumbered if not.
    Resend {
        resumed: bool,
    },
    /// Fail everything awaiting an ACK and everything queued.
    FailPending(ErrorInfo),
    SuspendChannels,
    FailChannels(ErrorInfo),
    DetachChannels,
    /// Tell the application.
    StateChanged {
        state: ConnectionState,
        reason: Option<ErrorInfo>,
    },
    /// Connected again with the same state: new details (after AUTH), and an UPDATE for
    /// the application, with its reason if any (RTN24, RTC8a1).
    Updated {
        reason: Option<ErrorInfo>,
    },
}

#[derive(Debug, Clone)]
pub struct Timeouts {
    pub disconnected_retry: Duration,
    pub suspended_retry: Duration,
    /// Used until CONNECTED tells the server's value.
    pub default_state_ttl: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            disconnected_retry: Duration::from_secs(15),
            suspended_retry: Duration::from_secs(30),
            default_state_ttl: Duration::from_secs(120),
        }
    }
}

#[derive(Debug)]
pub struct ConnectionMachine {
    state: ConnectionState,
    connection_id: Option<String>,
    connection_key: Option<String>,
    details: ConnectionDetails,
    /// Failed attempts since the last CONNECTED.
    attempts: u32,
    /// When the connection was last lost; past the state TTL we are suspended.
    lost_since: Option<Instant>,
    /// The last loss was a token error: fetch new credentials before reconnecting.
    needs_new_token: bool,
    timeouts: Timeouts,
}

impl ConnectionMachine {
    pub fn new(timeouts: Timeouts) -> Self {
        Self {
            state: ConnectionState::Initialized,
            connection_id: None,
            connection_key: None,
            details: ConnectionDetails::default(),
            attempts: 0,
            lost_since: None,
            needs_new_token: false,
            timeouts,
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    pub fn connection_id(&self) -> Option<&str> {
        self.connection_id.as_deref()
    }

    /// The key to resume with, when there is a connection to resume.
    pub fn connection_key(&self) -> Option<&str> {
        self.connection_key.as_deref()
    }

    pub fn details(&self) -> &ConnectionDetails {
        &self.details
    }

    fn state_ttl(&self) -> Duration {
        self.details
            .connection_state_ttl
            .map_or(self.timeouts.default_state_ttl, Duration::from_millis)
    }

    /// How long silence may last before the transport counts as dead (RTN23a), if the
    /// server promised a heartbeat interval.
    pub fn idle_limit(&self, request_timeout: Duration) -> Option<Duration> {
        self.details
            .max_idle_interval
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms) + request_timeout)
    }

    fn enter(
        &mut self,
        state: ConnectionState,
        reason: Option<ErrorInfo>,
        effects: &mut Vec<Effect>,
    ) {
        self.state = state;
        effects.push(Effect::StateChanged { state, reason });
    }

    pub fn handle(&mut self, input: Input, now: Instant, jitter: f64) -> Vec<Effect> {
        use ConnectionState as S;
        let mut effects = Vec::new();
        match (self.state, input) {
            (S::Initialized | S::Closed | S::Failed, Input::Connect) => {
                self.connection_key = None;
                self.connection_id = None;
                self.attempts = 0;
                self.lost_since = None;
                self.enter(S::Connecting, None, &mut effects);
                effects.push(Effect::Open {
                    resume_key: None,
                    renew_token: false,
                });
            }
            (S::Disconnected | S::Suspended, Input::Connect | Input::RetryDue) => {
                self.enter(S::Connecting, None, &mut effects);
                effects.push(Effect::Open {
                    resume_key: self.connection_key.clone(),
                    renew_token: std::mem::take(&mut self.needs_new_token),
                });
            }
            (
                S::Connecting | S::Connected,
                Input::Connected {
                    connection_id,
                    details,
                    error,
                },
            ) => {
                let was_connected = self.state == S::Connected;
                let resumed = self.connection_id.as_deref() == Some(connection_id.as_str());
                self.connection_id = Some(connection_id);
                if details.connection_key.is_some() {
                    self.connection_key = details.connection_key.clone();
                }
                self.details = details;
                self.attempts = 0;
                self.lost_since = None;
                if was_connected {
                    effects.push(Effect::Updated { reason: error });
                } else {
                    self.enter(S::Connected, error, &mut effects);
                    effects.push(Effect::Reattach { resumed });
                    effects.push(Effect::Resend { resumed });
                }
            }
            (S::Connecting | S::Connected, Input::Lost(error)) => {
                self.lost(error, now, jitter, &mut effects);
            }
            (S::Connecting | S::Connected, Input::Error(error)) if error.is_token_error() => {
                self.lost(error, now, jitter, &mut effects);
            }
            (
                S::Connecting | S::Connected | S::Disconnected | S::Suspended,
                Input::AuthFailed {
                    error,
                    fatal: false,
                },
            ) => {
                effects.push(Effect::Drop);
                self.lost(error, now, jitter, &mut effects);
            }
            (S::Closing, Input::Closed | Input::Lost(_)) => self.closed(&mut effects),
            (
                S::Closing | S::Closed | S::Failed,
                Input::Lost(_) | Input::Error(_) | Input::AuthFailed { .. },
            ) => {}
            (_, Input::Error(error) | Input::AuthFailed { error, .. }) => {
                self.connection_key = None;
                effects.push(Effect::Drop);
                effects.push(Effect::FailChannels(error.clone()));
                effects.push(Effect::FailPending(error.clone()));
                self.enter(S::Failed, Some(error), &mut effects);
            }
            (S::Connected, Input::Close) => {
                self.enter(S::Closing, None, &mut effects);
                effects.push(Effect::SendClose);
            }
            (S::Connecting | S::Disconnected | S::Suspended | S::Initialized, Input::Close) => {
                self.closed(&mut effects);
            }
            (S::Connected | S::Connecting, Input::Closed) => {
                self.closed(&mut effects);
            }
            _ => {}
        }
        effects
    }

    fn closed(&mut self, effects: &mut Vec<Effect>) {
        self.connection_key = None;
        effects.push(Effect::Drop);
        effects.push(Effect::DetachChannels);
        effects.push(Effect::FailPending(ErrorInfo::new(
            80017,
            400,
            "Connection closed",
        )));
        self.enter(ConnectionState::Closed, None, effects);
    }

    fn lost(&mut self, error: ErrorInfo, now: Instant, jitter: f64, effects: &mut Vec<Effect>) {
        let was_connected = self.state == ConnectionState::Connected;
        let lost_since = *self.lost_since.get_or_insert(now);
        effects.push(Effect::Drop);
        let renew_token = error.is_token_error();
        self.needs_new_token |= renew_token;
        if now.duration_since(lost_since) >= self.state_ttl() {
            // Past the TTL the server has dropped our state: channels are suspended and
            // pending publishes fail (RTN7e); we keep trying at the slower pace.
            // The server has forgotten the connection too: the next one starts afresh
            // instead of asking to resume (RTN15g).
            self.connection_key = None;
            if self.state != ConnectionState::Suspended {
                effects.push(Effect::SuspendChannels);
                effects.push(Effect::FailPending(ErrorInfo::new(
                    80002,
                    400,
                    "Connection suspended",
                )));
            }
            self.enter(ConnectionState::Suspended, Some(error), effects);
            effects.push(Effect::RetryIn(self.timeouts.suspended_retry));
            return;
        }
        self.enter(ConnectionState::Disconnected, Some(error), effects);
        if was_connected || (renew_token && self.attempts == 0) {
            // Straight back after a drop from connected, or once after a token error.
            self.attempts = 1;
            effects.push(Effect::RetryIn(Duration::ZERO));
        } else {
            self.attempts += 1;
            effects.push(Effect::RetryIn(retry_delay(
                self.timeouts.disconnected_retry,
                self.attempts,
                jitter,
            )));
        }
    }
}

#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;
