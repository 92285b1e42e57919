//! ProtocolMessages over WebSocket: JSON text frames, or msgpack binary frames (through the
//! JSON values they stand for), with a size limit checked before parsing so a huge frame
//! costs nothing but its length check.

use thiserror::Error;

use super::message::ProtocolMessage;

/// Ably's default `maxFrameSize` (ably-protocol.md §3.2).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 524_288;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("binary frames are not supported: this endpoint speaks JSON (format=json)")]
    Binary,
}

pub fn decode_frame(text: &str, max_frame_bytes: usize) -> Result<ProtocolMessage, DecodeError> {
    decode_bytes(text.as_bytes(), max_frame_bytes)
}

pub fn decode_bytes(bytes: &[u8], max_frame_bytes: usize) -> Result<ProtocolMessage, DecodeError> {
    if bytes.len() > max_frame_bytes {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: max_frame_bytes,
        });
    }
    serde_json::from_slice(bytes).map_err(|error| DecodeError::Malformed(error.to_string()))
}

/// The wire format of a realtime connection (`format=` in its URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WireFormat {
    #[default]
    Json,
    Msgpack,
}

impl WireFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Msgpack => "msgpack",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown protocol {0:?}: expected json or msgpack")]
pub struct UnknownWireFormat(String);

impl std::str::FromStr for WireFormat {
    type Err = UnknownWireFormat;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "msgpack" => Ok(Self::Msgpack),
            _ => Err(UnknownWireFormat(text.to_owned())),
        }
    }
}

pub fn decode_msgpack_frame(
    bytes: &[u8],
    max_frame_bytes: usize,
) -> Result<ProtocolMessage, DecodeError> {
    if bytes.len() > max_frame_bytes {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: max_frame_bytes,
        });
    }
    let value = super::msgpack::to_json(bytes)
        .map_err(|error| DecodeError::Malformed(error.to_string()))?;
    serde_json::from_value(value).map_err(|error| DecodeError::Malformed(error.to_string()))
}

pub fn encode_msgpack_frame(message: &ProtocolMessage) -> Vec<u8> {
    // As `encode_frame`: our own plain structs always serialise.
    let value = serde_json::to_value(message).unwrap_or_default();
    super::msgpack::from_json(&value)
}

pub fn encode_frame(message: &ProtocolMessage) -> String {
    // Serialising our own plain structs (strings, integers, JSON values) cannot fail; an
    // empty object is still a frame the peer can reject instead of a panic here.
    serde_json::to_string(message).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PresenceAction, ProtocolAction};

    #[test]
    fn rtl6i3_fields_a_message_does_not_have_are_left_out_of_the_frame() {
        let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel("c");
        frame.messages = Some(vec![crate::protocol::Message {
            name: Some("only-a-name".into()),
            ..crate::protocol::Message::default()
        }]);
        let text = encode_frame(&frame);
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let message = &value["messages"][0];
        assert_eq!(message.as_object().map(|m| m.len()), Some(1), "{text}");
        assert!(!text.contains("null"), "{text}");
    }

    /// UTS: RSF1.
    #[test]
    fn decodes_ably_js_publish_and_ignores_size() {
        let frame = r#"{"action":15,"channel":"room:1","messages":[{"name":"greet","data":"hello","action":0,"size":10}],"msgSerial":0}"#;
        let message = decode_frame(frame, DEFAULT_MAX_FRAME_BYTES).unwrap();
        assert_eq!(message.action, ProtocolAction::Message);
        assert_eq!(message.msg_serial, Some(0));
        let messages = message.messages.unwrap();
        assert_eq!(messages[0].name.as_deref(), Some("greet"));
        assert!(!encode_frame(&ProtocolMessage::new(ProtocolAction::Message)).contains("size"));
    }

    /// UTS: RTF1.
    #[test]
    fn unknown_fields_and_nulls_are_accepted() {
        let frame = r#"{"action":11,"channel":"c","flags":983041,"futureField":{"x":1},"error":null,"params":null}"#;
        let message = decode_frame(frame, DEFAULT_MAX_FRAME_BYTES).unwrap();
        assert_eq!(message.action, ProtocolAction::Attached);
        assert!(message.has_flag(crate::protocol::flags::HAS_PRESENCE));
        assert_eq!(message.error, None);
    }

    /// UTS: RTF1.
    #[test]
    fn unknown_action_is_a_typed_value() {
        let message = decode_frame(r#"{"action":99}"#, DEFAULT_MAX_FRAME_BYTES).unwrap();
        assert_eq!(message.action, ProtocolAction::Unknown(99));
        let presence = decode_frame(
            r#"{"action":14,"presence":[{"action":42,"clientId":"a"}]}"#,
            DEFAULT_MAX_FRAME_BYTES,
        )
        .unwrap();
        assert_eq!(
            presence.presence.unwrap()[0].action,
            PresenceAction::Unknown(42)
        );
    }

    #[test]
    fn malformed_frames_are_typed_errors() {
        let cases = [
            r#"{"action":15,"channel":"#,
            r#"{"action":"fifteen"}"#,
            r#"{"action":15,"msgSerial":"x"}"#,
            r#"{"action":15,"messages":{"not":"a list"}}"#,
            r#"{"action":-1}"#,
            r#"[1,2,3]"#,
            r#"{}"#,
            "",
        ];
        for case in cases {
            assert!(
                matches!(
                    decode_frame(case, DEFAULT_MAX_FRAME_BYTES),
                    Err(DecodeError::Malformed(_))
                ),
                "{case}"
            );
        }
    }

    #[test]
    fn oversized_frame_is_refused_before_parsing() {
        let huge = format!(
            r#"{{"action":15,"messages":[{{"data":"{}"}}]}}"#,
            "x".repeat(10 << 20)
        );
        assert_eq!(
            decode_frame(&huge, DEFAULT_MAX_FRAME_BYTES),
            Err(DecodeError::TooLarge {
                size: huge.len(),
                limit: DEFAULT_MAX_FRAME_BYTES
            })
        );
        // Within a raised limit the same 10 MB string decodes.
        assert!(decode_frame(&huge, usize::MAX).is_ok());
    }
}
