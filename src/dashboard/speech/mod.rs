//! The screen-reader front end: no alternate screen, no boxes, no redrawing. Events arrive
//! as one labelled line each, chosen by the verbosity settings; commands are typed at a
//! calm prompt (`prompt`) that holds incoming lines while a command is being typed; the
//! session underneath is the full-screen dashboard's (same loop, same parsed actions, same
//! reducer).
//!
//! On a terminal, keys are read in raw mode and echoed here, so the prompt knows a command
//! is being typed; from a pipe, whole lines are commands.

mod changes;
mod commands;
mod prompt;

use std::io::{IsTerminal, Write};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use crate::app::action::Action;
use crate::app::state::AppState;
use crate::clock::now_ms;
use crate::store::Store;
use crate::ui::spoken::verbosity::{Kind, Verbosity, VerbosityError};
use crate::ui::spoken::{Said, emoji_names, event_line};

use super::session::{FrontEnd, Session};
use super::{DashboardOptions, RunError};
use changes::Changes;
use commands::{ALERTS_KEPT, Desk, Speaking};
use prompt::{Prompt, PromptKey};

/// The screen-reader mode's settings (`[screen_reader]` in the config).
#[derive(Debug, Clone, Default)]
pub struct SpeechOptions {
    /// Verbosity settings applied in order at start, as the `verbosity` command takes them.
    pub verbosity: Vec<String>,
    /// Emoji are spoken as their names.
    pub emoji_names: bool,
}

impl SpeechOptions {
    pub fn verbosity(&self) -> Result<Verbosity, VerbosityError> {
        let mut verbosity = Verbosity::default();
        for setting in &self.verbosity {
            verbosity.apply(setting)?;
        }
        Ok(verbosity)
    }
}

pub async fn run(options: DashboardOptions, store: Store) -> Result<(), RunError> {
    let verbosity = options.speech.verbosity()?;
    let session = Session::start(&options, store)?;
    let (input, _raw) = if std::io::stdin().is_terminal() {
        let raw = crate::terminal::enter_raw_keys()?;
        (Input::Keys(EventStream::new()), Some(raw))
    } else {
        (
            Input::Lines(BufReader::new(tokio::io::stdin()).lines()),
            None,
        )
    };
    let mut speech = Speech {
        out: std::io::stdout(),
        input,
        prompt: Prompt::default(),
        speaking: Speaking {
            verbosity,
            ..Speaking::default()
        },
        changes: Changes::default(),
        emoji_names: options.speech.emoji_names,
    };
    speech.write(
        "brokerdash, screen-reader mode: one line per event, newest last. Type help for commands.\r\n",
    );
    session.run(&mut speech).await
}

enum Input {
    Keys(EventStream),
    Lines(Lines<BufReader<Stdin>>),
}

pub enum SpeechInput {
    Key(PromptKey),
    /// A whole command line (from a pipe).
    Line(String),
}

struct Speech {
    out: std::io::Stdout,
    input: Input,
    prompt: Prompt,
    speaking: Speaking,
    changes: Changes,
    emoji_names: bool,
}

impl Speech {
    fn write(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// Says a line through the prompt (held while a command is being typed).
    fn say(&mut self, line: &str, urgent: bool) {
        let line = if self.emoji_names {
            emoji_names(line)
        } else {
            line.to_owned()
        };
        let out = self.prompt.say(&line, urgent);
        self.write(&out);
    }

    fn offer(&mut self, state: &AppState, said: Said) {
        if said.kind == Some(Kind::Sla) {
            self.speaking.alerts.push_back(said.text.clone());
            if self.speaking.alerts.len() > ALERTS_KEPT {
                self.speaking.alerts.pop_front();
            }
        }
        if let Some((line, urgent)) = said.choose(state, &self.speaking.verbosity) {
            self.say(&line, urgent);
        }
    }

    fn command(&mut self, session: &mut Session, line: &str) {
        for answer in commands::run(session, &mut self.speaking, line.trim()) {
            self.say(&answer, false);
        }
        let released = self.prompt.release();
        self.write(&released);
    }
}

impl Desk for Session {
    fn state(&self) -> &AppState {
        &self.state
    }

    fn apply(&mut self, action: Action) {
        Session::apply(self, action);
    }
}

impl FrontEnd for Speech {
    type Input = SpeechInput;

    async fn next_input(&mut self) -> Result<Option<SpeechInput>, RunError> {
        match &mut self.input {
            // End of input (stdin closed) or an unreadable line: leave as `quit` would.
            Input::Lines(lines) => Ok(lines
                .next_line()
                .await
                .ok()
                .flatten()
                .map(SpeechInput::Line)),
            Input::Keys(keys) => loop {
                match keys.next().await {
                    Some(Ok(Event::Key(key))) => {
                        if let Some(input) = prompt_key(key, self.prompt.typing()) {
                            return Ok(input);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(RunError::Keyboard(error)),
                    None => return Ok(None),
                }
            },
        }
    }

    fn on_input(&mut self, session: &mut Session, input: SpeechInput) -> Result<(), RunError> {
        match input {
            SpeechInput::Line(line) => self.command(session, &line),
            SpeechInput::Key(key) => {
                let (echo, command) = self.prompt.key(key, now_ms());
                self.write(&echo);
                if let Some(command) = command {
                    self.command(session, &command);
                }
            }
        }
        Ok(())
    }

    fn heard(&mut self, state: &AppState, action: &Action) {
        if let Some(said) = event_line(state, action) {
            self.offer(state, said);
        }
    }

    fn after(&mut self, state: &mut AppState) -> Result<(), RunError> {
        for said in self.changes.since_last(state) {
            self.offer(state, said);
        }
        let released = self.prompt.tick(now_ms());
        self.write(&released);
        Ok(())
    }
}

/// A terminal key as the prompt sees it. Ctrl+C asks to quit as `quit` does; Ctrl+D on an
/// empty prompt ends the input.
fn prompt_key(key: KeyEvent, typing: bool) -> Option<Option<SpeechInput>> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let input = match key.code {
        KeyCode::Char('c') if ctrl => SpeechInput::Line("quit".to_owned()),
        KeyCode::Char('d') if ctrl && !typing => return Some(None),
        KeyCode::Char('u') if ctrl => SpeechInput::Key(PromptKey::ClearLine),
        KeyCode::Char(_) if ctrl => return None,
        KeyCode::Char(c) => SpeechInput::Key(PromptKey::Char(c)),
        KeyCode::Backspace => SpeechInput::Key(PromptKey::Backspace),
        KeyCode::Enter => SpeechInput::Key(PromptKey::Enter),
        _ => return None,
    };
    Some(Some(input))
}
