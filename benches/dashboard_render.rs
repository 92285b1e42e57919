//! Drawing and memory of the dashboard at scale, from state built through the reducer:
//! a frame of a 1,000-conversation inbox, the supervisor's board at 5,000 conversations (a
//! frame, one event, a clock tick), a frame of a 10,000-message conversation, and the memory
//! of 1,000 conversations × 200 messages.
//!
//! Run: `cargo bench --bench dashboard_render` (release build). Aims: under 2 ms a frame;
//! under 100 MB for the 200,000 messages.

#![allow(clippy::expect_used)] // a benchmark stops loudly on a broken setup

use std::time::{Duration, Instant};

#[path = "common/desk.rs"]
mod desk;

use brokerdash::app::action::{Action, Command};
use brokerdash::app::state::AppState;
use brokerdash::app::update::update;
use brokerdash::config::theme::Theme;
use brokerdash::input::Keymap;
use brokerdash::protocol::events::ConversationId;
use desk::desk;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const FRAMES: usize = 300;

fn time_frames(state: &AppState, width: u16, height: u16) -> (Duration, Duration) {
    let theme = Theme::built_in("dark").expect("theme");
    let keymap = Keymap::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let started = Instant::now();
        terminal
            .draw(|frame| brokerdash::ui::render(frame, state, &theme, &keymap))
            .expect("draw");
        times.push(started.elapsed());
        // Forget the last frame, so each one is drawn and sent in full, not as an empty diff.
        terminal.clear().expect("clear");
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / u32::try_from(FRAMES).unwrap_or(1);
    (mean, times[FRAMES * 99 / 100])
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    println!(
        "dashboard render (cargo bench --bench dashboard_render), {} cores",
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    let mut inbox = desk(1_000, 3);
    let (mean, p99) = time_frames(&inbox, 160, 48);
    println!(
        "  1,000-conversation inbox, 160x48: mean {:.3} ms, p99 {:.3} ms per frame",
        ms(mean),
        ms(p99)
    );
    update(&mut inbox, Action::Command(Command::ToggleSort));
    let (mean, p99) = time_frames(&inbox, 80, 24);
    println!(
        "  1,000-conversation inbox, 80x24 (by name): mean {:.3} ms, p99 {:.3} ms per frame",
        ms(mean),
        ms(p99)
    );

    board();

    let mut long = desk(1, 10_000);
    long.selected = Some(ConversationId::new("0"));
    update(&mut long, Action::Command(Command::Open));
    let (mean, p99) = time_frames(&long, 160, 48);
    println!(
        "  10,000-message conversation, 160x48: mean {:.3} ms, p99 {:.3} ms per frame",
        ms(mean),
        ms(p99)
    );
    update(&mut long, Action::Command(Command::PageUp));
    update(&mut long, Action::Command(Command::PageUp));
    let (mean, p99) = time_frames(&long, 160, 48);
    println!(
        "  10,000-message conversation scrolled up, 160x48: mean {:.3} ms, p99 {:.3} ms per frame",
        ms(mean),
        ms(p99)
    );
    drop(long);
    drop(inbox);

    let before = rss_mb();
    let started = Instant::now();
    let big = desk(1_000, 200);
    let built = started.elapsed();
    let after = rss_mb();
    println!(
        "  1,000 conversations x 200 messages: {:.1} MB resident ({:.1} MB before building; built in {:.1} s through the reducer)",
        after,
        before,
        built.as_secs_f64()
    );
    std::hint::black_box(&big);
}

/// The board at 5,000 conversations: a frame, one incoming event (its row moves by a binary
/// search), the full sort it avoids, and the SLA clock's tick over every conversation.
fn board() {
    let mut floor = desk(5_000, 3);
    update(&mut floor, Action::Tick { now_ms: desk::T0 });
    update(&mut floor, Action::Command(Command::Board));
    for (width, height) in [(160, 48), (80, 24)] {
        let (mean, p99) = time_frames(&floor, width, height);
        println!(
            "  board, 5,000 conversations, {width}x{height}: mean {:.3} ms, p99 {:.3} ms per frame",
            ms(mean),
            ms(p99)
        );
    }
    let rounds = 2_000;
    let started = Instant::now();
    for n in 0..rounds {
        let channel = format!("conversation:{}", (n * 7919) % 5_000);
        update(
            &mut floor,
            desk::message(
                &channel,
                "message:user",
                serde_json::json!({"messageId": format!("bench-{n}"), "content": "One more question", "timestamp": desk::T0 + n as i64}),
            ),
        );
    }
    let per_event = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..20 {
        floor.board.reorder(&floor.conversations, &floor.sla_clock);
    }
    let full_sort = started.elapsed() / 20;
    println!(
        "  board, 5,000 conversations: one event {:.1} µs (reducer and its row moved); a full re-sort, avoided, {:.1} µs",
        per_event.as_secs_f64() * 1e6,
        full_sort.as_secs_f64() * 1e6
    );
    let started = Instant::now();
    for second in 1..=100 {
        update(
            &mut floor,
            Action::Tick {
                now_ms: desk::T0 + second * 1_000,
            },
        );
    }
    println!(
        "  board, 5,000 conversations: SLA clock tick {:.1} µs",
        started.elapsed().as_secs_f64() * 1e6 / 100.0
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
