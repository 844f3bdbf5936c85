//! A channel's settings (automation, widget, bot scenario) and its workspace's time zone and
//! harassment policy, as
//! the doors, the rules and the APIs read them. Settings are stored as JSON; a row that does not parse is an error naming the
//! channel (code `corrupt_settings`), never a silent fall-back to defaults (which would, for
//! one, switch the bot on).

use chrono_tz::Tz;
use madoguchi_core::automation::Automation;
use madoguchi_core::harassment::Policy;
use madoguchi_core::hours::parse_time_zone;
use madoguchi_core::retention::Retention;
use madoguchi_core::scenario::Scenario;
use madoguchi_core::sensitive::Rules;
use madoguchi_core::widget::WidgetSettings;
use madoguchi_store::workspaces::{Channel, Workspace};
use serde::de::DeserializeOwned;

use crate::channels::outbound::Sender;

use crate::app::error::{DomainError, DomainResult};
use crate::app::AppState;

/// The channel's automation settings (`{}`, the defaults, until an admin saves some).
pub fn channel_automation(channel: &Channel) -> DomainResult<Automation> {
    parse(channel, "automation settings", &channel.automation)
}

/// The channel's widget settings (colours, texts, position, display rules).
pub fn widget_settings(channel: &Channel) -> DomainResult<WidgetSettings> {
    parse(channel, "widget settings", &channel.settings)
}

/// The channel's bot scenario (none until an admin saves one).
pub fn channel_scenario(channel: &Channel) -> DomainResult<Scenario> {
    parse(channel, "bot scenario", &channel.scenario)
}

fn parse<T: DeserializeOwned>(channel: &Channel, what: &str, stored: &str) -> DomainResult<T> {
    serde_json::from_str(stored).map_err(|err| {
        DomainError::CorruptSettings(format!(
            "channel {:?} ({}): its stored {what} cannot be read: {err}",
            channel.name, channel.id
        ))
    })
}

/// Who the customer hears from in a conversation: its brand's name and e-mail sender, else the
/// workspace's name and the server's sender.
#[derive(Debug, Clone)]
pub struct Face {
    pub name: String,
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
}

impl Face {
    pub fn sender(&self) -> Sender<'_> {
        Sender {
            name: self.sender_name.as_deref(),
            address: self.sender_email.as_deref(),
        }
    }
}

/// The face of a conversation of `brand_id` in `workspace`.
pub async fn face(
    state: &AppState,
    workspace: &Workspace,
    brand_id: Option<&str>,
) -> DomainResult<Face> {
    Ok(match brand_id {
        Some(id) => {
            let brand = state.store.brand(&workspace.id, id).await?;
            Face {
                sender_name: brand.sender_name.or_else(|| Some(brand.name.clone())),
                name: brand.name,
                sender_email: brand.sender_email,
            }
        }
        None => Face {
            name: workspace.name.clone(),
            sender_name: None,
            sender_email: None,
        },
    })
}

/// The workspace's harassment policy (`{}`, the defaults, until an admin saves one).
pub fn harassment_policy(workspace: &Workspace) -> DomainResult<Policy> {
    serde_json::from_str(&workspace.harassment).map_err(|err| {
        DomainError::CorruptSettings(format!(
            "workspace {:?}: its stored harassment policy cannot be read: {err}",
            workspace.name
        ))
    })
}

/// Which sensitive data the workspace masks in customers' messages (all when unset).
pub fn sensitive_rules(workspace: &Workspace) -> DomainResult<Rules> {
    optional(workspace, "masking rules", workspace.sensitive.as_deref())
}

/// How long the workspace keeps conversations and files (for ever when unset).
pub fn retention_policy(workspace: &Workspace) -> DomainResult<Retention> {
    optional(
        workspace,
        "retention policy",
        workspace.retention.as_deref(),
    )
}

/// A workspace setting stored as JSON, its default when unset.
fn optional<T: DeserializeOwned + Default>(
    workspace: &Workspace,
    what: &str,
    stored: Option<&str>,
) -> DomainResult<T> {
    match stored {
        None => Ok(T::default()),
        Some(json) => serde_json::from_str(json).map_err(|err| {
            DomainError::CorruptSettings(format!("{what} of workspace {}: {err}", workspace.id))
        }),
    }
}

/// The workspace's time zone (Asia/Tokyo when unset or unknown).
pub fn workspace_time_zone(workspace: &Workspace) -> Tz {
    parse_time_zone(&workspace.time_zone).unwrap_or(Tz::Asia__Tokyo)
}

/// The automation settings of a channel of `workspace_id` and that workspace's time zone.
pub async fn automation_of(
    state: &AppState,
    workspace_id: &str,
    channel_id: &str,
) -> DomainResult<(Automation, Tz)> {
    let channel = state.store.channel(workspace_id, channel_id).await?;
    let workspace = state.store.workspace(workspace_id).await?;
    Ok((
        channel_automation(&channel)?,
        workspace_time_zone(&workspace),
    ))
}
