//! Bad input gets a 4xx JSON error, never a 5xx or a dropped connection.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, TestApp};

both_backends!(bad_requests_get_clear_json_errors, bad_ids_are_not_found);

async fn expect_error(response: reqwest::Response, status: StatusCode, code: &str) {
    let got = response.status();
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|err| panic!("status {got}: body is not JSON: {err}"));
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

async fn bad_requests_get_clear_json_errors(app: TestApp) {
    let visitor = app.visitor().await;
    let agent = app.agent("input@example.jp").await;
    let conversation = app.start(&visitor, "x").await;
    let widget_send = format!(
        "{}/widget/v1/conversations/{conversation}/messages",
        app.url
    );
    let raw = |body: Vec<u8>| {
        app.http
            .post(&widget_send)
            .header("x-visitor-token", &visitor.token)
            .header("content-type", "application/json")
            .body(body)
    };
    expect_error(
        raw(b"{\"body\": ".to_vec()).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    expect_error(
        raw(b"[1,2]".to_vec()).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    expect_error(
        raw(b"{\"body\": \"\xff\xfe\"}".to_vec())
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    expect_error(
        raw(br#"{"body": "x", "private": true}"#.to_vec())
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    expect_error(
        raw(br#"{"body": 5}"#.to_vec()).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    expect_error(
        raw(br#"{"body": "   "}"#.to_vec()).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    expect_error(
        raw(br#"{"body": "x", "client_id": "has space"}"#.to_vec())
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    // Nothing visible, or a direction override that disguises text: refused.
    for body in ["\u{200B}\u{FEFF}", "請求書\u{202E}fdp.exe", "ベル\u{7}"] {
        expect_error(
            raw(json!({ "body": body }).to_string().into_bytes())
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;
    }
    for name in ["山田\n花子", "山田\u{0}", "\u{202E}田山"] {
        let refused = app
            .patch("/widget/v1/contact", &json!({ "name": name }))
            .header("x-visitor-token", &visitor.token)
            .send()
            .await
            .unwrap();
        expect_error(refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    }
    let too_long = json!({"body": "あ".repeat(10_001)})
        .to_string()
        .into_bytes();
    expect_error(
        raw(too_long).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    let oversize = json!({"body": "a".repeat(70 * 1024)})
        .to_string()
        .into_bytes();
    expect_error(
        raw(oversize).send().await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let wrong_type = app
        .http
        .post(&widget_send)
        .header("x-visitor-token", &visitor.token)
        .header("content-type", "text/plain")
        .body("hello");
    expect_error(
        wrong_type.send().await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let agent_path = format!("/api/v1/conversations/{conversation}");
    let bad_status = app
        .patch(&agent_path, &json!({"status": "closed"}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(bad_status, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let bad_tags = app
        .patch(&agent_path, &json!({"tags": [""]}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(bad_tags, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    // The agent API has the same size limits as the widget's.
    let agent_send = format!("{agent_path}/messages");
    let oversize = json!({"body": "a".repeat(70 * 1024)});
    let response = app
        .post(&agent_send, &oversize)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let too_long = json!({"body": "あ".repeat(10_001), "private": true});
    let response = app
        .post(&agent_send, &too_long)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let oversize_tags = json!({"tags": ["a".repeat(70 * 1024)]});
    let response = app
        .patch(&agent_path, &oversize_tags)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let bad_query = app
        .get(&format!("{agent_path}/messages?after_seq=abc"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(bad_query, StatusCode::BAD_REQUEST, "bad_request").await;
    let bad_filter = app
        .get("/api/v1/conversations?status=everything")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(bad_filter, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let unknown_param = app
        .get("/api/v1/conversations?colour=red")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(unknown_param, StatusCode::BAD_REQUEST, "bad_request").await;
    let bad_contact = app
        .patch("/widget/v1/contact", &json!({"email": "not-an-email"}))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    expect_error(
        bad_contact,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    let bad_login = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": "nobody@example.jp", "password": "x"}),
        )
        .send()
        .await
        .unwrap();
    expect_error(bad_login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown_channel = app
        .post("/widget/v1/session", &json!({"channel_key": "ch_unknown"}))
        .send()
        .await
        .unwrap();
    expect_error(unknown_channel, StatusCode::NOT_FOUND, "not_found").await;

    // Nothing that was accepted before was lost or changed by the bad requests.
    let messages: Value = app
        .get(&format!("/widget/v1/conversations/{conversation}/messages"))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 1);
    let inbox: Value = app
        .get(&format!("{agent_path}/messages"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        inbox["messages"].as_array().unwrap().len(),
        1,
        "no note or reply was stored either: {inbox}"
    );
    assert_eq!(
        app.get("/healthz").send().await.unwrap().status(),
        StatusCode::OK
    );
}

async fn bad_ids_are_not_found(app: TestApp) {
    let agent = app.agent("ids@example.jp").await;
    let visitor = app.visitor().await;
    for id in [
        "nope",
        "0",
        "01a21823-6806-7158-b88e-143ab651082d",
        "%E3%81%82",
        "..%2F..%2Fetc",
    ] {
        for path in [
            format!("/api/v1/conversations/{id}"),
            format!("/api/v1/conversations/{id}/messages"),
            format!("/api/v1/contacts/{id}"),
        ] {
            let response = app
                .get(&path)
                .bearer_auth(&agent.token)
                .send()
                .await
                .unwrap();
            expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
        }
        let response = app
            .get(&format!("/widget/v1/conversations/{id}/messages"))
            .header("x-visitor-token", &visitor.token)
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let invalid_utf8 = app
        .get("/api/v1/conversations/%FF%FE")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    expect_error(invalid_utf8, StatusCode::BAD_REQUEST, "bad_request").await;
}
