//! Two-factor sign-in (TOTP): switched on by confirming a code, then a sign-in needs a current
//! code — each works once — or one of the recovery codes (each once too); switched off with a
//! code. Codes are computed here with the RFC 6238 function checked against the RFC's vectors.

use madoguchi_core::totp::{code, from_base32};
use madoguchi_server::app::clock::Clock;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, TestApp};

both_backends!(two_factor_sign_in_needs_a_fresh_code_or_a_recovery_code);

async fn login(app: &TestApp, totp: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"email": "two@example.jp", "password": "password-123"});
    if let Some(totp) = totp {
        body["totp"] = json!(totp);
    }
    let response = app.post("/api/v1/auth/login", &body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn two_factor_sign_in_needs_a_fresh_code_or_a_recovery_code(app: TestApp) {
    let agent = app.agent("two@example.jp").await;
    let post = |path: &str, body: Value| app.post(path, &body).bearer_auth(&agent.token).send();
    let setup: Value = post("/api/v1/me/totp", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Madoguchi:two%40example.jp?secret="));
    let secret = from_base32(setup["secret"].as_str().unwrap()).unwrap();
    let now = || app.clock.now_ms() / 1000;
    let wrong = if code(&secret, now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = post("/api/v1/me/totp/enable", json!({"code": wrong}))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let first = code(&secret, now());
    let enabled: Value = post("/api/v1/me/totp/enable", json!({"code": first}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recovery: Vec<String> = enabled["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);

    // Signing in now needs the second factor.
    let (status, answer) = login(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"]["code"], "totp_required", "{answer}");
    let (status, answer) = login(&app, Some(wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"]["code"], "invalid_credentials");
    let (status, _) = login(&app, Some(&first)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code works once");
    app.clock.advance_secs(30);
    let (status, answer) = login(&app, Some(&code(&secret, now()))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _) = login(&app, Some(&recovery[0].to_uppercase())).await;
    assert_eq!(status, StatusCode::OK, "a recovery code");
    let (status, _) = login(&app, Some(&recovery[0])).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );

    // Off again, with a code.
    let refused = post("/api/v1/me/totp/disable", json!({"code": wrong}))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    app.clock.advance_secs(30);
    let off = post(
        "/api/v1/me/totp/disable",
        json!({"code": code(&secret, now())}),
    )
    .await
    .unwrap();
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    let (status, _) = login(&app, None).await;
    assert_eq!(status, StatusCode::OK);
    let events = app.store.audit_events(&app.workspace_id).await.unwrap();
    for action in [
        "auth.totp_enabled",
        "auth.totp_disabled",
        "auth.login_failed",
    ] {
        assert!(events.iter().any(|e| e.action == action), "{action}");
    }
}
