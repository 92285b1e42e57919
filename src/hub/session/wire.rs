//! The connection's wire format: JSON text frames, or msgpack binary frames
//! (`format=msgpack`, ably-js's default in Node). Frames are built as JSON text once for
//! every subscriber; a msgpack connection has its own copy transcoded as it is written.

use axum::extract::ws::{Message as WsMessage, Utf8Bytes};

use crate::protocol::ErrorInfo;
use crate::protocol::msgpack;

use super::ConnectParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    Json,
    Msgpack,
}

impl Wire {
    pub fn of(params: &ConnectParams) -> Self {
        if params.format.as_deref() == Some("msgpack") {
            Self::Msgpack
        } else {
            Self::Json
        }
    }

    /// A frame as this connection receives it.
    pub fn message(self, frame: Utf8Bytes) -> WsMessage {
        match self {
            Self::Json => WsMessage::Text(frame),
            Self::Msgpack => match serde_json::from_str(frame.as_str()) {
                Ok(value) => WsMessage::Binary(msgpack::from_json(&value).into()),
                // Frames are the hub's own JSON: this cannot happen, and text is still a frame.
                Err(_) => WsMessage::Text(frame),
            },
        }
    }

    /// A binary frame from the client, as JSON text; or why it is refused.
    pub fn text_of(self, bytes: &[u8]) -> Result<Utf8Bytes, ErrorInfo> {
        if self == Self::Json {
            return Err(ErrorInfo::new(
                40000,
                400,
                "A binary frame on a JSON connection: connect with format=msgpack to send msgpack",
            ));
        }
        let value = msgpack::to_json(bytes).map_err(|error| {
            ErrorInfo::new(40000, 400, format!("Malformed msgpack frame: {error}"))
        })?;
        Ok(Utf8Bytes::from(value.to_string()))
    }
}
