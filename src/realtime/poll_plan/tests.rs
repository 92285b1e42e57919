use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{PollKind, PollPlan};
use crate::realtime::transport::PollTiming;

fn plan_with(channels: usize, start: Instant) -> PollPlan {
    let mut plan = PollPlan::new(PollTiming::default(), start);
    for index in 0..channels {
        plan.add(&format!("conversation:{index}"), start);
    }
    plan
}

/// Runs the plan for `seconds`, answering every request at once; counts requests per
/// channel and kind.
fn run(
    plan: &mut PollPlan,
    start: Instant,
    seconds: u64,
    delivered: impl Fn(&str) -> usize,
) -> HashMap<(String, PollKind), usize> {
    let mut asked = HashMap::new();
    let mut now = start;
    while now < start + Duration::from_secs(seconds) {
        for (channel, kind) in plan.take_due(now) {
            *asked.entry((channel.clone(), kind)).or_insert(0) += 1;
            plan.done(&channel, kind, now, delivered(&channel));
        }
        now += Duration::from_millis(50);
    }
    asked
}

#[test]
fn two_hundred_channels_stay_within_the_request_budget_and_none_is_starved() {
    let start = Instant::now();
    let mut plan = plan_with(200, start);
    let active = |channel: &str| usize::from(channel.ends_with('0'));
    let asked = run(&mut plan, start, 120, active);
    let total: usize = asked.values().sum();
    let budget = PollTiming::default().max_requests_per_sec;
    // One second of burst on top of the steady rate.
    let ceiling = (budget * 121.0) as usize;
    assert!(
        total <= ceiling,
        "{total} requests in 120 s, ceiling {ceiling}"
    );
    assert!(total >= ceiling * 9 / 10, "the budget is used: {total}");
    for index in 0..200 {
        let polls = asked[&(format!("conversation:{index}"), PollKind::Messages)];
        assert!(
            polls >= 5,
            "conversation:{index} polled {polls} times in 120 s"
        );
    }
}

#[test]
fn the_focused_conversation_is_polled_every_second_and_at_once_when_focused() {
    let start = Instant::now();
    let mut plan = plan_with(50, start);
    run(&mut plan, start, 5, |_| 0);
    let focused_at = start + Duration::from_secs(5);
    plan.focus(Some("conversation:7"), focused_at);
    let first = plan.take_due(focused_at);
    assert!(
        first.contains(&("conversation:7".to_owned(), PollKind::Messages)),
        "{first:?}"
    );
    for (channel, kind) in first {
        plan.done(&channel, kind, focused_at, 0);
    }
    let asked = run(&mut plan, focused_at, 10, |_| 0);
    let focused = asked[&("conversation:7".to_owned(), PollKind::Messages)];
    let idle = asked
        .get(&("conversation:8".to_owned(), PollKind::Messages))
        .copied()
        .unwrap_or(0);
    assert!(
        (9..=11).contains(&focused),
        "focused polled {focused} times in 10 s"
    );
    assert!(idle <= 1, "an idle channel polled {idle} times in 10 s");
}

#[test]
fn a_request_in_flight_is_not_asked_again_and_presence_follows_the_first_reads() {
    let start = Instant::now();
    let mut plan = plan_with(1, start);
    let channel = "conversation:0".to_owned();
    assert_eq!(
        plan.take_due(start),
        [(channel.clone(), PollKind::Messages)],
        "messages first"
    );
    let later = start + Duration::from_secs(60);
    assert_eq!(
        plan.take_due(later),
        [(channel.clone(), PollKind::Presence)],
        "presence once its turn comes; the messages are still in flight"
    );
    assert!(plan.take_due(later).is_empty(), "both in flight");
    plan.done(&channel, PollKind::Messages, later, 0);
    assert!(
        plan.take_due(later).is_empty(),
        "next due after its interval"
    );
    assert!(plan.next_wake(later).is_some_and(|at| at > later));
}

#[test]
fn a_429_halves_the_budget_and_quiet_brings_it_back() {
    let start = Instant::now();
    let mut plan = plan_with(10, start);
    let full = plan.rate();
    let due = plan.take_due(start);
    let (channel, kind) = due[0].clone();
    plan.failed(&channel, kind, start, true);
    assert_eq!(plan.rate(), full / 2.0);
    plan.take_due(start + Duration::from_secs(31));
    assert_eq!(plan.rate(), full);
}

#[test]
fn a_removed_channel_is_no_longer_asked_for() {
    let start = Instant::now();
    let mut plan = plan_with(2, start);
    plan.remove("conversation:1");
    let due = plan.take_due(start);
    assert!(due.iter().all(|(channel, _)| channel == "conversation:0"));
    assert_eq!(plan.len(), 1);
}
