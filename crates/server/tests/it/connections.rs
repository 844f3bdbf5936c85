//! Connection hygiene against slow or greedy clients: a header trickle and an idle kept-alive
//! connection are cut off after the header timeout, a half-sent body gets `408`, and one client
//! address holds at most `connections_per_ip` connections.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

async fn app() -> TestApp {
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.rate_limits.header_timeout_secs = 1;
    settings.rate_limits.request_timeout_secs = 1;
    settings.rate_limits.connections_per_ip = 3;
    TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection; fails after `within`.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&out).into_owned(),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "still open after {within:?}; got {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off() {
    let app = app().await;
    // Headers that never end.
    let mut trickle = TcpStream::connect(app.addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    until_closed(&mut trickle, Duration::from_secs(5)).await;

    // A kept-alive connection that goes quiet after its answer.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // Half a body: 408 once the request's time is up.
    let mut half = TcpStream::connect(app.addr).await.unwrap();
    half.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
    )
    .await
    .unwrap();
    let answer = until_closed(&mut half, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_a_bounded_number_of_connections() {
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.rate_limits.connections_per_ip = 3;
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Let the server take the three in before the fourth arrives.
    for stream in &mut held {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
    }
    let mut fourth = TcpStream::connect(app.addr).await.unwrap();
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let refused = until_closed(&mut fourth, Duration::from_secs(5)).await;
    assert!(refused.is_empty(), "closed without an answer: {refused}");
    // A slot comes back when a connection ends.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ok = reqwest::Client::new()
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
