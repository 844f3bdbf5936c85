//! Inbound mail by IMAP against a real server: Debian's Dovecot, started by the test on a
//! maildir of its own. Mail is read once (UIDs tracked, Message-IDs deduplicated even across
//! IMAP and SMTP), a reader waiting in IDLE picks up new mail, and a re-read after a crash
//! duplicates nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use madoguchi_core::agent::Role;
use madoguchi_server::automation::mail_reader::{mailbox_of, read_new, spawn_readers};
use madoguchi_server::channels::email::imap::Session;
use madoguchi_store::Backend;
use serde_json::{json, Value};

use crate::support::TestApp;

const JAPANESE_MAIL: &[u8] = include_bytes!("../fixtures/mail/iso2022jp_pdf.eml");

pub(crate) struct Dovecot {
    child: Child,
    pub(crate) port: u16,
    dir: PathBuf,
    owner: (u32, u32),
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `dovecot -F` with a plain-text login `support` / `s3cret` on a free loopback port.
pub(crate) async fn start_dovecot() -> Option<Dovecot> {
    let binary = Path::new("/usr/sbin/dovecot");
    if !binary.exists() {
        madoguchi_store::testing::skip("dovecot is not installed (apt-get install dovecot-imapd)");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("mdg-dovecot-{}", madoguchi_store::new_id()));
    // Mail belongs to an unprivileged user when the tests run as root (Dovecot refuses uid 0).
    let owner = match unsafe { libc::geteuid() } {
        0 => (65534, 65534),
        uid => (uid, unsafe { libc::getegid() }),
    };
    for sub in [
        "run",
        "state",
        "home",
        "mail/support/new",
        "mail/support/cur",
        "mail/support/tmp",
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for sub in [
        "home",
        "mail",
        "mail/support",
        "mail/support/new",
        "mail/support/cur",
        "mail/support/tmp",
    ] {
        std::os::unix::fs::chown(dir.join(sub), Some(owner.0), Some(owner.1)).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(dir.join("users"), "support:{PLAIN}s3cret::::::\n").unwrap();
    let d = dir.display();
    let config = format!(
        "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
         log_path = {d}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\n\
         auth_mechanisms = plain login\nmail_location = maildir:{d}/mail/%u\n\
         mailbox_idle_check_interval = 1 secs\nfirst_valid_uid = 1\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
         userdb {{\n  driver = static\n  args = uid={} gid={} home={d}/home/%u\n}}\n\
         service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
         inet_listener imaps {{\n    port = 0\n  }}\n}}\n",
        owner.0, owner.1
    );
    std::fs::write(dir.join("dovecot.conf"), config).unwrap();
    let child = Command::new(binary)
        .args(["-F", "-c"])
        .arg(dir.join("dovecot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        let log = std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "dovecot did not start: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(Dovecot {
        child,
        port,
        dir,
        owner,
    })
}

static DELIVERED: AtomicU32 = AtomicU32::new(0);

impl Dovecot {
    /// Delivers a mail into the mailbox as a local delivery agent would (maildir `new/`).
    fn deliver(&self, raw: &[u8]) {
        let n = DELIVERED.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "{}.M{n}P{}.madoguchi-test",
            1_764_000_000 + n,
            std::process::id()
        );
        let tmp = self.dir.join("mail/support/tmp").join(&name);
        std::fs::write(&tmp, raw).unwrap();
        std::os::unix::fs::chown(&tmp, Some(self.owner.0), Some(self.owner.1)).unwrap();
        std::fs::rename(&tmp, self.dir.join("mail/support/new").join(&name)).unwrap();
    }
}

async fn messages(app: &TestApp, token: &str, conversation: &str) -> Vec<Value> {
    let list: Value = app
        .get(&format!("/api/v1/conversations/{conversation}/messages"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["messages"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_is_read_once_and_followed_in_idle() {
    let Some(dovecot) = start_dovecot().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "imap-admin@shop.example", Role::Admin)
        .await;
    let channel: Value = app
        .post(
            "/api/v1/channels",
            &json!({"name": "Mail", "kind": "email", "email_address": "support@shop.example"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    dovecot.deliver(JAPANESE_MAIL);

    let connect = |password: &str| {
        app.http
            .put(format!("{}/api/v1/channels/{channel_id}/imap", app.url))
            .bearer_auth(&admin.token)
            .json(
                &json!({"host": "127.0.0.1", "port": dovecot.port, "tls": "none",
                          "user": "support", "password": password}),
            )
            .send()
    };
    let refused = connect("wrong").await.unwrap();
    assert_eq!(refused.status(), 422, "a wrong password is said at once");
    let remote = connect("s3cret")
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(remote["imap"]["user"], "support");
    assert!(
        !remote.to_string().contains("s3cret"),
        "the password is never shown"
    );
    let plain_remote = app
        .http
        .put(format!("{}/api/v1/channels/{channel_id}/imap", app.url))
        .bearer_auth(&admin.token)
        .json(
            &json!({"host": "imap.example.jp", "port": 143, "tls": "none",
                      "user": "support", "password": "s3cret"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(plain_remote.status(), 422, "no plain IMAP over the network");

    // One read brings the mail in, with its PDF; a second finds nothing new.
    let channel = app.store.channel(&workspace, &channel_id).await.unwrap();
    let mailbox = mailbox_of(&channel).unwrap().unwrap();
    let mut session = Session::open(&mailbox).await.unwrap();
    assert!(session.has("IDLE"));
    assert_eq!(
        read_new(&app.state, &channel, &mailbox, &mut session)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        read_new(&app.state, &channel, &mailbox, &mut session)
            .await
            .unwrap(),
        0
    );
    let list: Value = app
        .get("/api/v1/conversations?status=open")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversations = list["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["subject"], "注文が届かない");
    let conversation = conversations[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(messages(&app, &admin.token, &conversation).await.len(), 2);

    // The same mail through SMTP too, and a re-read as after a crash before the UID was
    // recorded: still one mail.
    madoguchi_server::automation::mail_intake::receive(
        &app.state,
        JAPANESE_MAIL,
        &["support@shop.example".to_owned()],
    )
    .await
    .unwrap();
    let (validity, _) = app.store.imap_state(&channel_id).await.unwrap().unwrap();
    app.store
        .set_imap_state(&channel_id, validity, 0)
        .await
        .unwrap();
    assert_eq!(
        read_new(&app.state, &channel, &mailbox, &mut session)
            .await
            .unwrap(),
        1
    );
    assert_eq!(messages(&app, &admin.token, &conversation).await.len(), 2);
    session.logout().await;

    // The background reader waits in IDLE and picks up the customer's answer within seconds.
    let readers = spawn_readers(app.state.clone());
    // Long enough for its first read; the next mail can then only come through IDLE (the
    // fallback poll is a minute away).
    tokio::time::sleep(Duration::from_secs(2)).await;
    dovecot.deliver(
        b"From: taro@example.jp\r\nTo: support@shop.example\r\nSubject: Re: hi\r\n\
          Message-ID: <answer-9@example.jp>\r\nIn-Reply-To: <first-1@example.jp>\r\n\r\n\
          Thanks, it arrived.\r\n",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let thread = messages(&app, &admin.token, &conversation).await;
        if thread.last().unwrap()["body"] == "Thanks, it arrived." {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "IDLE did not bring the mail: {thread:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    readers.abort();

    // Disconnecting keeps the mail and forgets the mailbox.
    let disconnected = app
        .http
        .delete(format!("{}/api/v1/channels/{channel_id}/imap", app.url))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(disconnected.status(), 204);
    let channels = app.get_json(&admin, "/api/v1/channels").await;
    let mail = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == channel_id.as_str())
        .unwrap();
    assert_eq!(mail["imap"], Value::Null);
    assert!(app.store.imap_channels().await.unwrap().is_empty());
    assert_eq!(messages(&app, &admin.token, &conversation).await.len(), 3);
}
