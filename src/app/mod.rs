//! The dashboard's model: one state, one reducer, no I/O.
//!
//! - `state` / `conversation` / `outbox`: what is known. `action`: what can happen, and
//!   `intake`: network events parsed once into actions. `update`: the reducer. `effect`:
//!   what the reducer asks for. The loops that perform effects and feed actions live above,
//!   in `dashboard`.
//! - The supervisor's desk: `board` (the table's order and filter), `alert` (the feed),
//!   `sla_clock` (the client's own SLA clock), `metrics` (the last hour for the charts),
//!   `health` (each connection's figures), `notify` (what may be notified, and how often).

pub mod action;
pub mod alert;
pub mod board;
pub mod conversation;
pub mod effect;
pub mod handling;
pub mod health;
mod intake;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod sla_clock;
pub mod snooze;
pub mod state;
pub mod update;
