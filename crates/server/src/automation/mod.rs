//! The rules that react to what comes in: [`intake`] is where customer and agent messages
//! enter (it plans their jobs, writes through [`crate::inbox`], then reacts); [`auto_replies`]
//! (greeting, expectation, away); [`notifications`] (replies by e-mail or SMS to a visitor who
//! left, with signed links); [`harassment`] (the カスハラ check on every customer message and
//! the policy's shield: guideline reply, escalation, blocks); [`jobs`] runs the durable jobs.
//! [`routing`] runs the workspace's rules on customer messages (teams, assignment, priority,
//! tags, template replies, SLA policies, the classifier, reassignment of silent assignees);
//! [`sla`] sets deadlines in business hours and watches them with jobs; [`indexing`] keeps
//! the search index fed from every event and catches it up from the store; [`webhooks`] turns
//! this node's events into signed deliveries for the workspace's subscriptions; [`retention`]
//! applies each workspace's retention policy every day; [`account_mail`] sends invitation and
//! password-reset links.

pub mod account_mail;
pub mod auto_replies;
pub mod harassment;
pub mod indexing;
pub mod instagram_intake;
pub mod intake;
pub mod jobs;
pub mod line_intake;
pub mod mail_intake;
pub mod mail_reader;
pub mod notifications;
pub mod retention;
pub mod routing;
pub mod sla;
pub mod webhooks;
