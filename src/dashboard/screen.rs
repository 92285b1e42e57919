//! The full-screen front end: keys in, frames out, drawn only when something changed and
//! at most once per frame time.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEvent};
use futures_util::StreamExt;
use tokio::time::{Instant, Sleep};
use tracing::info;

use crate::app::action::Action;
use crate::app::state::AppState;
use crate::config::theme::Theme;
use crate::input::{Keymap, map_key};
use crate::store::Store;
use crate::terminal::{self, TerminalGuard};

use super::session::{FrontEnd, Session};
use super::{DashboardOptions, RunError};

/// The shortest time between two frames: 60 a second. Under steady traffic every frame is
/// due, and a message waits for the next one, so this is most of the time from the network
/// to the screen; a frame of 1,000 conversations costs about 0.3 ms, so 60 cost under 2 %
/// of a core.
const FRAME: Duration = Duration::from_millis(16);

pub enum ScreenInput {
    Key(KeyEvent),
    Resized,
    Paste(String),
    /// The frame timer: a redraw held back by `FRAME` is due.
    FrameDue,
}

struct Screen {
    guard: TerminalGuard,
    keys: EventStream,
    theme: Theme,
    keymap: Keymap,
    /// At most one frame per FRAME: a burst of events is drawn once, not once per event.
    redraw: std::pin::Pin<Box<Sleep>>,
    redraw_armed: bool,
    last_draw: Instant,
}

pub async fn run(options: DashboardOptions, store: Store) -> Result<(), RunError> {
    let session = Session::start(&options, store)?;
    let mut screen = Screen {
        guard: terminal::enter()?,
        keys: EventStream::new(),
        theme: options.theme,
        keymap: options.keymap,
        redraw: Box::pin(tokio::time::sleep(Duration::ZERO)),
        redraw_armed: false,
        last_draw: Instant::now() - FRAME,
    };
    let outcome = session.run(&mut screen).await;
    drop(screen);
    info!("dashboard closed");
    outcome
}

impl FrontEnd for Screen {
    type Input = ScreenInput;

    async fn next_input(&mut self) -> Result<Option<ScreenInput>, RunError> {
        loop {
            tokio::select! {
                () = &mut self.redraw, if self.redraw_armed => {
                    self.redraw_armed = false;
                    return Ok(Some(ScreenInput::FrameDue));
                }
                event = self.keys.next() => match event {
                    Some(Ok(Event::Key(key))) => return Ok(Some(ScreenInput::Key(key))),
                    Some(Ok(Event::Resize(_, _))) => return Ok(Some(ScreenInput::Resized)),
                    Some(Ok(Event::Paste(text))) => return Ok(Some(ScreenInput::Paste(text))),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(RunError::Keyboard(error)),
                    None => return Ok(None),
                },
            }
        }
    }

    fn on_input(&mut self, session: &mut Session, input: ScreenInput) -> Result<(), RunError> {
        let action = match input {
            ScreenInput::Key(key) => {
                map_key(crate::ui::key_mode(&session.state), &self.keymap, key)
            }
            ScreenInput::Resized => Some(Action::Resized),
            ScreenInput::Paste(text) => Some(Action::Paste(text)),
            ScreenInput::FrameDue => None,
        };
        if let Some(action) = action {
            session.apply(action);
        }
        Ok(())
    }

    fn after(&mut self, state: &mut AppState) -> Result<(), RunError> {
        if !state.dirty || self.redraw_armed {
            return Ok(());
        }
        let due = self.last_draw + FRAME;
        if Instant::now() < due {
            self.redraw.as_mut().reset(due);
            self.redraw_armed = true;
            return Ok(());
        }
        let (theme, keymap) = (&self.theme, &self.keymap);
        self.guard
            .screen
            .draw(|frame| crate::ui::render(frame, state, theme, keymap))
            .map_err(RunError::Draw)?;
        state.dirty = false;
        self.last_draw = Instant::now();
        Ok(())
    }
}
