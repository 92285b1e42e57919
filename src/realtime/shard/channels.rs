//! Per-channel state: the channel machines' effects, a channel moved on a 90010, and
//! the gap filled from history after a lost continuity.
//!
//! Longer than 80 lines, kept whole: `channel_effect`, a dispatch `match` over effects.

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::protocol::{ErrorInfo, Message, PresenceAction, ProtocolAction, ProtocolMessage};
use crate::realtime::channel::{ChannelEffect, ChannelInput};
use crate::realtime::types::{ClientError, InboundMessage, NetEvent};
use crate::rest::{HistoryQuery, RestClient, RestError};

use super::timers::Timer;
use super::{Internal, Pending, PendingReply, Shard, ShardReport, presence_frame};

impl Shard {
    pub(super) async fn for_each_channel(&mut self, input: ChannelInput) {
        let names: Vec<String> = self.channels.keys().cloned().collect();
        for name in names {
            self.channel(&name, input.clone()).await;
        }
    }

    pub(super) async fn channel_error(&mut self, channel: &str, error: ErrorInfo) {
        if error.code == 90010 {
            // Too many channels on this connection: this one goes to another connection.
            let Some(slot) = self.channels.remove(channel) else {
                return;
            };
            // The waiters learn the outcome from the new connection; presence moves along.
            for waiter in slot.waiters {
                let _ = waiter.send(Err(ClientError::Closed));
            }
            let _ = self.reports.send(ShardReport::ChannelLimit {
                shard: self.index,
                channel: channel.to_owned(),
                holding: self.channels.len(),
                entered: slot.entered,
            });
            return;
        }
        self.channel(channel, ChannelInput::Error(error)).await;
    }

    pub(super) async fn channel(&mut self, name: &str, input: ChannelInput) {
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        let effects = slot.machine.handle(input);
        for effect in effects {
            self.channel_effect(name, effect).await;
        }
    }

    pub(super) async fn channel_effect(&mut self, name: &str, effect: ChannelEffect) {
        match effect {
            ChannelEffect::SendAttach {
                channel_serial,
                params,
            } => {
                let mut frame = ProtocolMessage::new(ProtocolAction::Attach).with_channel(name);
                frame.channel_serial = channel_serial;
                frame.params = params;
                self.send(&frame).await;
            }
            ChannelEffect::SendDetach => {
                self.send(&ProtocolMessage::new(ProtocolAction::Detach).with_channel(name))
                    .await;
            }
            ChannelEffect::StartDetachTimer => {
                let at = Instant::now() + self.options.request_timeout;
                self.set_timer(Timer::DetachDeadline(name.to_owned()), at);
            }
            ChannelEffect::StartAttachTimer => {
                let at = Instant::now() + self.options.request_timeout;
                self.set_timer(Timer::AttachDeadline(name.to_owned()), at);
            }
            ChannelEffect::RetryIn(delay) => {
                self.set_timer(Timer::ChannelRetry(name.to_owned()), Instant::now() + delay);
            }
            ChannelEffect::StateChanged {
                state,
                resumed,
                reason,
            } => {
                if state != crate::realtime::channel::ChannelState::Attaching {
                    self.cancel_timer(&Timer::AttachDeadline(name.to_owned()));
                }
                if state != crate::realtime::channel::ChannelState::Detaching {
                    self.cancel_timer(&Timer::DetachDeadline(name.to_owned()));
                }
                if state == crate::realtime::channel::ChannelState::Attached
                    && let Some(slot) = self.channels.get_mut(name)
                {
                    // First attachment: a later gap fill starts from here at the earliest.
                    slot.machine
                        .record_first_attach(crate::clock::now_ms() - 5_000);
                }
                let settled = match state {
                    crate::realtime::channel::ChannelState::Attached => Some(Ok(())),
                    crate::realtime::channel::ChannelState::Failed
                    | crate::realtime::channel::ChannelState::Detached => Some(Err(reason
                        .clone()
                        .map_or(ClientError::Closed, ClientError::Refused))),
                    _ => None,
                };
                if let Some(outcome) = settled
                    && let Some(slot) = self.channels.get_mut(name)
                {
                    for waiter in slot.waiters.drain(..) {
                        let _ = waiter.send(outcome.clone());
                    }
                }
                self.settle_presence_queue(name, state).await;
                if matches!(
                    state,
                    crate::realtime::channel::ChannelState::Detached
                        | crate::realtime::channel::ChannelState::Failed
                ) {
                    // Nobody is known to be present on a channel we no longer follow (RTP5a).
                    self.clear_presence(name).await;
                }
                if state == crate::realtime::channel::ChannelState::Detached {
                    // Nothing more will happen on it; a new attach starts afresh.
                    self.channels.remove(name);
                    self.poll_remove(name);
                }
                self.emit(NetEvent::Channel {
                    channel: name.to_owned(),
                    state,
                    resumed,
                    reason,
                })
                .await;
            }
            ChannelEffect::FillGap {
                since_ms,
                until_serial,
            } => self.fill_gap(name, since_ms, until_serial),
            ChannelEffect::ClearPresence => self.clear_presence(name).await,
            ChannelEffect::ReEnterPresence => {
                let entered = self
                    .channels
                    .get(name)
                    .and_then(|slot| slot.entered.clone());
                if let Some((client_id, data)) = entered {
                    let (reply, outcome) = oneshot::channel();
                    let frame =
                        presence_frame(name, PresenceAction::Enter, client_id.clone(), data);
                    self.submit(Pending {
                        frame,
                        reply: PendingReply::Presence(reply),
                    })
                    .await;
                    // A refusal is reported to the application (RTP17e).
                    let internal = self.internal_tx.clone();
                    let channel = name.to_owned();
                    tokio::spawn(async move {
                        if let Ok(Err(error)) = outcome.await {
                            let _ = internal.send(Internal::ReEnterFailed {
                                channel,
                                client_id,
                                error,
                            });
                        }
                    });
                }
            }
        }
    }

    /// Presence changes that waited for the attachment go now it is attached, and are refused
    /// if the channel ends up anywhere else but attaching (RTL11).
    async fn settle_presence_queue(
        &mut self,
        name: &str,
        state: crate::realtime::channel::ChannelState,
    ) {
        use crate::realtime::channel::ChannelState as S;
        if state == S::Attaching {
            return;
        }
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        let queued = std::mem::take(&mut slot.presence_queue);
        for pending in queued {
            if state == S::Attached {
                self.submit(pending).await;
            } else {
                let text = format!(
                    "Unable to change presence: channel {name} is {}",
                    state.as_str()
                );
                pending
                    .reply
                    .fail(ClientError::Refused(ErrorInfo::new(91001, 400, text)));
            }
        }
    }

    /// Everyone on the channel leaves, and the application is told of each.
    async fn clear_presence(&mut self, name: &str) {
        let changes = self
            .channels
            .get_mut(name)
            .map(|slot| slot.presence.clear())
            .unwrap_or_default();
        for change in changes {
            self.emit(NetEvent::Presence {
                channel: name.to_owned(),
                change,
            })
            .await;
        }
    }

    /// RTP17e: the channel stays as it is, and says why its member is missing (91004).
    pub(super) async fn re_enter_failed(
        &mut self,
        channel: &str,
        client_id: Option<String>,
        error: &ClientError,
    ) {
        let Some(slot) = self.channels.get(channel) else {
            return;
        };
        let state = slot.machine.state();
        let who = client_id.unwrap_or_else(|| "this connection's client".to_owned());
        let reason = ErrorInfo::new(
            91004,
            400,
            format!("Unable to enter presence again for {who}: {error}"),
        );
        self.emit(NetEvent::Channel {
            channel: channel.to_owned(),
            state,
            resumed: true,
            reason: Some(reason),
        })
        .await;
    }

    pub(super) fn fill_gap(
        &mut self,
        name: &str,
        since_ms: Option<i64>,
        until_serial: Option<String>,
    ) {
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        slot.held.get_or_insert_with(Vec::new);
        slot.fills += 1;
        let rest = self.rest.clone();
        let internal = self.internal_tx.clone();
        let channel = name.to_owned();
        tokio::spawn(async move {
            let result = history_since(&rest, &channel, since_ms, until_serial).await;
            let _ = internal.send(Internal::GapFilled { channel, result });
        });
    }

    pub(super) async fn gap_filled(&mut self, name: &str, result: Result<Vec<Message>, RestError>) {
        let Some(slot) = self.channels.get_mut(name) else {
            return;
        };
        slot.fills = slot.fills.saturating_sub(1);
        // Live messages wait for the last of overlapping fills, so history stays first.
        let held = if slot.fills == 0 {
            slot.held.take().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        let mut recovered = 0;
        let failure = match result {
            Ok(messages) => {
                for message in messages {
                    let inbound = InboundMessage::from_wire(message, true);
                    if inbound.id.is_empty() || slot.recent.insert(&inbound.id) {
                        recovered += 1;
                        out.push(inbound);
                    }
                }
                None
            }
            Err(error) => Some(error.to_string()),
        };
        // History first, then what arrived live meanwhile; each id at most once.
        out.extend(held);
        for message in out {
            self.emit(NetEvent::Message {
                shard: self.index,
                channel: name.to_owned(),
                message,
            })
            .await;
        }
        let event = match failure {
            None => NetEvent::GapFilled {
                channel: name.to_owned(),
                recovered,
            },
            Some(reason) => NetEvent::ContinuityLost {
                channel: name.to_owned(),
                reason,
            },
        };
        self.emit(event).await;
    }
}

/// Messages published after `since_ms` up to the attach serial, oldest first: history read
/// backwards (the form Ably serves `from_serial` in) until older than the gap.
async fn history_since(
    rest: &RestClient,
    channel: &str,
    since_ms: Option<i64>,
    until_serial: Option<String>,
) -> Result<Vec<Message>, RestError> {
    let query = HistoryQuery {
        limit: Some(1000),
        forwards: false,
        start_ms: since_ms,
        end_ms: None,
        until_serial,
    };
    let page = rest.history(channel, &query).await?;
    let mut collected = rest.all_pages(page).await?;
    collected.reverse();
    Ok(collected)
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::super::ShardRequest;
    use super::super::testing::Harness;
    use super::ShardReport;
    use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage};
    use crate::realtime::channel::ChannelState;
    use crate::realtime::types::{ClientError, NetEvent};

    fn channel_error(channel: &str, code: u32) -> ProtocolMessage {
        let mut frame = ProtocolMessage::new(ProtocolAction::Error).with_channel(channel);
        frame.error = Some(ErrorInfo::new(code, 400, "refused"));
        frame
    }

    fn channel_states(events: &[NetEvent]) -> Vec<ChannelState> {
        events
            .iter()
            .filter_map(|event| match event {
                NetEvent::Channel { state, .. } => Some(*state),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_channel_limit_refusal_is_reported_to_the_pool_and_the_slot_let_go() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        harness.attach("conversation:2").await;
        let (reply, waiting) = oneshot::channel();
        harness
            .shard
            .request(ShardRequest::WhenAttached {
                channel: "conversation:2".into(),
                reply,
            })
            .await;
        harness.server(channel_error("conversation:2", 90010)).await;
        match harness.reports.try_recv() {
            Ok(ShardReport::ChannelLimit {
                shard,
                channel,
                holding,
                ..
            }) => assert_eq!((shard, channel.as_str(), holding), (0, "conversation:2", 1)),
            Err(error) => panic!("no report: {error}"),
        }
        assert!(!harness.shard.channels.contains_key("conversation:2"));
        assert_eq!(waiting.await.expect("answered"), Err(ClientError::Closed));
        assert!(
            !channel_states(&harness.events()).contains(&ChannelState::Failed),
            "not failed: it moves to another connection"
        );
    }

    #[tokio::test]
    async fn rtl14_any_other_channel_error_fails_the_channel() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        harness.events();
        harness.server(channel_error("conversation:1", 40160)).await;
        assert_eq!(channel_states(&harness.events()), [ChannelState::Failed]);
        assert!(harness.reports.try_recv().is_err());
    }

    #[tokio::test]
    async fn rtp17e_a_refused_re_entry_is_reported_with_91004() {
        use crate::realtime::connection::Input;
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        let (reply, _entered) = oneshot::channel();
        harness
            .shard
            .request(ShardRequest::Presence {
                channel: "conversation:1".into(),
                action: crate::protocol::PresenceAction::Enter,
                data: Some(serde_json::json!({"name": "Sam"})),
                reply,
            })
            .await;
        let ack = |action: ProtocolAction| {
            let mut frame = ProtocolMessage::new(action);
            frame.msg_serial = Some(0);
            frame.count = Some(1);
            frame
        };
        harness.server(ack(ProtocolAction::Ack)).await;
        // A new connection, continuity lost: the member is entered again, and refused.
        let dropped = ErrorInfo::new(80003, 400, "dropped");
        harness.shard.connection(Input::Lost(dropped)).await;
        harness.shard.connection(Input::RetryDue).await;
        harness.server(super::super::testing::connected("c2")).await;
        harness
            .server(ProtocolMessage::new(ProtocolAction::Attached).with_channel("conversation:1"))
            .await;
        harness.events();
        let mut nack = ack(ProtocolAction::Nack);
        nack.error = Some(ErrorInfo::new(40160, 401, "not allowed"));
        harness.server(nack).await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let failed = loop {
            let internal = tokio::time::timeout_at(deadline, harness.shard.internal_rx.recv())
                .await
                .expect("the refusal was reported in time")
                .expect("the shard's own channel stays open");
            if matches!(internal, super::super::Internal::ReEnterFailed { .. }) {
                break internal;
            }
        };
        harness.shard.internal(failed).await;
        let reported: Vec<_> = harness
            .events()
            .into_iter()
            .filter_map(|event| match event {
                NetEvent::Channel {
                    state,
                    resumed,
                    reason: Some(reason),
                    ..
                } => Some((state, resumed, reason.code)),
                _ => None,
            })
            .collect();
        assert_eq!(reported, [(ChannelState::Attached, true, 91004)]);
    }

    /// UTS: RTL4c.
    #[tokio::test]
    async fn rtl4_attached_from_the_server_is_reported() {
        let mut harness = Harness::new();
        harness.connect("c1").await;
        harness.attached("conversation:1").await;
        assert_eq!(
            channel_states(&harness.events()),
            [ChannelState::Attaching, ChannelState::Attached]
        );
    }
}
