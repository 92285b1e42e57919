//! What the hub does with each frame a client sends (ably-protocol.md §3–§5): the
//! dispatch here; attaching and rewinding in `attach`, publishing and presence (with their
//! acknowledgements) in `publish`, token renewal in `token`.

mod attach;
mod publish;
mod token;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tracing::{debug, warn};

use crate::auth::Operation;
use crate::hub::outlet::Outlet;
use crate::hub::state::{Connection, HubState, LIFECYCLE_CHANNEL, lock};
use crate::protocol::names::ChannelName;
use crate::protocol::{ErrorInfo, ProtocolAction, ProtocolMessage, decode_frame, flags};

use super::frame_text;
use token::TokenTimer;

pub(crate) use publish::prepare_messages;

pub(crate) enum Flow {
    Continue,
    Closed,
    Disconnect,
    Failed,
}

/// The channels this transport is subscribed to, kept by the transport itself: another
/// transport that resumes the same connection rewrites the connection's own record.
pub(crate) type Subscribed = Arc<std::sync::Mutex<BTreeSet<String>>>;

pub(crate) struct Session {
    hub: Arc<HubState>,
    connection: Arc<Connection>,
    outlet: Outlet,
    subscribed: Subscribed,
    sync_count: u64,
    token_timer: Option<TokenTimer>,
    /// Whether the AUTH request for the current token was sent.
    renewal_requested: bool,
}

/// Ably's channel-name rules (ably-protocol.md §4.6); metachannels are known by name.
fn check_channel_name(name: &str) -> Result<(), ErrorInfo> {
    ChannelName::parse(name)
        .map(|_| ())
        .map_err(|error| ErrorInfo::new(40010, 400, error.to_string()))
}

impl Session {
    pub fn new(
        hub: Arc<HubState>,
        connection: Arc<Connection>,
        outlet: Outlet,
        subscribed: Subscribed,
    ) -> Self {
        let token_timer = TokenTimer::for_identity(&connection.state().identity);
        Self {
            hub,
            connection,
            outlet,
            subscribed,
            sync_count: 0,
            token_timer,
            renewal_requested: false,
        }
    }

    fn send(&self, frame: &ProtocolMessage) {
        self.outlet.send(frame_text(frame));
    }

    pub fn fatal(&self, error: ErrorInfo) {
        self.send(&ProtocolMessage::new(ProtocolAction::Error).with_error(error));
    }

    pub fn handle(&mut self, text: &Utf8Bytes) -> Flow {
        let frame = match decode_frame(text.as_str(), self.hub.config.max_frame_bytes) {
            Ok(frame) => frame,
            Err(error) => {
                warn!(connection = %self.connection.id, %error, "refused a frame");
                let code = if matches!(error, crate::protocol::DecodeError::TooLarge { .. }) {
                    40009
                } else {
                    40000
                };
                self.fatal(ErrorInfo::new(code, 400, error.to_string()));
                return Flow::Failed;
            }
        };
        match frame.action {
            ProtocolAction::Heartbeat => {
                if frame.id.is_some() {
                    let mut reply = ProtocolMessage::new(ProtocolAction::Heartbeat);
                    reply.id = frame.id;
                    self.send(&reply);
                }
                Flow::Continue
            }
            ProtocolAction::Close => {
                self.send(&ProtocolMessage::new(ProtocolAction::Closed));
                Flow::Closed
            }
            ProtocolAction::Disconnect => Flow::Disconnect,
            ProtocolAction::Attach => {
                self.attach(&frame);
                Flow::Continue
            }
            ProtocolAction::Detach => {
                self.detach(&frame);
                Flow::Continue
            }
            ProtocolAction::Message | ProtocolAction::Presence => {
                self.acknowledged(&frame);
                Flow::Continue
            }
            ProtocolAction::Sync => {
                // Only for a channel this connection attached with presence rights.
                if let Some(name) = &frame.channel {
                    let allowed = self
                        .connection
                        .state()
                        .attached
                        .get(name)
                        .is_some_and(|modes| modes & flags::PRESENCE_SUBSCRIBE != 0);
                    match self.hub.existing_channel(name).filter(|_| allowed) {
                        Some(channel) => {
                            let frames = self.sync_frames(&lock(&channel));
                            self.outlet.send_burst(frames);
                        }
                        None => {
                            let error = ErrorInfo::new(
                                90001,
                                400,
                                format!(
                                    "Channel {name} is not attached with presence on this connection"
                                ),
                            );
                            self.channel_error(name, error);
                        }
                    }
                }
                Flow::Continue
            }
            ProtocolAction::Auth => self.reauthorise(&frame),
            other => {
                debug!(connection = %self.connection.id, action = other.code(), "ignored a frame");
                Flow::Continue
            }
        }
    }

    fn sync_frames(&mut self, channel: &crate::hub::channel::Channel) -> Vec<Utf8Bytes> {
        self.sync_count += 1;
        channel.sync_frames(&format!("sync{}", self.sync_count))
    }

    /// The modes the identity's capability allows on a channel.
    fn allowed_modes(&self, name: &str) -> u64 {
        let state = self.connection.state();
        let identity = &state.identity;
        let mut modes = 0;
        if identity.allows(name, Operation::Subscribe) {
            modes |= flags::SUBSCRIBE | flags::PRESENCE_SUBSCRIBE;
        }
        if name != LIFECYCLE_CHANNEL {
            if identity.allows(name, Operation::Publish) {
                modes |= flags::PUBLISH;
            }
            if identity.allows(name, Operation::Presence) {
                modes |= flags::PRESENCE;
            }
        }
        modes
    }

    fn channel_error(&self, name: &str, error: ErrorInfo) {
        self.send(
            &ProtocolMessage::new(ProtocolAction::Error)
                .with_channel(name)
                .with_error(error),
        );
    }
}
