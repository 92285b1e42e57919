//! Numeric codes of the wire: ProtocolMessage actions, attach flags, presence actions.
//! Unknown numbers are kept as typed `Unknown` values: Ably adds actions over time and a
//! newer peer must not kill the frame.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! numeric_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            Unknown(u64),
        }

        impl $name {
            pub fn from_code(code: u64) -> Self {
                match code {
                    $($value => Self::$variant,)+
                    other => Self::Unknown(other),
                }
            }

            pub fn code(self) -> u64 {
                match self {
                    $(Self::$variant => $value,)+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u64(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                u64::deserialize(deserializer).map(Self::from_code)
            }
        }
    };
}

numeric_enum!(
    /// ProtocolMessage `action` (ably-protocol.md §2.2).
    ProtocolAction {
        Heartbeat = 0,
        Ack = 1,
        Nack = 2,
        Connect = 3,
        Connected = 4,
        Disconnect = 5,
        Disconnected = 6,
        Close = 7,
        Closed = 8,
        Error = 9,
        Attach = 10,
        Attached = 11,
        Detach = 12,
        Detached = 13,
        Presence = 14,
        Message = 15,
        Sync = 16,
        Auth = 17,
        Activate = 18,
        Object = 19,
        ObjectSync = 20,
        Annotation = 21,
    }
);

numeric_enum!(
    /// PresenceMessage `action` (ably-protocol.md §2.5).
    PresenceAction {
        Absent = 0,
        Present = 1,
        Enter = 2,
        Leave = 3,
        Update = 4,
    }
);

impl PresenceAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Present => "present",
            Self::Enter => "enter",
            Self::Leave => "leave",
            Self::Update => "update",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// Bits of the ProtocolMessage `flags` field (ably-protocol.md §2.3).
pub mod flags {
    pub const HAS_PRESENCE: u64 = 1;
    pub const HAS_BACKLOG: u64 = 1 << 1;
    pub const RESUMED: u64 = 1 << 2;
    pub const TRANSIENT: u64 = 1 << 4;
    pub const ATTACH_RESUME: u64 = 1 << 5;
    pub const HAS_OBJECTS: u64 = 1 << 7;
    pub const PRESENCE: u64 = 1 << 16;
    pub const PUBLISH: u64 = 1 << 17;
    pub const SUBSCRIBE: u64 = 1 << 18;
    pub const PRESENCE_SUBSCRIBE: u64 = 1 << 19;
    pub const ANNOTATION_PUBLISH: u64 = 1 << 21;
    pub const ANNOTATION_SUBSCRIBE: u64 = 1 << 22;
    pub const OBJECT_SUBSCRIBE: u64 = 1 << 24;
    pub const OBJECT_PUBLISH: u64 = 1 << 25;

    /// Every channel mode bit; the rest of the field are per-frame flags.
    pub const MODES: u64 = PRESENCE
        | PUBLISH
        | SUBSCRIBE
        | PRESENCE_SUBSCRIBE
        | ANNOTATION_PUBLISH
        | ANNOTATION_SUBSCRIBE
        | OBJECT_SUBSCRIBE
        | OBJECT_PUBLISH;

    /// The modes a client gets when it asks for none (Ably's documented default, without
    /// annotations, which neither side here uses).
    pub const DEFAULT_MODES: u64 = PRESENCE | PUBLISH | SUBSCRIBE | PRESENCE_SUBSCRIBE;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_actions_round_trip() {
        for code in 0..=25 {
            assert_eq!(ProtocolAction::from_code(code).code(), code);
        }
        assert_eq!(ProtocolAction::from_code(99), ProtocolAction::Unknown(99));
        assert_eq!(ProtocolAction::from_code(15), ProtocolAction::Message);
        let json = serde_json::to_string(&ProtocolAction::Unknown(99)).unwrap();
        assert_eq!(json, "99");
    }

    #[test]
    fn mode_constants_match_the_protocol_notes() {
        assert_eq!(flags::DEFAULT_MODES, 983_040);
        assert_eq!(flags::SUBSCRIBE | flags::PRESENCE_SUBSCRIBE, 786_432);
    }

    #[test]
    fn presence_actions_decode_by_number() {
        let actions: Vec<PresenceAction> = serde_json::from_str("[0,1,2,3,4,7]").unwrap();
        assert_eq!(
            actions,
            vec![
                PresenceAction::Absent,
                PresenceAction::Present,
                PresenceAction::Enter,
                PresenceAction::Leave,
                PresenceAction::Update,
                PresenceAction::Unknown(7)
            ]
        );
    }
}
