//! The dashboard: one state, one reducer, render only from state and only when it
//! changed.
//!
//! - `state` / `conversation`: what is known. `action`: what can happen. `update`: the
//!   reducer (no I/O). `effect`: what the reducer asks for. `run`: the loop that wires the
//!   terminal, the network and the store to the reducer.

pub mod action;
pub mod conversation;
pub mod effect;
mod executor;
pub mod reader;
pub mod run;
pub mod state;
pub mod update;

/// Why a front end (the dashboard or the screen-reader mode) could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read the outbox: {0}")]
    Outbox(#[from] crate::store::StoreError),
    #[error(transparent)]
    Terminal(#[from] crate::terminal::TerminalError),
    #[error("cannot read the keyboard: {0}")]
    Keyboard(std::io::Error),
    #[error("cannot draw: {0}")]
    Draw(std::io::Error),
}
