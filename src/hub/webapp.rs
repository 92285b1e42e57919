//! The web app's two endpoints the dashboard uses, so the hub can stand in for it:
//! `POST /api/ably/auth` (a signed TokenRequest for a broker or a customer) and
//! `GET /api/chat/suggestions` (quick replies for the conversation's last customer message).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{Capability, Operation, TokenParams, TokenRequest, new_nonce};
use crate::protocol::ErrorInfo;
use crate::protocol::data::{self, Payload};
use crate::protocol::names::{ClientId, ConversationId};

use super::clock::now_ms;
use super::http::{ApiError, ApiResult, Hub, body_fields};
use super::state::lock;

const TOKEN_TTL_MS: u64 = 60 * 60 * 1000;

/// Brokers' private notes on a conversation; `conversation:*` does not reach them, so
/// they need their own grant, and customers must never get one.
const NOTES_CHANNELS: &str = "notes:conversation:*";

/// Whom the web app signs a token for: the body names exactly one of the two ids.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requester {
    Broker(String),
    Customer(ConversationId),
}

impl Requester {
    /// Reads `brokerId` or `conversationId`; both or neither is refused, so a broker
    /// token is never handed out by mistake to a body meant for a customer.
    fn from_fields(fields: &HashMap<String, String>) -> Result<Self, ErrorInfo> {
        let broker = fields.get("brokerId").map(|id| valid_id("brokerId", id));
        let conversation = fields
            .get("conversationId")
            .map(|id| valid_id("conversationId", id));
        match (broker, conversation) {
            (Some(broker), None) => Ok(Self::Broker(broker?.to_owned())),
            (None, Some(conversation)) => Ok(Self::Customer(ConversationId::new(conversation?))),
            (Some(_), Some(_)) => Err(ErrorInfo::new(
                40000,
                400,
                "Send either brokerId or conversationId, not both",
            )),
            (None, None) => Err(ErrorInfo::new(
                40000,
                400,
                "brokerId or conversationId is required (letters, digits, '-' or '_')",
            )),
        }
    }

    fn client_id(&self) -> ClientId {
        match self {
            Self::Broker(broker_id) => ClientId::broker(broker_id),
            Self::Customer(conversation) => ClientId::customer(conversation),
        }
    }

    fn capability(&self) -> Capability {
        match self {
            Self::Broker(_) => broker_capability(),
            Self::Customer(conversation) => customer_capability(conversation),
        }
    }
}

/// Only letters, digits, '-' and '_': an id ends up in a capability resource, where `*`
/// or `:` would widen what the token reaches.
fn valid_id<'a>(field: &str, id: &'a str) -> Result<&'a str, ErrorInfo> {
    let id = id.trim();
    let valid = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(id)
    } else {
        Err(ErrorInfo::new(
            40000,
            400,
            format!("{field} must be letters, digits, '-' or '_'"),
        ))
    }
}

/// What a broker may do: everything on conversations and their notes, and watch
/// channels open and close.
pub(crate) fn broker_capability() -> Capability {
    Capability::from_grants([
        (
            "conversation:*",
            &[
                Operation::Subscribe,
                Operation::Publish,
                Operation::Presence,
                Operation::History,
                Operation::ChannelMetadata,
            ][..],
        ),
        (
            NOTES_CHANNELS,
            &[
                Operation::Subscribe,
                Operation::Publish,
                Operation::Presence,
                Operation::History,
            ][..],
        ),
        ("[meta]channel.lifecycle", &[Operation::Subscribe][..]),
    ])
}

/// What a customer may do: talk and be present on their own conversation, nothing else.
pub(crate) fn customer_capability(conversation: &ConversationId) -> Capability {
    let channel = conversation.channel();
    Capability::from_grants([(
        channel.as_str(),
        &[
            Operation::Subscribe,
            Operation::Publish,
            Operation::Presence,
        ][..],
    )])
}

/// Signs a TokenRequest for the broker or customer the body names, as the web app does.
pub(crate) async fn auth(State(hub): Hub, headers: HeaderMap, body: Bytes) -> ApiResult {
    let fields = body_fields(&headers, &body);
    let requester = Requester::from_fields(&fields)?;
    let ttl_ms = match fields.get("ttl") {
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| ApiError(ErrorInfo::new(40003, 400, "ttl must be milliseconds")))?,
        ),
        None => Some(TOKEN_TTL_MS),
    };
    let key = hub.authority.first_key().ok_or_else(|| {
        ApiError(ErrorInfo::new(
            50000,
            500,
            "The hub has no key to sign with",
        ))
    })?;
    let params = TokenParams {
        ttl_ms,
        capability: Some(requester.capability().canonical()),
        client_id: Some(requester.client_id().into_string()),
    };
    let timestamp = u64::try_from(now_ms()).unwrap_or(0);
    let request = TokenRequest::sign(key, &params, timestamp, new_nonce());
    Ok(axum::Json(request).into_response())
}

pub(crate) async fn suggestions(
    State(hub): Hub,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let persona = query
        .get("persona")
        .map(String::as_str)
        .unwrap_or("default");
    let last = query
        .get("conversationId")
        .and_then(|id| last_customer_message(&hub, &format!("conversation:{id}")));
    axum::Json(json!({ "suggestions": suggest(last.as_deref(), persona) })).into_response()
}

fn last_customer_message(hub: &super::state::HubState, channel_name: &str) -> Option<String> {
    let channel = hub.existing_channel(channel_name)?;
    let channel = lock(&channel);
    channel.history().rev().find_map(|stored| {
        stored.messages.iter().rev().find_map(|message| {
            if message.name.as_deref() != Some("message:user") {
                return None;
            }
            match data::decode(message.data.as_ref(), message.encoding.as_deref()).payload {
                Payload::Json(Value::Object(fields)) => fields
                    .get("content")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            }
        })
    })
}

/// Topic-matched replies, worded for the persona. Deterministic, so tests can rely on it.
pub(crate) fn suggest(last_message: Option<&str>, persona: &str) -> Vec<String> {
    let text = last_message.unwrap_or("").to_lowercase();
    let topics: [(&[&str], [&str; 3]); 6] = [
        (
            &["rate", "interest", "fixed", "variable"],
            [
                "Today's best fixed rate for your situation is worth comparing with a variable one; shall I run both?",
                "Could you tell me your loan amount and how long you'd like to fix for?",
                "I can send you a side-by-side of fixed and variable repayments.",
            ],
        ),
        (
            &["refinanc", "switch", "remortgage"],
            [
                "Refinancing could lower your repayments; may I ask your current rate and balance?",
                "Switching lenders usually takes 3 to 4 weeks; I can start the comparison now.",
                "Are there any break fees on your current loan that you know of?",
            ],
        ),
        (
            &["deposit", "save", "first home", "first-home"],
            [
                "With a smaller deposit, lenders mortgage insurance may apply; I can estimate it for you.",
                "First-home buyer schemes might help; may I check your eligibility?",
                "How much have you saved so far, and what price range are you looking at?",
            ],
        ),
        (
            &["document", "payslip", "paperwork", "upload"],
            [
                "You'll need your last two payslips, ID and three months of bank statements.",
                "You can upload documents securely from the outlet in your portal.",
                "Self-employed applicants need two years of tax returns instead of payslips.",
            ],
        ),
        (
            &["approv", "how long", "timeline", "when"],
            [
                "Pre-approval usually takes 2 to 5 business days once documents are in.",
                "I'll chase the lender today and update you by tomorrow.",
                "Unconditional approval follows the valuation, typically within a week.",
            ],
        ),
        (
            &["fee", "cost", "charge"],
            [
                "Our service is free to you; the lender pays us a commission.",
                "Typical upfront costs are the application fee, valuation and settlement fees.",
                "I can list every fee for the loans we're comparing.",
            ],
        ),
    ];
    let matched = topics
        .iter()
        .find(|(words, _)| words.iter().any(|word| text.contains(word)))
        .map(|(_, replies)| *replies)
        .unwrap_or([
            "Thanks for your message; let me look into that for you.",
            "Could you share a little more about what you're looking for?",
            "Would a quick call suit you to go through the options?",
        ]);
    let opener = match persona {
        "friendly" | "warm" => "Happy to help! ",
        "concise" | "direct" => "",
        "professional" | "formal" => "Certainly. ",
        _ => "",
    };
    matched
        .iter()
        .map(|reply| format!("{opener}{reply}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_follow_the_topic_and_persona() {
        let rate = suggest(
            Some("What's the interest rate for a fixed loan?"),
            "concise",
        );
        assert!(rate[0].contains("fixed rate"), "{rate:?}");
        let friendly = suggest(Some("how long does approval take"), "friendly");
        assert!(
            friendly
                .iter()
                .all(|reply| reply.starts_with("Happy to help!"))
        );
        assert!(friendly[0].contains("Pre-approval"));
        let fallback = suggest(None, "default");
        assert_eq!(fallback.len(), 3);
    }

    #[test]
    fn broker_capability_covers_conversations_and_lifecycle() {
        let capability = broker_capability();
        assert!(capability.allows("conversation:9", &Operation::Publish));
        assert!(capability.allows("[meta]channel.lifecycle", &Operation::Subscribe));
        assert!(!capability.allows("admin:1", &Operation::Subscribe));
        assert!(capability.allows("notes:conversation:9", &Operation::History));
        assert!(!capability.allows("notes:conversation:9", &Operation::ChannelMetadata));
        assert_eq!(
            capability.canonical(),
            r#"{"[meta]channel.lifecycle":["subscribe"],"conversation:*":["channel-metadata","history","presence","publish","subscribe"],"notes:conversation:*":["history","presence","publish","subscribe"]}"#
        );
    }

    #[test]
    fn conversation_grants_do_not_reach_notes() {
        let conversations =
            Capability::from_grants([("conversation:*", &[Operation::Subscribe][..])]);
        assert!(!conversations.allows("notes:conversation:1", &Operation::Subscribe));
        let customer = customer_capability(&ConversationId::new("42"));
        assert!(customer.allows("conversation:42", &Operation::Presence));
        assert!(!customer.allows("conversation:42", &Operation::History));
        assert!(!customer.allows("conversation:43", &Operation::Subscribe));
        assert!(!customer.allows("notes:conversation:42", &Operation::Subscribe));
    }

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn the_body_names_a_broker_or_a_customer() {
        let broker = Requester::from_fields(&fields(&[("brokerId", " 7 ")])).unwrap();
        assert_eq!(broker, Requester::Broker("7".into()));
        assert_eq!(broker.client_id().as_str(), "broker-7");
        let customer = Requester::from_fields(&fields(&[("conversationId", "42")])).unwrap();
        assert_eq!(customer.client_id().as_str(), "customer-42");
        assert_eq!(
            customer.capability().canonical(),
            r#"{"conversation:42":["presence","publish","subscribe"]}"#
        );
    }

    #[test]
    fn both_ids_neither_or_a_bad_one_is_refused() {
        let both = fields(&[("brokerId", "7"), ("conversationId", "42")]);
        for (body, words) in [
            (both, "not both"),
            (fields(&[]), "brokerId or conversationId is required"),
            (fields(&[("conversationId", "*")]), "conversationId must be"),
            (
                fields(&[("conversationId", "1:2")]),
                "conversationId must be",
            ),
            (fields(&[("brokerId", "")]), "brokerId must be"),
        ] {
            let error = Requester::from_fields(&body).unwrap_err();
            assert_eq!((error.code, error.status_code), (40000, 400));
            assert!(error.message.contains(words), "{}", error.message);
        }
    }
}
