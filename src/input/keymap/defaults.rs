//! The default bindings, as a table: context, key, command, and the description shown in
//! help and hints.

use crossterm::event::KeyCode::{
    BackTab, Char, Down, End, Enter, Esc, Home, PageDown, PageUp, Tab, Up,
};
use crossterm::event::KeyModifiers;

use super::Context::{self, Board, Composer, Conversation, Global, Inbox, Suggestions};
use super::key::Key;
use crate::app::action::Command;
use crate::app::action::Command as C;

const ALT: KeyModifiers = KeyModifiers::ALT;
const CONTROL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

const fn plain(code: crossterm::event::KeyCode) -> Key {
    Key::plain(code)
}

const fn with(code: crossterm::event::KeyCode, modifiers: KeyModifiers) -> Key {
    Key::with(code, modifiers)
}

pub(super) const DEFAULTS: &[(Context, Key, Command, &str)] = &[
    (Global, plain(Tab), C::NextPane, "next pane"),
    (Global, plain(BackTab), C::PreviousPane, "previous pane"),
    (
        Global,
        with(Char('a'), ALT),
        C::MostUrgent,
        "jump to the most urgent conversation",
    ),
    (
        Global,
        with(Char('j'), ALT),
        C::NextConversation,
        "next conversation",
    ),
    (
        Global,
        with(Char('k'), ALT),
        C::PreviousConversation,
        "previous conversation",
    ),
    (Global, with(Char('c'), CONTROL), C::Quit, "quit"),
    (Inbox, plain(Char('j')), C::Down, "next conversation"),
    (Inbox, plain(Down), C::Down, "next conversation"),
    (Inbox, plain(Char('k')), C::Up, "previous conversation"),
    (Inbox, plain(Up), C::Up, "previous conversation"),
    (
        Inbox,
        plain(Enter),
        C::Open,
        "open the selected conversation",
    ),
    (
        Inbox,
        plain(Char('i')),
        C::FocusComposer,
        "reply to the selected conversation",
    ),
    (
        Inbox,
        plain(Char('r')),
        C::FocusComposer,
        "reply to the selected conversation",
    ),
    (
        Inbox,
        plain(Char('u')),
        C::MostUrgent,
        "jump to the most urgent conversation",
    ),
    (
        Inbox,
        plain(Char('/')),
        C::Filter,
        "filter the inbox (! inverts)",
    ),
    (
        Inbox,
        plain(Char('o')),
        C::ToggleSort,
        "switch between urgency order and name order",
    ),
    (
        Inbox,
        plain(Char('c')),
        C::Claim,
        "claim the conversation (broker:claim)",
    ),
    (
        Inbox,
        plain(Char('C')),
        C::Release,
        "release your claim (broker:release)",
    ),
    (
        Inbox,
        plain(Char('t')),
        C::PauseAi,
        "take over: pause the AI (ai:pause)",
    ),
    (
        Inbox,
        plain(Char('T')),
        C::ResumeAi,
        "let the AI answer again (ai:resume)",
    ),
    (
        Inbox,
        plain(Char('z')),
        C::Snooze,
        "snooze (30m, 1h, tomorrow 9:00…); again: open",
    ),
    (Inbox, plain(Char('x')), C::Resolve, "resolve; again: open"),
    (
        Inbox,
        plain(Char('n')),
        C::Note,
        "write a private note for the brokers",
    ),
    (
        Inbox,
        plain(Char('v')),
        C::InboxView,
        "show all, open, snoozed or resolved conversations",
    ),
    (Inbox, plain(Char('s')), C::Board, "the supervisor board"),
    (Inbox, plain(Char('?')), C::Help, "help"),
    (
        Inbox,
        plain(Char('q')),
        C::Quit,
        "quit (asks first when replies are unsent)",
    ),
    (Conversation, plain(Char('j')), C::Down, "next message"),
    (Conversation, plain(Down), C::Down, "next message"),
    (Conversation, plain(Char('k')), C::Up, "previous message"),
    (Conversation, plain(Up), C::Up, "previous message"),
    (
        Conversation,
        plain(PageUp),
        C::PageUp,
        "scroll up a page (loads older messages)",
    ),
    (
        Conversation,
        plain(PageDown),
        C::PageDown,
        "scroll down a page",
    ),
    (Conversation, plain(Home), C::Top, "oldest message"),
    (Conversation, plain(End), C::Bottom, "back to live"),
    (
        Conversation,
        plain(Char('i')),
        C::FocusComposer,
        "write a reply",
    ),
    (
        Conversation,
        plain(Char('r')),
        C::Reply,
        "write a reply, or retry failed replies",
    ),
    (
        Conversation,
        plain(Char('u')),
        C::MostUrgent,
        "jump to the most urgent conversation",
    ),
    (Conversation, plain(Esc), C::Back, "back to the inbox"),
    (
        Conversation,
        plain(Char('c')),
        C::Claim,
        "claim the conversation (broker:claim)",
    ),
    (
        Conversation,
        plain(Char('C')),
        C::Release,
        "release your claim (broker:release)",
    ),
    (
        Conversation,
        plain(Char('t')),
        C::PauseAi,
        "take over: pause the AI (ai:pause)",
    ),
    (
        Conversation,
        plain(Char('T')),
        C::ResumeAi,
        "let the AI answer again (ai:resume)",
    ),
    (
        Conversation,
        plain(Char('z')),
        C::Snooze,
        "snooze (30m, 1h, tomorrow 9:00…); again: open",
    ),
    (
        Conversation,
        plain(Char('x')),
        C::Resolve,
        "resolve; again: open",
    ),
    (
        Conversation,
        plain(Char('n')),
        C::Note,
        "write a private note for the brokers",
    ),
    (
        Conversation,
        plain(Char('s')),
        C::Board,
        "the supervisor board",
    ),
    (Conversation, plain(Char('?')), C::Help, "help"),
    (
        Conversation,
        plain(Char('q')),
        C::Quit,
        "quit (asks first when replies are unsent)",
    ),
    (Composer, plain(Enter), C::Send, "send the reply"),
    (Composer, with(Enter, ALT), C::Newline, "new line"),
    (
        Composer,
        with(Enter, SHIFT),
        C::Newline,
        "new line (terminals with the keyboard protocol)",
    ),
    (Composer, with(Char('j'), CONTROL), C::Newline, "new line"),
    (
        Composer,
        with(Char('t'), ALT),
        C::PauseAi,
        "pause the AI before replying (ai:pause)",
    ),
    (
        Composer,
        plain(Esc),
        C::Back,
        "leave the composer, keeping the draft",
    ),
    (
        Composer,
        plain(Tab),
        C::FocusSuggestions,
        "choose a quick reply",
    ),
    (
        Suggestions,
        plain(Enter),
        C::PickSuggestion(None),
        "put the highlighted quick reply in the composer",
    ),
    (Suggestions, plain(Down), C::Down, "next quick reply"),
    (Suggestions, plain(Up), C::Up, "previous quick reply"),
    (Suggestions, plain(Esc), C::Back, "back to the composer"),
    (Board, plain(Char('j')), C::Down, "next conversation"),
    (Board, plain(Down), C::Down, "next conversation"),
    (Board, plain(Char('k')), C::Up, "previous conversation"),
    (Board, plain(Up), C::Up, "previous conversation"),
    (Board, plain(PageDown), C::PageDown, "a page down"),
    (Board, plain(PageUp), C::PageUp, "a page up"),
    (
        Board,
        plain(Enter),
        C::Open,
        "open the selected conversation",
    ),
    (
        Board,
        plain(Char('o')),
        C::ToggleSort,
        "sort: urgency, deadline, waiting, name",
    ),
    (
        Board,
        plain(Char('/')),
        C::Filter,
        "filter (state:breach, broker:alex, any word)",
    ),
    (
        Board,
        plain(Tab),
        C::NextPanel,
        "next panel: conversations, alerts, charts, health",
    ),
    (Board, plain(Char('s')), C::Board, "back to the inbox"),
    (Board, plain(Esc), C::Board, "back to the inbox"),
    (Board, plain(Char('?')), C::Help, "help"),
    (
        Board,
        plain(Char('q')),
        C::Quit,
        "quit (asks first when replies are unsent)",
    ),
];

/// Alt+1…9 anywhere and 1…9 among the quick replies pick quick reply N.
pub(super) fn quick_reply_digits() -> impl Iterator<Item = (Context, Key, Command, &'static str)> {
    (1..=9u8).flat_map(|digit| {
        let key = Char(char::from(b'0' + digit));
        let pick = C::PickSuggestion(Some(digit));
        let description = "put quick reply N in the composer";
        [
            (Global, with(key, ALT), pick.clone(), description),
            (Suggestions, plain(key), pick, description),
        ]
    })
}
