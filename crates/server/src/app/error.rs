//! The error of the services (the inbox doors, the bot, automation), in domain terms and with
//! no HTTP in it: an e-mail poller or a LINE webhook can act on it without a request to answer.
//! The HTTP side gives it a status and a code in one place: `From<DomainError> for AppError`.

use madoguchi_core::InvalidValue;
use madoguchi_store::StoreError;

use crate::http::error::{ApiResult, AppError, ErrorCode, OrNotFound};
use crate::knowledge::index::KnowledgeError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Something the caller named does not exist (for them).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Stored settings that do not parse; the message names the row.
    #[error("{0}")]
    CorruptSettings(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    /// A mail or message could not go out (a job retries it).
    #[error("delivery failed: {0}")]
    Delivery(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound(what) => AppError::not_found(what),
            DomainError::Invalid(invalid) => invalid.into(),
            DomainError::CorruptSettings(message) => {
                AppError::new(ErrorCode::CorruptSettings, message)
            }
            DomainError::Store(err) | DomainError::Knowledge(KnowledgeError::Store(err)) => {
                err.into()
            }
            DomainError::Knowledge(other) => AppError::new(ErrorCode::Internal, other.to_string()),
            DomainError::Delivery(message) => AppError::new(ErrorCode::Internal, message),
        }
    }
}

impl From<KnowledgeError> for AppError {
    fn from(err: KnowledgeError) -> Self {
        DomainError::from(err).into()
    }
}

impl<T> OrNotFound<T> for DomainResult<T> {
    fn or_not_found(self, what: &str) -> ApiResult<T> {
        self.map_err(|err| match err {
            DomainError::NotFound(_) | DomainError::Store(StoreError::NotFound) => {
                AppError::not_found(what)
            }
            other => other.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_get_their_status_only_here() {
        let code = |err: DomainError| AppError::from(err).code;
        assert_eq!(code(DomainError::NotFound("bot turn")), ErrorCode::NotFound);
        assert_eq!(
            code(InvalidValue::new("review", "must be correct or wrong").into()),
            ErrorCode::InvalidBody
        );
        assert_eq!(
            code(DomainError::CorruptSettings("channel x".into())),
            ErrorCode::CorruptSettings
        );
        assert_eq!(code(StoreError::NotFound.into()), ErrorCode::NotFound);
        let missing: DomainResult<()> = Err(StoreError::NotFound.into());
        let named = missing.or_not_found("conversation").unwrap_err();
        assert_eq!(named.message, "conversation not found");
        let broken: DomainResult<()> = Err(KnowledgeError::Analyzer("x".into()).into());
        assert_eq!(
            broken.or_not_found("article").unwrap_err().code,
            ErrorCode::Internal,
            "only a missing row becomes a 404"
        );
    }
}
