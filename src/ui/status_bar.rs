//! The status bar: connection state in words, channels, unsent replies, the keys that work
//! here (from the keymap). Also the reconnecting banner.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::action::Command;
use crate::app::state::{AppState, ConnectionStatus};
use crate::config::theme::{Role, Theme};
use crate::input::Keymap;

use super::text::truncate;

pub fn connection_words(state: &AppState) -> (String, bool) {
    if let Some(reason) = state.polling_reason() {
        return (format!("polling — {reason}"), false);
    }
    let (connection, attempts) = state.connection_summary();
    let words = match connection {
        ConnectionStatus::Connected => "connected".to_owned(),
        ConnectionStatus::Initialized | ConnectionStatus::Connecting if attempts == 0 => {
            "connecting".to_owned()
        }
        ConnectionStatus::Initialized
        | ConnectionStatus::Connecting
        | ConnectionStatus::Disconnected => {
            format!("reconnecting (attempt {})", attempts.max(1))
        }
        ConnectionStatus::Suspended => format!("offline — still retrying (attempt {attempts})"),
        ConnectionStatus::Closing | ConnectionStatus::Closed => "closed".to_owned(),
        ConnectionStatus::Failed => "failed".to_owned(),
    };
    (words, connection == ConnectionStatus::Connected)
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, keymap: &Keymap) {
    let (words, healthy) = connection_words(state);
    // Polling's reason is in the banner; here one word, in place of the transport's.
    let (words, transport) = match state.polling_reason() {
        Some(_) => ("polling".to_owned(), String::new()),
        None => (words, " websocket ·".to_owned()),
    };
    let mut spans = vec![
        Span::styled(
            format!(" {words} "),
            theme.role(if healthy {
                Role::StatusOk
            } else {
                Role::StatusBad
            }),
        ),
        Span::styled(
            format!("{transport} {} channels", state.attached.len()),
            theme.role(Role::Status),
        ),
    ];
    let unsent = state.outbox.len();
    let unsent_role = if unsent > 0 {
        Role::StatusBad
    } else {
        Role::Status
    };
    spans.push(Span::styled(
        format!(" · {unsent} unsent "),
        theme.role(unsent_role),
    ));
    if state.read_only {
        spans.push(Span::styled(
            " · read-only: nothing is sent ",
            theme.role(Role::StatusBad),
        ));
    }
    let hints = hints(state, keymap);
    let used: usize = spans.iter().map(Span::width).sum();
    let room = usize::from(area.width).saturating_sub(used + 1);
    spans.push(Span::styled(
        truncate(&format!(" {}", hints.join("  ")), room),
        theme.role(Role::Status),
    ));
    let padding = usize::from(area.width).saturating_sub(spans.iter().map(Span::width).sum());
    spans.push(Span::styled(" ".repeat(padding), theme.role(Role::Status)));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The keys that work here, from the keymap, in words.
fn hints(state: &AppState, keymap: &Keymap) -> Vec<String> {
    let here = super::key_context(state);
    [
        Command::Help,
        Command::NextPane,
        Command::Open,
        Command::FocusComposer,
        Command::Send,
        Command::MostUrgent,
        Command::ToggleSort,
        Command::Filter,
        Command::NextPanel,
        Command::Board,
        Command::Quit,
    ]
    .iter()
    .filter(|command| match state.focus {
        // Tab means the next panel there, and the rest is the broker's.
        crate::app::state::Focus::Board => !matches!(
            command,
            Command::NextPane | Command::FocusComposer | Command::Send | Command::MostUrgent
        ),
        _ => !matches!(
            command,
            Command::NextPanel | Command::ToggleSort | Command::Filter
        ),
    })
    .filter_map(|command| {
        let key = keymap.key_for(here, command)?;
        let word = match command {
            Command::Help => "help",
            Command::NextPane => "pane",
            Command::Open => "open",
            Command::FocusComposer => "reply",
            Command::Send => "send",
            Command::MostUrgent => "urgent",
            Command::ToggleSort => "sort",
            Command::Filter => "filter",
            Command::NextPanel => "panel",
            Command::Board => "board",
            Command::Quit => "quit",
            _ => return None,
        };
        Some(format!("{key} {word}"))
    })
    .collect()
}

/// One line above everything while the connection is not healthy, or a notice.
pub fn banner(state: &AppState) -> Option<String> {
    if let Some(reason) = state.polling_reason() {
        return Some(format!(
            "Polling every few seconds — {reason}; messages come later, replies are sent"
        ));
    }
    let (words, healthy) = connection_words(state);
    if !healthy {
        let unsent = state.outbox.len();
        let queued = if unsent > 0 {
            format!(
                " — {unsent} repl{} will be sent when back",
                if unsent == 1 { "y" } else { "ies" }
            )
        } else {
            String::new()
        };
        return Some(format!("Connection {words}{queued}"));
    }
    state.notice.clone()
}

#[cfg(test)]
mod tests {
    use super::connection_words;
    use crate::app::state::{AppState, ConnectionStatus, Identity, ShardConnection};

    fn with(connections: &[(ConnectionStatus, u32)]) -> AppState {
        let me = Identity {
            broker_id: "7".into(),
            broker_name: "Sam".into(),
        };
        let mut state = AppState::new(me, false, Default::default(), 0);
        for (shard, (status, attempts)) in connections.iter().enumerate() {
            let connection = ShardConnection {
                state: *status,
                attempts: *attempts,
                ..ShardConnection::new()
            };
            state.connections.insert(shard, connection);
        }
        state
    }

    #[test]
    fn polling_is_said_with_its_reason_and_stands_out() {
        let mut state = with(&[(ConnectionStatus::Disconnected, 2)]);
        if let Some(connection) = state.connections.get_mut(&0) {
            connection.polling = Some("WebSocket refused 3 times in a row".to_owned());
        }
        let (words, healthy) = connection_words(&state);
        assert_eq!(words, "polling — WebSocket refused 3 times in a row");
        assert!(!healthy);
        let banner = super::banner(&state).unwrap_or_default();
        assert!(banner.contains("replies are sent"), "{banner}");
    }

    #[test]
    fn the_worst_connection_is_said_in_words() {
        let connected = with(&[(ConnectionStatus::Connected, 0)]);
        assert_eq!(connection_words(&connected), ("connected".to_owned(), true));
        let one_down = with(&[
            (ConnectionStatus::Connected, 0),
            (ConnectionStatus::Connecting, 2),
        ]);
        assert_eq!(
            connection_words(&one_down),
            ("reconnecting (attempt 2)".to_owned(), false)
        );
        let suspended = with(&[(ConnectionStatus::Suspended, 7)]);
        assert_eq!(
            connection_words(&suspended).0,
            "offline — still retrying (attempt 7)"
        );
    }
}
