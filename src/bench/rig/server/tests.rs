#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::net::TcpStream;

use serde_json::Value;
use tungstenite::{Message as WsMessage, WebSocket};

use super::*;

fn connect(port: u16) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let url = format!("ws://127.0.0.1:{port}/?key=a.b:c&format=json&v=3");
    tungstenite::client(url.as_str(), stream).unwrap().0
}

fn next_frame(socket: &mut WebSocket<TcpStream>) -> Value {
    loop {
        if let WsMessage::Text(text) = socket.read().expect("a frame within 10 s") {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

fn attach(socket: &mut WebSocket<TcpStream>, channel: usize) {
    let frame = format!(r#"{{"action":10,"channel":"{}"}}"#, channel_name(channel));
    socket.send(WsMessage::text(frame)).unwrap();
}

#[test]
fn plays_the_script_once_every_channel_is_attached_across_connections() {
    let server = ScriptServer::start(Script {
        channels: 3,
        messages: 7,
        rate_per_sec: 0.0,
        hold: Duration::ZERO,
        attach_timeout: Duration::from_secs(10),
    })
    .unwrap();
    let mut first = connect(server.port());
    let mut second = connect(server.port());
    for socket in [&mut first, &mut second] {
        let connected = next_frame(socket);
        assert_eq!(connected["action"], 4);
        assert!(connected["connectionDetails"]["connectionKey"].is_string());
    }
    attach(&mut first, 0);
    attach(&mut first, 1);
    for channel in 0..2 {
        let attached = next_frame(&mut first);
        assert_eq!(attached["action"], 11);
        assert_eq!(attached["channel"], channel_name(channel));
    }
    // Nothing is played until the last channel is attached, on the second connection.
    attach(&mut second, 2);
    assert_eq!(next_frame(&mut second)["action"], 11);

    let mut sequences = Vec::new();
    let mut ends = 0;
    for (socket, channels_here) in [(&mut first, 2), (&mut second, 1)] {
        let mut ended_here = 0;
        while ended_here < channels_here {
            let frame = next_frame(socket);
            assert_eq!(frame["action"], 15);
            let message = &frame["messages"][0];
            let data: Value = serde_json::from_str(message["data"].as_str().unwrap()).unwrap();
            if message["name"] == END_EVENT {
                assert_eq!(data["total"], 7);
                ended_here += 1;
                continue;
            }
            let sequence: u64 = data["messageId"].as_str().unwrap()[4..].parse().unwrap();
            let channel = (sequence % 3) as usize;
            assert_eq!(frame["channel"], channel_name(channel));
            assert!(data["sentNs"].as_str().unwrap().parse::<u64>().unwrap() > 0);
            sequences.push(sequence);
        }
        ends += ended_here;
    }
    assert_eq!(ends, 3);
    sequences.sort_unstable();
    assert_eq!(sequences, (0..7).collect::<Vec<_>>());
    let outcome = server.finish();
    assert_eq!(
        outcome,
        ScriptOutcome {
            connections: 2,
            sent: 7,
            all_attached: true
        }
    );
}

#[test]
fn a_steady_script_spaces_its_messages() {
    let server = ScriptServer::start(Script {
        channels: 1,
        messages: 5,
        rate_per_sec: 50.0,
        hold: Duration::ZERO,
        attach_timeout: Duration::from_secs(10),
    })
    .unwrap();
    let mut socket = connect(server.port());
    next_frame(&mut socket);
    attach(&mut socket, 0);
    next_frame(&mut socket);
    let mut stamps = Vec::new();
    loop {
        let frame = next_frame(&mut socket);
        let message = &frame["messages"][0];
        if message["name"] == END_EVENT {
            break;
        }
        let data: Value = serde_json::from_str(message["data"].as_str().unwrap()).unwrap();
        stamps.push(data["sentNs"].as_str().unwrap().parse::<u64>().unwrap());
    }
    assert_eq!(stamps.len(), 5);
    // 50 msg/s: the fifth is sent 80 ms after the first, never before.
    assert!(stamps[4] - stamps[0] >= 80_000_000, "{stamps:?}");
}

#[test]
fn frames_carry_their_length_in_the_right_form() {
    assert_eq!(text_frame(b"hi"), [0x81, 2, b'h', b'i']);
    let medium = text_frame(&[b'x'; 300]);
    assert_eq!(&medium[..4], &[0x81, 126, 1, 44]);
    assert_eq!(medium.len(), 304);
    let large = text_frame(&vec![b'x'; 70_000]);
    assert_eq!(&large[..2], &[0x81, 127]);
    assert_eq!(large.len(), 70_010);
}

#[test]
fn a_client_that_never_attaches_everything_leaves_the_script_unplayed() {
    let server = ScriptServer::start(Script {
        channels: 2,
        messages: 3,
        rate_per_sec: 0.0,
        hold: Duration::ZERO,
        attach_timeout: Duration::from_millis(300),
    })
    .unwrap();
    let mut socket = connect(server.port());
    next_frame(&mut socket);
    attach(&mut socket, 0);
    next_frame(&mut socket);
    // Past the attach timeout, and nothing was played on the one channel attached.
    socket
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    assert!(socket.read().is_err(), "no frame may arrive");
    let outcome = server.finish();
    assert!(!outcome.all_attached);
    assert_eq!(outcome.sent, 0);
}
