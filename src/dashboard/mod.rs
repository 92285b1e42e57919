//! The dashboard's two front ends, full screen (`screen`) and screen reader (`speech`),
//! on one session loop (`session`): the network, effect results and the clock become
//! actions once; each front end sees every action and the state after it, and brings its
//! own input (keys or typed commands) and output (frames or lines).
//!
//! This sits above `app` (state and reducer), `ui` (drawing and words) and `input` (keys).

mod executor;
pub mod screen;
mod session;
pub mod speech;

use std::collections::BTreeMap;

use url::Url;

use crate::app::state::Identity;
use crate::config::theme::Theme;
use crate::input::Keymap;
use crate::realtime::ClientOptions;

pub struct DashboardOptions {
    pub client: ClientOptions,
    pub identity: Identity,
    pub channels: Vec<String>,
    pub read_only: bool,
    pub theme: Theme,
    /// Where notifications go (none: off).
    pub notify: Vec<crate::app::notify::NotifyVia>,
    pub sla_clock: crate::app::sla_clock::SlaClock,
    /// Start on the supervisor's board.
    pub board: bool,
    /// Ask before sending when something arrived since the reply was started.
    pub guard: bool,
    pub canned: BTreeMap<String, String>,
    pub keymap: Keymap,
    /// Where the web app serves quick suggestions.
    pub suggestions_base: Url,
    /// The screen-reader mode's settings.
    pub speech: speech::SpeechOptions,
    /// Shown as the first notice (the demo: how a second broker joins).
    pub initial_notice: Option<String>,
}

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
    #[error("[screen_reader] verbosity: {0}")]
    Verbosity(#[from] crate::ui::spoken::verbosity::VerbosityError),
}
