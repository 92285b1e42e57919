//! The keymap as data: context → key → command, each with a description. Help and the
//! status bar's hints are generated from it, so what is shown is what works.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::action::Command;

/// Where focus is; each has its own bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Inbox,
    Conversation,
    Composer,
    Suggestions,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Self::Global => "Anywhere",
            Self::Inbox => "Inbox",
            Self::Conversation => "Conversation",
            Self::Composer => "Composer",
            Self::Suggestions => "Quick replies",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    const fn with(code: KeyCode, modifiers: KeyModifiers) -> Self {
        Self { code, modifiers }
    }

    pub fn matches(&self, event: &KeyEvent) -> bool {
        // Shift is part of the character for letters and symbols ('?' is Shift+/).
        let modifiers = match event.code {
            KeyCode::Char(_) => event.modifiers - KeyModifiers::SHIFT,
            _ => event.modifiers,
        };
        event.code == self.code && modifiers == self.modifiers
    }

    /// The key spelled in words, for help and for speech output.
    pub fn words(&self) -> String {
        let mut parts = Vec::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            parts.push("Ctrl".to_owned());
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            parts.push("Alt".to_owned());
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            parts.push("Shift".to_owned());
        }
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".to_owned(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Tab => "Tab".to_owned(),
            KeyCode::BackTab => "Shift+Tab".to_owned(),
            KeyCode::Up => "Up".to_owned(),
            KeyCode::Down => "Down".to_owned(),
            KeyCode::PageUp => "PgUp".to_owned(),
            KeyCode::PageDown => "PgDn".to_owned(),
            KeyCode::Home => "Home".to_owned(),
            KeyCode::End => "End".to_owned(),
            other => format!("{other:?}"),
        };
        parts.push(name);
        parts.join("+")
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub context: Context,
    pub key: Key,
    pub command: Command,
    pub description: &'static str,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Command as C;
        use Context::*;
        use KeyCode::*;
        let alt = KeyModifiers::ALT;
        let ctrl = KeyModifiers::CONTROL;
        let shift = KeyModifiers::SHIFT;
        let mut bindings = vec![
            (Global, Key::plain(Tab), C::NextPane, "next pane"),
            (
                Global,
                Key::plain(BackTab),
                C::PreviousPane,
                "previous pane",
            ),
            (
                Global,
                Key::with(Char('a'), alt),
                C::MostUrgent,
                "jump to the most urgent conversation",
            ),
            (
                Global,
                Key::with(Char('j'), alt),
                C::NextConversation,
                "next conversation",
            ),
            (
                Global,
                Key::with(Char('k'), alt),
                C::PreviousConversation,
                "previous conversation",
            ),
            (Global, Key::with(Char('c'), ctrl), C::Quit, "quit"),
            (Inbox, Key::plain(Char('j')), C::Down, "next conversation"),
            (Inbox, Key::plain(Down), C::Down, "next conversation"),
            (Inbox, Key::plain(Char('k')), C::Up, "previous conversation"),
            (Inbox, Key::plain(Up), C::Up, "previous conversation"),
            (
                Inbox,
                Key::plain(Enter),
                C::Open,
                "open the selected conversation",
            ),
            (
                Inbox,
                Key::plain(Char('i')),
                C::FocusComposer,
                "reply to the selected conversation",
            ),
            (
                Inbox,
                Key::plain(Char('r')),
                C::FocusComposer,
                "reply to the selected conversation",
            ),
            (
                Inbox,
                Key::plain(Char('u')),
                C::MostUrgent,
                "jump to the most urgent conversation",
            ),
            (
                Inbox,
                Key::plain(Char('/')),
                C::Filter,
                "filter the inbox (! inverts)",
            ),
            (
                Inbox,
                Key::plain(Char('o')),
                C::ToggleSort,
                "switch between urgency order and name order",
            ),
            (Inbox, Key::plain(Char('?')), C::Help, "help"),
            (
                Inbox,
                Key::plain(Char('q')),
                C::Quit,
                "quit (asks first when replies are unsent)",
            ),
            (Conversation, Key::plain(Char('j')), C::Down, "next message"),
            (Conversation, Key::plain(Down), C::Down, "next message"),
            (
                Conversation,
                Key::plain(Char('k')),
                C::Up,
                "previous message",
            ),
            (Conversation, Key::plain(Up), C::Up, "previous message"),
            (
                Conversation,
                Key::plain(PageUp),
                C::PageUp,
                "scroll up a page (loads older messages)",
            ),
            (
                Conversation,
                Key::plain(PageDown),
                C::PageDown,
                "scroll down a page",
            ),
            (Conversation, Key::plain(Home), C::Top, "oldest message"),
            (Conversation, Key::plain(End), C::Bottom, "back to live"),
            (
                Conversation,
                Key::plain(Char('i')),
                C::FocusComposer,
                "write a reply",
            ),
            (
                Conversation,
                Key::plain(Char('r')),
                C::Reply,
                "write a reply, or retry failed replies",
            ),
            (
                Conversation,
                Key::plain(Char('u')),
                C::MostUrgent,
                "jump to the most urgent conversation",
            ),
            (Conversation, Key::plain(Esc), C::Back, "back to the inbox"),
            (Conversation, Key::plain(Char('?')), C::Help, "help"),
            (
                Conversation,
                Key::plain(Char('q')),
                C::Quit,
                "quit (asks first when replies are unsent)",
            ),
            (Composer, Key::plain(Enter), C::Send, "send the reply"),
            (Composer, Key::with(Enter, alt), C::Newline, "new line"),
            (
                Composer,
                Key::with(Enter, shift),
                C::Newline,
                "new line (terminals with the keyboard protocol)",
            ),
            (Composer, Key::with(Char('j'), ctrl), C::Newline, "new line"),
            (
                Composer,
                Key::plain(Esc),
                C::Back,
                "leave the composer, keeping the draft",
            ),
            (
                Composer,
                Key::plain(Tab),
                C::FocusSuggestions,
                "choose a quick reply",
            ),
            (
                Suggestions,
                Key::plain(Enter),
                C::PickSuggestion(None),
                "put the highlighted quick reply in the composer",
            ),
            (Suggestions, Key::plain(Down), C::Down, "next quick reply"),
            (Suggestions, Key::plain(Up), C::Up, "previous quick reply"),
            (
                Suggestions,
                Key::plain(Esc),
                C::Back,
                "back to the composer",
            ),
        ];
        for digit in 1..=9u8 {
            let key = Char(char::from(b'0' + digit));
            bindings.push((
                Global,
                Key::with(key, alt),
                C::PickSuggestion(Some(digit)),
                "put quick reply N in the composer",
            ));
            bindings.push((
                Suggestions,
                Key::plain(key),
                C::PickSuggestion(Some(digit)),
                "put quick reply N in the composer",
            ));
        }
        Self {
            bindings: bindings
                .into_iter()
                .map(|(context, key, command, description)| Binding {
                    context,
                    key,
                    command,
                    description,
                })
                .collect(),
        }
    }
}

impl Keymap {
    /// The command for a key in a context; the context's own bindings win over global ones.
    pub fn lookup(&self, context: Context, event: &KeyEvent) -> Option<Command> {
        let find = |wanted: Context| {
            self.bindings
                .iter()
                .find(|binding| binding.context == wanted && binding.key.matches(event))
                .map(|binding| binding.command.clone())
        };
        find(context).or_else(|| find(Context::Global))
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The first key bound to a command in a context (for hints), in words.
    pub fn key_for(&self, context: Context, command: &Command) -> Option<String> {
        let find = |wanted: Context| {
            self.bindings
                .iter()
                .find(|binding| binding.context == wanted && binding.command == *command)
                .map(|binding| binding.key.words())
        };
        find(context).or_else(|| find(Context::Global))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn context_bindings_win_and_global_ones_apply_everywhere() {
        let keymap = Keymap::default();
        assert_eq!(
            keymap.lookup(Context::Composer, &key(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Command::Send)
        );
        assert_eq!(
            keymap.lookup(Context::Inbox, &key(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Command::Open)
        );
        assert_eq!(
            keymap.lookup(
                Context::Composer,
                &key(KeyCode::Char('a'), KeyModifiers::ALT)
            ),
            Some(Command::MostUrgent)
        );
        assert_eq!(
            keymap.lookup(
                Context::Composer,
                &key(KeyCode::Char('x'), KeyModifiers::NONE)
            ),
            None
        );
        assert_eq!(
            keymap.lookup(
                Context::Inbox,
                &key(KeyCode::Char('?'), KeyModifiers::SHIFT)
            ),
            Some(Command::Help)
        );
        assert_eq!(
            keymap.lookup(
                Context::Composer,
                &key(KeyCode::Char('3'), KeyModifiers::ALT)
            ),
            Some(Command::PickSuggestion(Some(3)))
        );
        assert_eq!(
            keymap.lookup(
                Context::Composer,
                &key(KeyCode::Char('j'), KeyModifiers::CONTROL)
            ),
            Some(Command::Newline)
        );
    }

    #[test]
    fn keys_are_spelled_in_words() {
        assert_eq!(
            Key::with(KeyCode::Char('j'), KeyModifiers::ALT).words(),
            "Alt+j"
        );
        assert_eq!(Key::plain(KeyCode::PageUp).words(), "PgUp");
        assert_eq!(
            Keymap::default()
                .key_for(Context::Composer, &Command::Send)
                .as_deref(),
            Some("Enter")
        );
    }
}
