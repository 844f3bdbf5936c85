//! Harassment in a real browser: an abusive customer message is masked in the agent's view
//! (the words never on screen until revealed on purpose), the guideline is one click away,
//! a blocked sender's conversation says who is blocked, why and until when, and supervisors
//! review flagged messages in the admin — on a desktop and a phone.

use super::*;

const ABUSE: &str = "ふざけるな、バカ野郎";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abusive_messages_are_masked_in_the_inbox() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let boss = app
        .agent_in(&workspace, "boss@example.jp", Role::Admin)
        .await;
    let mut policy = app.get_json(&boss, "/api/v1/harassment/policy").await;
    policy["block_days"] = json!(7);
    policy["guideline"] = json!(
        "当店では、暴言・脅迫・土下座の要求などをカスタマーハラスメントとします。\n\n担当者は内容を記録し、上長に引き継いでください。"
    );
    app.http
        .put(format!("{}/api/v1/harassment/policy", app.url))
        .bearer_auth(&boss.token)
        .json(&policy)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let rude = app.visitor().await;
    let conversation = app.start(&rude, "注文した商品の件です").await;
    app.post(
        &format!("/widget/v1/conversations/{conversation}/messages"),
        &json!({"body": ABUSE}),
    )
    .header("x-visitor-token", &rude.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let threat = app.visitor().await;
    let blocked = app.start(&threat, "今すぐ返金しろ、殺すぞ").await;

    let profiles = std::env::temp_dir().join(format!("mdg-harassment-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("boss")).await;
    log_in(&client, &app, "boss@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    // Its row shows the bot's guideline reply, the newest message.
    eventually("the list shows the conversation", || async {
        page_text(&client, "#conversation-list")
            .await
            .contains("スタッフの尊厳")
    })
    .await;
    click_settled(&client, "#conversation-list .item").await;
    eventually("the message is masked with its category", || async {
        page_text(&client, "#messages .msg.masked")
            .await
            .contains("カスハラの疑い: 侮辱・暴言")
    })
    .await;
    // The bot's guideline reply is in the thread; the customer's words are not on screen.
    let thread = page_text(&client, "#messages").await;
    assert!(thread.contains("スタッフの尊厳"), "{thread}");
    let html: String = client
        .execute("return document.body.innerHTML", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!html.contains("バカ野郎"), "the words reached the page");
    save_screenshot(&client, "inbox-harassment-masked").await;

    click_settled(&client, "#messages .msg.masked button.reveal").await;
    eventually("the text shows once revealed", || async {
        page_text(&client, "#messages .mask.revealed")
            .await
            .contains(ABUSE)
    })
    .await;
    save_screenshot(&client, "inbox-harassment-revealed").await;
    let case = app
        .get_json(
            &boss,
            &format!("/api/v1/conversations/{conversation}/evidence"),
        )
        .await;
    let reveals = case["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "message.revealed")
        .count();
    assert_eq!(reveals, 1, "the reveal is logged");

    // The guideline, linked from the masked message.
    client
        .goto(&format!("{}/guideline", app.url))
        .await
        .unwrap();
    eventually("the guideline shows", || async {
        page_text(&client, ".guideline")
            .await
            .contains("上長に引き継いで")
    })
    .await;
    save_screenshot(&client, "guideline").await;

    // The evidence, printable.
    client
        .goto(&format!(
            "{}/api/v1/conversations/{conversation}/evidence?format=html",
            app.url
        ))
        .await
        .unwrap();
    eventually("the evidence page verifies", || async {
        page_text(&client, "dl.facts").await.contains("改ざんなし")
    })
    .await;
    save_screenshot(&client, "evidence").await;

    // The blocked sender's conversation says so.
    client
        .goto(&format!("{}/inbox#conversation={blocked}", app.url))
        .await
        .unwrap();
    client.refresh().await.unwrap();
    eventually("the blocked banner shows", || async {
        let text = page_text(&client, "#messages .blocked-banner").await;
        text.contains("ブロック中") && text.contains("重大度 3")
    })
    .await;
    save_screenshot(&client, "inbox-harassment-blocked").await;

    // Supervisors review in the admin.
    client
        .goto(&format!("{}/admin#harassment", app.url))
        .await
        .unwrap();
    client.refresh().await.unwrap();
    eventually("the review queue lists both", || async {
        rows(&client, ".admin-page table tbody tr").await.len() >= 3
    })
    .await;
    scroll_to(
        &client,
        false,
        ".admin-page section.card:nth-of-type(2) table",
    )
    .await;
    let queue = page_text(&client, ".admin-page section.card:nth-of-type(2)").await;
    assert!(
        queue.contains("脅迫") && queue.contains("侮辱・暴言"),
        "{queue}"
    );
    let html: String = client
        .execute(
            "return document.querySelector('.admin-page').innerHTML",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!html.contains("殺すぞ"), "masked in the queue too");
    save_screenshot(&client, "admin-harassment").await;

    // On a phone, the masked message and its buttons fit.
    client
        .goto(&format!("{}/inbox#conversation={conversation}", app.url))
        .await
        .unwrap();
    client.refresh().await.unwrap();
    client.set_window_size(390, 844).await.unwrap();
    eventually("the masked message shows on a phone", || async {
        scroll_to(&client, false, "#messages .msg.masked").await;
        page_text(&client, "#messages .msg.masked")
            .await
            .contains("カスハラの疑い")
    })
    .await;
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(false), "no sideways scroll on a phone");
    save_screenshot(&client, "inbox-harassment-phone").await;
    client.close().await.unwrap();
}
