//! The supervisor's desk: the SLA clock beside the server's events, business hours, the
//! board's order and filter, alert resolution, notifications and read-only mode.

use super::*;
use crate::app::alert::AlertSource;
use crate::app::board::BoardSort;
use crate::app::notify::NotifyVia;
use crate::app::sla_clock::{BusinessHours, SlaClock, SlaThresholds};

fn sla_event(n: &str, violation: bool, threshold: u64, actual: u64, at: i64) -> Action {
    let name = if violation {
        "sla:violation"
    } else {
        "sla:warning"
    };
    event(
        &format!("conversation:{n}"),
        name,
        json!({"threshold": threshold, "actual": actual, "severity": if violation {"critical"} else {"warning"}, "timestamp": at}),
    )
}

fn tick(state: &mut AppState, now_ms: i64) -> Vec<Effect> {
    update(state, Action::Tick { now_ms })
}

/// A desk with the default clock (warning at 120 s, breach at 300 s).
fn desk() -> AppState {
    let mut state = state();
    state.sla_clock = SlaClock::default();
    state
}

fn recorded(effects: &[Effect]) -> Vec<(SlaLevel, AlertSource)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::RecordAlert(alert) => Some((alert.level, alert.source)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_client_clock_raises_a_warning_then_a_breach_at_its_thresholds() {
    let mut state = desk();
    update(&mut state, customer("1", "m1", "Hello?", T0));
    assert!(recorded(&tick(&mut state, T0 + 119_000)).is_empty());
    let effects = tick(&mut state, T0 + 120_000);
    assert_eq!(
        recorded(&effects),
        [(SlaLevel::Warning, AlertSource::Client)]
    );
    assert_eq!(
        state.conversations[&id("1")].sla_level(),
        Some(SlaLevel::Warning)
    );
    let effects = tick(&mut state, T0 + 300_500);
    assert_eq!(
        recorded(&effects),
        [(SlaLevel::Breach, AlertSource::Client)]
    );
    let alert = state.alerts.iter().next().unwrap();
    assert_eq!(
        (alert.level, alert.raised_ms),
        (SlaLevel::Breach, T0 + 300_000)
    );
}

#[test]
fn a_server_event_that_agrees_with_the_clock_is_one_alert_raised_by_whoever_was_first() {
    let mut state = desk();
    update(&mut state, customer("1", "m1", "Hello?", T0));
    tick(&mut state, T0 + 120_000);
    // The monitor's warning for the same crossing arrives a second later.
    let effects = update(
        &mut state,
        sla_event("1", false, 120_000, 121_000, T0 + 121_000),
    );
    assert!(recorded(&effects).is_empty(), "{effects:?}");
    assert_eq!(state.alerts.len(), 1);
    assert_eq!(
        state.alerts.iter().next().unwrap().source,
        AlertSource::Client
    );
}

#[test]
fn a_server_event_first_wins_and_the_clock_does_not_repeat_it() {
    let mut state = desk();
    update(&mut state, customer("1", "m1", "Hello?", T0));
    state.now_ms = T0 + 60_000;
    // The server's thresholds are stricter: its breach comes before the clock's warning.
    let effects = update(
        &mut state,
        sla_event("1", true, 60_000, 60_000, T0 + 60_000),
    );
    assert_eq!(
        recorded(&effects),
        [(SlaLevel::Breach, AlertSource::Server)]
    );
    // The screen never says less than the server did.
    assert_eq!(
        state.conversations[&id("1")].sla_level(),
        Some(SlaLevel::Breach)
    );
    tick(&mut state, T0 + 120_000);
    let effects = tick(&mut state, T0 + 300_000);
    let breaches: Vec<_> = state
        .alerts
        .iter()
        .filter(|alert| alert.level == SlaLevel::Breach)
        .collect();
    assert_eq!(breaches.len(), 1, "{effects:?}");
    assert_eq!(breaches[0].source, AlertSource::Server);
    // The client's warning is its own alert (the server never sent one).
    assert!(
        state
            .alerts
            .iter()
            .any(|a| a.level == SlaLevel::Warning && a.source == AlertSource::Client)
    );
}

#[test]
fn a_client_crossing_first_and_a_late_server_event_reporting_an_earlier_crossing_swaps_the_source()
{
    let mut state = desk();
    update(&mut state, customer("1", "m1", "Hello?", T0));
    tick(&mut state, T0 + 125_000);
    // The monitor says the warning was due at T0 + 100 s (its own clock).
    update(
        &mut state,
        sla_event("1", false, 100_000, 100_000, T0 + 100_000),
    );
    let alert = state.alerts.iter().next().unwrap();
    assert_eq!(alert.source, AlertSource::Server);
    assert_eq!(alert.raised_ms, T0 + 100_000);
    assert_eq!(state.alerts.len(), 1);
}

#[test]
fn a_breach_answered_is_resolved_with_who_and_after_how_long() {
    let mut state = desk();
    update(&mut state, customer("1", "m1", "Hello?", T0));
    tick(&mut state, T0 + 301_000);
    state.now_ms = T0 + 360_000;
    let effects = update(
        &mut state,
        event(
            "conversation:1",
            "message:broker",
            json!({"messageId": "b1", "content": "Sorry for the wait", "brokerId": "2", "brokerName": "Alex Morgan", "timestamp": T0 + 360_000}),
        ),
    );
    assert_eq!(recorded(&effects).len(), 2, "warning and breach both end");
    for alert in state.alerts.iter() {
        let resolution = alert.resolution.as_ref().unwrap();
        assert_eq!(
            (resolution.by.as_str(), resolution.answered_ms),
            ("Alex Morgan", T0 + 360_000)
        );
    }
    let conversation = &state.conversations[&id("1")];
    assert_eq!(conversation.sla_level(), None);
    // The next wait is a new episode: new alerts, not the old ones again.
    update(
        &mut state,
        customer("1", "m2", "One more thing", T0 + 400_000),
    );
    let effects = tick(&mut state, T0 + 520_000);
    assert_eq!(
        recorded(&effects),
        [(SlaLevel::Warning, AlertSource::Client)]
    );
    assert_eq!(state.alerts.len(), 3);
}

#[test]
fn first_response_times_count_ai_and_human_replies() {
    let mut state = desk();
    update(&mut state, customer("1", "m1", "Hello?", T0));
    update(
        &mut state,
        event(
            "conversation:1",
            "message:ai",
            json!({"messageId": "a1", "content": "Hi!", "timestamp": T0 + 4_000}),
        ),
    );
    let buckets = state.metrics.response_buckets(T0 + 5_000);
    let last = buckets.last().unwrap();
    assert_eq!((last.count, last.p50_ms), (1, Some(4_000)));
}

/// Mon–Fri 09:00–18:00 UTC. T0 is Friday 2027-01-15 08:00 UTC.
fn office_hours() -> SlaClock {
    SlaClock {
        thresholds: SlaThresholds::default(),
        hours: Some(BusinessHours::parse("Mon-Fri 09:00-18:00", 0).unwrap()),
    }
}

#[test]
fn outside_business_hours_the_clock_pauses() {
    let mut state = desk();
    state.sla_clock = office_hours();
    update(&mut state, customer("1", "m1", "Hello at 8am", T0));
    // An hour before opening: no alert however long the wait.
    assert!(recorded(&tick(&mut state, T0 + 3_500_000)).is_empty());
    assert!(state.sla_clock.paused(state.now_ms));
    // Opens at 09:00; the warning comes 120 s of open time later.
    assert!(recorded(&tick(&mut state, T0 + 3_600_000 + 119_000)).is_empty());
    let effects = tick(&mut state, T0 + 3_600_000 + 120_000);
    assert_eq!(
        recorded(&effects),
        [(SlaLevel::Warning, AlertSource::Client)]
    );
    assert!(!state.sla_clock.paused(state.now_ms));
}

/// Four conversations, the board on screen.
fn floor() -> AppState {
    let mut state = desk();
    state.focus = Focus::Board;
    update(&mut state, customer("1", "a", "Hi", T0 - 400_000)); // breach
    update(&mut state, customer("2", "b", "Hi", T0 - 200_000)); // warning
    update(&mut state, customer("3", "c", "Hi", T0 - 10_000)); // ok, waiting
    update(&mut state, customer("4", "d", "Hi", T0 - 500_000));
    update(
        &mut state,
        event(
            "conversation:4",
            "message:broker",
            json!({"messageId": "e", "content": "Done", "brokerId": "2", "brokerName": "Alex Morgan", "timestamp": T0 - 450_000}),
        ),
    ); // answered
    for (n, name) in [("1", "Priya"), ("2", "Tom"), ("3", "Mei"), ("4", "Omar")] {
        update(
            &mut state,
            presence(
                n,
                &format!("customer-{n}"),
                PresenceAction::Enter,
                json!({"name": name}),
            ),
        );
    }
    tick(&mut state, T0);
    state
}

fn board_rows(state: &AppState) -> Vec<&str> {
    state.board.order.iter().map(|id| id.as_str()).collect()
}

#[test]
fn the_board_sorts_by_urgency_deadline_waiting_and_name() {
    let mut state = floor();
    assert_eq!(board_rows(&state), ["1", "2", "3", "4"]);
    state.focus = Focus::Board;
    command(&mut state, Command::ToggleSort);
    assert_eq!(state.board.sort, BoardSort::Deadline);
    assert_eq!(board_rows(&state), ["1", "2", "3", "4"]);
    command(&mut state, Command::ToggleSort);
    assert_eq!(state.board.sort, BoardSort::Waiting);
    assert_eq!(board_rows(&state), ["1", "2", "3", "4"]);
    command(&mut state, Command::ToggleSort);
    assert_eq!(state.board.sort, BoardSort::Name);
    assert_eq!(board_rows(&state), ["3", "4", "1", "2"]);
    // One event moves its own row: the answered customer writes again and waits longest?
    // No: newest wait, so under Waiting it goes last among the waiting.
    command(&mut state, Command::ToggleSort);
    update(&mut state, customer("4", "f", "Back again", T0 + 1_000));
    assert_eq!(board_rows(&state), ["1", "2", "3", "4"]);
}

#[test]
fn the_board_filters_by_state_broker_and_words() {
    let mut state = floor();
    update(
        &mut state,
        presence(
            "3",
            "broker-2",
            PresenceAction::Enter,
            json!({"name": "Alex Morgan", "viewing": true}),
        ),
    );
    state.focus = Focus::Board;
    command(&mut state, Command::Filter);
    assert!(state.board.filter_editing);
    for c in "state:breach".chars() {
        update(
            &mut state,
            Action::FilterKey(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    assert_eq!(board_rows(&state), ["1"]);
    state.board.set_filter("broker:alex".into());
    state.reorder();
    // Mei's conversation is viewed by Alex; Omar's was answered by Alex.
    assert_eq!(board_rows(&state), ["3", "4"]);
    state.board.set_filter("state:warn tom".into());
    state.reorder();
    assert_eq!(board_rows(&state), ["2"]);
    update(
        &mut state,
        Action::FilterKey(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    assert_eq!(board_rows(&state).len(), 4);
    // The selection stayed on Tom's row; Enter opens the row below it.
    assert_eq!(state.board.selected, Some(id("2")));
    command(&mut state, Command::Down);
    command(&mut state, Command::Open);
    assert_eq!(
        (state.open.clone(), state.focus),
        (Some(id("3")), Focus::Conversation)
    );
}

fn notices(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Notify { title, body, .. } => Some(format!("{title}: {body}")),
            _ => None,
        })
        .collect()
}

#[test]
fn notifications_are_rate_limited_per_conversation_and_overall_with_a_summary() {
    let mut state = desk();
    state.notify_via = vec![NotifyVia::Osc9];
    let mut shown = Vec::new();
    // Ten conversations breach at once (server events).
    for n in 1..=10 {
        let n = n.to_string();
        shown.extend(notices(&update(
            &mut state,
            customer(&n, &format!("m{n}"), "Hi", T0 - 400_000),
        )));
        shown.extend(notices(&update(
            &mut state,
            sla_event(&n, true, 300_000, 400_000, T0),
        )));
    }
    // The customer messages of conversations not on screen come first, then breaches:
    // six in the minute, whatever they were.
    assert_eq!(shown.len(), 6, "{shown:?}");
    // A repeat for conversation 1 within 30 s is held too.
    shown.extend(notices(&update(
        &mut state,
        customer("1", "again", "Hello??", T0 + 5_000),
    )));
    assert_eq!(shown.len(), 6);
    // A minute later, one summary of what was held.
    let later = notices(&tick(&mut state, T0 + 61_000));
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(later[0].contains("more"), "{later:?}");
}

#[test]
fn notifications_are_off_without_a_method_and_never_carry_raw_control_text() {
    let mut state = desk();
    let effects = update(&mut state, customer("1", "m1", "hi", T0));
    assert!(notices(&effects).is_empty());
    state.notify_via = vec![NotifyVia::Osc9];
    let effects = update(
        &mut state,
        customer("2", "m2", "evil \u{1b}]52;c;cGF5\u{7} text", T0),
    );
    let text = notices(&effects).join("");
    assert!(!text.chars().any(char::is_control), "{text:?}");
}

#[test]
fn read_only_refuses_every_publish_even_ones_asked_for_directly() {
    let me = Identity {
        broker_id: "s".into(),
        broker_name: "Supervisor".into(),
    };
    let mut state = AppState::new(me, true, Default::default(), T0);
    update(&mut state, customer("1", "m1", "Hello", T0));
    let mut effects = open(&mut state, "1");
    effects.extend(update(&mut state, Action::SetDraft("sneaky".into())));
    effects.extend(command(&mut state, Command::Send));
    effects.extend(command(&mut state, Command::Reply));
    effects.extend(command(&mut state, Command::PickSuggestion(Some(1))));
    effects.extend(tick(&mut state, T0 + 5_000));
    effects.extend(command(&mut state, Command::Quit));
    assert!(!effects.iter().any(Effect::publishes), "{effects:?}");
    assert!(state.notice.is_some() || state.quit);
}
