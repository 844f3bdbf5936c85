//! `madoguchi demo seed` and `serve --demo`: a living inbox and dashboard for a new user (three
//! demo agents and a synthetic Japanese shop history), and the data `bench kpis` measures on.

use madoguchi_core::agent::{Email, Role};
use madoguchi_store::agents::NewAgent;
use madoguchi_store::demo::{DemoPlan, Seeded};
use madoguchi_store::workspaces::Channel;
use madoguchi_store::Store;

use crate::app::auth::{hash_password, new_secret};

const DEMO_AGENTS: &[(&str, &str)] = &[
    ("sasaki.demo@example.jp", "佐々木"),
    ("inoue.demo@example.jp", "井上"),
    ("kimura.demo@example.jp", "木村"),
];

/// Seeds `conversations` over the last `days` into the channel's workspace, answered by the
/// demo agents (made, with passwords nobody knows, when missing).
pub async fn seed(
    store: &Store,
    channel: &Channel,
    conversations: usize,
    days: i64,
) -> anyhow::Result<Seeded> {
    let workspace_id = &channel.workspace_id;
    let existing = store.agents(workspace_id).await?;
    let mut agent_ids = Vec::new();
    for (email, name) in DEMO_AGENTS {
        if let Some(agent) = existing.iter().find(|a| a.email.as_str() == *email) {
            agent_ids.push(agent.id.clone());
            continue;
        }
        let hash = hash_password(new_secret())
            .await
            .map_err(|err| anyhow::anyhow!(err.message))?;
        let agent = store
            .create_agent(NewAgent {
                workspace_id,
                email: &Email::parse(email)?,
                name,
                role: Role::Agent,
                password_hash: &hash,
            })
            .await?;
        agent_ids.push(agent.id);
    }
    Ok(store
        .seed_history(&DemoPlan {
            workspace_id,
            channel_id: &channel.id,
            agent_ids: &agent_ids,
            conversations,
            days,
            end_ms: madoguchi_store::now_ms(),
            seed: conversations as u64 ^ 0x6d61_646f_6775_6368,
        })
        .await?)
}
