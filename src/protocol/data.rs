//! Message payloads: the `data` + `encoding` pair of the wire, decoded right to left
//! (ably-protocol.md §2.7). Decoding never fails the frame: a step that cannot be undone
//! stops decoding and leaves the rest of the encoding on the value, as Ably's spec asks
//! (RSL6b); an encrypted payload becomes [`Payload::Encrypted`] because we hold no keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Absent,
    Text(String),
    Binary(Vec<u8>),
    Json(Value),
    /// Ciphertext under `cipher` (e.g. `aes-128-cbc`); shown as "encrypted, no key".
    Encrypted {
        cipher: String,
        ciphertext: Vec<u8>,
    },
}

/// The result of decoding: the payload, the encoding steps still on it (outermost last,
/// `None` when fully decoded) and why decoding stopped early, if it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub payload: Payload,
    pub remaining_encoding: Option<String>,
    pub error: Option<EncodingError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodingError {
    #[error("unknown encoding step {0:?}")]
    UnknownStep(String),
    #[error("invalid base64 data")]
    InvalidBase64,
    #[error("data is not valid UTF-8")]
    InvalidUtf8,
    #[error("invalid JSON data: {0}")]
    InvalidJson(String),
    #[error("delta-encoded (vcdiff) data is not supported")]
    DeltaUnsupported,
    #[error("encoding step {step:?} cannot apply to {found} data")]
    WrongType { step: String, found: &'static str },
}

impl EncodingError {
    /// Ably's error code for bad data or encoding.
    pub const ABLY_CODE: u32 = 40013;
}

pub fn decode(data: Option<&Value>, encoding: Option<&str>) -> Decoded {
    decode_owned(data.cloned(), encoding)
}

/// [`decode`] for data the caller gives up: a text payload moves instead of being copied.
pub fn decode_owned(data: Option<Value>, encoding: Option<&str>) -> Decoded {
    let mut payload = match data {
        None | Some(Value::Null) => Payload::Absent,
        Some(Value::String(text)) => Payload::Text(text),
        // JSON peers may put an object straight into `data`; take it as it is.
        Some(other) => Payload::Json(other),
    };
    // The steps are undone from the right; `left` is what is still on the payload.
    let mut left = encoding.unwrap_or("");
    loop {
        let trimmed = left.trim_end_matches('/');
        if trimmed.is_empty() {
            break;
        }
        let (rest, step) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        let stopped = match apply_step(payload, step) {
            Ok(Step::Continue(next)) => {
                payload = next;
                left = rest;
                continue;
            }
            Ok(Step::Stop(encrypted)) => (encrypted, None),
            Err((unchanged, error)) => (unchanged, Some(error)),
        };
        let steps: Vec<&str> = trimmed.split('/').filter(|step| !step.is_empty()).collect();
        return Decoded {
            payload: stopped.0,
            remaining_encoding: Some(steps.join("/")),
            error: stopped.1,
        };
    }
    Decoded {
        payload,
        remaining_encoding: None,
        error: None,
    }
}

enum Step {
    Continue(Payload),
    Stop(Payload),
}

fn apply_step(payload: Payload, step: &str) -> Result<Step, (Payload, EncodingError)> {
    let wrong_type = |payload: Payload| {
        let found = payload.kind();
        Err((
            payload,
            EncodingError::WrongType {
                step: step.to_owned(),
                found,
            },
        ))
    };
    match step {
        "base64" => match payload {
            Payload::Text(text) => {
                // Ably allows line feeds inside base64 text.
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                match STANDARD.decode(compact.as_bytes()) {
                    Ok(bytes) => Ok(Step::Continue(Payload::Binary(bytes))),
                    Err(_) => Err((Payload::Text(text), EncodingError::InvalidBase64)),
                }
            }
            other => wrong_type(other),
        },
        "utf-8" | "utf8" => match payload {
            Payload::Binary(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Step::Continue(Payload::Text(text))),
                Err(error) => Err((
                    Payload::Binary(error.into_bytes()),
                    EncodingError::InvalidUtf8,
                )),
            },
            text @ Payload::Text(_) => Ok(Step::Continue(text)),
            other => wrong_type(other),
        },
        "json" => {
            let parsed = match &payload {
                Payload::Text(text) => serde_json::from_str::<Value>(text),
                Payload::Binary(bytes) => serde_json::from_slice::<Value>(bytes),
                _ => return wrong_type(payload),
            };
            match parsed {
                Ok(value) => Ok(Step::Continue(Payload::Json(value))),
                Err(error) => Err((payload, EncodingError::InvalidJson(error.to_string()))),
            }
        }
        "vcdiff" => Err((payload, EncodingError::DeltaUnsupported)),
        cipher if cipher.starts_with("cipher+") => {
            let cipher = cipher.trim_start_matches("cipher+").to_owned();
            match payload {
                Payload::Binary(ciphertext) => {
                    Ok(Step::Stop(Payload::Encrypted { cipher, ciphertext }))
                }
                Payload::Text(text) => Ok(Step::Stop(Payload::Encrypted {
                    cipher,
                    ciphertext: text.into_bytes(),
                })),
                other => wrong_type(other),
            }
        }
        unknown => Err((payload, EncodingError::UnknownStep(unknown.to_owned()))),
    }
}

/// The wire form of a payload for the JSON transport: strings as they are, JSON values
/// stringified with `json`, bytes in base64 with `base64` (ably-protocol.md §2.7).
/// `inner_encoding` carries steps already applied (as left by [`decode`]).
pub fn encode(payload: &Payload, inner_encoding: Option<&str>) -> (Option<Value>, Option<String>) {
    let (data, step) = match payload {
        Payload::Absent => return (None, inner_encoding.map(str::to_owned)),
        Payload::Text(text) => (Value::String(text.clone()), None),
        Payload::Json(value) => (Value::String(value.to_string()), Some("json")),
        Payload::Binary(bytes) => (Value::String(STANDARD.encode(bytes)), Some("base64")),
        Payload::Encrypted { ciphertext, .. } => {
            (Value::String(STANDARD.encode(ciphertext)), Some("base64"))
        }
    };
    let encoding = match (inner_encoding.filter(|inner| !inner.is_empty()), step) {
        (Some(inner), Some(step)) => Some(format!("{inner}/{step}")),
        (Some(inner), None) => Some(inner.to_owned()),
        (None, Some(step)) => Some(step.to_owned()),
        (None, None) => None,
    };
    (Some(data), encoding)
}

impl Payload {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Text(_) => "string",
            Self::Binary(_) => "binary",
            Self::Json(_) => "JSON",
            Self::Encrypted { .. } => "encrypted",
        }
    }

    /// The payload as JSON for logs and `tail --jsonl`: bytes become base64 text.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Absent => Value::Null,
            Self::Text(text) => Value::String(text.clone()),
            Self::Json(value) => value.clone(),
            Self::Binary(bytes) => Value::String(STANDARD.encode(bytes)),
            Self::Encrypted { cipher, .. } => {
                serde_json::json!({ "encrypted": cipher, "note": "encrypted, no key" })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_str(data: &str, encoding: &str) -> Decoded {
        decode(Some(&Value::String(data.into())), Some(encoding))
    }

    #[test]
    fn absent_and_plain_strings() {
        assert_eq!(decode(None, None).payload, Payload::Absent);
        assert_eq!(decode(Some(&Value::Null), None).payload, Payload::Absent);
        let plain = decode(Some(&json!("{\"a\":1}")), None);
        assert_eq!(plain.payload, Payload::Text("{\"a\":1}".into()));
        assert_eq!(plain.remaining_encoding, None);
    }

    /// UTS: RSL6a.
    #[test]
    fn chained_utf8_over_base64_gives_text() {
        let decoded = decode_str("aMOpbGxv", "utf-8/base64");
        assert_eq!(decoded.payload, Payload::Text("héllo".into()));
        assert_eq!(decoded.error, None);
    }

    /// UTS: RSL6a.
    #[test]
    fn chained_json_over_utf8_over_base64() {
        let decoded = decode_str("eyJhIjpbMSwyXX0=", "json/utf-8/base64");
        assert_eq!(decoded.payload, Payload::Json(json!({"a": [1, 2]})));
    }

    /// UTS: RSL6a.
    #[test]
    fn json_over_base64_parses_bytes() {
        let decoded = decode_str("WzEsMl0=", "json/base64");
        assert_eq!(decoded.payload, Payload::Json(json!([1, 2])));
    }

    #[test]
    fn base64_with_line_feeds_is_accepted() {
        let decoded = decode_str("3q2+\n7w==", "base64");
        assert_eq!(
            decoded.payload,
            Payload::Binary(vec![0xde, 0xad, 0xbe, 0xef])
        );
    }

    #[test]
    fn encrypted_payload_is_kept_typed() {
        let decoded = decode_str("3q2+7w==", "utf-8/cipher+aes-128-cbc/base64");
        assert_eq!(
            decoded.payload,
            Payload::Encrypted {
                cipher: "aes-128-cbc".into(),
                ciphertext: vec![0xde, 0xad, 0xbe, 0xef]
            }
        );
        assert_eq!(
            decoded.remaining_encoding.as_deref(),
            Some("utf-8/cipher+aes-128-cbc")
        );
        let (data, encoding) = encode(&decoded.payload, decoded.remaining_encoding.as_deref());
        assert_eq!(data, Some(json!("3q2+7w==")));
        assert_eq!(encoding.as_deref(), Some("utf-8/cipher+aes-128-cbc/base64"));
    }

    /// UTS: RSL6b.
    #[test]
    fn failures_stop_and_keep_what_was_decoded() {
        let bad64 = decode_str("not base64!!", "base64");
        assert_eq!(bad64.error, Some(EncodingError::InvalidBase64));
        assert_eq!(bad64.payload, Payload::Text("not base64!!".into()));
        assert_eq!(bad64.remaining_encoding.as_deref(), Some("base64"));

        // base64 undone, then the JSON step fails: bytes stay, `json` stays on them.
        let bad_json = decode_str("e25vdA==", "json/base64");
        assert!(matches!(
            bad_json.error,
            Some(EncodingError::InvalidJson(_))
        ));
        assert_eq!(bad_json.payload, Payload::Binary(b"{not".to_vec()));
        assert_eq!(bad_json.remaining_encoding.as_deref(), Some("json"));

        let unknown = decode_str("x", "rot13");
        assert_eq!(
            unknown.error,
            Some(EncodingError::UnknownStep("rot13".into()))
        );

        let bad_utf8 = decode_str("//79", "utf-8/base64");
        assert_eq!(bad_utf8.error, Some(EncodingError::InvalidUtf8));
        assert_eq!(bad_utf8.payload, Payload::Binary(vec![0xff, 0xfe, 0xfd]));

        let delta = decode_str("AAAA", "vcdiff/base64");
        assert_eq!(delta.error, Some(EncodingError::DeltaUnsupported));
    }

    /// UTS: RSL4a, RSL4b, RSL4c.
    #[test]
    fn every_payload_kind_round_trips() {
        let payloads = [
            Payload::Absent,
            Payload::Text("plain ✓ 中文".into()),
            Payload::Text("{\"looks\":\"like json\"}".into()),
            Payload::Json(json!({"z": 1, "a": [true, null, 1.5, "x"]})),
            Payload::Json(json!(["a", {"b": 2}])),
            Payload::Binary(vec![0, 1, 2, 255]),
            Payload::Binary(Vec::new()),
        ];
        for payload in payloads {
            let (data, encoding) = encode(&payload, None);
            let decoded = decode(data.as_ref(), encoding.as_deref());
            assert_eq!(decoded.payload, payload, "wire {data:?} {encoding:?}");
            assert_eq!(decoded.error, None);
        }
    }
}
