//! What each role may do: one table, [`MATRIX`], read by every endpoint and socket (the server
//! maps each route to one [`Permission`]).

use crate::agent::Role;

crate::string_enum!(
    /// One thing an agent may be allowed to do; every agent route needs exactly one.
    Permission, "permission", {
        ReadInbox => "read_inbox",
        Answer => "answer",
        SeeAllTeams => "see_all_teams",
        RevealMasked => "reveal_masked",
        HandleHarassment => "handle_harassment",
        ReadReports => "read_reports",
        EditKnowledge => "edit_knowledge",
        ChangeSettings => "change_settings",
        ManageAgents => "manage_agents",
        ManageOwners => "manage_owners",
        ExportData => "export_data",
        EraseData => "erase_data",
        ReadAudit => "read_audit",
    }
);

/// The roles, in the order of [`MATRIX`]'s columns.
pub const ROLES: [Role; 5] = [
    Role::Owner,
    Role::Admin,
    Role::Supervisor,
    Role::Agent,
    Role::Analyst,
];

const Y: bool = true;
const N: bool = false;

/// Who may do what. Columns: owner, admin, supervisor, agent, analyst.
///
/// - `ReadInbox`: conversations, messages, contacts, search, files, the live socket, and the
///   settings agents work by (templates, tags, teams, rules, policies) — read only.
/// - `Answer`: reply, write notes, change a conversation (status, assignee, tags), edit a
///   contact, report a message, type on the socket.
/// - `SeeAllTeams`: conversations of every team even where the workspace limits agents to
///   their own.
/// - `RevealMasked`: read a masked (harassment-flagged) message's text (audited).
/// - `HandleHarassment`: the review queue, decisions, blocks, a case's evidence.
/// - `ReadReports`: KPI reports and their CSV, bot and scenario figures, harassment figures.
/// - `EditKnowledge`: articles, synonyms, templates, tags, teaching the bot from its log.
/// - `ChangeSettings`: channels, the workspace, automation, routing, SLAs, classification,
///   masking rules, webhooks, KPI targets.
/// - `ManageAgents`: invite, change, disable and delete agents (not owners).
/// - `ManageOwners`: give or take the owner role, change an owner's account.
/// - `ExportData`: export everything held about a contact.
/// - `EraseData`: erase a contact.
/// - `ReadAudit`: the audit log and its chain check.
pub const MATRIX: [(Permission, [bool; 5]); 13] = [
    (Permission::ReadInbox, [Y, Y, Y, Y, Y]),
    (Permission::Answer, [Y, Y, Y, Y, N]),
    (Permission::SeeAllTeams, [Y, Y, Y, N, Y]),
    (Permission::RevealMasked, [Y, Y, Y, Y, N]),
    (Permission::HandleHarassment, [Y, Y, Y, N, N]),
    (Permission::ReadReports, [Y, Y, Y, N, Y]),
    (Permission::EditKnowledge, [Y, Y, Y, N, N]),
    (Permission::ChangeSettings, [Y, Y, N, N, N]),
    (Permission::ManageAgents, [Y, Y, N, N, N]),
    (Permission::ManageOwners, [Y, N, N, N, N]),
    (Permission::ExportData, [Y, Y, N, N, N]),
    (Permission::EraseData, [Y, Y, N, N, N]),
    (Permission::ReadAudit, [Y, Y, Y, N, N]),
];

/// Whether `role` may do `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    let column = ROLES.iter().position(|r| *r == role);
    MATRIX
        .iter()
        .find(|(p, _)| *p == permission)
        .zip(column)
        .is_some_and(|((_, cells), column)| cells[column])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_and_permission_has_one_cell() {
        assert_eq!(ROLES.len(), Role::ALL.len());
        assert!(Role::ALL.iter().all(|r| ROLES.contains(r)));
        assert_eq!(MATRIX.len(), Permission::ALL.len());
        for permission in Permission::ALL {
            assert_eq!(
                MATRIX.iter().filter(|(p, _)| p == permission).count(),
                1,
                "{permission}"
            );
        }
    }

    #[test]
    fn the_critical_cells() {
        // Written out by hand, apart from the table, so a wrong table cannot pass.
        for (role, permission, allowed) in [
            (Role::Owner, Permission::ManageOwners, true),
            (Role::Admin, Permission::ManageOwners, false),
            (Role::Admin, Permission::EraseData, true),
            (Role::Supervisor, Permission::ChangeSettings, false),
            (Role::Supervisor, Permission::HandleHarassment, true),
            (Role::Supervisor, Permission::ExportData, false),
            (Role::Supervisor, Permission::ReadAudit, true),
            (Role::Agent, Permission::Answer, true),
            (Role::Agent, Permission::ReadReports, false),
            (Role::Agent, Permission::EraseData, false),
            (Role::Agent, Permission::ReadAudit, false),
            (Role::Agent, Permission::SeeAllTeams, false),
            (Role::Analyst, Permission::ReadReports, true),
            (Role::Analyst, Permission::Answer, false),
            (Role::Analyst, Permission::RevealMasked, false),
            (Role::Analyst, Permission::ChangeSettings, false),
        ] {
            assert_eq!(allows(role, permission), allowed, "{role} {permission}");
        }
    }

    #[test]
    fn owners_may_do_everything_and_each_role_less_than_admins_but_owners() {
        for permission in Permission::ALL {
            assert!(allows(Role::Owner, *permission));
            if allows(Role::Supervisor, *permission) || allows(Role::Agent, *permission) {
                assert!(allows(Role::Admin, *permission), "{permission}");
            }
        }
    }
}
