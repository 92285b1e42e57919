//! The dashboard's loop: select over the terminal, the network, results of effects and a
//! one-second clock; run `update`; execute its effects; draw only when something changed.

use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tracing::{info, warn};
use url::Url;

use crate::clock::now_ms;
use crate::config::theme::Theme;
use crate::input::{Keymap, map_key};
use crate::realtime::{ClientOptions, Realtime, discover};
use crate::store::Store;
use crate::terminal;

use super::RunError;
use super::action::Action;
use super::executor::{Executor, ReplyOutcome};
use super::state::{AppState, Identity};
use super::update::update;

pub struct DashboardOptions {
    pub client: ClientOptions,
    pub identity: Identity,
    pub channels: Vec<String>,
    pub read_only: bool,
    pub theme: Theme,
    pub bell: bool,
    pub canned: std::collections::BTreeMap<String, String>,
    pub keymap: Keymap,
    /// Where the web app serves quick suggestions.
    pub suggestions_base: Url,
}

/// The shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);

/// What both front ends share: the client, the state, the executor and its channels.
pub(crate) struct Session {
    pub client: Realtime,
    pub net: mpsc::Receiver<crate::realtime::NetEvent>,
    pub state: AppState,
    pub executor: Executor,
    pub results: mpsc::UnboundedReceiver<Action>,
    pub outcomes: mpsc::UnboundedReceiver<ReplyOutcome>,
}

impl Session {
    /// Connects, restores drafts and the outbox, and starts discovery (or attaches the
    /// given channels).
    pub(crate) fn start(options: &DashboardOptions, store: Store) -> Result<Self, RunError> {
        let (client, net) = Realtime::connect(options.client.clone());
        let mut state = AppState::new(
            options.identity.clone(),
            options.read_only,
            options.canned.clone(),
            now_ms(),
        );
        state.bell = options.bell;
        state.utc_offset_s = crate::ui::text::local_utc_offset_s();
        let (results_tx, results) = mpsc::unbounded_channel::<Action>();
        let (outcomes_tx, outcomes) = mpsc::unbounded_channel::<ReplyOutcome>();
        let mut executor = Executor {
            outcomes: outcomes_tx,
            client: client.clone(),
            rest: client.rest().clone(),
            store,
            results: results_tx.clone(),
            suggestions_base: options.suggestions_base.clone(),
            waiting_for_connection: Vec::new(),
        };
        let restored = [
            Action::Drafts(executor.store.drafts().unwrap_or_default()),
            Action::OutboxRestored(executor.store.outbox()?),
        ];
        for action in restored {
            let effects = update(&mut state, action);
            executor.run(effects, &mut state);
        }
        if options.channels.is_empty() {
            let client = client.clone();
            tokio::spawn(async move {
                match discover(&client).await {
                    Ok(channels) => {
                        let _ = results_tx.send(Action::Discovered(channels));
                    }
                    Err(error) => warn!(%error, "channel discovery failed"),
                }
            });
        } else {
            let effects = update(&mut state, Action::Discovered(options.channels.clone()));
            executor.run(effects, &mut state);
        }
        Ok(Self {
            client,
            net,
            state,
            executor,
            results,
            outcomes,
        })
    }

    /// Runs one action through the reducer and performs its effects, keeping the clock
    /// fresh first (timestamps of replies come from it).
    pub(crate) fn apply(&mut self, action: Action) {
        if !matches!(action, Action::Tick { .. }) && now_ms() - self.state.now_ms >= 250 {
            let effects = update(&mut self.state, Action::Tick { now_ms: now_ms() });
            self.executor.run(effects, &mut self.state);
        }
        let effects = update(&mut self.state, action);
        self.executor.run(effects, &mut self.state);
    }
}

pub async fn run(options: DashboardOptions, store: Store) -> Result<(), RunError> {
    let mut session = Session::start(&options, store)?;
    let mut guard = terminal::enter()?;
    let keymap = options.keymap.clone();
    let mut keys = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let theme = options.theme;
    // At most one frame per FRAME: a burst of events is drawn once, not once per event.
    let redraw = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(redraw);
    let mut redraw_armed = false;
    let mut last_draw = tokio::time::Instant::now() - FRAME;
    loop {
        let action = tokio::select! {
            () = &mut redraw, if redraw_armed => {
                redraw_armed = false;
                None
            }
            key = keys.next() => match key {
                Some(Ok(Event::Key(key))) => map_key(&session.state, &keymap, key),
                Some(Ok(Event::Resize(_, _))) => Some(Action::Resized),
                Some(Ok(Event::Paste(text))) => Some(Action::Paste(text)),
                Some(Ok(_)) => None,
                Some(Err(error)) => return Err(RunError::Keyboard(error)),
                None => break,
            },
            event = session.net.recv() => match event {
                Some(event) => {
                    session.executor.on_network(&event, &mut session.state);
                    Some(Action::Net(event))
                }
                None => break,
            },
            Some(action) = session.results.recv() => Some(action),
            Some(outcome) = session.outcomes.recv() => session.executor.settle(outcome),
            _ = clock.tick() => Some(Action::Tick { now_ms: now_ms() }),
        };
        if let Some(action) = action {
            session.apply(action);
            if session.state.quit {
                break;
            }
        }
        let state = &mut session.state;
        if state.dirty && !redraw_armed {
            let due = last_draw + FRAME;
            if tokio::time::Instant::now() >= due {
                guard
                    .screen
                    .draw(|frame| crate::ui::render(frame, state, &theme, &keymap))
                    .map_err(RunError::Draw)?;
                state.dirty = false;
                last_draw = tokio::time::Instant::now();
            } else {
                redraw.as_mut().reset(due);
                redraw_armed = true;
            }
        }
    }
    session.client.close().await;
    drop(guard);
    info!("dashboard closed");
    Ok(())
}
