//! The part of Ably's realtime protocol (v6, JSON) that brokerdash speaks, on both sides:
//! the client in `realtime` and the hub. Ably's published specification is the reference
//! (`ably/specification`); `ably-protocol.md §n` in comments names a section of the protocol
//! summary kept with the design documents.
//!
//! - `action`: the numeric codes (actions, flags, presence actions), unknown ones kept.
//! - `message`: ProtocolMessage, Message, PresenceMessage, ErrorInfo, ConnectionDetails.
//! - `data`: payload `encoding` chains (json, base64, utf-8, cipher) both ways.
//! - `codec`: frames to and from JSON text or msgpack with a size limit; `msgpack`: the
//!   binary protocol as a transcoding of JSON values.
//! - `names`: channel names, conversation ids and client ids, with their rules.

mod action;
mod codec;
pub mod data;
pub mod events;
mod message;
pub mod msgpack;
pub mod names;

pub use action::{PresenceAction, ProtocolAction, flags};
pub use codec::{
    DEFAULT_MAX_FRAME_BYTES, DecodeError, UnknownWireFormat, WireFormat, decode_bytes,
    decode_frame, decode_msgpack_frame, encode_frame, encode_msgpack_frame,
};
pub use message::{
    AuthDetails, ConnectionDetails, ErrorInfo, Message, PresenceMessage, ProtocolMessage,
    PublishResult,
};

/// Protocol version sent as `v=` and `X-Ably-Version`.
pub const PROTOCOL_VERSION: &str = "6";
