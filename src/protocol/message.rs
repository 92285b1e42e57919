//! The wire types of Ably's realtime protocol v6 in its JSON form (ably-protocol.md §2).
//! Every field is optional on the wire; absent and `null` are the same; unknown fields are
//! ignored, and so is the private `size` field ably-js adds to each message.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::{PresenceAction, ProtocolAction};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolMessage {
    pub action: ProtocolAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_details: Option<ConnectionDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_serial: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Vec<PresenceMessage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res: Option<Vec<PublishResult>>,
}

impl ProtocolMessage {
    /// A frame with only its action set; the builder-style helpers below fill the rest.
    pub fn new(action: ProtocolAction) -> Self {
        Self {
            action,
            id: None,
            channel: None,
            channel_serial: None,
            connection_id: None,
            connection_details: None,
            count: None,
            error: None,
            flags: None,
            msg_serial: None,
            messages: None,
            presence: None,
            auth: None,
            params: None,
            timestamp: None,
            res: None,
        }
    }

    pub fn with_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    pub fn with_error(mut self, error: ErrorInfo) -> Self {
        self.error = Some(error);
        self
    }

    pub fn flags(&self) -> u64 {
        self.flags.unwrap_or(0)
    }

    pub fn has_flag(&self, flag: u64) -> bool {
        self.flags() & flag == flag
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthDetails {
    pub access_token: String,
}

/// One entry of an ACK's `res`: the serials given to the messages of one acknowledged frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishResult {
    #[serde(default)]
    pub serials: Vec<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_state_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle_interval: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_frame_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inbound_rate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
}

/// Ably's ErrorInfo (spec TI1): an Ably error code, an HTTP-like status and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    #[serde(default)]
    pub code: u32,
    #[serde(default)]
    pub status_code: u16,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl ErrorInfo {
    pub fn new(code: u32, status_code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            status_code,
            message: message.into(),
            href: None,
        }
    }

    /// Ably's "renew the token and try again" range (ably-js `Auth.isTokenErr`).
    pub fn is_token_error(&self) -> bool {
        (40140..40150).contains(&self.code)
    }
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (code {}, status {})",
            self.message, self.code, self.status_code
        )
    }
}

impl std::error::Error for ErrorInfo {}

/// A published message as it travels; `data` stays in its wire form (see `data.rs` for
/// decoding), so a relay passes it on untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

impl Message {
    /// Ably's message size (spec TM6): name + clientId + JSON(extras) + data, in bytes.
    pub fn size(&self) -> usize {
        let name = self.name.as_deref().map_or(0, str::len);
        let client_id = self.client_id.as_deref().map_or(0, str::len);
        let extras = self
            .extras
            .as_ref()
            .map_or(0, |extras| extras.to_string().len());
        name + client_id + extras + data_size(self.data.as_ref(), self.encoding.as_deref())
    }
}

/// Size of a wire `data` value: a string counts its bytes (base64 counts the bytes it
/// stands for), anything else its JSON text.
pub(crate) fn data_size(data: Option<&Value>, encoding: Option<&str>) -> usize {
    match data {
        None | Some(Value::Null) => 0,
        Some(Value::String(text)) => {
            if encoding.is_some_and(|encoding| encoding.ends_with("base64")) {
                text.len() / 4 * 3
            } else {
                text.len()
            }
        }
        Some(other) => other.to_string().len(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceMessage {
    pub action: PresenceAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

impl PresenceMessage {
    pub fn new(action: PresenceAction) -> Self {
        Self {
            action,
            id: None,
            client_id: None,
            connection_id: None,
            data: None,
            encoding: None,
            extras: None,
            timestamp: None,
        }
    }

    /// A member is one clientId on one connection (spec TP3h).
    pub fn member_key(&self) -> String {
        format!(
            "{}:{}",
            self.client_id.as_deref().unwrap_or(""),
            self.connection_id.as_deref().unwrap_or("")
        )
    }

    pub fn size(&self) -> usize {
        let client_id = self.client_id.as_deref().map_or(0, str::len);
        client_id + data_size(self.data.as_ref(), self.encoding.as_deref())
    }
}
