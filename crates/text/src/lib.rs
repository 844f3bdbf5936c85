//! Text analysis and retrieval for Japanese and English, shared by the help-center search, the
//! support bot and the classifiers.
//!
//! # Layout
//! - [`abuse`]: customer harassment (カスハラ) and complaints, told apart, each flag explained;
//!   [`abuse_model`]: the naive Bayes model beside its lexicon.
//! - [`classify`]: a conversation's category, by a model of the workspace's labelled history or
//!   by keywords; [`naive_bayes`]: the model both classifiers use.
//! - [`normalize`]: NFKC (full/half width), case, katakana → hiragana, long-vowel marks.
//! - [`analyzer`]: morphological analysis with IPADIC compiled into the binary (lindera), content
//!   word lemmas, English stemming, character bigrams, per-workspace synonyms.
//! - [`bm25`]: an in-memory BM25 index of one field.
//! - [`faq`]: FAQ retrieval over question, alternative questions and answer, fused, with a
//!   confidence for the bot's "answer or hand over" decision.
//! - [`search`]: the full-text index over messages and subjects (tantivy over the analyzer's
//!   terms), with highlighted snippets.
//! - [`semantic`]: sentence encoders whose vectors are fused with BM25 in [`faq`], their
//!   weights from registry packages.
//! - [`metrics`]: nDCG@10, Recall@10, MRR@10, P@1; per-label precision/recall/F1, macro-F1.
//!
//! # Tasks
//! None: everything here is synchronous and pure; build an [`analyzer::Analyzer`] once and share it.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod abuse;
pub mod abuse_model;
pub mod analyzer;
pub mod bm25;
pub mod classify;
pub mod faq;
pub mod metrics;
pub mod naive_bayes;
pub mod normalize;
pub mod search;
pub mod semantic;

pub use analyzer::{Analyzer, Synonyms};
pub use faq::{FaqDoc, FaqIndex, Hit, Ranked};

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("cannot load the Japanese dictionary: {0}")]
    Dictionary(String),
}
