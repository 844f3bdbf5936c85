//! The support bot: [`answering`] answers a customer's free text from the knowledge base and
//! takes the customer's feedback; [`knowledge`] keeps each workspace's search index.

pub mod answering;
pub mod knowledge;

pub use answering::{answer, feedback, parse_review, Feedback, ANSWER_THRESHOLD};
