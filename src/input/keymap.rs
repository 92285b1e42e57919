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

/// A mistake in the `[keys]` section of the config, quoting what was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error("[keys]: unknown context {0:?} (global, inbox, conversation, composer, suggestions)")]
    Context(String),
    #[error(
        "[keys.{context}]: cannot read the key {key:?} (e.g. \"x\", \"ctrl+k\", \"alt+enter\", \"pgup\")"
    )]
    Key { context: String, key: String },
    #[error("[keys.{context}]: unknown command {command:?} for {key:?}")]
    Command {
        context: String,
        key: String,
        command: String,
    },
}

impl Context {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "global" => Some(Self::Global),
            "inbox" => Some(Self::Inbox),
            "conversation" => Some(Self::Conversation),
            "composer" => Some(Self::Composer),
            "suggestions" => Some(Self::Suggestions),
            _ => None,
        }
    }
}

impl Key {
    /// Reads `x`, `ctrl+k`, `alt+enter`, `shift+tab`, `pgup`, `f2` (case-insensitive
    /// names; a single character stands for itself).
    pub fn parse(text: &str) -> Option<Self> {
        let mut modifiers = KeyModifiers::NONE;
        let mut parts: Vec<&str> = text.split('+').collect();
        // "+" alone, or "ctrl++", names the plus key.
        if text.ends_with("++") || text == "+" {
            parts.retain(|part| !part.is_empty());
            parts.push("+");
        }
        let name = parts.pop()?;
        for modifier in parts {
            modifiers |= match modifier.to_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" | "meta" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                _ => return None,
            };
        }
        let lower = name.to_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers -= KeyModifiers::SHIFT;
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            function if function.starts_with('f') && function.len() > 1 => KeyCode::F(
                function[1..]
                    .parse()
                    .ok()
                    .filter(|n| (1..=24).contains(n))?,
            ),
            _ => {
                let mut chars = name.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                KeyCode::Char(c)
            }
        };
        Some(Self { code, modifiers })
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

impl Keymap {
    /// The defaults with the config's `[keys.<context>]` tables laid over them: a listed
    /// key runs the named command there (`"none"` unbinds it).
    pub fn with_overrides(
        overrides: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    ) -> Result<Self, KeymapError> {
        let mut keymap = Self::default();
        for (context_name, keys) in overrides {
            let context = Context::parse(context_name)
                .ok_or_else(|| KeymapError::Context(context_name.clone()))?;
            for (key_text, command_name) in keys {
                let key = Key::parse(key_text).ok_or_else(|| KeymapError::Key {
                    context: context_name.clone(),
                    key: key_text.clone(),
                })?;
                keymap
                    .bindings
                    .retain(|binding| !(binding.context == context && binding.key == key));
                if command_name == "none" {
                    continue;
                }
                let command = Command::parse(command_name).ok_or_else(|| KeymapError::Command {
                    context: context_name.clone(),
                    key: key_text.clone(),
                    command: command_name.clone(),
                })?;
                let description = keymap
                    .bindings
                    .iter()
                    .find(|binding| binding.command == command)
                    .map_or("your binding", |binding| binding.description);
                keymap.bindings.insert(
                    0,
                    Binding {
                        context,
                        key,
                        command,
                        description,
                    },
                );
            }
        }
        Ok(keymap)
    }

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
    fn the_config_rebinds_and_unbinds_keys() {
        let overrides: std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, String>,
        > = toml::from_str(
            r#"
            [inbox]
            "x" = "open"
            "q" = "none"
            [composer]
            "ctrl+s" = "send"
            "alt+2" = "pick_2"
            "#,
        )
        .unwrap();
        let keymap = Keymap::with_overrides(&overrides).unwrap();
        assert_eq!(
            keymap.lookup(Context::Inbox, &key(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Command::Open)
        );
        assert_eq!(
            keymap.lookup(Context::Inbox, &key(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            keymap.lookup(
                Context::Composer,
                &key(KeyCode::Char('s'), KeyModifiers::CONTROL)
            ),
            Some(Command::Send)
        );
        assert_eq!(
            keymap.lookup(Context::Composer, &key(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Command::Send),
            "defaults stay"
        );
        assert!(
            keymap
                .bindings()
                .iter()
                .any(|b| b.key.words() == "x" && b.description == "open the selected conversation")
        );
    }

    #[test]
    fn keymap_mistakes_quote_the_offending_value() {
        let table = |context: &str, key: &str, command: &str| {
            let mut inner = std::collections::BTreeMap::new();
            inner.insert(key.to_owned(), command.to_owned());
            let mut outer = std::collections::BTreeMap::new();
            outer.insert(context.to_owned(), inner);
            outer
        };
        assert_eq!(
            Keymap::with_overrides(&table("inbx", "x", "open")).unwrap_err(),
            KeymapError::Context("inbx".into())
        );
        assert!(
            matches!(Keymap::with_overrides(&table("inbox", "hyper+x", "open")), Err(KeymapError::Key { key, .. }) if key == "hyper+x")
        );
        assert!(
            matches!(Keymap::with_overrides(&table("inbox", "x", "opne")), Err(KeymapError::Command { command, .. }) if command == "opne")
        );
        assert_eq!(Key::parse("shift+tab"), Some(Key::plain(KeyCode::BackTab)));
        assert_eq!(Key::parse("F2"), Some(Key::plain(KeyCode::F(2))));
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
