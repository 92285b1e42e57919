//! brokerdash: a terminal dashboard for brokers and supervisors who watch many live customer
//! conversations carried over Ably.
//!
//! Module map, from the bottom up (a module imports only from those above it):
//! - `clock`: wall-clock milliseconds, for every module.
//! - `secret`: the redacting wrapper every API key and token travels in.
//! - `sanitize`: cleans hostile remote text (escape sequences, controls, bidi) at intake.
//! - `protocol`: Ably's realtime wire types and codecs, the conversation vocabulary
//!   (`protocol::events`, parsed once into typed events, written in one place), and the
//!   names both sides hold to (`protocol::names`: channel names, conversation ids, client
//!   ids). No I/O.
//! - `auth`: keys, TokenRequests, tokens, capabilities (no I/O).
//! - `config`: the config file and themes.
//! - `rest` / `realtime`: the Ably client (REST; realtime connections, channels, presence).
//! - `hub`: the local Ably-compatible server.
//! - `proxy`: the fault proxy in front of a hub or of Ably.
//! - `store`: the SQLite outbox, drafts and SLA alerts.
//! - `app`: the dashboard's state, reducer (`app::update`) and effects; network events are
//!   parsed once into its actions (`app::intake`).
//! - `input` (keys to actions, told the mode; it never reads state) and `ui` (drawing and
//!   words from `app::state`).
//! - `dashboard`: the session loop shared by the full-screen and screen-reader front ends,
//!   and the executor that performs effects.
//! - `sim`: the demo's simulated actors, clients of the hub like any other.
//! - `tail`, `publish`, `bench`: the other commands. `cli`: the command line.
//!
//! Data flows one way through the dashboard: network tasks → `NetEvent` → `Action` (parsed
//! once) → `update` → state → `ui`; keys → `input` → `update`; `update` returns effects that
//! the session's executor performs (publish, fetch, store) and whose results come back as
//! actions, decided on by `update` again.
//!
//! Adding an event: a variant in `protocol::events::ConversationEvent` (parse and wire form),
//! then its effect on state in `app::update::messages`. Adding a key: a `Command` in
//! `app::action`, a binding with a description in `input::keymap::defaults`, its handling in
//! `app::update::commands`; help and hints follow from the keymap.

pub mod app;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod hub;
pub mod input;
pub mod logging;
pub mod protocol;
pub mod proxy;
pub mod publish;
pub mod realtime;
pub mod rest;
pub mod sanitize;
pub mod secret;
pub mod sim;
pub mod store;
pub mod tail;
pub mod terminal;
pub mod ui;
