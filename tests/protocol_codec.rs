//! The protocol codec against Ably's official encoding vectors (`tests/fixtures/ably-common`),
//! vectors of our own for every encoding path, and arbitrary input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::PathBuf;

use brokerdash::protocol::data::{self, Payload};
use brokerdash::protocol::{
    DEFAULT_MAX_FRAME_BYTES, DecodeError, PresenceAction, decode_bytes, decode_frame, encode_frame,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn ably_fixture(name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "ably-common",
        name,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "Ably's official fixture {} is missing ({error}); the vectors are part of the \
             repository (tests/fixtures/ably-common/README.md says where they come from).",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Checks one fixture case: decoding gives the expected value, and encoding that value
/// gives wire data that decodes to the same value again (and the same wire text where
/// the fixture's JSON text is canonical).
fn check_vector(case: &Value) {
    let wire_data = case.get("data");
    let encoding = case.get("encoding").and_then(Value::as_str);
    let decoded = data::decode(wire_data, encoding);
    assert_eq!(decoded.error, None, "{case}");
    assert_eq!(decoded.remaining_encoding, None, "{case}");
    let expected_type = case["expectedType"].as_str().expect("expectedType");
    match (expected_type, &decoded.payload) {
        ("string", Payload::Text(text)) => {
            assert_eq!(Some(&json!(text)), case.get("expectedValue"))
        }
        ("jsonObject", Payload::Json(value)) => {
            assert!(value.is_object());
            assert_eq!(Some(value), case.get("expectedValue"));
        }
        ("jsonArray", Payload::Json(value)) => {
            assert!(value.is_array());
            assert_eq!(Some(value), case.get("expectedValue"));
        }
        ("binary", Payload::Binary(bytes)) => {
            assert_eq!(Some(&json!(hex(bytes))), case.get("expectedHexValue"));
        }
        (expected, got) => panic!("{case}: expected {expected}, decoded {got:?}"),
    }
    let (data_again, encoding_again) = data::encode(&decoded.payload, None);
    assert_eq!(encoding_again.as_deref(), encoding, "{case}");
    assert_eq!(data_again.as_ref(), wire_data, "{case}");
    assert_eq!(
        data::decode(data_again.as_ref(), encoding_again.as_deref()).payload,
        decoded.payload
    );
}

/// UTS: RSL4, RSL6a.
#[test]
fn official_message_vectors_round_trip() {
    let fixture = ably_fixture("messages-encoding.json");
    let cases = fixture["messages"].as_array().expect("messages");
    assert!(cases.len() >= 5);
    for case in cases {
        check_vector(case);
        // The same case inside a whole MESSAGE frame.
        let frame = json!({"action": 15, "channel": "c", "messages": [{
            "name": "n", "data": case["data"], "encoding": case["encoding"]
        }]});
        let decoded = decode_frame(&frame.to_string(), DEFAULT_MAX_FRAME_BYTES).expect("frame");
        let message = &decoded.messages.as_ref().expect("messages")[0];
        assert_eq!(message.data.as_ref(), case.get("data"));
        let reencoded: Value = serde_json::from_str(&encode_frame(&decoded)).expect("json");
        assert_eq!(reencoded["messages"][0]["data"], case["data"]);
    }
}

#[test]
fn official_presence_vectors_round_trip() {
    let fixture = ably_fixture("presence-messages-encoding.json");
    let cases = fixture["messages"].as_array().expect("messages");
    assert!(cases.len() >= 5);
    for case in cases {
        check_vector(case);
        let frame = json!({"action": 14, "channel": "c", "presence": [{
            "action": case["action"], "clientId": "c1", "data": case["data"],
            "encoding": case["encoding"]
        }]});
        let decoded = decode_frame(&frame.to_string(), DEFAULT_MAX_FRAME_BYTES).expect("frame");
        let member = &decoded.presence.as_ref().expect("presence")[0];
        let action = case["action"].as_u64().expect("action");
        assert_eq!(member.action, PresenceAction::from_code(action));
        assert!(!matches!(member.action, PresenceAction::Unknown(_)));
        let reencoded: Value = serde_json::from_str(&encode_frame(&decoded)).expect("json");
        assert_eq!(reencoded["presence"][0]["action"], case["action"]);
        assert_eq!(reencoded["presence"][0]["data"], case["data"]);
    }
}

#[test]
fn official_encrypted_vectors_decode_to_encrypted_without_a_key() {
    for name in ["crypto-data-128.json", "crypto-data-256.json"] {
        let fixture = ably_fixture(name);
        let algorithm = format!(
            "{}-{}-{}",
            fixture["algorithm"].as_str().expect("algorithm"),
            fixture["keylength"],
            fixture["mode"].as_str().expect("mode")
        );
        for item in fixture["items"].as_array().expect("items") {
            let encrypted = &item["encrypted"];
            let decoded = data::decode(encrypted.get("data"), encrypted["encoding"].as_str());
            assert_eq!(decoded.error, None);
            match &decoded.payload {
                Payload::Encrypted { cipher, ciphertext } => {
                    assert_eq!(cipher, &algorithm);
                    assert!(!ciphertext.is_empty());
                }
                other => panic!("{name}: expected an encrypted payload, got {other:?}"),
            }
            // Re-encoding restores the wire form exactly, so a relay loses nothing.
            let (data_again, encoding_again) =
                data::encode(&decoded.payload, decoded.remaining_encoding.as_deref());
            assert_eq!(data_again.as_ref(), encrypted.get("data"));
            assert_eq!(encoding_again.as_deref(), encrypted["encoding"].as_str());
        }
    }
}

/// Ably's msgpack vectors: each decodes to the messages it stands for (their data is the
/// value named, binary included), and encoding that value again gives the same bytes.
#[test]
fn official_msgpack_vectors_decode_and_encode_byte_for_byte() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use brokerdash::protocol::msgpack;

    let cases = ably_fixture("msgpack_test_fixtures.json");
    let cases = cases.as_array().expect("a list");
    assert_eq!(cases.len(), 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let bytes = STANDARD.decode(case["msgpack"].as_str().unwrap()).unwrap();
        let value = msgpack::to_json(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(msgpack::from_json(&value), bytes, "{name}: byte for byte");
        // The vectors are frames without an action: their messages are what matters.
        let messages: Vec<brokerdash::protocol::Message> =
            serde_json::from_value(value["messages"].clone())
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        let message = &messages[0];
        let decoded = data::decode(message.data.as_ref(), message.encoding.as_deref());
        assert_eq!(decoded.error, None, "{name}");
        let repeat = usize::try_from(case["numRepeat"].as_u64().unwrap()).unwrap();
        let expected = match case["type"].as_str().unwrap() {
            "string" => Payload::Text(case["data"].as_str().unwrap().repeat(repeat)),
            "binary" => Payload::Binary(case["data"].as_str().unwrap().repeat(repeat).into_bytes()),
            "jsonObject" | "jsonArray" => Payload::Json(case["data"].clone()),
            other => panic!("{name}: unknown type {other}"),
        };
        assert_eq!(decoded.payload, expected, "{name}");
    }
}

/// UTS: RSL4b, RSL4d.
#[test]
fn own_vectors_for_every_encoding_path() {
    let cases: [(Value, Option<&str>, Payload); 9] = [
        (json!("plain"), None, Payload::Text("plain".into())),
        (
            json!("aMOpbGxv"),
            Some("utf-8/base64"),
            Payload::Text("héllo".into()),
        ),
        (
            json!("{\"a\":1}"),
            Some("json"),
            Payload::Json(json!({"a": 1})),
        ),
        (
            json!("eyJhIjoxfQ=="),
            Some("json/utf-8/base64"),
            Payload::Json(json!({"a": 1})),
        ),
        (
            json!("WyJ4Il0="),
            Some("json/base64"),
            Payload::Json(json!(["x"])),
        ),
        (
            json!("AAEC/w=="),
            Some("base64"),
            Payload::Binary(vec![0, 1, 2, 255]),
        ),
        (
            json!("5Lit5paH"),
            Some("utf-8/base64"),
            Payload::Text("中文".into()),
        ),
        (Value::Null, None, Payload::Absent),
        (
            json!("AAEC"),
            Some("json/utf-8/cipher+aes-256-cbc/base64"),
            Payload::Encrypted {
                cipher: "aes-256-cbc".into(),
                ciphertext: vec![0, 1, 2],
            },
        ),
    ];
    for (wire, encoding, expected) in cases {
        let decoded = data::decode(Some(&wire), encoding);
        assert_eq!(decoded.payload, expected, "{wire} {encoding:?}");
        assert_eq!(decoded.error, None);
        let (again, again_encoding) =
            data::encode(&decoded.payload, decoded.remaining_encoding.as_deref());
        let redecoded = data::decode(again.as_ref(), again_encoding.as_deref());
        assert_eq!(redecoded.payload, expected, "{again:?} {again_encoding:?}");
    }
}

#[test]
fn malformed_input_gives_typed_errors() {
    assert!(matches!(
        decode_frame(
            r#"{"action":15,"messages":[{"data":"x"}"#,
            DEFAULT_MAX_FRAME_BYTES
        ),
        Err(DecodeError::Malformed(_))
    ));
    assert!(matches!(
        decode_frame(r#"{"action":15,"channel":7}"#, DEFAULT_MAX_FRAME_BYTES),
        Err(DecodeError::Malformed(_))
    ));
    let ten_mb = format!(
        r#"{{"action":15,"channel":"{}"}}"#,
        "c".repeat(10 * 1024 * 1024)
    );
    assert!(matches!(
        decode_frame(&ten_mb, DEFAULT_MAX_FRAME_BYTES),
        Err(DecodeError::TooLarge { .. })
    ));
    let unknown = decode_frame(r#"{"action":99,"channel":"c"}"#, DEFAULT_MAX_FRAME_BYTES)
        .expect("unknown actions decode");
    assert_eq!(unknown.action.code(), 99);
    let bad_base64 = data::decode(Some(&json!("@@@")), Some("base64"));
    assert_eq!(bad_base64.error, Some(data::EncodingError::InvalidBase64));
    assert_eq!(bad_base64.payload, Payload::Text("@@@".into()));
    assert!(matches!(
        decode_bytes(&[0xff, 0xfe, b'{'], DEFAULT_MAX_FRAME_BYTES),
        Err(DecodeError::Malformed(_))
    ));
}

fn arbitrary_encoding() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        Just("json".to_owned()),
        Just("base64".to_owned()),
        Just("utf-8".to_owned()),
        Just("cipher+aes-128-cbc".to_owned()),
        Just("vcdiff".to_owned()),
        "[a-z0-9+-]{0,8}",
    ];
    proptest::collection::vec(step, 0..5).prop_map(|steps| steps.join("/"))
}

fn frame_like_text() -> impl Strategy<Value = String> {
    // Fragments of real frames shuffled together reach deeper than uniform bytes.
    let fragment = prop_oneof![
        Just(r#"{"action":"#.to_owned()),
        Just(r#""messages":[{"#.to_owned()),
        Just(r#""presence":[{"action":"#.to_owned()),
        Just(r#""data":"#.to_owned()),
        Just(r#""encoding":"json/base64""#.to_owned()),
        Just(r#""flags":"#.to_owned()),
        Just("null".to_owned()),
        Just("}".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        "-?[0-9]{1,21}",
        "\"[^\"]{0,12}\"",
    ];
    proptest::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_bytes(&bytes, DEFAULT_MAX_FRAME_BYTES);
    }

    #[test]
    fn decoder_never_panics_on_frame_like_text(text in frame_like_text()) {
        if let Ok(frame) = decode_frame(&text, DEFAULT_MAX_FRAME_BYTES) {
            // Whatever decodes re-encodes and decodes to the same frame.
            let again = decode_frame(&encode_frame(&frame), DEFAULT_MAX_FRAME_BYTES);
            prop_assert_eq!(again, Ok(frame));
        }
    }

    #[test]
    fn payload_decoding_never_panics(data in ".{0,64}", encoding in arbitrary_encoding()) {
        let decoded = data::decode(Some(&Value::String(data)), Some(&encoding));
        // Decoding stops with the rest of the encoding kept, never silently drops steps.
        if decoded.error.is_some() {
            prop_assert!(decoded.remaining_encoding.is_some());
        }
    }

    /// UTS: RSL4a, RSL4c.
    #[test]
    fn binary_and_text_payloads_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..256), text in ".{0,64}") {
        for payload in [Payload::Binary(bytes.clone()), Payload::Text(text.clone())] {
            let (wire, encoding) = data::encode(&payload, None);
            prop_assert_eq!(data::decode(wire.as_ref(), encoding.as_deref()).payload, payload);
        }
    }
}
