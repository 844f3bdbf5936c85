//! E-mail in a real browser: an admin adds an e-mail channel and connects its mailbox; a
//! mail's subject heads its conversation; a phishing mail waits under 迷惑メール with the
//! reasons it was flagged; an agent writes to a customer first.

use super::*;

const JAPANESE_MAIL: &[u8] = include_bytes!("../../fixtures/mail/iso2022jp_pdf.eml");
const PHISHING_MAIL: &[u8] = include_bytes!("../../fixtures/mail/phishing.eml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_in_the_inbox_and_the_admin() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    app.agent_in(&workspace, "mail-admin@example.jp", Role::Admin)
        .await;
    let profiles = std::env::temp_dir().join(format!("mdg-mail-ui-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("admin")).await;
    log_in(&client, &app, "mail-admin@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();

    // The admin adds the support address as a channel.
    client
        .goto(&format!("{}/admin#channels", app.url))
        .await
        .unwrap();
    let kind = client
        .wait()
        .for_element(Locator::Css("#channel-kind"))
        .await
        .unwrap();
    kind.select_by_value("email").await.unwrap();
    let form = client.find(Locator::Css("#channel-create")).await.unwrap();
    form.find(Locator::Css("input:not([type=email])"))
        .await
        .unwrap()
        .send_keys("サポート窓口")
        .await
        .unwrap();
    client
        .find(Locator::Css("#channel-address"))
        .await
        .unwrap()
        .send_keys("support@shop.example")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the channel is listed with its address", || async {
        page_text(&client, "table")
            .await
            .contains("support@shop.example")
    })
    .await;
    eventually("the forwarding help shows", || async {
        page_text(&client, ".admin-page")
            .await
            .contains("smtp_inbound.bind")
    })
    .await;
    save_screenshot(&client, "admin-email-channel").await;

    // The mailbox form: a wrong password is said at once; the right one connects.
    if let Some(dovecot) = crate::imap::start_dovecot().await {
        let fill = |label: &'static str, value: String| {
            let client = &client;
            async move {
                let input = client
                    .find(Locator::XPath(&format!(
                        "//form[@id='imap-form']//label[normalize-space()='{label}']/following-sibling::*[1]"
                    )))
                    .await
                    .unwrap();
                input.clear().await.unwrap();
                input.send_keys(&value).await.unwrap();
            }
        };
        fill("IMAP サーバー", "127.0.0.1".into()).await;
        fill("ポート", dovecot.port.to_string()).await;
        fill("ユーザー名", "support".into()).await;
        fill("パスワード", "wrong".into()).await;
        client
            .find(Locator::Css("#imap-form select"))
            .await
            .unwrap()
            .select_by_value("none")
            .await
            .unwrap();
        click_settled(&client, "#imap-form button[type=submit]").await;
        eventually("the refused login is shown", || async {
            page_text(&client, ".admin-page")
                .await
                .contains("cannot log in")
        })
        .await;
        fill("パスワード", "s3cret".into()).await;
        click_settled(&client, "#imap-form button[type=submit]").await;
        eventually("the mailbox shows as connected", || async {
            page_text(&client, ".admin-page")
                .await
                .contains("接続中: support@127.0.0.1")
        })
        .await;
        save_screenshot(&client, "admin-email-imap").await;
        drop(dovecot);
    }

    for raw in [JAPANESE_MAIL, PHISHING_MAIL] {
        madoguchi_server::automation::mail_intake::receive(
            &app.state,
            raw,
            &["support@shop.example".to_owned()],
        )
        .await
        .unwrap();
    }
    client.goto(&format!("{}/inbox", app.url)).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#conversation-list .item .subject"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the subject heads the conversation", || async {
        page_text(&client, "#messages h2.subject").await.trim() == "注文が届かない"
    })
    .await;
    eventually("the PDF is listed", || async {
        page_text(&client, "#messages")
            .await
            .contains("receipt.pdf")
    })
    .await;
    save_screenshot(&client, "inbox-mail").await;

    click_settled(&client, "button[data-status=spam]").await;
    eventually("the phishing mail is under spam", || async {
        page_text(&client, "#conversation-list")
            .await
            .contains("アカウントが停止")
    })
    .await;
    click_settled(&client, "#conversation-list .item").await;
    eventually("the reasons show", || async {
        let text = page_text(&client, "#messages .mail-flags.spam").await;
        text.contains("なりすましの疑いがあるドメイン: amaz0n-jp.com → amazon")
    })
    .await;
    let body = page_text(&client, "#messages").await;
    assert!(
        !body.contains("<a "),
        "the mail's HTML is shown as text: {body}"
    );
    save_screenshot(&client, "inbox-spam").await;

    // An agent writes to a customer first.
    click_settled(&client, "#compose").await;
    for (css, value) in [
        ("#compose-to", "hanako@example.jp"),
        ("#compose-subject", "ご注文の確認"),
        ("#compose-body", "ご希望の色をお知らせください。"),
    ] {
        client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    save_screenshot(&client, "inbox-compose").await;
    click_settled(&client, "#compose-form button[type=submit]").await;
    eventually("the new conversation opens", || async {
        page_text(&client, "#messages h2.subject").await.trim() == "ご注文の確認"
            && page_text(&client, "#messages .msg.agent")
                .await
                .contains("ご希望の色をお知らせください。")
    })
    .await;
    client.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}
