//! MessagePack, Ably's binary protocol (what ably-js speaks in Node unless told
//! `useBinaryProtocol: false`), as a transcoding to and from the JSON protocol's values:
//! frames and REST bodies are handled as JSON inside, and only their bytes on the wire
//! differ. Binary data (`bin`) becomes base64 text, with `base64` added to the message's
//! `encoding`, which is how the JSON protocol carries it.
//!
//! Everything here comes from a peer: lengths are checked against the bytes that are
//! really there before anything is allocated, nesting is bounded, and every fault is a
//! typed error.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Number, Value};

/// Deeper than any frame or REST body of Ably's.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgpackError {
    #[error("msgpack ends in the middle of a value")]
    Truncated,
    #[error("msgpack type 0x{0:02x} is not used by Ably's protocol")]
    Unsupported(u8),
    #[error("a msgpack map key is not a string")]
    KeyNotString,
    #[error("a msgpack string is not UTF-8")]
    InvalidUtf8,
    #[error("msgpack nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("{0} bytes follow the msgpack value")]
    Trailing(usize),
    #[error("a msgpack float is not a finite number")]
    NotFinite,
}

/// One msgpack value as JSON.
pub fn to_json(bytes: &[u8]) -> Result<Value, MsgpackError> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.item(0)?.into_json();
    match bytes.len() - reader.at {
        0 => Ok(value),
        left => Err(MsgpackError::Trailing(left)),
    }
}

/// A JSON value as msgpack.
pub fn from_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

enum Item {
    Json(Value),
    Binary(Vec<u8>),
}

impl Item {
    fn into_json(self) -> Value {
        match self {
            Self::Json(value) => value,
            Self::Binary(bytes) => Value::String(STANDARD.encode(bytes)),
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8], MsgpackError> {
        let end = self.at.checked_add(count).ok_or(MsgpackError::Truncated)?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(MsgpackError::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, MsgpackError> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian unsigned number of `width` bytes.
    fn number(&mut self, width: usize) -> Result<u64, MsgpackError> {
        Ok(self
            .take(width)?
            .iter()
            .fold(0u64, |sum, byte| (sum << 8) | u64::from(*byte)))
    }

    fn length(&mut self, width: usize) -> Result<usize, MsgpackError> {
        usize::try_from(self.number(width)?).map_err(|_| MsgpackError::Truncated)
    }

    /// Room for `count` items of at least one byte each, or the input is short.
    fn room_for(&self, count: usize) -> Result<(), MsgpackError> {
        if count > self.bytes.len() - self.at {
            return Err(MsgpackError::Truncated);
        }
        Ok(())
    }

    fn item(&mut self, depth: usize) -> Result<Item, MsgpackError> {
        if depth > MAX_DEPTH {
            return Err(MsgpackError::TooDeep);
        }
        let marker = self.byte()?;
        let json = |value: Value| Ok(Item::Json(value));
        match marker {
            0x00..=0x7f => json(Value::from(marker)),
            0xe0..=0xff => json(Value::from(i64::from(marker as i8))),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth),
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth),
            0xa0..=0xbf => self.string(usize::from(marker & 0x1f)),
            0xc0 => json(Value::Null),
            0xc2 => json(Value::Bool(false)),
            0xc3 => json(Value::Bool(true)),
            0xc4..=0xc6 => {
                let length = self.length(1 << (marker - 0xc4))?;
                Ok(Item::Binary(self.take(length)?.to_vec()))
            }
            0xca => {
                let bits = u32::try_from(self.number(4)?).map_err(|_| MsgpackError::Truncated)?;
                float(f64::from(f32::from_bits(bits)))
            }
            0xcb => float(f64::from_bits(self.number(8)?)),
            0xcc..=0xcf => json(Value::from(self.number(1 << (marker - 0xcc))?)),
            0xd0..=0xd3 => {
                let width = 1 << (marker - 0xd0);
                let raw = self.number(width)?;
                // Sign-extend from `width` bytes.
                let shift = 64 - 8 * width as u32;
                json(Value::from(((raw << shift) as i64) >> shift))
            }
            0xd9..=0xdb => {
                let length = self.length(1 << (marker - 0xd9))?;
                self.string(length)
            }
            0xdc | 0xdd => {
                let length = self.length(2 << (marker - 0xdc))?;
                self.array(length, depth)
            }
            0xde | 0xdf => {
                let length = self.length(2 << (marker - 0xde))?;
                self.map(length, depth)
            }
            other => Err(MsgpackError::Unsupported(other)),
        }
    }

    fn string(&mut self, length: usize) -> Result<Item, MsgpackError> {
        let bytes = self.take(length)?;
        let text = std::str::from_utf8(bytes).map_err(|_| MsgpackError::InvalidUtf8)?;
        Ok(Item::Json(Value::String(text.to_owned())))
    }

    fn array(&mut self, length: usize, depth: usize) -> Result<Item, MsgpackError> {
        self.room_for(length)?;
        let mut items = Vec::with_capacity(length);
        for _ in 0..length {
            items.push(self.item(depth + 1)?.into_json());
        }
        Ok(Item::Json(Value::Array(items)))
    }

    /// A map; binary `data` in it becomes base64 text and its `encoding` says so.
    fn map(&mut self, length: usize, depth: usize) -> Result<Item, MsgpackError> {
        self.room_for(length.saturating_mul(2))?;
        let mut map = Map::new();
        let mut binary_data = false;
        for _ in 0..length {
            let Item::Json(Value::String(key)) = self.item(depth + 1)? else {
                return Err(MsgpackError::KeyNotString);
            };
            let value = self.item(depth + 1)?;
            binary_data |= key == "data" && matches!(value, Item::Binary(_));
            map.insert(key, value.into_json());
        }
        if binary_data {
            let encoding = match map.get("encoding").and_then(Value::as_str) {
                Some(earlier) if !earlier.is_empty() => format!("{earlier}/base64"),
                _ => "base64".to_owned(),
            };
            map.insert("encoding".to_owned(), Value::String(encoding));
        }
        Ok(Item::Json(Value::Object(map)))
    }
}

fn float(value: f64) -> Result<Item, MsgpackError> {
    Number::from_f64(value)
        .map(|number| Item::Json(Value::Number(number)))
        .ok_or(MsgpackError::NotFinite)
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(false) => out.push(0xc2),
        Value::Bool(true) => out.push(0xc3),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => {
            write_length(out, text.len(), [0xa0, 0xd9, 0xda, 0xdb], 31);
            out.extend_from_slice(text.as_bytes());
        }
        Value::Array(items) => {
            write_length(out, items.len(), [0x90, 0x90, 0xdc, 0xdd], 15);
            for item in items {
                write_value(out, item);
            }
        }
        Value::Object(map) => {
            write_length(out, map.len(), [0x80, 0x80, 0xde, 0xdf], 15);
            for (key, item) in map {
                write_length(out, key.len(), [0xa0, 0xd9, 0xda, 0xdb], 31);
                out.extend_from_slice(key.as_bytes());
                write_value(out, item);
            }
        }
    }
}

/// A length in the smallest form: the fixed form up to `fixed_max`, then 8 (strings only),
/// 16 or 32 bits. `markers` are [fixed, 8-bit, 16-bit, 32-bit].
fn write_length(out: &mut Vec<u8>, length: usize, markers: [u8; 4], fixed_max: usize) {
    let [fixed, eight, sixteen, thirty_two] = markers;
    if length <= fixed_max {
        out.push(fixed | length as u8);
    } else if fixed_max == 31 && length <= usize::from(u8::MAX) {
        out.extend_from_slice(&[eight, length as u8]);
    } else if let Ok(short) = u16::try_from(length) {
        out.push(sixteen);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        // Frames and bodies are far below 4 GiB; a larger length saturates.
        out.push(thirty_two);
        out.extend_from_slice(&u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes());
    }
}

fn write_number(out: &mut Vec<u8>, number: &Number) {
    if let Some(unsigned) = number.as_u64() {
        match unsigned {
            0..=0x7f => out.push(unsigned as u8),
            0x80..=0xff => out.extend_from_slice(&[0xcc, unsigned as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(unsigned as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(unsigned as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&unsigned.to_be_bytes());
            }
        }
    } else if let Some(signed) = number.as_i64() {
        // Negative here: non-negative ones were unsigned above.
        if signed >= -32 {
            out.push(signed as i8 as u8);
        } else {
            out.push(0xd3);
            out.extend_from_slice(&signed.to_be_bytes());
        }
    } else {
        out.push(0xcb);
        out.extend_from_slice(&number.as_f64().unwrap_or(0.0).to_bits().to_be_bytes());
    }
}

#[cfg(test)]
mod tests;
