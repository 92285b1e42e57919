//! Entering and leaving the terminal's raw mode and alternate screen, restored on every
//! exit path: normal return, error, and panic (the hook restores before the message).

use std::io::{Stdout, Write, stdout};

use crossterm::cursor::{SetCursorStyle, Show};
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Screen = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    pub screen: Screen,
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("cannot switch the terminal to raw mode: {0}")]
    RawMode(std::io::Error),
    #[error("cannot prepare the terminal: {0}")]
    Prepare(std::io::Error),
    #[error("cannot draw on the terminal: {0}")]
    Draw(std::io::Error),
}

pub fn enter() -> Result<TerminalGuard, TerminalError> {
    enable_raw_mode().map_err(TerminalError::RawMode)?;
    let mut out = stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        SetCursorStyle::SteadyBar
    )
    .map_err(TerminalError::Prepare)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    let screen = Terminal::new(CrosstermBackend::new(stdout())).map_err(TerminalError::Draw)?;
    Ok(TerminalGuard { screen })
}

/// Raw mode alone, for the screen-reader prompt (no alternate screen, nothing drawn):
/// left when the guard drops, and on a panic.
pub struct RawKeysGuard;

pub fn enter_raw_keys() -> Result<RawKeysGuard, TerminalError> {
    enable_raw_mode().map_err(TerminalError::RawMode)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = disable_raw_mode();
        previous(info);
    }));
    Ok(RawKeysGuard)
}

impl Drop for RawKeysGuard {
    fn drop(&mut self) {
        let _ = disable_raw_mode();
    }
}

/// Leaves raw mode and the alternate screen; safe to call more than once.
pub fn restore() {
    let mut out = stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        SetCursorStyle::DefaultUserShape,
        Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// The terminal bell (BEL), written between frames.
pub fn bell() {
    let mut out = stdout();
    let _ = out.write_all(b"\x07");
    let _ = out.flush();
}
