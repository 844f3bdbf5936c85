//! Channel adapters: the code that speaks a provider's protocol, apart from the rules. The
//! contract: an inbound adapter turns a provider's event into a contact identity and a message
//! body, which enters through `automation::intake` (and so through the inbox door, with its
//! jobs, in one transaction); an outbound adapter sends text to an address and returns an error
//! for the job queue to retry. [`outbound`]: e-mail (SMTP) and SMS (HTTP provider), used by the
//! reply notifications today; an agent's reply on an e-mail or LINE conversation will go out
//! the same way, as a job. [`webhooks`]: signed outgoing webhooks (Standard Webhooks). The
//! widget's own HTTP API lives in `api::widget`.

pub mod email;
pub mod line;
pub mod outbound;
pub mod webhooks;
