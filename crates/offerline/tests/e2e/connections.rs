//! What one client can hold of the server: connections that send nothing or send their
//! headers a byte at a time are closed after the header timeout while `/healthz` and the
//! ledger keep answering; requests past the concurrency bound get 503 at once, and a request
//! past the request timeout (here a body that never arrives) gets 503.
//!
//! These bound the HTTP server, not the store, so they run on SQLite only.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Db, Server};

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (EOF or reset); returns what it sent.
async fn until_closed(r: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// 250 connections that send nothing and 250 that send a request's headers a byte every
/// 200 ms, never finishing them, against a server whose header timeout is 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_closed_while_healthz_answers() {
    let header_timeout = Duration::from_secs(5);
    let s = Server::start_with_env(Db::Sqlite, &[("OFFERLINE_HEADER_TIMEOUT", "5")]).await;
    let staff = s.staff();
    let started = Instant::now();
    let mut held = Vec::new();
    for i in 0..500 {
        let mut stream = TcpStream::connect(addr(&s)).await.expect("connect");
        held.push(tokio::spawn(async move {
            if i % 2 == 0 {
                // Idle: connected, sends nothing.
                until_closed(&mut stream).await;
            } else {
                // Trickling: a header that never ends, a byte at a time.
                let (mut r, mut w) = stream.into_split();
                let writer = async move {
                    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: {}", "a".repeat(10_000));
                    for b in head.bytes() {
                        if w.write_all(&[b]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    std::future::pending::<()>().await;
                };
                tokio::select! {
                    _ = until_closed(&mut r) => {}
                    () = writer => {}
                }
            }
            Instant::now()
        }));
    }
    let opened = started.elapsed();
    // While they are all open: /healthz and a ledger read answer, each at once.
    let mut slowest = Duration::ZERO;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    while started.elapsed() < opened + Duration::from_secs(1) {
        let t = Instant::now();
        let r = client.get(s.url("/healthz")).send().await.expect("/healthz answers");
        assert_eq!(r.status().as_u16(), 200);
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = Instant::now();
    let (st, orders) = s.get("/api/v1/orders/", &staff).await;
    assert_eq!(st, 200, "{orders}");
    slowest = slowest.max(t.elapsed());
    assert!(slowest < Duration::from_secs(1), "/healthz or the ledger waited {slowest:?} behind 500 connections");
    assert!(held.iter().all(|h| !h.is_finished()), "a connection was closed before its header timeout");
    // Then the server closes every one of them, the trickling ones too although they keep
    // sending.
    let deadline = tokio::time::Instant::now() + header_timeout + Duration::from_secs(10);
    let mut closed_after = Vec::new();
    for h in held {
        let at =
            tokio::time::timeout_at(deadline, h).await.expect("a connection still open long after the header timeout");
        closed_after.push(at.expect("task").duration_since(started));
    }
    let last = closed_after.iter().max().copied().unwrap_or_default();
    println!(
        "500 connections opened in {opened:?}; /healthz and the ledger answered within {slowest:?}; \
         all closed by {last:?} (header timeout {header_timeout:?})"
    );
    assert!(
        closed_after.iter().all(|d| *d >= header_timeout - Duration::from_millis(200)),
        "closed before the timeout"
    );
}

/// A raw HTTP/1.1 request whose body never comes: the head, one byte of a 100-byte body.
async fn stalled_post(s: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(addr(s)).await.expect("connect");
    let head = "POST /api/v1/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\nConnection: close\r\n\r\n{";
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

/// Status and JSON body of a raw response.
fn parse(raw: &[u8]) -> (u16, String, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// At most 4 requests at once and 2 s each: four stalled bodies take every slot, the fifth
/// request is refused at once in its dialect, `/healthz` still answers, and the stalled ones
/// are answered 503 after 2 s, which frees the slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_bounds_are_answered_503() {
    let s = Server::start_with_env(
        Db::Sqlite,
        &[("OFFERLINE_MAX_REQUESTS", "4"), ("OFFERLINE_REQUEST_TIMEOUT", "2"), ("OFFERLINE_HEADER_TIMEOUT", "20")],
    )
    .await;
    let (st, _) = s.send("GET", "/readyz", None, None).await;
    assert_eq!(st, 200);
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut stream = stalled_post(&s).await;
        stalled.push(tokio::spawn(async move { (until_closed(&mut stream).await, Instant::now()) }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let r = s.http.get(s.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["detail"], "The server is busy; try again shortly.", "DRF's shape: {body}");
    let (st, body) = s.send("GET", "/v2/carts/mine", None, None).await;
    assert_eq!(st, 503, "{body}");
    assert_eq!(body["errors"][0]["status"], 503, "JSON:API's shape on /v2/: {body}");
    let (st, _) = s.send("GET", "/healthz", None, None).await;
    assert_eq!(st, 200, "/healthz is exempt");
    assert!(started.elapsed() < Duration::from_secs(2), "the refusals waited");

    for h in stalled {
        let (raw, at) = h.await.expect("task");
        let (status, head, body) = parse(&raw);
        assert_eq!(status, 503, "{}", String::from_utf8_lossy(&raw));
        assert!(head.contains("retry-after: 1"), "{head}");
        assert_eq!(body["detail"], "The request did not complete within 2 seconds.");
        let took = at.duration_since(started);
        assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(10), "answered after {took:?}");
    }
    let (st, _) = s.send("GET", "/readyz", None, None).await;
    assert_eq!(st, 200, "the slots are free again");
}
