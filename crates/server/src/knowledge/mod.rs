//! The knowledge base's per-workspace search [`index`], rebuilt when the articles change; the
//! bot, the help center and the agents' article search all ask it. The sentence encoder it
//! fuses in, fetched and loaded in the background ([`models`]). The conversation
//! [`classifier`], trained on the workspace's own labelled history. The full-text [`search`]
//! index over every conversation's messages.

pub mod classifier;
pub mod index;
pub mod models;
pub mod search;
