//! One session loop for both front ends: select over the user's input, the network,
//! effect results and a one-second clock; turn each into an action once; show it to the
//! front end, run the reducer, perform its effects.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::warn;

use crate::app::action::Action;
use crate::app::state::AppState;
use crate::app::update::update;
use crate::clock::now_ms;
use crate::realtime::{NetEvent, Realtime, discover};
use crate::store::Store;

use super::executor::Executor;
use super::{DashboardOptions, RunError};

/// A front end: where input comes from and where the state goes.
pub(crate) trait FrontEnd {
    type Input;

    /// The user's next input; `None` when there is no more (the terminal or stdin closed).
    fn next_input(&mut self) -> impl Future<Output = Result<Option<Self::Input>, RunError>>;

    /// Acts on one input, through the session's reducer.
    fn on_input(&mut self, session: &mut Session, input: Self::Input) -> Result<(), RunError>;

    /// An action about to reach the reducer, and the state it arrives to.
    fn heard(&mut self, _state: &AppState, _action: &Action) {}

    /// After every step: draw, or say what changed.
    fn after(&mut self, state: &mut AppState) -> Result<(), RunError>;
}

pub(crate) struct Session {
    pub client: Realtime,
    pub state: AppState,
    net: mpsc::Receiver<NetEvent>,
    executor: Executor,
    results: mpsc::UnboundedReceiver<Action>,
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
        state.notify_via.clone_from(&options.notify);
        state.sla_clock = options.sla_clock.clone();
        state.guard = options.guard;
        state.notice.clone_from(&options.initial_notice);
        state.utc_offset_s = crate::ui::text::local_utc_offset_s();
        if options.board {
            state.focus = crate::app::state::Focus::Board;
        }
        let (results_tx, results) = mpsc::unbounded_channel::<Action>();
        let restored = [
            Action::Drafts(store.drafts().unwrap_or_default()),
            Action::OutboxRestored(store.outbox()?),
            Action::AlertsRestored(recent_alerts(&store, state.now_ms)),
        ];
        let executor = Executor {
            client: client.clone(),
            rest: client.rest().clone(),
            store,
            results: results_tx.clone(),
            suggestions_base: options.suggestions_base.clone(),
        };
        let mut session = Self {
            client: client.clone(),
            state,
            net,
            executor,
            results,
        };
        for action in restored {
            session.apply(action);
        }
        if options.channels.is_empty() {
            tokio::spawn(async move {
                match discover(&client).await {
                    Ok(channels) => {
                        let _ = results_tx.send(Action::Discovered(channels));
                    }
                    Err(error) => warn!(%error, "channel discovery failed"),
                }
            });
        } else {
            session.apply(Action::Discovered(options.channels.clone()));
        }
        Ok(session)
    }

    /// Runs one action through the reducer and performs its effects, keeping the clock
    /// fresh first (timestamps of replies come from it).
    pub(crate) fn apply(&mut self, action: Action) {
        if !matches!(action, Action::Tick { .. }) && now_ms() - self.state.now_ms >= 250 {
            let effects = update(&mut self.state, Action::Tick { now_ms: now_ms() });
            self.executor.run(effects);
        }
        let effects = update(&mut self.state, action);
        self.executor.run(effects);
    }

    /// The loop, until the user quits or input ends; then the client closes.
    pub(crate) async fn run(mut self, front: &mut impl FrontEnd) -> Result<(), RunError> {
        let mut clock = tokio::time::interval(Duration::from_secs(1));
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outcome = loop {
            let action = tokio::select! {
                input = front.next_input() => match input {
                    Ok(Some(input)) => {
                        if let Err(error) = front.on_input(&mut self, input) {
                            break Err(error);
                        }
                        None
                    }
                    Ok(None) => break Ok(()),
                    Err(error) => break Err(error),
                },
                event = self.net.recv() => match event {
                    Some(event) => Some(Action::from_net(event)),
                    None => break Ok(()),
                },
                Some(action) = self.results.recv() => Some(action),
                _ = clock.tick() => Some(Action::Tick { now_ms: now_ms() }),
            };
            if let Some(action) = action {
                front.heard(&self.state, &action);
                self.apply(action);
            }
            if self.state.quit {
                break Ok(());
            }
            if let Err(error) = front.after(&mut self.state) {
                break Err(error);
            }
        };
        self.client.close().await;
        outcome
    }
}

/// The last hour's alerts, after forgetting those older than a week (the store stays
/// bounded). A store that cannot say is an empty feed, not a reason to stop.
fn recent_alerts(store: &Store, now_ms: i64) -> Vec<crate::app::alert::Alert> {
    const WEEK_MS: i64 = 7 * 24 * 3_600_000;
    if let Err(error) = store.prune_alerts(now_ms.saturating_sub(WEEK_MS)) {
        warn!(%error, "could not forget old alerts");
    }
    store
        .alerts_since(now_ms.saturating_sub(crate::app::metrics::HOUR_MS))
        .unwrap_or_else(|error| {
            warn!(%error, "could not read the alerts");
            Vec::new()
        })
}
