//! The write path of the inbox, one door per kind of change: [`messages::post`] and
//! [`messages::start`] write a message together with the conversation change and the jobs it
//! triggers in one transaction (group commit included), then count and publish it;
//! [`conversations::update`] does the same for status, assignee, priority and tags and owns the
//! rules of a change (a resolved conversation asks for a rating); [`contacts::update`] for a
//! contact's profile. Nothing is published before
//! it is committed, and a job is never queued apart from the write that triggered it.
//!
//! The doors decide nothing about automation: the rules that react to a message (auto-replies,
//! the bot, notifications, later routing and SLA timers) live in `automation`, which
//! plans the jobs a write triggers, passes them through a door, and then reacts.

pub mod contacts;
pub mod conversations;
pub mod messages;
pub mod messaging_outbox;
pub mod outbox;
pub mod settings;
