//! Finding conversation channels: REST channel enumeration for the ones already open, then
//! the `[meta]channel.lifecycle` metachannel for those opened later.

use serde_json::Value;

use crate::protocol::data::Payload;
use crate::protocol::names::CONVERSATION_PREFIX;

use super::{AttachOptions, InboundMessage, Realtime};

pub use crate::protocol::names::LIFECYCLE_CHANNEL;

/// Subscribes to the lifecycle metachannel, then lists the conversation channels already
/// open (the caller decides what to attach). Channels opened later arrive as messages on
/// the metachannel; [`opened_channel`] reads them.
pub async fn discover(realtime: &Realtime) -> Result<Vec<String>, crate::rest::RestError> {
    realtime.attach(LIFECYCLE_CHANNEL, AttachOptions::default());
    // Listing only after the metachannel is attached leaves no gap: a channel opened
    // before the listing is in it, one opened after is announced on the metachannel.
    let attached = tokio::time::timeout(ATTACH_WAIT, realtime.attached(LIFECYCLE_CHANNEL)).await;
    if !matches!(attached, Ok(Ok(()))) {
        tracing::warn!(
            "the lifecycle metachannel is not attached; channels opened from now on may be missed until it is"
        );
    }
    realtime.rest().channels(CONVERSATION_PREFIX).await
}

const ATTACH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The conversation channel a lifecycle message announces as opened, if it is one.
pub fn opened_channel(channel: &str, message: &InboundMessage) -> Option<String> {
    if channel != LIFECYCLE_CHANNEL || message.name.as_deref() != Some("channel.opened") {
        return None;
    }
    let Payload::Json(details) = &message.payload else {
        return None;
    };
    let name = details
        .get("name")
        .or_else(|| details.get("channelId"))
        .and_then(Value::as_str)?;
    name.starts_with(CONVERSATION_PREFIX)
        .then(|| name.to_owned())
}
