//! Micro-benchmarks (divan) of the client's three steps for every message: decoding the
//! frame (JSON and msgpack, the data decoded too), the reducer's update for one message,
//! and drawing a frame of the dashboard at 1,000 conversations.
//!
//! Run: `cargo bench --bench micro`.

#![allow(clippy::expect_used)] // a benchmark stops loudly on a broken setup

#[path = "common/desk.rs"]
mod desk;

use brokerdash::protocol::data::decode;
use brokerdash::protocol::{
    DEFAULT_MAX_FRAME_BYTES, Message, ProtocolAction, ProtocolMessage, decode_frame,
    decode_msgpack_frame, encode_frame, encode_msgpack_frame,
};
use divan::{Bencher, black_box};
use serde_json::json;

fn main() {
    divan::main();
}

/// A customer's message as the web app publishes it: JSON data, stringified; `messages` of
/// them in one frame.
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

/// How many payloads of the frame decoded cleanly.
fn payloads(frame: ProtocolMessage) -> usize {
    frame
        .messages
        .unwrap_or_default()
        .iter()
        .map(|message| decode(message.data.as_ref(), message.encoding.as_deref()))
        .filter(|decoded| decoded.error.is_none())
        .count()
}

mod decode_frame_and_data {
    use super::*;

    #[divan::bench(args = [1, 10], sample_count = 500, sample_size = 50)]
    fn json(bencher: Bencher, messages: usize) {
        let text = encode_frame(&frame(messages));
        bencher
            .counter(divan::counter::ItemsCount::new(messages))
            .bench(|| {
                let frame = decode_frame(black_box(&text), DEFAULT_MAX_FRAME_BYTES).expect("frame");
                assert_eq!(payloads(frame), messages);
            });
    }

    #[divan::bench(args = [1, 10], sample_count = 500, sample_size = 50)]
    fn msgpack(bencher: Bencher, messages: usize) {
        let bytes = encode_msgpack_frame(&frame(messages));
        bencher
            .counter(divan::counter::ItemsCount::new(messages))
            .bench(|| {
                let frame = decode_msgpack_frame(black_box(&bytes), DEFAULT_MAX_FRAME_BYTES)
                    .expect("frame");
                assert_eq!(payloads(frame), messages);
            });
    }
}

mod reducer {
    use brokerdash::app::update::update;

    use super::*;

    /// One customer message into a desk of 1,000 conversations, each message new (its own
    /// id), spread over the conversations.
    #[divan::bench(sample_count = 500, sample_size = 50)]
    fn one_message_at_1000_conversations(bencher: Bencher) {
        let mut state = desk::desk(1_000, 3);
        let mut sequence = 0u64;
        bencher
            .with_inputs(|| {
                sequence += 1;
                desk::message(
                    &format!("conversation:{}", sequence % 1_000),
                    "message:user",
                    json!({"messageId": format!("bench-{sequence}"), "content": "Could we fix for five years instead?", "timestamp": desk::T0 + sequence as i64}),
                )
            })
            .bench_local_values(|action| update(&mut state, action));
    }
}

mod render {
    use brokerdash::config::theme::Theme;
    use brokerdash::input::Keymap;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    /// A whole frame of the 1,000-conversation inbox, drawn and diffed in full (the last
    /// frame is forgotten first, so nothing is skipped as unchanged).
    #[divan::bench(args = [(80, 24), (160, 48)])]
    fn inbox_of_1000_conversations(bencher: Bencher, (width, height): (u16, u16)) {
        let state = desk::desk(1_000, 3);
        let theme = Theme::built_in("dark").expect("theme");
        let keymap = Keymap::default();
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        bencher.bench_local(|| {
            terminal.clear().expect("clear");
            terminal
                .draw(|frame| brokerdash::ui::render(frame, &state, &theme, &keymap))
                .expect("draw");
        });
    }
}
