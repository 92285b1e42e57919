//! The names both sides hold to: channel names (with the rule that makes one valid),
//! conversation ids (the tail of a conversation's channel name) and client ids (with the
//! broker and customer forms the web app uses).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// Ably's channel lifecycle metachannel: the one `[`-prefixed name clients may attach.
pub const LIFECYCLE_CHANNEL: &str = "[meta]channel.lifecycle";

/// Conversation channels are `conversation:{conversationId}`.
pub const CONVERSATION_PREFIX: &str = "conversation:";

/// A valid channel name: not empty, no line break, not starting with `:`, and no `[`
/// qualifier other than the lifecycle metachannel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid channel name {0:?}")]
pub struct ChannelNameError(pub String);

impl ChannelName {
    pub fn parse(name: &str) -> Result<Self, ChannelNameError> {
        let bad = name.is_empty()
            || name.contains('\n')
            || name.starts_with(':')
            || (name.starts_with('[') && name != LIFECYCLE_CHANNEL);
        if bad {
            return Err(ChannelNameError(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn lifecycle() -> Self {
        Self(LIFECYCLE_CHANNEL.to_owned())
    }

    /// A metachannel (`[meta]…`): attachable, never published to by clients.
    pub fn is_meta(&self) -> bool {
        self.0.starts_with('[')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for ChannelName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ChannelName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ChannelName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ChannelName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ChannelName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl TryFrom<&str> for ChannelName {
    type Error = ChannelNameError;
    fn try_from(name: &str) -> Result<Self, Self::Error> {
        Self::parse(name)
    }
}

impl From<ChannelName> for String {
    fn from(name: ChannelName) -> Self {
        name.0
    }
}

/// The `{conversationId}` of a `conversation:{conversationId}` channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(String);

impl ConversationId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn from_channel(channel: &str) -> Option<Self> {
        channel
            .strip_prefix(CONVERSATION_PREFIX)
            .filter(|id| !id.is_empty() && !id.contains('\n'))
            .map(|id| Self(id.to_owned()))
    }

    pub fn channel(&self) -> ChannelName {
        ChannelName(format!("{CONVERSATION_PREFIX}{}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client id as the web app forms them: `broker-{brokerId}` for brokers,
/// `customer-{conversationId}` for the customer of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

const BROKER_PREFIX: &str = "broker-";
const CUSTOMER_PREFIX: &str = "customer-";

impl ClientId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn broker(broker_id: &str) -> Self {
        Self(format!("{BROKER_PREFIX}{broker_id}"))
    }

    pub fn customer(conversation: &ConversationId) -> Self {
        Self(format!("{CUSTOMER_PREFIX}{conversation}"))
    }

    /// The broker's id, when this is a broker.
    pub fn broker_id(&self) -> Option<&str> {
        self.0.strip_prefix(BROKER_PREFIX)
    }

    pub fn is_customer_of(&self, conversation: &ConversationId) -> bool {
        self.0
            .strip_prefix(CUSTOMER_PREFIX)
            .is_some_and(|id| id == conversation.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ClientId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_the_rule_both_sides_use() {
        for good in ["conversation:1", "a", LIFECYCLE_CHANNEL, "x:y:z", "ünïcode"] {
            assert!(ChannelName::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", ":leading", "two\nlines", "[meta]other", "[?rewind=1]x"] {
            assert_eq!(
                ChannelName::parse(bad),
                Err(ChannelNameError(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert!(ChannelName::lifecycle().is_meta());
        assert!(!ConversationId::new("7").channel().is_meta());
    }

    #[test]
    fn conversation_ids_come_from_conversation_channels_only() {
        let id = ConversationId::from_channel("conversation:42").expect("an id");
        assert_eq!(id.as_str(), "42");
        assert_eq!(id.channel(), "conversation:42");
        assert_eq!(ConversationId::from_channel("conversation:"), None);
        assert_eq!(ConversationId::from_channel("other:42"), None);
    }

    #[test]
    fn client_ids_have_a_broker_and_a_customer_form() {
        let broker = ClientId::broker("7");
        assert_eq!(broker.as_str(), "broker-7");
        assert_eq!(broker.broker_id(), Some("7"));
        let conversation = ConversationId::new("12");
        let customer = ClientId::customer(&conversation);
        assert_eq!(customer.as_str(), "customer-12");
        assert!(customer.is_customer_of(&conversation));
        assert!(!customer.is_customer_of(&ConversationId::new("1")));
        assert_eq!(customer.broker_id(), None);
        assert!(!ClientId::new("customer-12x").is_customer_of(&conversation));
    }
}
