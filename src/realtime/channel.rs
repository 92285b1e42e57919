//! The per-channel state machine (Ably spec RTL), as pure code: attach/detach, re-attach
//! with the last channelSerial after a reconnect, and the signal that continuity was lost
//! so the gap can be filled from history.
//!
//! Longer than 80 lines, kept whole: `handle`, the state machine's dispatch `match`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{ErrorInfo, flags};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    Initialized,
    Attaching,
    Attached,
    Detaching,
    Detached,
    Suspended,
    Failed,
}

impl ChannelState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialized => "initialized",
            Self::Attaching => "attaching",
            Self::Attached => "attached",
            Self::Detaching => "detaching",
            Self::Detached => "detached",
            Self::Suspended => "suspended",
            Self::Failed => "failed",
        }
    }
}

/// What to fetch when a channel is first attached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachOptions {
    /// Ably's `rewind` parameter: a message count (`"50"`) or a time (`"5m"`).
    pub rewind: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChannelInput {
    Attach,
    Detach,
    ConnectionConnected,
    ConnectionLost,
    ConnectionSuspended,
    ConnectionFailed(ErrorInfo),
    ConnectionClosed,
    Attached {
        flags: u64,
        serial: Option<String>,
        error: Option<ErrorInfo>,
    },
    Detached {
        error: Option<ErrorInfo>,
    },
    Error(ErrorInfo),
    AttachTimedOut,
    RetryDue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChannelEffect {
    SendAttach {
        channel_serial: Option<String>,
        params: Option<BTreeMap<String, String>>,
    },
    SendDetach,
    StartAttachTimer,
    RetryIn(Duration),
    StateChanged {
        state: ChannelState,
        resumed: bool,
        reason: Option<ErrorInfo>,
    },
    /// Continuity was lost: fetch what was published between our last message and this
    /// attachment from history.
    FillGap {
        since_ms: Option<i64>,
        until_serial: Option<String>,
    },
    /// No presence SYNC follows: the presence set is empty.
    ClearPresence,
    /// The server dropped our presence (attachment not resumed): enter again.
    ReEnterPresence,
}

#[derive(Debug)]
pub struct ChannelMachine {
    state: ChannelState,
    connected: bool,
    serial: Option<String>,
    attach_serial: Option<String>,
    options: AttachOptions,
    /// Attached at least once since the application asked, so a non-resumed
    /// re-attachment means a gap.
    attached_before: bool,
    last_message_ms: Option<i64>,
    retry_attempts: u32,
}

impl ChannelMachine {
    pub fn new(options: AttachOptions) -> Self {
        Self {
            state: ChannelState::Initialized,
            connected: false,
            serial: None,
            attach_serial: None,
            options,
            attached_before: false,
            last_message_ms: None,
            retry_attempts: 0,
        }
    }

    pub fn state(&self) -> ChannelState {
        self.state
    }

    pub fn attach_serial(&self) -> Option<&str> {
        self.attach_serial.as_deref()
    }

    /// Called for every MESSAGE, PRESENCE or SYNC frame's channelSerial.
    pub fn record_serial(&mut self, serial: Option<&str>) {
        if let Some(serial) = serial {
            self.serial = Some(serial.to_owned());
        }
    }

    /// Where a gap fill starts when no message was seen yet: around the first attachment.
    pub fn record_first_attach(&mut self, at_ms: i64) {
        self.last_message_ms.get_or_insert(at_ms);
    }

    pub fn record_message_time(&mut self, timestamp_ms: Option<i64>) {
        if let Some(ms) = timestamp_ms {
            self.last_message_ms = Some(self.last_message_ms.map_or(ms, |last| last.max(ms)));
        }
    }

    /// Messages only count while attached (RTL17).
    pub fn accepts_messages(&self) -> bool {
        self.state == ChannelState::Attached
    }

    fn enter(
        &mut self,
        state: ChannelState,
        resumed: bool,
        reason: Option<ErrorInfo>,
        effects: &mut Vec<ChannelEffect>,
    ) {
        self.state = state;
        effects.push(ChannelEffect::StateChanged {
            state,
            resumed,
            reason,
        });
    }

    fn send_attach(&self, effects: &mut Vec<ChannelEffect>) {
        let params = match (&self.serial, &self.options.rewind) {
            (None, Some(rewind)) => Some(BTreeMap::from([("rewind".to_owned(), rewind.clone())])),
            _ => None,
        };
        effects.push(ChannelEffect::SendAttach {
            channel_serial: self.serial.clone(),
            params,
        });
        effects.push(ChannelEffect::StartAttachTimer);
    }

    pub fn handle(&mut self, input: ChannelInput) -> Vec<ChannelEffect> {
        use ChannelState as S;
        let mut effects = Vec::new();
        match (self.state, input) {
            (
                S::Initialized | S::Detached | S::Detaching | S::Failed | S::Suspended,
                ChannelInput::Attach,
            ) => {
                if self.state != S::Suspended {
                    self.attached_before = false;
                    self.serial = None;
                }
                self.enter(S::Attaching, false, None, &mut effects);
                if self.connected {
                    self.send_attach(&mut effects);
                }
            }
            (S::Attaching | S::Attached, ChannelInput::Attach) => {}
            (S::Attaching | S::Attached | S::Suspended, ChannelInput::Detach) => {
                if self.connected && self.state != S::Suspended {
                    self.enter(S::Detaching, false, None, &mut effects);
                    effects.push(ChannelEffect::SendDetach);
                } else {
                    self.enter(S::Detached, false, None, &mut effects);
                }
            }
            (_, ChannelInput::ConnectionConnected) => {
                self.connected = true;
                match self.state {
                    S::Attaching | S::Suspended => {
                        if self.state == S::Suspended {
                            self.enter(S::Attaching, false, None, &mut effects);
                        }
                        self.send_attach(&mut effects);
                    }
                    S::Attached => {
                        self.enter(S::Attaching, false, None, &mut effects);
                        self.send_attach(&mut effects);
                    }
                    S::Detaching => self.enter(S::Detached, false, None, &mut effects),
                    _ => {}
                }
            }
            (_, ChannelInput::ConnectionLost) => self.connected = false,
            (S::Attaching | S::Attached, ChannelInput::ConnectionSuspended) => {
                self.connected = false;
                self.enter(S::Suspended, false, None, &mut effects);
            }
            (
                S::Attaching | S::Attached | S::Suspended | S::Detaching,
                ChannelInput::ConnectionFailed(error),
            ) => {
                self.connected = false;
                self.enter(S::Failed, false, Some(error), &mut effects);
            }
            (
                S::Attaching | S::Attached | S::Suspended | S::Detaching,
                ChannelInput::ConnectionClosed,
            ) => {
                self.connected = false;
                self.enter(S::Detached, false, None, &mut effects);
            }
            (
                S::Attaching | S::Attached,
                ChannelInput::Attached {
                    flags: frame_flags,
                    serial,
                    error,
                },
            ) => {
                let resumed = frame_flags & flags::RESUMED != 0;
                let had_serial = self.serial.is_some();
                if !resumed {
                    self.attach_serial = serial.clone();
                    if self.attached_before && had_serial {
                        effects.push(ChannelEffect::FillGap {
                            since_ms: self.last_message_ms,
                            until_serial: serial.clone(),
                        });
                    }
                }
                // Entered again after every re-attachment, resumed or not: the server drops
                // a lost connection's members after its presence grace, well inside the
                // resume window (ably-js does the same, RTP17i). A known id is a no-op.
                if self.attached_before {
                    effects.push(ChannelEffect::ReEnterPresence);
                }
                if frame_flags & flags::HAS_PRESENCE == 0 {
                    effects.push(ChannelEffect::ClearPresence);
                }
                self.record_serial(serial.as_deref());
                self.retry_attempts = 0;
                let first = !self.attached_before;
                self.attached_before = true;
                // An unsolicited ATTACHED that kept continuity changes nothing visible.
                if self.state == S::Attaching || !resumed || first {
                    self.enter(S::Attached, resumed, error, &mut effects);
                }
            }
            (S::Detaching, ChannelInput::Attached { .. }) => {
                effects.push(ChannelEffect::SendDetach)
            }
            (S::Detaching, ChannelInput::Detached { .. }) => {
                self.enter(S::Detached, false, None, &mut effects)
            }
            (S::Attached | S::Attaching, ChannelInput::Detached { error }) => {
                // Unsolicited DETACHED: the server wants us to attach again at once (RTL13a).
                self.enter(S::Attaching, false, error, &mut effects);
                if self.connected {
                    self.send_attach(&mut effects);
                }
            }
            (S::Attaching | S::Attached | S::Detaching, ChannelInput::Error(error)) => {
                self.enter(S::Failed, false, Some(error), &mut effects);
            }
            (S::Attaching, ChannelInput::AttachTimedOut) => {
                self.retry_attempts += 1;
                let error = ErrorInfo::new(90007, 408, "Attach timed out");
                self.enter(S::Suspended, false, Some(error), &mut effects);
                effects.push(ChannelEffect::RetryIn(super::backoff::retry_delay(
                    Duration::from_secs(15),
                    self.retry_attempts,
                    super::backoff::random_jitter(),
                )));
            }
            (S::Suspended, ChannelInput::RetryDue) if self.connected => {
                self.enter(S::Attaching, false, None, &mut effects);
                self.send_attach(&mut effects);
            }
            _ => {}
        }
        effects
    }
}

/// The ids of recently delivered messages, so nothing is delivered twice when live
/// delivery and a history fill overlap. The overlap is only ever the last few messages
/// before a gap, so a small window per channel is enough (and a thousand channels stay
/// cheap); each id is stored once, shared by the set and the queue.
#[derive(Debug, Default)]
pub struct RecentIds {
    ids: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
}

impl RecentIds {
    const CAPACITY: usize = 512;

    /// True if the id is new (and remembers it).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        let id: Arc<str> = Arc::from(id);
        self.ids.insert(id.clone());
        self.order.push_back(id);
        if self.order.len() > Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attached(flags: u64, serial: &str) -> ChannelInput {
        ChannelInput::Attached {
            flags,
            serial: Some(serial.into()),
            error: None,
        }
    }

    fn attached_state(effects: &[ChannelEffect]) -> Option<(ChannelState, bool)> {
        effects.iter().find_map(|effect| match effect {
            ChannelEffect::StateChanged { state, resumed, .. } => Some((*state, *resumed)),
            _ => None,
        })
    }

    #[test]
    fn waits_for_the_connection_before_attaching() {
        let mut machine = ChannelMachine::new(AttachOptions::default());
        let effects = machine.handle(ChannelInput::Attach);
        assert_eq!(machine.state(), ChannelState::Attaching);
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, ChannelEffect::SendAttach { .. }))
        );
        let effects = machine.handle(ChannelInput::ConnectionConnected);
        assert!(effects.contains(&ChannelEffect::SendAttach {
            channel_serial: None,
            params: None
        }));
    }

    #[test]
    fn first_attach_sends_rewind_then_reattach_sends_the_serial() {
        let mut machine = ChannelMachine::new(AttachOptions {
            rewind: Some("20".into()),
        });
        machine.handle(ChannelInput::ConnectionConnected);
        let effects = machine.handle(ChannelInput::Attach);
        let rewind = BTreeMap::from([("rewind".to_owned(), "20".to_owned())]);
        assert!(effects.contains(&ChannelEffect::SendAttach {
            channel_serial: None,
            params: Some(rewind)
        }));
        machine.handle(attached(flags::SUBSCRIBE, "e:1"));
        assert!(machine.accepts_messages());
        machine.record_serial(Some("e:5"));
        machine.handle(ChannelInput::ConnectionLost);
        let effects = machine.handle(ChannelInput::ConnectionConnected);
        assert!(effects.contains(&ChannelEffect::SendAttach {
            channel_serial: Some("e:5".into()),
            params: None
        }));
        assert!(
            !machine.accepts_messages(),
            "messages wait for the new ATTACHED"
        );
        let effects = machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:5"));
        assert_eq!(
            attached_state(&effects),
            Some((ChannelState::Attached, true))
        );
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, ChannelEffect::FillGap { .. }))
        );
    }

    #[test]
    fn lost_continuity_asks_for_a_gap_fill_and_presence_reentry() {
        let mut machine = ChannelMachine::new(AttachOptions::default());
        machine.handle(ChannelInput::ConnectionConnected);
        machine.handle(ChannelInput::Attach);
        machine.handle(attached(flags::SUBSCRIBE, "e:1"));
        machine.record_message_time(Some(1_000));
        machine.record_serial(Some("e:3"));
        machine.handle(ChannelInput::ConnectionLost);
        machine.handle(ChannelInput::ConnectionConnected);
        let effects = machine.handle(attached(flags::SUBSCRIBE, "f:9"));
        assert!(effects.contains(&ChannelEffect::FillGap {
            since_ms: Some(1_000),
            until_serial: Some("f:9".into())
        }));
        assert!(effects.contains(&ChannelEffect::ReEnterPresence));
        assert!(effects.contains(&ChannelEffect::ClearPresence));
        assert_eq!(machine.attach_serial(), Some("f:9"));
    }

    #[test]
    fn errors_fail_the_channel_and_timeouts_suspend_it() {
        let mut machine = ChannelMachine::new(AttachOptions::default());
        machine.handle(ChannelInput::ConnectionConnected);
        machine.handle(ChannelInput::Attach);
        let effects = machine.handle(ChannelInput::AttachTimedOut);
        assert_eq!(machine.state(), ChannelState::Suspended);
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, ChannelEffect::RetryIn(_)))
        );
        let effects = machine.handle(ChannelInput::RetryDue);
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, ChannelEffect::SendAttach { .. }))
        );
        let denied = ErrorInfo::new(40160, 401, "denied");
        let effects = machine.handle(ChannelInput::Error(denied.clone()));
        assert_eq!(machine.state(), ChannelState::Failed);
        assert!(effects.contains(&ChannelEffect::StateChanged {
            state: ChannelState::Failed,
            resumed: false,
            reason: Some(denied)
        }));
    }

    #[test]
    fn unsolicited_detached_reattaches_and_detach_completes() {
        let mut machine = ChannelMachine::new(AttachOptions::default());
        machine.handle(ChannelInput::ConnectionConnected);
        machine.handle(ChannelInput::Attach);
        machine.handle(attached(flags::SUBSCRIBE, "e:1"));
        let effects = machine.handle(ChannelInput::Detached { error: None });
        assert!(effects.iter().any(|e| matches!(
            e,
            ChannelEffect::SendAttach {
                channel_serial: Some(_),
                ..
            }
        )));
        machine.handle(attached(flags::SUBSCRIBE | flags::RESUMED, "e:1"));
        let effects = machine.handle(ChannelInput::Detach);
        assert!(effects.contains(&ChannelEffect::SendDetach));
        machine.handle(ChannelInput::Detached { error: None });
        assert_eq!(machine.state(), ChannelState::Detached);
    }

    #[test]
    fn recent_ids_remember_a_bounded_window() {
        let mut recent = RecentIds::default();
        assert!(recent.insert("a"));
        assert!(!recent.insert("a"));
        for index in 0..RecentIds::CAPACITY {
            recent.insert(&index.to_string());
        }
        assert!(!recent.contains("a"));
    }
}
