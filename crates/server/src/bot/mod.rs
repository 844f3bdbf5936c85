//! The support bot: [`answering`] answers a customer's free text from the knowledge base (its
//! index is `knowledge::index`) and takes the customer's feedback.

pub mod answering;

pub use answering::{answer, feedback, parse_review, Feedback, ANSWER_THRESHOLD};
