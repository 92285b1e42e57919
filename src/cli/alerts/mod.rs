//! `brokerdash alerts`: the SLA alerts the dashboard recorded, as a table, CSV or JSON lines
//! for a report. It only reads the store (SQLite in WAL mode, so a running dashboard and this
//! command never block each other) and needs no connection or async runtime.

mod format;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use thiserror::Error;

use super::error::CliError;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// How far back to look: 90s, 15m, 1h, 2d, or a sum such as 1h30m.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub since: String,
    /// One JSON object per alert: raisedAt, raisedMs, conversationId, customer, level,
    /// source, thresholdSecs, waitedSecs, answeredAt, answeredAfterSecs, answeredBy.
    #[arg(long, conflicts_with = "csv")]
    pub jsonl: bool,
    /// CSV with a header line, for a spreadsheet (times in UTC).
    #[arg(long)]
    pub csv: bool,
    /// State folder the dashboard writes its store in (default $XDG_STATE_HOME/brokerdash).
    #[arg(long, env = "BROKERDASH_STATE_DIR", value_name = "PATH")]
    pub state_dir: Option<PathBuf>,
}

/// Why a `--since` value was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DurationError {
    #[error("expected a duration like 90s, 15m, 1h or 2d")]
    Malformed,
    #[error("too long to count back from now")]
    TooLong,
}

pub fn run(args: &AlertsArgs) -> Result<(), CliError> {
    let since = parse_duration(&args.since).map_err(|source| CliError::Since {
        given: args.since.clone(),
        source,
    })?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(crate::config::default_state_dir);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let back_ms = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    let from_ms = now_ms.saturating_sub(back_ms);
    let own = Store::open_existing(&state_dir)?;
    // The demo keeps its store beside the real one; its alerts are listed too, marked.
    let demo = Store::open_existing(&state_dir.join("demo"))?;
    if own.is_none() && demo.is_none() {
        eprintln!("no alerts recorded in {}", state_dir.display());
        return Ok(());
    }
    let mut alerts = match &own {
        Some(store) => store.alerts_since(from_ms)?,
        None => Vec::new(),
    };
    if let Some(store) = &demo {
        alerts.extend(store.alerts_since(from_ms)?.into_iter().map(|mut alert| {
            alert.conversation = format!("demo:{}", alert.conversation);
            alert
        }));
        alerts.sort_by_key(|alert| std::cmp::Reverse(alert.raised_ms));
    }
    let text = if args.jsonl {
        format::jsonl(&alerts)
    } else if args.csv {
        format::csv(&alerts)
    } else if alerts.is_empty() {
        eprintln!("no alerts in the last {}", args.since.trim());
        return Ok(());
    } else {
        format::table(&alerts, &chrono::Local, now_ms)
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A reader that stopped early (`| head`) got what it wanted.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(CliError::Output),
    }
}

/// `90s`, `15m`, `1h`, `2d`, or a sum of them (`1h30m`).
fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Malformed);
    }
    let mut total_secs: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            let grown = number
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(digit)));
            number = Some(grown.ok_or(DurationError::TooLong)?);
            continue;
        }
        let unit_secs = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(DurationError::Malformed),
        };
        let count = number.take().ok_or(DurationError::Malformed)?;
        total_secs = count
            .checked_mul(unit_secs)
            .and_then(|secs| total_secs.checked_add(secs))
            .ok_or(DurationError::TooLong)?;
    }
    // A bare number has no unit: minutes and seconds are both plausible, so it is refused.
    if number.is_some() {
        return Err(DurationError::Malformed);
    }
    Ok(Duration::from_secs(total_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_each_unit_and_sums_parse() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("1h", 3_600),
            ("2d", 172_800),
            ("1h30m", 5_400),
            (" 0s ", 0),
            ("1d2h3m4s", 93_784),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "", "abc", "90", "1h30", "h", "1.5h", "-1h", "1 h", "1w", "1H",
        ] {
            assert_eq!(
                parse_duration(text),
                Err(DurationError::Malformed),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            parse_duration("999999999999999999d"),
            Err(DurationError::TooLong)
        );
    }

    #[test]
    fn the_error_names_the_flag_and_the_value() {
        let error = CliError::Since {
            given: "abc".into(),
            source: DurationError::Malformed,
        };
        assert_eq!(
            error.to_string(),
            r#"--since "abc": expected a duration like 90s, 15m, 1h or 2d"#
        );
    }
}
