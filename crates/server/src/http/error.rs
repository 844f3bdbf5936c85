//! The one error type of the HTTP layer: a stable [`ErrorCode`] mapped to a status and to the
//! JSON body `{"error": {"code", "message"}}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use madoguchi_core::InvalidValue;
use madoguchi_store::StoreError;
use serde::Serialize;

/// Stable error codes; clients may match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    MalformedJson,
    InvalidBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unauthenticated,
    InvalidCredentials,
    /// The password was right; the account asks for its second factor (`totp`).
    TotpRequired,
    CsrfFailed,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    RequestTimeout,
    Internal,
    /// Stored settings that cannot be read (the message names the row); never replaced by
    /// defaults.
    CorruptSettings,
    Unavailable,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::MalformedJson => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::TotpRequired => StatusCode::UNAUTHORIZED,
            ErrorCode::CsrfFailed | ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Internal | ErrorCode::CorruptSettings => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answered to the client. Internal details are logged once (by the response
/// conversion), never sent.
#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds after which a refused request may be tried again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
}

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.code == ErrorCode::Internal {
            tracing::error!(message = %self.message, "internal error");
        }
        let message = if self.code == ErrorCode::Internal {
            "internal error".to_owned()
        } else {
            self.message
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message,
            },
        };
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AppError::not_found("resource"),
            StoreError::Conflict(message) => AppError::new(ErrorCode::Conflict, message),
            StoreError::InvalidReference(message) => AppError::new(ErrorCode::InvalidBody, message),
            other => AppError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl From<InvalidValue> for AppError {
    fn from(err: InvalidValue) -> Self {
        AppError::new(ErrorCode::InvalidBody, err.to_string())
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::InvalidBody,
            _ => ErrorCode::MalformedJson,
        };
        AppError::new(code, rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::new(ErrorCode::BadRequest, rejection.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::new(ErrorCode::BadRequest, rejection.body_text())
    }
}

/// `axum::Json` whose rejections are answered as [`AppError`]s.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are answered as [`AppError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejections are answered as [`AppError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

pub type ApiResult<T> = Result<T, AppError>;

/// Names the missing resource of a store result; every other store error stays an error (a
/// database failure never turns into a 404).
pub trait OrNotFound<T> {
    fn or_not_found(self, what: &str) -> ApiResult<T>;
}

impl<T> OrNotFound<T> for Result<T, StoreError> {
    fn or_not_found(self, what: &str) -> ApiResult<T> {
        self.map_err(|err| match err {
            StoreError::NotFound => AppError::not_found(what),
            other => other.into(),
        })
    }
}

impl<T> OrNotFound<T> for ApiResult<T> {
    fn or_not_found(self, what: &str) -> ApiResult<T> {
        self.map_err(|err| match err.code {
            ErrorCode::NotFound => AppError::not_found(what),
            _ => err,
        })
    }
}

/// Ids are UUIDs; anything else cannot name a resource, so it is simply not found.
pub fn check_id(id: &str, what: &str) -> ApiResult<()> {
    uuid::Uuid::try_parse(id)
        .map(|_| ())
        .map_err(|_| AppError::not_found(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_row_becomes_not_found() {
        let missing: Result<(), StoreError> = Err(StoreError::NotFound);
        let err = missing.or_not_found("article").unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (ErrorCode::NotFound, "article not found")
        );
        let broken: Result<(), StoreError> = Err(StoreError::Corrupt("bad row".into()));
        assert_eq!(
            broken.or_not_found("article").unwrap_err().code,
            ErrorCode::Internal
        );
        let taken: Result<(), StoreError> = Err(StoreError::Conflict("taken".into()));
        assert_eq!(
            taken.or_not_found("article").unwrap_err().code,
            ErrorCode::Conflict
        );
        assert!(Ok::<_, StoreError>(1).or_not_found("x").is_ok());
    }
}
