//! The dashboard's model: one state, one reducer, no I/O.
//!
//! - `state` / `conversation` / `outbox`: what is known. `action`: what can happen, and
//!   `intake`: network events parsed once into actions. `update`: the reducer. `effect`:
//!   what the reducer asks for. The loops that perform effects and feed actions live above,
//!   in `dashboard`.

pub mod action;
pub mod conversation;
pub mod effect;
mod intake;
pub mod outbox;
pub mod state;
pub mod update;
