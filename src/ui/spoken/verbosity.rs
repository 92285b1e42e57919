//! What the screen-reader mode says, by kind of event and by scope: the open conversation,
//! the conversations you replied to, and all the others. Set by the config's
//! `[screen_reader] verbosity` list and by the `verbosity` command, in one grammar:
//! `verbosity [SCOPE] [KIND] LEVEL`.

use std::fmt;

use crate::app::conversation::Sender;
use crate::app::state::AppState;
use crate::protocol::events::ConversationId;

/// Where an event happened, as far as speech is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The conversation open at the prompt.
    Open,
    /// A conversation you replied to.
    Mine,
    /// Any other.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customer,
    Ai,
    Broker,
    Typing,
    Presence,
    Receipts,
    Sla,
}

/// How much is said: nothing, a brief line (first line and length), or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off,
    Brief,
    Full,
}

const SCOPES: [Scope; 3] = [Scope::Open, Scope::Mine, Scope::All];
const KINDS: [Kind; 7] = [
    Kind::Customer,
    Kind::Ai,
    Kind::Broker,
    Kind::Typing,
    Kind::Presence,
    Kind::Receipts,
    Kind::Sla,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verbosity {
    /// `levels[scope][kind]`.
    levels: [[Level; 7]; 3],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerbosityError {
    #[error(
        "verbosity needs a level (off, brief, full, quiet or default), after an optional scope \
         (open, mine, all) and kind (customer, ai, broker, typing, presence, receipts, sla): {0:?}"
    )]
    Unreadable(String),
}

impl Default for Verbosity {
    /// Everything for the open conversation; for the rest customer messages (brief unless
    /// you replied there) and SLA crossings; your replies' receipts where you replied.
    fn default() -> Self {
        use Level::{Brief, Full, Off};
        Self {
            levels: [
                [Full; 7],
                [Full, Off, Off, Off, Off, Full, Full],
                [Brief, Off, Off, Off, Off, Off, Full],
            ],
        }
    }
}

impl Scope {
    pub fn of(state: &AppState, conversation: &ConversationId) -> Self {
        if state.open.as_ref() == Some(conversation) {
            return Self::Open;
        }
        let replied = state
            .conversations
            .get(conversation)
            .is_some_and(|c| c.messages.iter().any(|m| m.sender == Sender::Me));
        if replied { Self::Mine } else { Self::All }
    }

    fn index(self) -> usize {
        match self {
            Self::Open => 0,
            Self::Mine => 1,
            Self::All => 2,
        }
    }

    fn parse(word: &str) -> Option<Self> {
        match word {
            "open" => Some(Self::Open),
            "mine" => Some(Self::Mine),
            "all" | "others" => Some(Self::All),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Mine => "mine",
            Self::All => "all",
        }
    }
}

impl Kind {
    fn index(self) -> usize {
        KINDS.iter().position(|kind| *kind == self).unwrap_or(0)
    }

    fn parse(word: &str) -> Option<Self> {
        KINDS.into_iter().find(|kind| kind.name() == word)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Ai => "ai",
            Self::Broker => "broker",
            Self::Typing => "typing",
            Self::Presence => "presence",
            Self::Receipts => "receipts",
            Self::Sla => "sla",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Off => "off",
            Self::Brief => "brief",
            Self::Full => "full",
        })
    }
}

impl Verbosity {
    pub fn level(&self, scope: Scope, kind: Kind) -> Level {
        self.levels[scope.index()][kind.index()]
    }

    /// Applies one setting: `[SCOPE] [KIND] LEVEL`, where LEVEL is `off`, `brief`, `full`,
    /// `quiet` (everything off but SLA crossings) or `default`.
    pub fn apply(&mut self, words: &str) -> Result<(), VerbosityError> {
        let unreadable = || VerbosityError::Unreadable(words.to_owned());
        let mut parts: Vec<&str> = words.split_whitespace().collect();
        let level_word = parts.pop().ok_or_else(unreadable)?;
        let mut scopes: Vec<Scope> = SCOPES.to_vec();
        let mut kinds: Vec<Kind> = KINDS.to_vec();
        for part in parts {
            if let Some(scope) = Scope::parse(part) {
                scopes = vec![scope];
            } else if let Some(kind) = Kind::parse(part) {
                kinds = vec![kind];
            } else {
                return Err(unreadable());
            }
        }
        let defaults = Self::default();
        for scope in scopes {
            for kind in &kinds {
                let level = match level_word {
                    "off" => Level::Off,
                    "brief" => Level::Brief,
                    "full" | "on" => Level::Full,
                    "quiet" if *kind == Kind::Sla => Level::Full,
                    "quiet" => Level::Off,
                    "default" => defaults.level(scope, *kind),
                    _ => return Err(unreadable()),
                };
                self.levels[scope.index()][kind.index()] = level;
            }
        }
        Ok(())
    }

    /// The settings in words, one scope per line.
    pub fn describe(&self) -> Vec<String> {
        SCOPES
            .iter()
            .map(|scope| {
                let kinds: Vec<String> = KINDS
                    .iter()
                    .map(|kind| format!("{} {}", kind.name(), self.level(*scope, *kind)))
                    .collect();
                format!("Verbosity {}: {}", scope.name(), kinds.join(", "))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_say_everything_open_and_little_elsewhere() {
        let verbosity = Verbosity::default();
        for kind in KINDS {
            assert_eq!(verbosity.level(Scope::Open, kind), Level::Full, "{kind:?}");
        }
        assert_eq!(verbosity.level(Scope::All, Kind::Customer), Level::Brief);
        assert_eq!(verbosity.level(Scope::Mine, Kind::Customer), Level::Full);
        for scope in [Scope::Mine, Scope::All] {
            assert_eq!(verbosity.level(scope, Kind::Sla), Level::Full);
            for kind in [Kind::Typing, Kind::Presence, Kind::Ai, Kind::Broker] {
                assert_eq!(
                    verbosity.level(scope, kind),
                    Level::Off,
                    "{scope:?} {kind:?}"
                );
            }
        }
        assert_eq!(verbosity.level(Scope::Mine, Kind::Receipts), Level::Full);
        assert_eq!(verbosity.level(Scope::All, Kind::Receipts), Level::Off);
    }

    #[test]
    fn a_kind_alone_sets_every_scope_and_a_scope_alone_every_kind() {
        let mut verbosity = Verbosity::default();
        verbosity.apply("typing off").unwrap();
        for scope in SCOPES {
            assert_eq!(verbosity.level(scope, Kind::Typing), Level::Off);
        }
        verbosity.apply("all quiet").unwrap();
        assert_eq!(verbosity.level(Scope::All, Kind::Customer), Level::Off);
        assert_eq!(verbosity.level(Scope::All, Kind::Sla), Level::Full);
        assert_eq!(verbosity.level(Scope::Open, Kind::Customer), Level::Full);
        verbosity.apply("mine ai brief").unwrap();
        assert_eq!(verbosity.level(Scope::Mine, Kind::Ai), Level::Brief);
        assert_eq!(verbosity.level(Scope::Open, Kind::Ai), Level::Full);
        verbosity.apply("default").unwrap();
        assert_eq!(verbosity, Verbosity::default());
    }

    #[test]
    fn unreadable_settings_are_refused_and_change_nothing() {
        let mut verbosity = Verbosity::default();
        for words in ["", "typing loud", "everywhere off", "open typing"] {
            assert!(verbosity.apply(words).is_err(), "{words:?}");
        }
        assert_eq!(verbosity, Verbosity::default());
    }

    #[test]
    fn the_settings_read_back_in_words() {
        let lines = Verbosity::default().describe();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[2].starts_with("Verbosity all: customer brief, ai off"),
            "{}",
            lines[2]
        );
    }
}
