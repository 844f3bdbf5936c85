//! Files both ways: a visitor's photo reaches the agent, an agent's PDF reaches the visitor,
//! only images and PDFs by content (an executable named .png is refused), at most 10 MiB, and
//! nobody else's file and no private note's file is served to a visitor.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{both_backends, TestApp, Visitor};

both_backends!(files_go_both_ways_and_only_to_their_readers);

/// A valid 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

async fn visitor_upload(
    app: &TestApp,
    visitor: &Visitor,
    conversation: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.http
        .post(format!(
            "{}/widget/v1/conversations/{conversation}/attachments?name={name}",
            app.url
        ))
        .header("x-visitor-token", &visitor.token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn files_go_both_ways_and_only_to_their_readers(app: TestApp) {
    let agent = app.agent("files@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "商品が破損していました").await;

    let sent = visitor_upload(&app, &visitor, &conversation, "破損.png", PNG.to_vec()).await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let message: Value = sent.json().await.unwrap();
    assert_eq!(message["body"], "破損.png");
    let file = &message["meta"]["attachments"][0];
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(file["size"], PNG.len());
    let id = file["id"].as_str().unwrap();

    // The agent sees it in the conversation and downloads it as it was sent.
    let messages: Value = app
        .get(&format!("/api/v1/conversations/{conversation}/messages"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages["messages"][1]["meta"]["attachments"][0]["id"], id);
    let download = app
        .get(&format!("/api/v1/attachments/{id}"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert!(download.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(
        download.headers()["content-disposition"],
        "inline; filename*=UTF-8''%E7%A0%B4%E6%90%8D.png"
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), PNG);

    // Not another visitor's, nor another workspace's agent's.
    let stranger = app.visitor().await;
    app.start(&stranger, "別件").await;
    let theirs = app
        .get(&format!("/widget/v1/attachments/{id}"))
        .header("x-visitor-token", &stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let (other_ws, _) = app.other_workspace().await;
    let outsider = app
        .agent_in(
            &other_ws,
            "outsider@example.jp",
            madoguchi_core::agent::Role::Admin,
        )
        .await;
    let outside = app
        .get(&format!("/api/v1/attachments/{id}"))
        .bearer_auth(&outsider.token)
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
    let upload_elsewhere =
        visitor_upload(&app, &stranger, &conversation, "x.png", PNG.to_vec()).await;
    assert_eq!(upload_elsewhere.status(), StatusCode::NOT_FOUND);

    // Refused by content, not by name; and by size.
    let exe = visitor_upload(
        &app,
        &visitor,
        &conversation,
        "photo.png",
        b"MZ\x90\0program".to_vec(),
    )
    .await;
    assert_eq!(exe.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = exe.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let svg = visitor_upload(
        &app,
        &visitor,
        &conversation,
        "a.png",
        b"<svg onload=alert(1)>".to_vec(),
    )
    .await;
    assert_eq!(svg.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut huge = PNG.to_vec();
    huge.resize(10 * 1024 * 1024 + 10, 0);
    let too_big = visitor_upload(&app, &visitor, &conversation, "big.png", huge).await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // The agent's PDF reaches the visitor; a file in a private note does not.
    let pdf = b"%PDF-1.4\n% receipt\n".to_vec();
    let reply = |private: bool| {
        app.http
            .post(format!(
                "{}/api/v1/conversations/{conversation}/attachments?name=receipt.pdf&private={private}",
                app.url
            ))
            .bearer_auth(&agent.token)
            .body(pdf.clone())
            .send()
    };
    let public: Value = reply(false).await.unwrap().json().await.unwrap();
    let note: Value = reply(true).await.unwrap().json().await.unwrap();
    assert_eq!(note["private"], true);
    let fetch = |id: String| {
        app.get(&format!("/widget/v1/attachments/{id}"))
            .header("x-visitor-token", &visitor.token)
            .send()
    };
    let got = fetch(
        public["meta"]["attachments"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await
    .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert!(got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let hidden = fetch(
        note["meta"]["attachments"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await
    .unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let seen: Vec<String> = app
        .visitor_messages(&visitor, &conversation)
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        seen.iter().filter(|b| *b == "receipt.pdf").count(),
        1,
        "{seen:?}"
    );
}
