//! What decoding a frame costs the client, per message, in each of Ably's protocols: the
//! frame from the wire (JSON text, or msgpack bytes) into a ProtocolMessage, then the
//! message's data into its payload, as the realtime client does for every message.
//!
//! Run: `cargo bench --bench frame_decoding`. Prints the median and the fastest of 15
//! batches of 20,000 frames each, for a one-message frame and a ten-message frame.

use std::hint::black_box;
use std::time::Instant;

use brokerdash::protocol::data::decode;
use brokerdash::protocol::{
    DEFAULT_MAX_FRAME_BYTES, Message, ProtocolAction, ProtocolMessage, decode_frame,
    decode_msgpack_frame, encode_frame, encode_msgpack_frame,
};
use serde_json::json;

const BATCHES: usize = 15;
const FRAMES_PER_BATCH: u32 = 20_000;

/// A customer's message as the web app publishes it: JSON data, stringified.
fn frame(messages: usize) -> ProtocolMessage {
    let mut frame = ProtocolMessage::new(ProtocolAction::Message).with_channel("conversation:4711");
    frame.id = Some("KdvQ3f1bSl:12".into());
    frame.connection_id = Some("KdvQ3f1bSl".into());
    frame.channel_serial = Some("108SP4XcgABc12:4".into());
    frame.timestamp = Some(1_800_000_000_000);
    let data = json!({
        "messageId": "m-8c1f2a",
        "content": "Hi, we had an offer accepted on a flat, but the survey says the roof needs work. Can we still get a mortgage, and would the lender want the repairs done first?",
        "sentNs": "123456789012345678",
    });
    frame.messages = Some(
        (0..messages)
            .map(|index| Message {
                id: Some(format!("KdvQ3f1bSl:12:{index}")),
                name: Some("message:user".into()),
                data: Some(json!(data.to_string())),
                encoding: Some("json".into()),
                ..Message::default()
            })
            .collect(),
    );
    frame
}

/// Nanoseconds per message for `decode_one` over a batch, median and fastest of the batches.
fn measure(messages: usize, decode_one: impl Fn() -> usize) -> (f64, f64) {
    let mut per_message: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let started = Instant::now();
            let mut decoded = 0;
            for _ in 0..FRAMES_PER_BATCH {
                decoded += black_box(decode_one());
            }
            assert_eq!(decoded, messages * FRAMES_PER_BATCH as usize);
            started.elapsed().as_nanos() as f64 / f64::from(FRAMES_PER_BATCH) / messages as f64
        })
        .collect();
    per_message.sort_by(f64::total_cmp);
    (per_message[BATCHES / 2], per_message[0])
}

fn payloads(frame: ProtocolMessage) -> usize {
    frame
        .messages
        .unwrap_or_default()
        .iter()
        .map(|message| decode(message.data.as_ref(), message.encoding.as_deref()))
        .filter(|decoded| decoded.error.is_none())
        .count()
}

fn main() {
    println!(
        "frame decoding, per message (median, fastest of {BATCHES} batches of {FRAMES_PER_BATCH} frames)"
    );
    for messages in [1, 10] {
        let frame = frame(messages);
        let text = encode_frame(&frame);
        let bytes = encode_msgpack_frame(&frame);
        let json = measure(messages, || {
            payloads(
                decode_frame(black_box(&text), DEFAULT_MAX_FRAME_BYTES)
                    .unwrap_or_else(|_| ProtocolMessage::new(ProtocolAction::Message)),
            )
        });
        let msgpack = measure(messages, || {
            payloads(
                decode_msgpack_frame(black_box(&bytes), DEFAULT_MAX_FRAME_BYTES)
                    .unwrap_or_else(|_| ProtocolMessage::new(ProtocolAction::Message)),
            )
        });
        println!(
            "  {messages:>2} message(s) a frame: JSON {:.0} ns ({:.0} fastest), {} bytes; msgpack {:.0} ns ({:.0} fastest), {} bytes; msgpack/JSON {:.2}",
            json.0,
            json.1,
            text.len(),
            msgpack.0,
            msgpack.1,
            bytes.len(),
            msgpack.0 / json.0
        );
    }
}
