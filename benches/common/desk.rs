//! A broker's desk built through the reducer, for the benchmarks that draw or update it:
//! `conversations` conversations of `per_conversation` messages each (customers' and the
//! AI's, as the demo sends them), and an SLA warning on every seventh.

use brokerdash::app::action::Action;
use brokerdash::app::state::{AppState, Identity};
use brokerdash::app::update::update;
use brokerdash::protocol::data::Payload;
use brokerdash::realtime::{InboundMessage, NetEvent};
use serde_json::json;

pub const T0: i64 = 1_800_000_000_000;

pub fn message(channel: &str, name: &str, data: serde_json::Value) -> Action {
    Action::from_net(NetEvent::Message {
        shard: 0,
        channel: channel.to_owned(),
        message: InboundMessage {
            id: String::new(),
            name: Some(name.to_owned()),
            payload: Payload::Json(data),
            encoding_error: None,
            client_id: None,
            connection_id: None,
            timestamp: None,
            from_history: false,
        },
    })
}

pub fn desk(conversations: usize, per_conversation: usize) -> AppState {
    let me = Identity {
        broker_id: "7".into(),
        broker_name: "Sam".into(),
    };
    let mut state = AppState::new(me, false, Default::default(), T0);
    for c in 0..conversations {
        let channel = format!("conversation:{c}");
        for m in 0..per_conversation {
            let (name, data) = if m % 3 == 2 {
                (
                    "message:ai",
                    json!({"messageId": format!("{c}-{m}"), "content": "Thanks for the details; a fixed rate for three years looks like the best fit for your budget.", "persona": "friendly", "timestamp": T0 - 1_000_000 + m as i64}),
                )
            } else {
                (
                    "message:user",
                    json!({"messageId": format!("{c}-{m}"), "content": "Could you tell me what the repayments would be on 450k over 30 years? We are also thinking about offsetting.", "timestamp": T0 - 1_000_000 + m as i64}),
                )
            };
            update(&mut state, message(&channel, name, data));
        }
        if c % 7 == 0 {
            update(
                &mut state,
                message(
                    &channel,
                    "sla:warning",
                    json!({"threshold": 45000, "actual": 50000, "severity": "warning"}),
                ),
            );
        }
    }
    state
}
