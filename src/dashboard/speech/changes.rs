//! Things that change in place (the connection, who is typing, a reply's delivery), said
//! once per change, as lines the verbosity settings choose from like any other.

use std::collections::HashMap;

use crate::app::conversation::Delivery;
use crate::app::state::AppState;
use crate::protocol::events::ConversationId;
use crate::ui::connection_words;
use crate::ui::spoken::Said;
use crate::ui::spoken::verbosity::Kind;

/// What was last said about each thing that changes in place.
#[derive(Default)]
pub(super) struct Changes {
    connection: String,
    typing: HashMap<ConversationId, bool>,
    deliveries: HashMap<String, Delivery>,
}

/// Deliveries are looked at among each conversation's newest messages only.
const RECENT: usize = 20;

impl Changes {
    pub fn since_last(&mut self, state: &AppState) -> Vec<Said> {
        let mut said = Vec::new();
        let (words, _) = connection_words(state);
        if words != self.connection {
            said.push(Said::always(format!("Connection {words}")));
            self.connection = words;
        }
        for conversation in state.conversations.values() {
            let typing = conversation.typing.is_some();
            let before = self
                .typing
                .insert(conversation.id.clone(), typing)
                .unwrap_or(false);
            if typing != before {
                let text = format!(
                    "{} {} typing, conversation {}",
                    conversation.title(),
                    if typing { "is" } else { "stopped" },
                    conversation.id
                );
                said.push(Said {
                    kind: Some(Kind::Typing),
                    conversation: Some(conversation.id.clone()),
                    ..Said::always(text)
                });
            }
            for message in conversation.messages.iter().rev().take(RECENT) {
                let Some(delivery) = message.delivery else {
                    continue;
                };
                let before = self.deliveries.insert(message.id.clone(), delivery);
                if before.is_none() || before == Some(delivery) || delivery == Delivery::Read {
                    continue;
                }
                let text = format!(
                    "Your reply to {} is {}",
                    conversation.title(),
                    delivery.words()
                );
                // A refused reply is said whatever the settings: it needs you.
                let kind = (delivery != Delivery::Failed).then_some(Kind::Receipts);
                said.push(Said {
                    kind,
                    conversation: Some(conversation.id.clone()),
                    ..Said::always(text)
                });
            }
        }
        said
    }
}
