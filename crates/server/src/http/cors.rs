//! CORS for the visitor API: the widget runs on the shop's site and calls `/widget/*` across
//! origins (and a shop's own form code calls `/forms/*`). Any origin may call it, without cookies (`Access-Control-Allow-Credentials` is never
//! sent), so the visitor token travels in a header that a page must hold to send.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn widget_cors(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/widget/") && !path.starts_with("/forms/") {
        return next.run(request).await;
    }
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PATCH, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, x-visitor-token"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}
