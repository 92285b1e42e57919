use serde_json::{Value, json};

use super::{MsgpackError, from_json, to_json};

fn round_trip(value: &Value) -> Value {
    to_json(&from_json(value)).expect("decodes what it encodes")
}

#[test]
fn every_json_value_survives_a_round_trip_in_its_smallest_form() {
    let long = |n: usize| "x".repeat(n);
    let value = json!({
        "action": 15,
        "msgSerial": 0,
        "small": [0, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295_u64, 4_294_967_296_u64, u64::MAX],
        "negative": [-1, -32, -33, -129, -32_769, i64::MIN],
        "floats": [1.5, -0.25, 1e300],
        "strings": [long(0), long(31), long(32), long(255), long(256), long(65_536)],
        "array16": (0..16).collect::<Vec<_>>(),
        "nested": {"a": {"b": [null, true, false, {"c": "ü ✓ 😊"}]}},
    });
    assert_eq!(round_trip(&value), value);
    assert_eq!(from_json(&json!(5)), [0x05]);
    assert_eq!(from_json(&json!(-1)), [0xff]);
    assert_eq!(from_json(&json!("a")), [0xa1, b'a']);
    assert_eq!(from_json(&json!([])), [0x90]);
    assert_eq!(from_json(&json!({})), [0x80]);
    assert_eq!(from_json(&json!(200))[0], 0xcc);
    assert_eq!(from_json(&json!(long(40)))[0], 0xd9, "str8 past 31 bytes");
}

#[test]
fn binary_data_becomes_base64_and_its_encoding_says_so() {
    // {"data": bin[1,2,3]} and {"data": bin, "encoding": "cipher+aes-128-cbc"}
    let plain = [0x81, 0xa4, b'd', b'a', b't', b'a', 0xc4, 3, 1, 2, 3];
    assert_eq!(
        to_json(&plain),
        Ok(json!({"data": "AQID", "encoding": "base64"}))
    );
    let mut layered = vec![0x82, 0xa8];
    layered.extend_from_slice(b"encoding");
    layered.extend_from_slice(&[0xa4]);
    layered.extend_from_slice(b"utf8");
    layered.extend_from_slice(&[0xa4, b'd', b'a', b't', b'a', 0xc4, 1, 0xff]);
    assert_eq!(
        to_json(&layered),
        Ok(json!({"data": "/w==", "encoding": "utf8/base64"}))
    );
}

#[test]
fn hostile_input_is_a_typed_error_and_allocates_nothing_it_was_not_given() {
    // An array that claims 4 billion items in 5 bytes.
    assert_eq!(
        to_json(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
        Err(MsgpackError::Truncated)
    );
    assert_eq!(
        to_json(&[0xdf, 0xff, 0xff, 0xff, 0xff]),
        Err(MsgpackError::Truncated)
    );
    assert_eq!(
        to_json(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a']),
        Err(MsgpackError::Truncated)
    );
    assert_eq!(to_json(&[]), Err(MsgpackError::Truncated));
    assert_eq!(to_json(&[0xd4, 1, 2]), Err(MsgpackError::Unsupported(0xd4)));
    assert_eq!(to_json(&[0xc1]), Err(MsgpackError::Unsupported(0xc1)));
    assert_eq!(
        to_json(&[0x81, 0x01, 0x02]),
        Err(MsgpackError::KeyNotString)
    );
    assert_eq!(to_json(&[0xa1, 0xff]), Err(MsgpackError::InvalidUtf8));
    assert_eq!(to_json(&[0x01, 0x02]), Err(MsgpackError::Trailing(1)));
    let nan = [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0];
    assert_eq!(to_json(&nan), Err(MsgpackError::NotFinite));
    let deep: Vec<u8> = std::iter::repeat_n(0x91, 10_000).chain([0xc0]).collect();
    assert_eq!(to_json(&deep), Err(MsgpackError::TooDeep));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..512)) {
        let _ = to_json(&bytes);
    }
}
