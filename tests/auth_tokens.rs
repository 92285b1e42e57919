//! TokenRequest signing against vectors generated once with the official ably-js 2.28.0
//! (`auth.createTokenRequest` with a fixed key, timestamp and nonce): ours must verify
//! theirs and, for the same inputs, carry the same mac.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use brokerdash::auth::{ApiKey, Capability, TokenParams, TokenRequest};

const KEY: &str = "fixture.keyid:fixturesecret";

/// ably-js 2.28.0: createTokenRequest({clientId: 'broker-7', ttl: 3600000, capability:
/// {"conversation:*": ["subscribe","publish","presence"], "[meta]channel.lifecycle":
/// ["subscribe"]}, timestamp: 1795697252417, nonce: '4638784034281336'}).
const ABLY_JS_FULL: &str = r#"{"keyName":"fixture.keyid","clientId":"broker-7","ttl":3600000,"capability":"{\"[meta]channel.lifecycle\":[\"subscribe\"],\"conversation:*\":[\"presence\",\"publish\",\"subscribe\"]}","timestamp":1795697252417,"nonce":"4638784034281336","mac":"9dwHN+iz1lKHWHJCgBNsv2nkrda9jf5PU0sHJ7wPScs="}"#;

/// ably-js 2.28.0: createTokenRequest({timestamp: 1795697252417, nonce: '4638784034281336'}).
const ABLY_JS_MINIMAL: &str = r#"{"keyName":"fixture.keyid","timestamp":1795697252417,"nonce":"4638784034281336","mac":"YrFFJVmA3UdUWUclEoW/Iv1qmuTYWttPntNtUKdCjzY="}"#;

fn key() -> ApiKey {
    KEY.parse().unwrap()
}

#[test]
fn ably_js_token_requests_verify() {
    for vector in [ABLY_JS_FULL, ABLY_JS_MINIMAL] {
        let request: TokenRequest = serde_json::from_str(vector).unwrap();
        assert_eq!(request.verify(&key()), Ok(()), "{vector}");
    }
}

/// UTS: RSA5, RSA5b, RSA6, RSA6b.
#[test]
fn our_token_requests_carry_the_same_mac_as_ably_js() {
    let capability = Capability::parse(
        r#"{"conversation:*":["subscribe","publish","presence"],"[meta]channel.lifecycle":["subscribe"]}"#,
    )
    .unwrap();
    let full = TokenParams {
        ttl_ms: Some(3_600_000),
        capability: Some(capability.canonical()),
        client_id: Some("broker-7".into()),
    };
    let cases = [
        (full, ABLY_JS_FULL),
        (TokenParams::default(), ABLY_JS_MINIMAL),
    ];
    for (params, vector) in cases {
        let theirs: TokenRequest = serde_json::from_str(vector).unwrap();
        let ours = TokenRequest::sign(
            &key(),
            &params,
            1_795_697_252_417,
            "4638784034281336".into(),
        );
        assert_eq!(ours.mac, theirs.mac, "{vector}");
        assert_eq!(ours, theirs);
    }
}

#[test]
fn a_tampered_ably_js_request_fails() {
    let mut request: TokenRequest = serde_json::from_str(ABLY_JS_FULL).unwrap();
    request.capability = Some(r#"{"*":["*"]}"#.into());
    assert!(request.verify(&key()).is_err());
}

// ---- the web app's token endpoint, as the hub answers it ------------------------------------

mod common;

use brokerdash::hub::{HubConfig, RunningHub};
use brokerdash::protocol::{ProtocolAction, ProtocolMessage};
use common::{Client, PROMPT};
use serde_json::{Value, json};

/// A token for whoever `body` names, the way a browser gets one: a TokenRequest from the
/// hub's `/api/ably/auth`, exchanged at `/keys/{keyName}/requestToken`.
async fn web_app_token(hub: &RunningHub, body: Value) -> String {
    let http = reqwest::Client::new();
    let request: Value = http
        .post(format!("{}/api/ably/auth", hub.url()))
        .json(&body)
        .timeout(PROMPT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_name = request["keyName"].as_str().expect("a signed TokenRequest");
    let details: Value = http
        .post(format!("{}/keys/{key_name}/requestToken", hub.url()))
        .json(&request)
        .timeout(PROMPT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    details["token"].as_str().expect("a token").to_owned()
}

/// Sends ATTACH and returns the hub's answer for that channel: ATTACHED, or the refusal.
async fn attach_answer(client: &mut Client, channel: &str) -> ProtocolMessage {
    client
        .tx
        .send(&ProtocolMessage::new(ProtocolAction::Attach).with_channel(channel))
        .await;
    client
        .rx
        .recv_until(&format!("an answer to ATTACH {channel}"), PROMPT, |frame| {
            frame.channel.as_deref() == Some(channel)
                && matches!(
                    frame.action,
                    ProtocolAction::Attached | ProtocolAction::Detached | ProtocolAction::Error
                )
        })
        .await
}

fn assert_refused(answer: &ProtocolMessage) {
    let code = answer.error.as_ref().map(|error| error.code);
    assert_eq!(code, Some(40160), "{answer:?}");
}

#[tokio::test]
async fn customer_token_cannot_attach_the_notes_channel_and_a_broker_token_can() {
    let hub = common::start_hub(HubConfig::development()).await;

    let customer = web_app_token(&hub, json!({"conversationId": "42"})).await;
    let mut customer = Client::connect(hub.addr, &[("access_token", &customer)]).await;
    let client_id = customer
        .connected
        .connection_details
        .as_ref()
        .and_then(|details| details.client_id.as_deref());
    assert_eq!(client_id, Some("customer-42"));
    let notes = attach_answer(&mut customer, "notes:conversation:42").await;
    assert_refused(&notes);
    let other = attach_answer(&mut customer, "conversation:43").await;
    assert_refused(&other);
    let own = attach_answer(&mut customer, "conversation:42").await;
    assert_eq!(own.action, ProtocolAction::Attached, "{own:?}");

    let broker = web_app_token(&hub, json!({"brokerId": "7"})).await;
    let mut broker = Client::connect(hub.addr, &[("access_token", &broker)]).await;
    let notes = attach_answer(&mut broker, "notes:conversation:42").await;
    assert_eq!(notes.action, ProtocolAction::Attached, "{notes:?}");
    hub.stop().await.unwrap();
}
