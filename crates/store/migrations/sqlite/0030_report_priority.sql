-- Reports group by priority too (SLA attainment per priority): the report index holds it.
DROP INDEX conversations_report;
CREATE INDEX conversations_report ON conversations(workspace_id, created_at, id, channel_id,
    assignee_id, team_id, contact_id, status, first_contact_at, last_contact_at,
    first_agent_response_at, first_bot_at, resolved_at, reopened, waiting_since_at, rating, nps,
    complaint, bot_resolved, sla_first_due_at, sla_resolution_due_at, priority);
