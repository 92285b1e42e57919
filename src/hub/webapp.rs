//! The web app's two endpoints the dashboard uses, so the hub can stand in for it:
//! `POST /api/ably/auth` (a signed TokenRequest for a broker) and
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
use crate::protocol::names::ClientId;

use super::clock::now_ms;
use super::http::{ApiError, ApiResult, Hub, body_fields};
use super::state::lock;

const BROKER_TOKEN_TTL_MS: u64 = 60 * 60 * 1000;

/// What a broker may do: everything on conversations, and watch channels open and close.
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
        ("[meta]channel.lifecycle", &[Operation::Subscribe][..]),
    ])
}

pub(crate) async fn auth(State(hub): Hub, headers: HeaderMap, body: Bytes) -> ApiResult {
    let fields = body_fields(&headers, &body);
    let broker_id = fields
        .get("brokerId")
        .map(|id| id.trim())
        .filter(|id| {
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .ok_or_else(|| {
            ApiError(ErrorInfo::new(
                40000,
                400,
                "brokerId is required (letters, digits, '-' or '_')",
            ))
        })?;
    let ttl_ms = match fields.get("ttl") {
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| ApiError(ErrorInfo::new(40003, 400, "ttl must be milliseconds")))?,
        ),
        None => Some(BROKER_TOKEN_TTL_MS),
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
        capability: Some(broker_capability().canonical()),
        client_id: Some(ClientId::broker(broker_id).into_string()),
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
    }
}
