//! A channel's automation settings and its workspace's time zone, as the doors and the rules
//! read them. Settings are stored as JSON; a row that does not parse is an error naming the
//! channel (code `corrupt_settings`), never a silent fall-back to defaults (which would, for
//! one, switch the bot on).

use chrono_tz::Tz;
use madoguchi_core::automation::Automation;
use madoguchi_core::hours::parse_time_zone;
use madoguchi_store::workspaces::{Channel, Workspace};

use crate::app::AppState;
use crate::error::{ApiResult, AppError, ErrorCode};

/// The channel's automation settings (`{}`, the defaults, until an admin saves some).
pub fn channel_automation(channel: &Channel) -> ApiResult<Automation> {
    serde_json::from_str(&channel.automation).map_err(|err| {
        AppError::new(
            ErrorCode::CorruptSettings,
            format!(
                "channel {:?} ({}): its stored automation settings cannot be read: {err}",
                channel.name, channel.id
            ),
        )
    })
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
) -> ApiResult<(Automation, Tz)> {
    let channel = state.store.channel(workspace_id, channel_id).await?;
    let workspace = state.store.workspace(workspace_id).await?;
    Ok((
        channel_automation(&channel)?,
        workspace_time_zone(&workspace),
    ))
}
