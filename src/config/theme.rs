//! Themes are roles, shipped as files (`themes/`, built into the binary) and loaded as
//! overlays: a theme file names roles; any it omits come from the default theme. Widgets
//! ask for a role (`theme.role(Role::Customer)`), never for a colour.

use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use thiserror::Error;

pub const BUILT_IN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Text,
    Dim,
    Border,
    BorderFocused,
    Title,
    Selection,
    Customer,
    Ai,
    Me,
    Broker,
    System,
    Note,
    SlaWarning,
    SlaBreach,
    Online,
    Away,
    Offline,
    Typing,
    Unread,
    Delivery,
    DeliveryRead,
    DeliveryFailed,
    Status,
    StatusOk,
    StatusBad,
    Banner,
    Key,
}

impl Role {
    pub const ALL: [Role; 27] = [
        Role::Text,
        Role::Dim,
        Role::Border,
        Role::BorderFocused,
        Role::Title,
        Role::Selection,
        Role::Customer,
        Role::Ai,
        Role::Me,
        Role::Broker,
        Role::System,
        Role::Note,
        Role::SlaWarning,
        Role::SlaBreach,
        Role::Online,
        Role::Away,
        Role::Offline,
        Role::Typing,
        Role::Unread,
        Role::Delivery,
        Role::DeliveryRead,
        Role::DeliveryFailed,
        Role::Status,
        Role::StatusOk,
        Role::StatusBad,
        Role::Banner,
        Role::Key,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Dim => "dim",
            Self::Border => "border",
            Self::BorderFocused => "border_focused",
            Self::Title => "title",
            Self::Selection => "selection",
            Self::Customer => "customer",
            Self::Ai => "ai",
            Self::Me => "me",
            Self::Broker => "broker",
            Self::System => "system",
            Self::Note => "note",
            Self::SlaWarning => "sla_warning",
            Self::SlaBreach => "sla_breach",
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
            Self::Typing => "typing",
            Self::Unread => "unread",
            Self::Delivery => "delivery",
            Self::DeliveryRead => "delivery_read",
            Self::DeliveryFailed => "delivery_failed",
            Self::Status => "status",
            Self::StatusOk => "status_ok",
            Self::StatusBad => "status_bad",
            Self::Banner => "banner",
            Self::Key => "key",
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ThemeError {
    #[error("unknown theme {0:?} (built in: dark, light, high-contrast)")]
    Unknown(String),
    #[error("theme {name}: {reason}")]
    Invalid { name: String, reason: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    roles: BTreeMap<String, RoleFile>,
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<Role, Style>,
    /// ASCII marks instead of symbols and emoji.
    pub ascii: bool,
}

impl Theme {
    /// A built-in theme by name, or a theme file's text laid over the default.
    pub fn built_in(name: &str) -> Result<Self, ThemeError> {
        let text = BUILT_IN
            .iter()
            .find(|(built_in, _)| *built_in == name || (name == "default" && *built_in == "dark"))
            .map(|(_, text)| *text)
            .ok_or_else(|| ThemeError::Unknown(name.to_owned()))?;
        Self::from_text(name, text)
    }

    pub fn from_text(name: &str, text: &str) -> Result<Self, ThemeError> {
        let invalid = |reason: String| ThemeError::Invalid {
            name: name.to_owned(),
            reason,
        };
        let base: ThemeFile = toml::from_str(BUILT_IN[0].1).map_err(|e| invalid(e.to_string()))?;
        let overlay: ThemeFile =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_owned()))?;
        for role in overlay.roles.keys() {
            if !Role::ALL.iter().any(|known| known.name() == role) {
                return Err(invalid(format!("unknown role {role:?}")));
            }
        }
        let mut styles = BTreeMap::new();
        for role in Role::ALL {
            let file = overlay
                .roles
                .get(role.name())
                .or_else(|| base.roles.get(role.name()))
                .cloned()
                .unwrap_or_default();
            styles.insert(
                role,
                style_of(&file)
                    .map_err(|reason| invalid(format!("role {}: {reason}", role.name())))?,
            );
        }
        Ok(Self {
            name: name.to_owned(),
            styles,
            ascii: false,
        })
    }

    /// Removes every colour, keeping bold, italic and reverse video (`NO_COLOR`).
    pub fn without_colour(mut self) -> Self {
        for style in self.styles.values_mut() {
            style.fg = None;
            style.bg = None;
        }
        self
    }

    pub fn role(&self, role: Role) -> Style {
        self.styles.get(&role).copied().unwrap_or_default()
    }

    /// A mark, or its ASCII stand-in.
    pub fn mark(&self, symbol: &'static str, ascii: &'static str) -> &'static str {
        if self.ascii { ascii } else { symbol }
    }
}

/// A colour a theme file names that is not one.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0:?} is not a colour (a name such as \"cyan\", \"#rrggbb\" or \"reset\")")]
struct NotAColour(String);

fn style_of(file: &RoleFile) -> Result<Style, NotAColour> {
    let mut style = Style::default();
    if let Some(fg) = &file.fg {
        style = style.fg(colour(fg)?);
    }
    if let Some(bg) = &file.bg {
        style = style.bg(colour(bg)?);
    }
    let flags = [
        (file.bold, Modifier::BOLD),
        (file.italic, Modifier::ITALIC),
        (file.reversed, Modifier::REVERSED),
        (file.dim, Modifier::DIM),
    ];
    for (on, modifier) in flags {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    Ok(style)
}

fn colour(text: &str) -> Result<Color, NotAColour> {
    Color::from_str(text).map_err(|_| NotAColour(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_loads_with_every_role() {
        for (name, _) in BUILT_IN {
            let theme = Theme::built_in(name).unwrap();
            assert_eq!(theme.styles.len(), Role::ALL.len(), "{name}");
        }
        assert!(Theme::built_in("default").is_ok());
    }

    #[test]
    fn a_user_theme_overlays_the_default() {
        let theme = Theme::from_text("mine", "[roles]\ncustomer = { fg = \"#ff8800\" }\n").unwrap();
        assert_eq!(
            theme.role(Role::Customer).fg,
            Some(Color::Rgb(0xff, 0x88, 0x00))
        );
        assert_eq!(
            theme.role(Role::Ai),
            Theme::built_in("dark").unwrap().role(Role::Ai)
        );
    }

    #[test]
    fn mistakes_name_the_role_and_value() {
        let error = Theme::from_text("bad", "[roles]\ncustomer = { fg = \"chartreuse-ish\" }\n")
            .unwrap_err();
        assert!(
            error.to_string().contains("customer") && error.to_string().contains("chartreuse-ish"),
            "{error}"
        );
        let error = Theme::from_text("bad", "[roles]\ncustmer = { fg = \"red\" }\n").unwrap_err();
        assert!(error.to_string().contains("custmer"), "{error}");
        assert_eq!(
            Theme::built_in("neon").unwrap_err(),
            ThemeError::Unknown("neon".into())
        );
    }

    #[test]
    fn no_colour_keeps_the_marks_that_carry_meaning() {
        let theme = Theme::built_in("dark").unwrap().without_colour();
        assert_eq!(theme.role(Role::SlaBreach).bg, None);
        assert!(
            theme
                .role(Role::SlaBreach)
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert!(
            theme
                .role(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }
}
