//! The connection's life: connecting, resuming, token renewal, and the results of the
//! work done in the background for them.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

use crate::protocol::{AuthDetails, ErrorInfo, ProtocolAction, ProtocolMessage};
use crate::realtime::backoff::random_jitter;
use crate::realtime::channel::ChannelInput;
use crate::realtime::connection::{ConnectionState, Effect, Input};
use crate::realtime::types::NetEvent;
use crate::rest::{Credential, RestError};

use super::socket::open_socket;
use super::timers::Timer;
use super::{Internal, MIN_RENEWAL_DELAY, OpenFailure, Shard};

impl Shard {
    pub(super) async fn connection(&mut self, input: Input) {
        let effects = self
            .machine
            .handle(input, std::time::Instant::now(), random_jitter());
        for effect in effects {
            self.connection_effect(effect).await;
        }
    }

    pub(super) async fn connection_effect(&mut self, effect: Effect) {
        match effect {
            Effect::Open {
                resume_key,
                renew_token,
            } => self.open(resume_key, renew_token),
            Effect::Drop => {
                self.attempt_ended();
                self.cancel_timer(&Timer::ConnectDeadline);
                if let Some(mut socket) = self.socket.take() {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
                }
                if let Some(opening) = self.opening.take() {
                    opening.abort();
                }
                self.for_each_channel(ChannelInput::ConnectionLost).await;
            }
            Effect::SendClose => {
                // CLOSED, the transport ending, or the request timeout ends the closing
                // (RTN12a).
                self.send(&ProtocolMessage::new(ProtocolAction::Close))
                    .await;
                let deadline = Instant::now() + self.options.request_timeout;
                self.set_timer(Timer::CloseDeadline, deadline);
            }
            Effect::RetryIn(delay) => self.set_timer(Timer::Retry, Instant::now() + delay),
            Effect::Reattach { .. } => {
                self.upgrade_failures = 0;
                self.stop_polling().await;
                self.schedule_renewal();
                self.for_each_channel(ChannelInput::ConnectionConnected)
                    .await;
            }
            Effect::Resend { resumed } => self.resend(resumed).await,
            Effect::FailPending(error) => self.fail_pending(&error),
            Effect::SuspendChannels => {
                self.for_each_channel(ChannelInput::ConnectionSuspended)
                    .await
            }
            Effect::FailChannels(error) => {
                self.for_each_channel(ChannelInput::ConnectionFailed(error))
                    .await
            }
            Effect::DetachChannels => self.for_each_channel(ChannelInput::ConnectionClosed).await,
            Effect::StateChanged { state, reason } => {
                self.health_state_changed(state, reason.as_ref());
                if let Some(reason) = &reason {
                    debug!(shard = self.index, state = state.as_str(), %reason, "connection state");
                }
                self.emit(NetEvent::Connection {
                    shard: self.index,
                    state,
                    reason,
                })
                .await;
            }
            Effect::Updated { reason } => {
                self.schedule_renewal();
                self.emit(NetEvent::ConnectionUpdated {
                    shard: self.index,
                    reason,
                })
                .await;
            }
        }
    }

    pub(super) fn open(&mut self, resume_key: Option<String>, renew_token: bool) {
        let rest = self.rest.clone();
        let options = self.options.clone();
        let internal = self.internal_tx.clone();
        self.attempt_started();
        self.set_timer(
            Timer::ConnectDeadline,
            Instant::now() + self.options.request_timeout * 2,
        );
        self.opening = Some(tokio::spawn(async move {
            let result = open_socket(&rest, &options, resume_key, renew_token).await;
            let _ = internal.send(Internal::Opened(result));
        }));
    }

    pub(super) fn schedule_renewal(&mut self) {
        let Some(expires) = self.credential.as_ref().and_then(Credential::expires_ms) else {
            self.cancel_timer(&Timer::Renew);
            return;
        };
        let remaining = Duration::from_millis(expires.saturating_sub(crate::clock::now_ms_u64()));
        // Renew 30 s ahead, or halfway through a short-lived token.
        let ahead = Duration::from_secs(30).min(remaining / 2);
        let delay = remaining.saturating_sub(ahead).max(MIN_RENEWAL_DELAY);
        self.set_timer(Timer::Renew, Instant::now() + delay);
    }

    pub(super) fn renew_token(&mut self) {
        if self.renewing {
            return;
        }
        self.renewing = true;
        let credentials = self.rest.credentials().clone();
        let internal = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = credentials.renew().await;
            let _ = internal.send(Internal::Renewed(result));
        });
    }

    /// A renewal that failed while connected (RSA4c, RSA4d, RTN22a). The auth server
    /// refused outright: the connection fails with 80019 and the reason. Otherwise it
    /// stays connected, and the application is told once (an update carrying 80019). The
    /// token's expiry then disconnects it, and reconnecting asks for a token again with
    /// backoff. Nothing is retried every few seconds for ever.
    async fn renewal_failed(&mut self, error: &RestError) {
        let fatal = error.is_fatal_auth();
        warn!(shard = self.index, %error, fatal, "token renewal failed");
        let status = if fatal { 403 } else { 401 };
        let reason = ErrorInfo::new(80019, status, format!("Token renewal failed: {error}"));
        if fatal {
            let input = Input::AuthFailed {
                error: reason,
                fatal: true,
            };
            return self.connection(input).await;
        }
        if self.machine.state() == ConnectionState::Connected {
            self.emit(NetEvent::ConnectionUpdated {
                shard: self.index,
                reason: Some(reason),
            })
            .await;
        }
    }

    pub(super) async fn internal(&mut self, internal: Internal) {
        if let Internal::Opened(Err(_)) = &internal {
            self.attempt_ended();
        }
        match internal {
            Internal::Opened(Ok(opened)) => {
                let (socket, credential) = *opened;
                self.opening = None;
                if self.machine.state() == ConnectionState::Connecting {
                    self.socket = Some(socket);
                    self.credential = Some(credential);
                    self.last_activity = Instant::now();
                }
            }
            Internal::Opened(Err(OpenFailure::Auth(error))) => {
                self.opening = None;
                let fatal = error.is_fatal_auth();
                warn!(shard = self.index, %error, "could not get credentials");
                self.connection(Input::AuthFailed {
                    error: error.to_error_info(),
                    fatal,
                })
                .await;
            }
            Internal::Opened(Err(OpenFailure::Transport(reason))) => {
                self.opening = None;
                let error = ErrorInfo::new(80003, 400, format!("Unable to connect: {reason}"));
                self.connection(Input::Lost(error)).await;
            }
            Internal::Opened(Err(OpenFailure::Upgrade(reason))) => {
                self.opening = None;
                self.upgrade_refused(reason).await;
            }
            Internal::Renewed(Ok(credential)) => {
                self.renewing = false;
                let token = match &credential {
                    Credential::Token(details) => Some(details.token.expose().to_owned()),
                    Credential::Basic(_) => None,
                };
                self.credential = Some(credential);
                if let Some(access_token) = token
                    && self.machine.state() == ConnectionState::Connected
                {
                    let mut frame = ProtocolMessage::new(ProtocolAction::Auth);
                    frame.auth = Some(AuthDetails { access_token });
                    self.send(&frame).await;
                }
                self.schedule_renewal();
            }
            Internal::Renewed(Err(error)) => {
                self.renewing = false;
                self.renewal_failed(&error).await;
            }
            Internal::GapFilled { channel, result } => self.gap_filled(&channel, result).await,
            Internal::ReEnterFailed {
                channel,
                client_id,
                error,
            } => self.re_enter_failed(&channel, client_id, &error).await,
            Internal::Polled {
                channel,
                spell,
                query,
                outcome,
            } => self.polled(&channel, spell, query, outcome).await,
            Internal::RestPublished {
                messages,
                acknowledged,
            } => self.health.settled(messages, acknowledged),
        }
    }

    /// An upgrade refused (an HTTP error, or a reset in the handshake). Tried again soon
    /// inside the same attempt; with `auto`, the third in a row starts polling, and the
    /// connection's own backoff keeps trying WebSocket meanwhile.
    async fn upgrade_refused(&mut self, reason: String) {
        self.upgrade_failures = self.upgrade_failures.saturating_add(1);
        warn!(shard = self.index, failures = self.upgrade_failures, %reason, "WebSocket upgrade refused");
        let auto = self.options.transport == crate::realtime::TransportChoice::Auto;
        let polling_soon = auto
            && !self.is_polling()
            && self.upgrade_failures < super::polling::UPGRADE_FAILURES_BEFORE_POLLING;
        if polling_soon && self.machine.state() == ConnectionState::Connecting {
            let delay = super::polling::upgrade_retry_delay(self.upgrade_failures);
            self.set_timer(Timer::UpgradeRetry, Instant::now() + delay);
            return;
        }
        if auto && !self.is_polling() {
            let why = format!(
                "WebSocket refused {} times in a row ({reason})",
                self.upgrade_failures
            );
            self.start_polling(why).await;
        }
        let error = ErrorInfo::new(80003, 400, format!("Unable to connect: {reason}"));
        self.connection(Input::Lost(error)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Harness, connection_states, token};
    use super::super::timers::Timer;
    use super::super::{Internal, OpenFailure};
    use crate::protocol::ProtocolAction;
    use crate::realtime::ConnectionState;
    use crate::realtime::connection::Input;
    use crate::rest::RestError;

    /// UTS: RTN14d.
    #[tokio::test]
    async fn rtn14d_a_socket_that_cannot_open_reports_disconnected_and_retries() {
        let mut harness = Harness::new();
        harness
            .shard
            .connection(crate::realtime::connection::Input::Connect)
            .await;
        harness
            .shard
            .internal(Internal::Opened(Err(OpenFailure::Transport(
                "refused".into(),
            ))))
            .await;
        assert_eq!(
            connection_states(&harness.events()),
            [ConnectionState::Connecting, ConnectionState::Disconnected]
        );
        assert!(harness.timers().contains(&Timer::Retry));
    }

    /// UTS: RTC8a.
    #[tokio::test]
    async fn rtn22_a_renewed_token_is_sent_in_an_auth_frame_while_connected() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.sent();
        harness
            .shard
            .internal(Internal::Renewed(Ok(token("fresh-token", 3_600_000))))
            .await;
        let frames = harness.sent();
        let auth: Vec<String> = frames
            .iter()
            .filter(|frame| frame.action == ProtocolAction::Auth)
            .filter_map(|frame| frame.auth.as_ref().map(|a| a.access_token.clone()))
            .collect();
        assert_eq!(auth, ["fresh-token"]);
        assert!(
            harness.timers().contains(&Timer::Renew),
            "the next renewal is planned"
        );
    }

    #[tokio::test]
    async fn rtn12a_close_sends_close_and_waits_for_closed() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.sent();
        harness.events();
        harness.shard.connection(Input::Close).await;
        assert_eq!(harness.shard.machine.state(), ConnectionState::Closing);
        let frames = harness.sent();
        assert!(
            frames
                .iter()
                .any(|frame| frame.action == ProtocolAction::Close)
        );
        assert_eq!(
            connection_states(&harness.events()),
            [ConnectionState::Closing],
            "not closed before the server says so"
        );
        harness
            .server(crate::protocol::ProtocolMessage::new(
                ProtocolAction::Closed,
            ))
            .await;
        assert_eq!(
            connection_states(&harness.events()),
            [ConnectionState::Closed]
        );
    }

    #[tokio::test]
    async fn rtn12a_a_close_the_server_never_answers_ends_at_the_deadline() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.shard.connection(Input::Close).await;
        let timers = harness.timers();
        assert!(timers.contains(&Timer::CloseDeadline), "{timers:?}");
        harness.events();
        harness.shard.fire_due(Timer::CloseDeadline).await;
        assert_eq!(
            connection_states(&harness.events()),
            [ConnectionState::Closed]
        );
    }

    #[tokio::test]
    async fn rsa4c3_a_failed_renewal_while_connected_is_an_update_not_a_retry_loop() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.timers();
        harness.events();
        harness.shard.renewing = true;
        let no_answer = RestError::Network("no answer".into());
        harness
            .shard
            .internal(Internal::Renewed(Err(no_answer)))
            .await;
        assert!(!harness.shard.renewing);
        let events = harness.events();
        let updates: Vec<_> = events
            .iter()
            .filter_map(|event| match event {
                crate::realtime::NetEvent::ConnectionUpdated {
                    reason: Some(reason),
                    ..
                } => Some(reason.code),
                _ => None,
            })
            .collect();
        assert_eq!(updates, [80019], "told once, as an update");
        assert!(connection_states(&events).is_empty(), "still connected");
        assert!(
            !harness.timers().contains(&Timer::Renew),
            "no retry every few seconds"
        );
        assert!(
            harness
                .sent()
                .iter()
                .all(|frame| frame.action != ProtocolAction::Auth)
        );
    }

    #[tokio::test]
    async fn rsa4d_a_renewal_the_auth_server_refuses_fails_the_connection() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.events();
        let refused = RestError::AuthRefused {
            status: 403,
            fatal: true,
        };
        harness
            .shard
            .internal(Internal::Renewed(Err(refused)))
            .await;
        let states = connection_states(&harness.events());
        assert_eq!(states, [ConnectionState::Failed]);
    }
}
