//! Context and command names as the config file spells them.

use crate::app::action::Command;

use super::Context;

impl Context {
    pub(super) fn parse(name: &str) -> Option<Self> {
        match name {
            "global" => Some(Self::Global),
            "inbox" => Some(Self::Inbox),
            "board" => Some(Self::Board),
            "conversation" => Some(Self::Conversation),
            "composer" => Some(Self::Composer),
            "suggestions" => Some(Self::Suggestions),
            _ => None,
        }
    }
}

impl Command {
    /// Command names for the config file.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "next_pane" => Self::NextPane,
            "previous_pane" => Self::PreviousPane,
            "down" => Self::Down,
            "up" => Self::Up,
            "open" => Self::Open,
            "compose" => Self::FocusComposer,
            "reply" => Self::Reply,
            "back" => Self::Back,
            "next_conversation" => Self::NextConversation,
            "previous_conversation" => Self::PreviousConversation,
            "most_urgent" => Self::MostUrgent,
            "filter" => Self::Filter,
            "toggle_sort" => Self::ToggleSort,
            "page_up" => Self::PageUp,
            "page_down" => Self::PageDown,
            "top" => Self::Top,
            "bottom" => Self::Bottom,
            "send" => Self::Send,
            "newline" => Self::Newline,
            "suggestions" => Self::FocusSuggestions,
            "pick" => Self::PickSuggestion(None),
            "claim" => Self::Claim,
            "release" => Self::Release,
            "pause_ai" => Self::PauseAi,
            "resume_ai" => Self::ResumeAi,
            "snooze" => Self::Snooze,
            "resolve" => Self::Resolve,
            "note" => Self::Note,
            "inbox_view" => Self::InboxView,
            "board" => Self::Board,
            "next_panel" => Self::NextPanel,
            "help" => Self::Help,
            "quit" => Self::Quit,
            other => {
                let digit = other
                    .strip_prefix("pick_")?
                    .parse::<u8>()
                    .ok()
                    .filter(|n| (1..=9).contains(n))?;
                Self::PickSuggestion(Some(digit))
            }
        })
    }
}
