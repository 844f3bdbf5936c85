//! The e-mail channel's adapter: [`parse`] turns a raw mail (any charset Japanese mail comes
//! in: ISO-2022-JP, Shift_JIS, EUC-JP, UTF-8, encoded-word subjects, HTML-only) into what the
//! inbox keeps; [`flags`] says why a mail looks like spam or phishing, or was sent by a machine;
//! [`receiver`] is the built-in SMTP server that accepts mail for the channels' addresses. What
//! a parsed mail becomes (contact, thread, conversation) is `automation::mail_intake`'s
//! business; replies go out through `channels::outbound`.

pub mod flags;
pub mod imap;
pub mod parse;
pub mod receiver;
