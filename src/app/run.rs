//! The dashboard's loop: select over the terminal, the network, results of effects and a
//! one-second clock; run `update`; execute its effects; draw only when something changed.

use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tracing::{info, warn};
use url::Url;

use crate::config::theme::Theme;
use crate::input::{Keymap, map_key};
use crate::protocol::Message;
use crate::protocol::data::{Payload, encode};
use crate::realtime::{
    AttachOptions, ClientError, ClientOptions, ConnectionState, InboundMessage, NetEvent, Realtime,
    discover,
};
use crate::rest::{HistoryQuery, RestClient};
use crate::store::{OutboxEntry, Store};
use crate::terminal;

use super::action::Action;
use super::effect::Effect;
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
    pub store: Store,
    /// Where the web app serves quick suggestions.
    pub suggestions_base: Url,
}

/// The shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);

/// Messages of context fetched when a conversation is first watched.
const REWIND: &str = "20";
const HISTORY_PAGE: usize = 100;

pub async fn run(options: DashboardOptions) -> Result<(), String> {
    let (client, mut net) = Realtime::connect(options.client.clone());
    let mut guard = terminal::enter()?;
    let keymap = Keymap::default();
    let mut state = AppState::new(
        options.identity.clone(),
        options.read_only,
        options.canned.clone(),
        now_ms(),
    );
    state.bell = options.bell;
    state.utc_offset_s = crate::ui::text::local_utc_offset_s();
    let (results_tx, mut results) = mpsc::unbounded_channel::<Action>();
    let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel::<ReplyOutcome>();
    let mut executor = Executor {
        outcomes: outcomes_tx,
        client: client.clone(),
        rest: client.rest().clone(),
        store: options.store,
        results: results_tx.clone(),
        suggestions_base: options.suggestions_base.clone(),
        waiting_for_connection: Vec::new(),
    };

    let restored = [
        Action::Drafts(executor.store.drafts().unwrap_or_default()),
        Action::OutboxRestored(executor.store.outbox().map_err(|error| error.to_string())?),
    ];
    for action in restored {
        let effects = update(&mut state, action);
        executor.run(effects, &mut state);
    }
    if options.channels.is_empty() {
        let client = client.clone();
        let results = results_tx.clone();
        tokio::spawn(async move {
            match discover(&client).await {
                Ok(channels) => {
                    let _ = results.send(Action::Discovered(channels));
                }
                Err(error) => warn!(%error, "channel discovery failed"),
            }
        });
    } else {
        let effects = update(&mut state, Action::Discovered(options.channels.clone()));
        executor.run(effects, &mut state);
    }

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
                Some(Ok(Event::Key(key))) => map_key(&state, &keymap, key),
                Some(Ok(Event::Resize(_, _))) => Some(Action::Resized),
                Some(Ok(Event::Paste(text))) => {
                    state_paste(&mut state, &text);
                    None
                }
                Some(Ok(_)) => None,
                Some(Err(error)) => return Err(format!("cannot read the keyboard: {error}")),
                None => break,
            },
            event = net.recv() => match event {
                Some(event) => {
                    executor.on_network(&event, &mut state);
                    Some(Action::Net(event))
                }
                None => break,
            },
            Some(action) = results.recv() => Some(action),
            Some(outcome) = outcomes.recv() => executor.settle(outcome),
            _ = clock.tick() => Some(Action::Tick { now_ms: now_ms() }),
        };
        if let Some(action) = action {
            if !matches!(action, Action::Tick { .. }) && now_ms() - state.now_ms >= 250 {
                let effects = update(&mut state, Action::Tick { now_ms: now_ms() });
                executor.run(effects, &mut state);
            }
            let effects = update(&mut state, action);
            executor.run(effects, &mut state);
            if state.quit {
                break;
            }
        }
        if state.dirty && !redraw_armed {
            let due = last_draw + FRAME;
            if tokio::time::Instant::now() >= due {
                guard
                    .screen
                    .draw(|frame| crate::ui::render(frame, &state, &theme, &keymap))
                    .map_err(|error| format!("cannot draw: {error}"))?;
                state.dirty = false;
                last_draw = tokio::time::Instant::now();
            } else {
                redraw.as_mut().reset(due);
                redraw_armed = true;
            }
        }
    }
    client.close().await;
    drop(guard);
    info!("dashboard closed");
    Ok(())
}

/// Bracketed paste goes into the composer as text (never executed as keys).
fn state_paste(state: &mut AppState, text: &str) {
    if state.focus == super::state::Focus::Composer && !state.read_only {
        state
            .composer
            .insert_str(crate::sanitize::clean_block(text));
        state.dirty = true;
    }
}

fn now_ms() -> i64 {
    i64::try_from(crate::rest::now_ms()).unwrap_or(i64::MAX)
}

/// Performs effects; long ones run as tasks and report back as actions.
struct Executor {
    client: Realtime,
    rest: RestClient,
    store: Store,
    results: mpsc::UnboundedSender<Action>,
    suggestions_base: Url,
    outcomes: mpsc::UnboundedSender<ReplyOutcome>,
    /// Replies whose publish failed because the connection was gone for too long: sent
    /// again, with the same ids, when it is back.
    waiting_for_connection: Vec<OutboxEntry>,
}

impl Executor {
    fn run(&mut self, effects: Vec<Effect>, state: &mut AppState) {
        for effect in effects {
            self.perform(effect, state);
        }
    }

    fn on_network(&mut self, event: &NetEvent, state: &mut AppState) {
        if let NetEvent::Connection {
            state: ConnectionState::Connected,
            ..
        } = event
        {
            for entry in std::mem::take(&mut self.waiting_for_connection) {
                self.perform(Effect::SendReply(entry), state);
            }
        }
    }

    fn perform(&mut self, effect: Effect, state: &mut AppState) {
        match effect {
            Effect::Attach { channel } => {
                self.client.attach(
                    &channel,
                    AttachOptions {
                        rewind: Some(REWIND.to_owned()),
                    },
                );
            }
            Effect::Publish {
                channel,
                name,
                data,
            } => {
                let publish = self
                    .client
                    .publish(&channel, vec![json_message(&name, data, None)]);
                tokio::spawn(async move {
                    if let Err(error) = publish.await {
                        warn!(%channel, %name, %error, "publish failed");
                    }
                });
            }
            Effect::SendReply(entry) => self.send_reply(entry),
            Effect::EnterPresence { channel, data } => {
                let enter = self.client.enter(&channel, Some(data));
                tokio::spawn(async move {
                    if let Err(error) = enter.await {
                        warn!(%channel, %error, "presence enter failed");
                    }
                });
            }
            Effect::LeavePresence { channel } => {
                let leave = self.client.leave(&channel);
                tokio::spawn(async move {
                    let _ = leave.await;
                });
            }
            Effect::FetchHistory { channel, before_ms } => {
                let rest = self.rest.clone();
                let results = self.results.clone();
                tokio::spawn(async move {
                    let query = HistoryQuery {
                        limit: Some(HISTORY_PAGE),
                        forwards: false,
                        end_ms: before_ms.map(|ms| ms - 1),
                        ..HistoryQuery::default()
                    };
                    let action = match rest.history(&channel, &query).await {
                        Ok(page) => {
                            let complete = !page.has_next();
                            let mut messages: Vec<InboundMessage> = page
                                .items
                                .into_iter()
                                .map(|message| InboundMessage::from_wire(message, true))
                                .collect();
                            messages.reverse();
                            Action::History {
                                channel,
                                messages,
                                older: before_ms.is_some(),
                                complete,
                            }
                        }
                        Err(error) => Action::HistoryFailed {
                            channel,
                            reason: error.to_string(),
                        },
                    };
                    let _ = results.send(action);
                });
            }
            Effect::FetchSuggestions {
                channel,
                conversation_id,
                persona,
            } => {
                let rest = self.rest.clone();
                let results = self.results.clone();
                let base = self.suggestions_base.clone();
                tokio::spawn(async move {
                    let action = match rest.suggestions(&base, &conversation_id, &persona).await {
                        Ok(replies) => Action::Suggestions {
                            channel,
                            replies,
                            from_web_app: true,
                        },
                        Err(error) => {
                            warn!(%error, "suggestions unavailable; using canned replies");
                            Action::Suggestions {
                                channel,
                                replies: Vec::new(),
                                from_web_app: false,
                            }
                        }
                    };
                    let _ = results.send(action);
                });
            }
            Effect::SaveDraft { channel, text } => {
                if let Err(error) = self.store.save_draft(&channel, &text) {
                    warn!(%error, "could not save a draft");
                }
            }
            Effect::Bell => terminal::bell(),
            Effect::Quit => state.quit = true,
        }
    }

    /// The outbox first, then the wire; the entry leaves the outbox only on ACK.
    fn send_reply(&mut self, entry: OutboxEntry) {
        if let Err(error) = self.store.add_outbox(&entry) {
            warn!(%error, "could not write the outbox");
        }
        let data: Value = serde_json::from_str(&entry.data).unwrap_or(Value::Null);
        let message = json_message(&entry.name, data, Some(entry.message_id.clone()));
        let publish = self.client.publish(&entry.channel, vec![message]);
        let outcomes = self.outcomes.clone();
        tokio::spawn(async move {
            let result = publish.await.map(|_| ());
            let _ = outcomes.send(ReplyOutcome { entry, result });
        });
    }

    /// A reply's publish finished: acknowledged replies leave the outbox; replies that
    /// failed only because the connection was gone wait for it; refusals are reported.
    fn settle(&mut self, outcome: ReplyOutcome) -> Option<Action> {
        let message_id = outcome.entry.message_id.clone();
        match outcome.result {
            Ok(()) => {
                if let Err(error) = self.store.remove_outbox(&message_id) {
                    warn!(%error, "could not clear an acknowledged reply from the outbox");
                }
                Some(Action::Published {
                    message_id,
                    result: Ok(()),
                })
            }
            Err(error) if is_connection_error(&error) => {
                self.waiting_for_connection.push(outcome.entry);
                None
            }
            Err(error) => Some(Action::Published {
                message_id,
                result: Err(error.to_string()),
            }),
        }
    }
}

/// Failures of the connection rather than refusals of the reply: worth sending again.
fn is_connection_error(error: &ClientError) -> bool {
    match error {
        ClientError::Closed => true,
        ClientError::Refused(info) => (80000..80100).contains(&info.code),
        ClientError::Rest(_) => false,
    }
}

struct ReplyOutcome {
    entry: OutboxEntry,
    result: Result<(), ClientError>,
}

fn json_message(name: &str, data: Value, id: Option<String>) -> Message {
    let (wire, encoding) = encode(&Payload::Json(data), None);
    Message {
        id,
        name: Some(name.to_owned()),
        data: wire,
        encoding,
        ..Message::default()
    }
}
