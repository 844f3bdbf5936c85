//! The support KPIs, computed from what is stored about each conversation (no IO here). What
//! counts, precisely (also in `docs/kpis.md`):
//!
//! - A conversation counts in the period (and the day, week, month) of its creation, in the
//!   workspace's time zone. Spam is never counted.
//! - **First response**: from the customer's first message to the first agent reply. Bot,
//!   auto-reply and system messages are never a human response; private notes are not replies.
//!   A conversation an agent opened (the agent wrote first) has no first response. p50 and p90
//!   by nearest rank, wall time and open business hours of the channel.
//! - **Handle time**: from the first human reply to resolution, over resolved conversations.
//! - **First-contact resolution**: of the resolved conversations with a human reply, those the
//!   customer never wrote in again after the first reply, never reopened, and that brought no
//!   re-contact.
//! - **CSAT**: ratings of 4–5 over all ratings (1–5). **NPS**: % of 9–10 minus % of 0–6.
//! - **Abandonment**: of the conversations where the customer wrote, those no human or bot ever
//!   answered (auto-replies do not answer), once resolved or silent for a day.
//! - **Re-contact**: resolved conversations whose customer opened another within 7 days.
//! - **Complaints**: conversations tagged `complaint`.
//! - **Backlog**: open conversations waiting on us now; **missed**: those waiting longer than
//!   the first-response target.
//! - **Self-resolution**: conversations the bot resolved (「解決しました」) with no human reply,
//!   plus help-center 「役に立った」 votes, over conversations plus those votes.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How long a customer's silence means they left, for abandonment.
pub const ABANDON_AFTER_MS: i64 = 24 * 3_600_000;
/// How soon after resolution a new conversation is a re-contact.
pub const RECONTACT_WITHIN_MS: i64 = 7 * 24 * 3_600_000;

/// What the store knows about one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFacts {
    pub id: String,
    pub channel_id: String,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    /// The brand of its channel (filled in by the report from the channels).
    pub brand_id: Option<String>,
    pub created_at: i64,
    pub first_contact_at: Option<i64>,
    pub last_contact_at: Option<i64>,
    pub first_agent_response_at: Option<i64>,
    pub first_bot_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// Open or pending now (not resolved, snoozed or spam).
    pub open: bool,
    pub spam: bool,
    pub reopened: bool,
    /// When the customer's message still waiting for a human reply was written.
    pub waiting_since_at: Option<i64>,
    pub rating: Option<i64>,
    pub nps: Option<i64>,
    pub complaint: bool,
    pub recontact: bool,
    pub bot_resolved: bool,
    /// First response in the channel's open hours, when there is one.
    pub business_first_response_s: Option<i64>,
    /// SLA deadlines, when a policy applies.
    pub sla_first_due_at: Option<i64>,
    pub sla_resolution_due_at: Option<i64>,
    /// low, normal, high or urgent.
    pub priority: Option<String>,
}

impl ConversationFacts {
    /// Seconds from the customer's first message to the first human reply.
    pub fn first_response_s(&self) -> Option<i64> {
        let (asked, answered) = (self.first_contact_at?, self.first_agent_response_at?);
        (answered >= asked).then_some((answered - asked) / 1000)
    }

    pub fn human_replied(&self) -> bool {
        self.first_agent_response_at.is_some()
    }

    pub fn fcr(&self) -> Option<bool> {
        let (answered, _) = (self.first_agent_response_at?, self.resolved_at?);
        Some(
            !self.reopened
                && !self.recontact
                && self.last_contact_at.is_none_or(|last| last <= answered),
        )
    }

    pub fn abandoned(&self, now: i64) -> Option<bool> {
        let last = self.last_contact_at?;
        let answered = self.first_agent_response_at.is_some() || self.first_bot_at.is_some();
        Some(!answered && (self.resolved_at.is_some() || now - last >= ABANDON_AFTER_MS))
    }

    pub fn self_resolved(&self) -> bool {
        self.bot_resolved && !self.human_replied()
    }

    /// Whether the SLA was met (`None`: no policy, or a target still running).
    pub fn sla_outcome(&self, now: i64) -> Option<bool> {
        use crate::sla::{outcome, target_met};
        outcome(
            target_met(self.sla_first_due_at, self.first_agent_response_at, now),
            target_met(
                self.sla_resolution_due_at,
                self.resolved_at.filter(|_| !self.open),
                now,
            ),
            self.sla_first_due_at.is_some(),
            self.sla_resolution_due_at.is_some(),
        )
    }

    pub fn waiting(&self) -> bool {
        self.open && self.waiting_since_at.is_some()
    }
}

/// The KPI values of a set of conversations: rates as fractions, durations in seconds, `None`
/// where there is nothing to count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    pub conversations: usize,
    pub first_response_p50_s: Option<i64>,
    pub first_response_p90_s: Option<i64>,
    pub first_response_business_p50_s: Option<i64>,
    pub handle_time_avg_s: Option<i64>,
    pub fcr_rate: Option<f64>,
    pub csat_rate: Option<f64>,
    pub csat_responses: usize,
    pub nps: Option<f64>,
    pub nps_responses: usize,
    pub abandonment_rate: Option<f64>,
    pub recontact_rate: Option<f64>,
    pub complaint_rate: Option<f64>,
    pub backlog: usize,
    pub missed: usize,
    pub self_resolution_rate: Option<f64>,
    /// Conversations whose SLA targets were all met / one was missed (running ones neither).
    pub sla_met: usize,
    pub sla_breached: usize,
    pub sla_attainment_rate: Option<f64>,
}

/// The KPI names, in report order (the CSV's columns).
pub const KPI_NAMES: &[&str] = &[
    "conversations",
    "first_response_p50_s",
    "first_response_p90_s",
    "first_response_business_p50_s",
    "handle_time_avg_s",
    "fcr_rate",
    "csat_rate",
    "csat_responses",
    "nps",
    "nps_responses",
    "abandonment_rate",
    "recontact_rate",
    "complaint_rate",
    "backlog",
    "missed",
    "self_resolution_rate",
    "sla_met",
    "sla_breached",
    "sla_attainment_rate",
];

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The nearest-rank percentile (`p` in 0–100) of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A rate of a yes/no property over the facts that have it.
fn rate(values: impl Iterator<Item = Option<bool>>) -> Option<f64> {
    let (mut yes, mut all) = (0, 0);
    for value in values.flatten() {
        all += 1;
        yes += usize::from(value);
    }
    ratio(yes, all)
}

/// The KPIs of `facts` at `now`, with `helpful_votes` help-center sessions that solved the
/// customer's question without a conversation.
pub fn compute(
    facts: &[&ConversationFacts],
    now: i64,
    first_response_target_s: i64,
    helpful_votes: usize,
) -> Kpis {
    let counted: Vec<&ConversationFacts> = facts.iter().copied().filter(|f| !f.spam).collect();
    let sorted = |values: Vec<i64>| {
        let mut values = values;
        values.sort_unstable();
        values
    };
    let first = sorted(
        counted
            .iter()
            .filter_map(|f| f.first_response_s())
            .collect(),
    );
    let business = sorted(
        counted
            .iter()
            .filter_map(|f| f.business_first_response_s)
            .collect(),
    );
    let handle: Vec<i64> = counted
        .iter()
        .filter_map(|f| Some((f.resolved_at? - f.first_agent_response_at?).max(0) / 1000))
        .collect();
    let ratings: Vec<i64> = counted.iter().filter_map(|f| f.rating).collect();
    let nps: Vec<i64> = counted.iter().filter_map(|f| f.nps).collect();
    let promoters = nps.iter().filter(|s| **s >= 9).count();
    let detractors = nps.iter().filter(|s| **s <= 6).count();
    let waiting: Vec<&&ConversationFacts> = counted.iter().filter(|f| f.waiting()).collect();
    let self_resolved = counted.iter().filter(|f| f.self_resolved()).count() + helpful_votes;
    let sla: Vec<bool> = counted.iter().filter_map(|f| f.sla_outcome(now)).collect();
    Kpis {
        conversations: counted.len(),
        first_response_p50_s: percentile(&first, 50),
        first_response_p90_s: percentile(&first, 90),
        first_response_business_p50_s: percentile(&business, 50),
        handle_time_avg_s: (!handle.is_empty())
            .then(|| handle.iter().sum::<i64>() / handle.len() as i64),
        fcr_rate: rate(counted.iter().map(|f| f.fcr())),
        csat_rate: ratio(ratings.iter().filter(|s| **s >= 4).count(), ratings.len()),
        csat_responses: ratings.len(),
        nps: ratio(promoters, nps.len())
            .zip(ratio(detractors, nps.len()))
            .map(|(p, d)| (p - d) * 100.0),
        nps_responses: nps.len(),
        abandonment_rate: rate(counted.iter().map(|f| f.abandoned(now))),
        recontact_rate: rate(counted.iter().map(|f| f.resolved_at.map(|_| f.recontact))),
        complaint_rate: ratio(
            counted.iter().filter(|f| f.complaint).count(),
            counted.len(),
        ),
        backlog: waiting.len(),
        missed: waiting
            .iter()
            .filter(|f| {
                f.waiting_since_at
                    .is_some_and(|at| (now - at) / 1000 > first_response_target_s)
            })
            .count(),
        self_resolution_rate: ratio(self_resolved, counted.len() + helpful_votes),
        sla_met: sla.iter().filter(|o| **o).count(),
        sla_breached: sla.iter().filter(|o| !**o).count(),
        sla_attainment_rate: ratio(sla.iter().filter(|o| **o).count(), sla.len()),
    }
}

/// A workspace's targets, shown beside each KPI (defaults: usual contact-center targets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    pub first_response_s: i64,
    pub handle_time_min_s: i64,
    pub handle_time_max_s: i64,
    pub fcr_rate: f64,
    pub csat_rate: f64,
    pub abandonment_rate: f64,
    pub recontact_rate: f64,
    pub complaint_rate: f64,
    pub missed: i64,
    pub self_resolution_rate: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            first_response_s: 60,
            handle_time_min_s: 300,
            handle_time_max_s: 480,
            fcr_rate: 0.7,
            csat_rate: 0.8,
            abandonment_rate: 0.05,
            recontact_rate: 0.1,
            complaint_rate: 0.02,
            missed: 0,
            self_resolution_rate: 0.3,
        }
    }
}

impl Targets {
    pub fn validate(&self) -> Result<(), crate::InvalidValue> {
        let rates = [
            ("fcr_rate", self.fcr_rate),
            ("csat_rate", self.csat_rate),
            ("abandonment_rate", self.abandonment_rate),
            ("recontact_rate", self.recontact_rate),
            ("complaint_rate", self.complaint_rate),
            ("self_resolution_rate", self.self_resolution_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(crate::InvalidValue::new(
                    name,
                    "must be a fraction from 0 to 1",
                ));
            }
        }
        let durations = [
            ("first_response_s", self.first_response_s),
            ("handle_time_min_s", self.handle_time_min_s),
            ("handle_time_max_s", self.handle_time_max_s),
            ("missed", self.missed),
        ];
        for (name, value) in durations {
            if !(0..=30 * 24 * 3600).contains(&value) {
                return Err(crate::InvalidValue::new(
                    name,
                    "must be 0 or more (at most 30 days)",
                ));
            }
        }
        if self.handle_time_min_s > self.handle_time_max_s {
            return Err(crate::InvalidValue::new(
                "handle_time_min_s",
                "must not exceed handle_time_max_s",
            ));
        }
        Ok(())
    }
}

/// Whether a conversation counts in a KPI (`None`: it does not), and whether it is a hit (the
/// numerator of a rate; for durations and counts every counted one is). `None` for an
/// unknown KPI name. The drill-down lists exactly these.
pub fn membership(
    kpi: &str,
    facts: &ConversationFacts,
    now: i64,
    first_response_target_s: i64,
) -> Option<Option<bool>> {
    if facts.spam {
        return KPI_NAMES.contains(&kpi).then_some(None);
    }
    Some(match kpi {
        "conversations" => Some(true),
        "first_response_p50_s" | "first_response_p90_s" => facts.first_response_s().map(|_| true),
        "first_response_business_p50_s" => facts.business_first_response_s.map(|_| true),
        "handle_time_avg_s" => {
            (facts.resolved_at.is_some() && facts.human_replied()).then_some(true)
        }
        "fcr_rate" => facts.fcr(),
        "csat_rate" | "csat_responses" => facts.rating.map(|score| score >= 4),
        "nps" | "nps_responses" => facts.nps.map(|score| score >= 9),
        "abandonment_rate" => facts.abandoned(now),
        "recontact_rate" => facts.resolved_at.map(|_| facts.recontact),
        "complaint_rate" => Some(facts.complaint),
        "backlog" => facts.waiting().then_some(true),
        "missed" => facts.waiting().then(|| {
            facts
                .waiting_since_at
                .is_some_and(|at| (now - at) / 1000 > first_response_target_s)
        }),
        "self_resolution_rate" => Some(facts.self_resolved()),
        _ => return None,
    })
}

/// How a report's groups are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Week,
    Month,
    Channel,
    Team,
    Brand,
    Agent,
    Priority,
}

impl GroupBy {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "channel" => Self::Channel,
            "team" => Self::Team,
            "brand" => Self::Brand,
            "agent" => Self::Agent,
            "priority" => Self::Priority,
            _ => return None,
        })
    }

    /// Whether the groups are periods (help-center votes fall into them too).
    pub fn is_time(self) -> bool {
        matches!(self, Self::Day | Self::Week | Self::Month)
    }

    /// The group of a moment: `2026-11-30`, the week's Monday `2026-11-30`, or `2026-11`.
    pub fn period_of(self, tz: Tz, at_ms: i64) -> String {
        let local = DateTime::<Utc>::from_timestamp_millis(at_ms)
            .unwrap_or_default()
            .with_timezone(&tz)
            .date_naive();
        match self {
            Self::Week => {
                let monday = local
                    - chrono::Duration::days(i64::from(local.weekday().num_days_from_monday()));
                monday.format("%Y-%m-%d").to_string()
            }
            Self::Month => local.format("%Y-%m").to_string(),
            _ => local.format("%Y-%m-%d").to_string(),
        }
    }

    /// The group a conversation belongs to.
    pub fn key_of(self, tz: Tz, facts: &ConversationFacts) -> String {
        match self {
            Self::Channel => facts.channel_id.clone(),
            Self::Team => facts.team_id.clone().unwrap_or_else(|| "none".into()),
            Self::Brand => facts.brand_id.clone().unwrap_or_else(|| "none".into()),
            Self::Agent => facts
                .assignee_id
                .clone()
                .unwrap_or_else(|| "unassigned".into()),
            Self::Priority => facts.priority.clone().unwrap_or_else(|| "normal".into()),
            period => period.period_of(tz, facts.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const NOW: i64 = 1_800_000_000_000;

    fn answered(id: &str, asked: i64, reply_after_s: i64) -> ConversationFacts {
        ConversationFacts {
            id: id.into(),
            channel_id: "web".into(),
            created_at: asked,
            first_contact_at: Some(asked),
            last_contact_at: Some(asked),
            first_agent_response_at: Some(asked + reply_after_s * 1000),
            open: true,
            ..Default::default()
        }
    }

    fn resolved(mut f: ConversationFacts, after_reply_s: i64) -> ConversationFacts {
        f.resolved_at = Some(f.first_agent_response_at.unwrap() + after_reply_s * 1000);
        f.open = false;
        f
    }

    #[test]
    fn first_response_and_handle_time() {
        // Replies after 30 s, 60 s, 90 s, 600 s; a bot-only and an agent-opened conversation
        // have none. p50 by nearest rank of [30, 60, 90, 600] is the 2nd (60), p90 the 4th.
        let bot_only = ConversationFacts {
            first_contact_at: Some(NOW - 10 * MIN),
            last_contact_at: Some(NOW - 10 * MIN),
            first_bot_at: Some(NOW - 10 * MIN + 1000),
            ..Default::default()
        };
        let agent_opened = ConversationFacts {
            first_agent_response_at: Some(NOW - 20 * MIN),
            first_contact_at: Some(NOW - 10 * MIN),
            ..Default::default()
        };
        let facts = [
            resolved(answered("a", NOW - 60 * MIN, 30), 300),
            resolved(answered("b", NOW - 60 * MIN, 60), 500),
            answered("c", NOW - 60 * MIN, 90),
            answered("d", NOW - 60 * MIN, 600),
            bot_only,
            agent_opened,
        ];
        let kpis = compute(&facts.iter().collect::<Vec<_>>(), NOW, 60, 0);
        assert_eq!(kpis.conversations, 6);
        assert_eq!(kpis.first_response_p50_s, Some(60));
        assert_eq!(kpis.first_response_p90_s, Some(600));
        // Handle time: (300 + 500) / 2.
        assert_eq!(kpis.handle_time_avg_s, Some(400));
    }

    #[test]
    fn first_contact_resolution_abandonment_and_recontact() {
        let clean = resolved(answered("clean", NOW - 5 * MIN, 10), 60);
        // The customer wrote again after the first reply: not resolved at first contact.
        let mut again = resolved(answered("again", NOW - 5 * MIN, 10), 60);
        again.last_contact_at = Some(again.first_agent_response_at.unwrap() + 1000);
        // Reopened, or followed by a re-contact: not either.
        let mut reopened = resolved(answered("reopened", NOW - 5 * MIN, 10), 60);
        reopened.reopened = true;
        let mut recontact = resolved(answered("recontact", NOW - 5 * MIN, 10), 60);
        recontact.recontact = true;
        // Nobody answered for two days (only an auto-reply): abandoned; silent for an hour: not
        // yet; the bot answered: not abandoned.
        let silent = ConversationFacts {
            id: "silent".into(),
            first_contact_at: Some(NOW - 48 * 60 * MIN),
            last_contact_at: Some(NOW - 48 * 60 * MIN),
            open: true,
            ..Default::default()
        };
        let recent = ConversationFacts {
            first_contact_at: Some(NOW - 60 * MIN),
            last_contact_at: Some(NOW - 60 * MIN),
            ..silent.clone()
        };
        let bot = ConversationFacts {
            first_bot_at: Some(NOW - 48 * 60 * MIN + 1000),
            bot_resolved: true,
            ..silent.clone()
        };
        let facts = [clean, again, reopened, recontact, silent, recent, bot];
        let kpis = compute(&facts.iter().collect::<Vec<_>>(), NOW, 60, 1);
        // FCR: 1 of the 4 resolved with a human reply.
        assert_eq!(kpis.fcr_rate, Some(0.25));
        // Abandonment: of the 7 where the customer wrote, "silent" only.
        assert_eq!(kpis.abandonment_rate, Some(1.0 / 7.0));
        // Re-contact: 1 of the 4 resolved.
        assert_eq!(kpis.recontact_rate, Some(0.25));
        // Self-resolution: the bot's one plus one helpful vote, over 7 + 1.
        assert_eq!(kpis.self_resolution_rate, Some(2.0 / 8.0));
    }

    #[test]
    fn satisfaction_complaints_backlog_and_spam() {
        let mut facts: Vec<ConversationFacts> = [5, 4, 3, 1]
            .into_iter()
            .enumerate()
            .map(|(i, score)| ConversationFacts {
                id: format!("r{i}"),
                rating: Some(score),
                nps: Some([10, 9, 7, 2][i]),
                ..Default::default()
            })
            .collect();
        facts[0].complaint = true;
        // Waiting 30 s (within the 60 s target) and 5 minutes (missed).
        facts[1].open = true;
        facts[1].waiting_since_at = Some(NOW - 30_000);
        facts[2].open = true;
        facts[2].waiting_since_at = Some(NOW - 5 * MIN);
        facts.push(ConversationFacts {
            spam: true,
            complaint: true,
            ..Default::default()
        });
        let kpis = compute(&facts.iter().collect::<Vec<_>>(), NOW, 60, 0);
        assert_eq!(kpis.conversations, 4, "spam is not counted");
        assert_eq!((kpis.csat_rate, kpis.csat_responses), (Some(0.5), 4));
        // NPS: 2 promoters, 1 detractor of 4 → 50 % − 25 % = 25.
        assert_eq!((kpis.nps, kpis.nps_responses), (Some(25.0), 4));
        assert_eq!(kpis.complaint_rate, Some(0.25));
        assert_eq!((kpis.backlog, kpis.missed), (2, 1));
        let empty = compute(&[], NOW, 60, 0);
        assert_eq!((empty.fcr_rate, empty.first_response_p50_s), (None, None));
    }

    #[test]
    fn days_are_the_workspace_s_days() {
        let tz = Tz::Asia__Tokyo;
        // 2026-11-30 23:59 JST is 14:59 UTC; 2026-12-01 00:01 JST is 15:01 UTC.
        let late = chrono::DateTime::parse_from_rfc3339("2026-11-30T23:59:00+09:00")
            .unwrap()
            .timestamp_millis();
        let early = late + 2 * MIN;
        assert_eq!(GroupBy::Day.period_of(tz, late), "2026-11-30");
        assert_eq!(GroupBy::Day.period_of(tz, early), "2026-12-01");
        assert_eq!(GroupBy::Month.period_of(tz, late), "2026-11");
        assert_eq!(GroupBy::Month.period_of(tz, early), "2026-12");
        // Weeks start on Monday: Sunday 2026-11-29 belongs to the week of 11-23.
        assert_eq!(
            GroupBy::Week.period_of(tz, late - 24 * 60 * MIN),
            "2026-11-23"
        );
        assert_eq!(GroupBy::Week.period_of(tz, late), "2026-11-30");
    }
}
