//! The per-channel state machine (Ably spec RTL), as pure code: attach/detach, re-attach
//! with the last channelSerial after a reconnect, and the signal that continuity was lost
//! so the gap can be filled from history.
//!
//! Longer than 80 lines, kept whole: `handle`, the state machine's dispatch `match`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::BuildHasherDefault;
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
    /// No DETACHED came within the request timeout.
    DetachTimedOut,
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
    StartDetachTimer,
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

/// Ably's `channelRetryTimeout`: the first wait before a suspended channel attaches again.
const CHANNEL_RETRY_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// The state a detach started from, to return to if it times out (RTL5f).
    detaching_from: ChannelState,
    /// Asked for while the opposite was under way: done once that completes (RTL4h,
    /// RTL5i).
    then: Option<ChannelInput>,
    /// Delivered by polling since the last attachment: the next ATTACHED fills the gap
    /// from the last message polled, resumed or not.
    polled: bool,
    /// Why the channel last failed or was suspended (RTL4e's `errorReason`).
    error_reason: Option<ErrorInfo>,
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
            error_reason: None,
            last_message_ms: None,
            retry_attempts: 0,
            detaching_from: ChannelState::Attached,
            then: None,
            polled: false,
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

    /// The newest message time seen (or the first attachment's), where a gap fill or a
    /// poll starts.
    pub fn last_message_ms(&self) -> Option<i64> {
        self.last_message_ms
    }

    /// Messages came by polling: the channel counts as attached before, and its next
    /// ATTACHED fills what polling has not seen.
    pub fn record_polled(&mut self) {
        self.attached_before = true;
        self.polled = true;
    }

    /// The application wants its messages (attached, or on its way there).
    pub fn wants_delivery(&self) -> bool {
        matches!(
            self.state,
            ChannelState::Attaching | ChannelState::Attached | ChannelState::Suspended
        )
    }

    pub fn error_reason(&self) -> Option<&ErrorInfo> {
        self.error_reason.as_ref()
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
        if let Some(reason) = &reason {
            self.error_reason = Some(reason.clone());
        }
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

    /// SUSPENDED, and ATTACHING again after the channel retry timeout with backoff (RTL4f,
    /// RTL13b).
    fn suspend_and_retry(&mut self, error: Option<ErrorInfo>, effects: &mut Vec<ChannelEffect>) {
        self.retry_attempts += 1;
        self.enter(ChannelState::Suspended, false, error, effects);
        effects.push(ChannelEffect::RetryIn(super::backoff::retry_delay(
            CHANNEL_RETRY_TIMEOUT,
            self.retry_attempts,
            super::backoff::random_jitter(),
        )));
    }

    pub fn handle(&mut self, input: ChannelInput) -> Vec<ChannelEffect> {
        use ChannelState as S;
        let mut effects = Vec::new();
        match (self.state, input) {
            (S::Detaching, ChannelInput::Attach) => self.then = Some(ChannelInput::Attach),
            (S::Attaching, ChannelInput::Detach) if self.connected => {
                self.then = Some(ChannelInput::Detach);
            }
            (S::Failed, ChannelInput::Detach) => {
                // Told, without changing why the channel failed (RTL5b).
                let error = ErrorInfo::new(90001, 400, "Unable to detach: the channel has failed");
                effects.push(ChannelEffect::StateChanged {
                    state: S::Failed,
                    resumed: false,
                    reason: Some(error),
                });
            }
            (S::Initialized | S::Detached | S::Failed | S::Suspended, ChannelInput::Attach) => {
                if self.state != S::Suspended {
                    self.attached_before = false;
                    self.serial = None;
                    // A new attempt starts without the old failure (RTL4g).
                    self.error_reason = None;
                }
                self.enter(S::Attaching, false, None, &mut effects);
                if self.connected {
                    self.send_attach(&mut effects);
                }
            }
            (S::Attaching | S::Attached, ChannelInput::Attach) => {}
            (S::Attaching | S::Attached | S::Suspended, ChannelInput::Detach) => {
                if self.connected && self.state != S::Suspended {
                    self.detaching_from = self.state;
                    self.enter(S::Detaching, false, None, &mut effects);
                    effects.push(ChannelEffect::SendDetach);
                    effects.push(ChannelEffect::StartDetachTimer);
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
                    // Still waiting for DETACHED: asked again on the new transport (RTN19b).
                    S::Detaching => effects.push(ChannelEffect::SendDetach),
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
                }
                let gap = !resumed && self.attached_before && had_serial;
                if gap || std::mem::take(&mut self.polled) {
                    effects.push(ChannelEffect::FillGap {
                        since_ms: self.last_message_ms,
                        until_serial: serial.clone(),
                    });
                }
                // Entered again after every re-attachment, resumed or not: the server drops
                // a lost connection's members after its presence grace, well inside the
                // resume window. Only an extra ATTACHED on a channel that stayed attached,
                // with continuity kept, needs nothing (RTP17i). A known id is a no-op.
                let kept_attached = self.state == S::Attached && resumed;
                if self.attached_before && !kept_attached {
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
                if self.then.take() == Some(ChannelInput::Detach) {
                    // The detach asked for while attaching, now that it is attached (RTL5i).
                    self.detaching_from = S::Attached;
                    self.enter(S::Detaching, false, None, &mut effects);
                    effects.push(ChannelEffect::SendDetach);
                    effects.push(ChannelEffect::StartDetachTimer);
                }
            }
            (S::Detaching, ChannelInput::Attached { .. }) => {
                effects.push(ChannelEffect::SendDetach)
            }
            (S::Detaching, ChannelInput::Detached { .. }) => {
                if self.then.take() == Some(ChannelInput::Attach) {
                    // Straight on to the attach asked for meanwhile (RTL4h).
                    self.attached_before = false;
                    self.serial = None;
                    self.enter(S::Attaching, false, None, &mut effects);
                    self.send_attach(&mut effects);
                } else {
                    self.enter(S::Detached, false, None, &mut effects)
                }
            }
            (S::Attached | S::Suspended, ChannelInput::Detached { error }) => {
                // Unsolicited DETACHED: the server wants us to attach again at once (RTL13a).
                self.enter(S::Attaching, false, error, &mut effects);
                if self.connected {
                    self.send_attach(&mut effects);
                }
            }
            (S::Attaching, ChannelInput::Detached { error }) => {
                // The attach itself was refused with DETACHED: wait, then try again with
                // backoff (RTL13b), never at once (a server that keeps answering DETACHED
                // would be flooded).
                self.suspend_and_retry(error, &mut effects);
            }
            (S::Attaching | S::Attached | S::Detaching, ChannelInput::Error(error)) => {
                self.enter(S::Failed, false, Some(error), &mut effects);
            }
            (S::Detaching, ChannelInput::DetachTimedOut) => {
                // The detach failed: back where it started, saying why (RTL5f).
                let error = ErrorInfo::new(90007, 408, "Detach timed out");
                let previous = self.detaching_from;
                self.enter(previous, false, Some(error), &mut effects);
            }
            (S::Attaching, ChannelInput::AttachTimedOut) => {
                let error = ErrorInfo::new(90007, 408, "Attach timed out");
                self.suspend_and_retry(Some(error), &mut effects);
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
/// cheap).
///
/// Each id is kept as a 64-bit fingerprint under a key chosen at random per channel, not as
/// a string: no allocation per message, and nobody can craft two ids that collide. Two of
/// the 512 ids in the window share a fingerprint with odds of about 1 in 10^14.
#[derive(Debug, Default)]
pub struct RecentIds {
    key: std::hash::RandomState,
    fingerprints: HashSet<u64, BuildHasherDefault<Fingerprint>>,
    order: VecDeque<u64>,
}

/// The hasher of a set of fingerprints: they are already keyed hashes, so each is its own.
#[derive(Debug, Default)]
struct Fingerprint(u64);

impl std::hash::Hasher for Fingerprint {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64s are hashed here; anything else is folded in rather than dropped.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl RecentIds {
    const CAPACITY: usize = 512;

    fn fingerprint(&self, id: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.key, id)
    }

    /// True if the id is new (and remembers it).
    pub fn insert(&mut self, id: &str) -> bool {
        let fingerprint = self.fingerprint(id);
        if !self.fingerprints.insert(fingerprint) {
            return false;
        }
        self.order.push_back(fingerprint);
        if self.order.len() > Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.fingerprints.remove(&old);
        }
        true
    }

    pub fn contains(&self, id: &str) -> bool {
        self.fingerprints.contains(&self.fingerprint(id))
    }
}

#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod tests;
