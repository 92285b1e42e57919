//! Entering and leaving the terminal's raw mode and alternate screen, restored on every
//! exit path: normal return, error, and panic (the hook restores before the message).

use std::io::{Stdout, Write, stdout};

use crossterm::cursor::{SetCursorStyle, Show};
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use unicode_segmentation::UnicodeSegmentation;

use crate::app::notify::NotifyVia;
use crate::sanitize::{CONTROL_MARK, clean_line};

pub type Screen = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    pub screen: Screen,
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("cannot switch the terminal to raw mode: {0}")]
    RawMode(std::io::Error),
    #[error("cannot prepare the terminal: {0}")]
    Prepare(std::io::Error),
    #[error("cannot draw on the terminal: {0}")]
    Draw(std::io::Error),
}

pub fn enter() -> Result<TerminalGuard, TerminalError> {
    enable_raw_mode().map_err(TerminalError::RawMode)?;
    let mut out = stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableBracketedPaste,
        SetCursorStyle::SteadyBar
    )
    .map_err(TerminalError::Prepare)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    let screen = Terminal::new(CrosstermBackend::new(stdout())).map_err(TerminalError::Draw)?;
    Ok(TerminalGuard { screen })
}

/// Raw mode alone, for the screen-reader prompt (no alternate screen, nothing drawn):
/// left when the guard drops, and on a panic.
pub struct RawKeysGuard;

pub fn enter_raw_keys() -> Result<RawKeysGuard, TerminalError> {
    enable_raw_mode().map_err(TerminalError::RawMode)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = disable_raw_mode();
        previous(info);
    }));
    Ok(RawKeysGuard)
}

impl Drop for RawKeysGuard {
    fn drop(&mut self) {
        let _ = disable_raw_mode();
    }
}

/// Leaves raw mode and the alternate screen; safe to call more than once.
pub fn restore() {
    let mut out = stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        SetCursorStyle::DefaultUserShape,
        Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// The terminal bell (BEL), written between frames.
pub fn bell() {
    let mut out = stdout();
    let _ = out.write_all(b"\x07");
    let _ = out.flush();
}

/// Longest title or body sent to the desktop, in characters, "…" included.
pub const NOTIFY_TEXT_CAP: usize = 200;
/// The title when the given one cleans down to nothing.
const FALLBACK_TITLE: &str = "brokerdash";

/// Raises a desktop notification each way in `via`, written between frames. Errors are
/// ignored as for the bell: a notification is never worth failing the session over.
pub fn notify(via: &[NotifyVia], title: &str, body: &str) {
    if via.is_empty() {
        return;
    }
    let bytes = notification_bytes(via, title, body);
    let mut out = stdout();
    let _ = out.write_all(&bytes);
    let _ = out.flush();
}

/// The bytes for `notify`: one sequence per entry of `via`, in its order. Title and body
/// are remote, so they are cleaned first: an escape sequence inside them would otherwise
/// end ours and run as the terminal's own (a clipboard write, a screen clear).
pub fn notification_bytes(via: &[NotifyVia], title: &str, body: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for way in via {
        match way {
            NotifyVia::Bell => out.push(0x07),
            NotifyVia::Osc9 => {
                out.extend_from_slice(b"\x1b]9;");
                out.extend_from_slice(osc9_text(title, body).as_bytes());
                out.push(0x07);
            }
            NotifyVia::Osc777 => {
                // `;` separates the fields: the title may not hold one (the body may).
                out.extend_from_slice(b"\x1b]777;notify;");
                out.extend_from_slice(notice_title(title, true).as_bytes());
                out.push(b';');
                out.extend_from_slice(notice_text(body, false).as_bytes());
                out.push(0x07);
            }
        }
    }
    out
}

/// "{title}: {body}" (the title alone when the body is empty). ConEmu, Windows Terminal
/// and Ghostty read an OSC 9 text that starts with a digit as a command of their own
/// (`9;4;…` progress, `9;5` wait for a key, `9;7;…` run a program): a title starting with
/// a digit is preceded by "brokerdash: ", so the text always starts with a letter or sign.
fn osc9_text(title: &str, body: &str) -> String {
    let title = notice_title(title, false);
    let body = notice_text(body, false);
    let lead = if title.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{FALLBACK_TITLE}: ")
    } else {
        String::new()
    };
    if body.is_empty() {
        format!("{lead}{title}")
    } else {
        format!("{lead}{title}: {body}")
    }
}

/// A cleaned title, never empty.
fn notice_title(text: &str, drop_semicolons: bool) -> String {
    let title = notice_text(text, drop_semicolons);
    if title.is_empty() {
        FALLBACK_TITLE.to_owned()
    } else {
        title
    }
}

/// One line of plain text: whole escape sequences removed (`sanitize`), then every
/// control left (C0, DEL, C1) and the marks standing for them, line breaks and tabs as
/// spaces, runs of whitespace as one, capped at `NOTIFY_TEXT_CAP` characters.
fn notice_text(text: &str, drop_semicolons: bool) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_ascii_whitespace() { ' ' } else { c })
        .collect();
    let kept: String = clean_line(&spaced)
        .chars()
        .filter(|c| !c.is_control() && *c != CONTROL_MARK)
        .map(|c| if drop_semicolons && c == ';' { ' ' } else { c })
        .collect();
    let collapsed = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    cap(collapsed)
}

/// At most `NOTIFY_TEXT_CAP` characters, ending in "…" when cut. Cut between graphemes
/// so an accent or an emoji family is not split; between characters if a single grapheme
/// is longer than the cap (a hostile pile of combining marks).
fn cap(text: String) -> String {
    if text.chars().count() <= NOTIFY_TEXT_CAP {
        return text;
    }
    let room = NOTIFY_TEXT_CAP - 1;
    let mut out = String::new();
    let mut used = 0;
    for grapheme in text.graphemes(true) {
        let width = grapheme.chars().count();
        if used + width > room {
            break;
        }
        out.push_str(grapheme);
        used += width;
    }
    if out.is_empty() {
        out = text.chars().take(room).collect();
    }
    let mut out = out.trim_end().to_owned();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use NotifyVia::{Bell, Osc9, Osc777};

    fn osc9(text: &str) -> Vec<u8> {
        [b"\x1b]9;", text.as_bytes(), b"\x07"].concat()
    }

    fn osc777(title: &str, body: &str) -> Vec<u8> {
        let fields = format!("{title};{body}");
        [b"\x1b]777;notify;", fields.as_bytes(), b"\x07"].concat()
    }

    #[test]
    fn notify_each_encoding_byte_for_byte() {
        assert_eq!(notification_bytes(&[Bell], "Ann", "Hi"), b"\x07");
        assert_eq!(
            notification_bytes(&[Osc9], "Ann Lee", "Is the rate fixed?"),
            b"\x1b]9;Ann Lee: Is the rate fixed?\x07"
        );
        assert_eq!(
            notification_bytes(&[Osc777], "Ann Lee", "Fixed; 5 years?"),
            b"\x1b]777;notify;Ann Lee;Fixed; 5 years?\x07"
        );
        assert_eq!(notification_bytes(&[], "Ann", "Hi"), b"");
        assert_eq!(notification_bytes(&[Osc9], "Ann", ""), osc9("Ann"));
    }

    #[test]
    fn notify_one_sequence_per_way_in_the_order_given() {
        let bytes = notification_bytes(&[Osc777, Bell, Osc9, Bell], "A", "b");
        let expected = [
            osc777("A", "b"),
            b"\x07".to_vec(),
            osc9("A: b"),
            b"\x07".to_vec(),
        ];
        assert_eq!(bytes, expected.concat());
    }

    #[test]
    fn notify_escape_injection_is_removed() {
        let title = "\x1b]52;c;ZXZpbA==\x07Ann\x1b[2J";
        let body = "hi\u{9b}2J there\x1b]0;pwned\x07!\x07\u{7f}\u{85}\x1b";
        let bytes = notification_bytes(&[Osc9, Osc777], title, body);
        let expected = [osc9("Ann: hi there!"), osc777("Ann", "hi there!")].concat();
        assert_eq!(bytes, expected);
        let text = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(text.matches('\x1b').count(), 2);
        assert_eq!(text.matches('\x07').count(), 2);
        assert!(!text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)));
    }

    #[test]
    fn notify_whitespace_collapses_and_semicolons_leave_the_osc777_title() {
        let body = "  line one\r\n\n\tline\u{a0}two  ";
        assert_eq!(
            notification_bytes(&[Osc777], "Smith; Jones;", body),
            osc777("Smith Jones", "line one line two")
        );
        assert_eq!(
            notification_bytes(&[Osc777], ";;", "x"),
            osc777("brokerdash", "x")
        );
        assert_eq!(
            notification_bytes(&[Osc9], "\x1b[2J\n\t", "x"),
            osc9("brokerdash: x")
        );
        assert_eq!(notification_bytes(&[Osc9], "", ""), osc9("brokerdash"));
    }

    #[test]
    fn notify_osc9_text_never_starts_with_a_digit() {
        for title in ["4;1;50", "5 new", "7;calc.exe", "\x07 12"] {
            let bytes = notification_bytes(&[Osc9], title, "x");
            let text = String::from_utf8(bytes).unwrap_or_default();
            let first = text.strip_prefix("\x1b]9;").and_then(|t| t.chars().next());
            assert!(first.is_some_and(|c| !c.is_ascii_digit()), "{text:?}");
        }
        assert_eq!(
            notification_bytes(&[Osc9], "4;1;50", "x"),
            osc9("brokerdash: 4;1;50: x")
        );
    }

    #[test]
    fn notify_text_is_capped_by_characters() {
        let exact = "x".repeat(NOTIFY_TEXT_CAP);
        assert_eq!(notice_text(&exact, false), exact);
        let cut = notice_text(&"x".repeat(500), false);
        assert_eq!(cut, format!("{}…", "x".repeat(NOTIFY_TEXT_CAP - 1)));
        // Two bytes each: cut by characters, never inside one.
        let cut = notice_text(&"é".repeat(300), false);
        assert_eq!(cut, format!("{}…", "é".repeat(NOTIFY_TEXT_CAP - 1)));
        let bytes = notification_bytes(&[Osc9, Osc777], &"中".repeat(250), &"ü".repeat(250));
        assert!(String::from_utf8(bytes).is_ok());
    }

    #[test]
    fn notify_cap_keeps_graphemes_whole() {
        let family = "👨\u{200D}👩\u{200D}👧"; // five characters
        let cut = notice_text(&family.repeat(50), false);
        assert_eq!(cut, format!("{}…", family.repeat(39)));
        // One grapheme longer than the cap is cut between characters.
        let zalgo = format!("e{}", "\u{301}".repeat(300));
        assert_eq!(notice_text(&zalgo, false).chars().count(), NOTIFY_TEXT_CAP);
    }
}
