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
