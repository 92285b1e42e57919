//! The supervisor's options, from flags and the config: the view to start on, where
//! notifications go, and the client's own SLA clock (thresholds and business hours).

use clap::Args;
use thiserror::Error;

use crate::app::notify::{NotifyError, NotifyVia, parse_via};
use crate::app::sla_clock::{BusinessHours, HoursError, SlaClock, SlaThresholds, parse_utc_offset};
use crate::config::FileConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    Inbox,
    Board,
}

#[derive(Debug, Clone, Args)]
pub struct DeskArgs {
    /// Start on the inbox (default) or on the supervisor's board.
    #[arg(long, value_enum)]
    pub view: Option<View>,
    /// Notifications for breaches, warnings and new messages off screen: any of bell,
    /// osc9, osc777 (comma-separated), or none. Overrides `[notify] via`.
    #[arg(long, value_name = "bell,osc9,osc777")]
    pub notify: Option<String>,
}

#[derive(Debug, Error)]
pub enum DeskError {
    #[error("--notify / [notify] via: {0}")]
    Notify(#[from] NotifyError),
    #[error("[sla] hours: {0}")]
    Hours(HoursError),
    #[error("[sla] time_zone: {0}")]
    TimeZone(HoursError),
    #[error("[sla] violation_secs ({violation}) is shorter than warning_secs ({warning})")]
    Thresholds { warning: u64, violation: u64 },
}

/// What the dashboard takes from these options.
#[derive(Debug, Clone)]
pub struct Desk {
    pub notify: Vec<NotifyVia>,
    pub sla_clock: SlaClock,
    pub board: bool,
    /// The send guard (`[compose] guard`).
    pub guard: bool,
}

/// `bell` is the older `[dashboard] bell = true`: the bell among the notifications. In the
/// screen-reader mode nothing is notified unless the flag or `[notify] screen_reader` asks.
pub fn resolve(args: &DeskArgs, file: &FileConfig, screen_reader: bool) -> Result<Desk, DeskError> {
    let notify = match &args.notify {
        Some(flag) => parse_via(flag)?,
        None if screen_reader && !file.notify.screen_reader.unwrap_or(false) => Vec::new(),
        None => {
            let mut via = parse_via(&file.notify.via.join(","))?;
            if file.dashboard.bell.unwrap_or(false) && !via.contains(&NotifyVia::Bell) {
                via.push(NotifyVia::Bell);
            }
            via
        }
    };
    let defaults = SlaThresholds::default();
    let warning = file
        .sla
        .warning_secs
        .map_or(defaults.warning_ms, secs_to_ms);
    let violation = file
        .sla
        .violation_secs
        .map_or(defaults.violation_ms, secs_to_ms);
    if violation < warning {
        return Err(DeskError::Thresholds {
            warning: warning / 1000,
            violation: violation / 1000,
        });
    }
    let hours = match &file.sla.hours {
        Some(text) => {
            let offset_s = match &file.sla.time_zone {
                Some(zone) => parse_utc_offset(zone).map_err(DeskError::TimeZone)?,
                None => chrono::Local::now().offset().local_minus_utc(),
            };
            Some(BusinessHours::parse(text, offset_s).map_err(DeskError::Hours)?)
        }
        None => None,
    };
    Ok(Desk {
        notify,
        sla_clock: SlaClock {
            thresholds: SlaThresholds {
                warning_ms: warning,
                violation_ms: violation,
            },
            hours,
        },
        board: args.view == Some(View::Board),
        guard: file.compose.guard.unwrap_or(true),
    })
}

fn secs_to_ms(secs: u64) -> u64 {
    secs.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(notify: Option<&str>) -> DeskArgs {
        DeskArgs {
            view: None,
            notify: notify.map(str::to_owned),
        }
    }

    #[test]
    fn the_config_sets_the_clock_and_the_flag_overrides_notifications() {
        let file = FileConfig::parse(
            "[sla]\nwarning_secs = 60\nviolation_secs = 180\nhours = \"Mon-Fri 09:00-18:00\"\ntime_zone = \"+01:00\"\n[notify]\nvia = [\"osc777\"]\n",
        )
        .unwrap();
        let desk = resolve(&args(None), &file, false).unwrap();
        assert_eq!(desk.notify, [NotifyVia::Osc777]);
        assert_eq!(desk.sla_clock.thresholds.warning_ms, 60_000);
        assert!(desk.sla_clock.hours.is_some());
        let desk = resolve(&args(Some("bell,osc9")), &file, false).unwrap();
        assert_eq!(desk.notify, [NotifyVia::Bell, NotifyVia::Osc9]);
    }

    #[test]
    fn the_screen_reader_mode_is_not_notified_unless_asked() {
        let file = FileConfig::parse("[notify]\nvia = [\"osc9\"]\n").unwrap();
        assert!(resolve(&args(None), &file, true).unwrap().notify.is_empty());
        let asked = resolve(&args(Some("osc9")), &file, true).unwrap();
        assert_eq!(asked.notify, [NotifyVia::Osc9]);
    }

    #[test]
    fn mistakes_are_named() {
        let file = FileConfig::parse("[sla]\nhours = \"Mun-Fri 09:00-18:00\"\n").unwrap();
        let error = resolve(&args(None), &file, false).unwrap_err().to_string();
        assert!(error.contains("Mun"), "{error}");
        let file = FileConfig::parse("[sla]\nwarning_secs = 300\nviolation_secs = 60\n").unwrap();
        assert!(resolve(&args(None), &file, false).is_err());
        let error = resolve(&args(Some("bel")), &FileConfig::default(), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("bel"), "{error}");
    }
}
