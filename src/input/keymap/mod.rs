//! The keymap as data: context → key → command, each with a description. Help and the
//! status bar's hints are generated from it, so what is shown is what works.

mod defaults;
mod key;
mod names;

use crossterm::event::KeyEvent;

use crate::app::action::Command;

pub use key::Key;

/// Where focus is; each has its own bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Inbox,
    Conversation,
    Composer,
    Suggestions,
    Board,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Self::Global => "Anywhere",
            Self::Inbox => "Inbox",
            Self::Conversation => "Conversation",
            Self::Composer => "Composer",
            Self::Suggestions => "Quick replies",
            Self::Board => "Supervisor board",
        }
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
        let table = defaults::DEFAULTS.iter().cloned();
        let bindings = table
            .chain(defaults::quick_reply_digits())
            .map(|(context, key, command, description)| Binding {
                context,
                key,
                command,
                description,
            })
            .collect();
        Self { bindings }
    }
}

/// A mistake in the `[keys]` section of the config, quoting what was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error(
        "[keys]: unknown context {0:?} (global, inbox, conversation, composer, suggestions, board)"
    )]
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
mod tests;
