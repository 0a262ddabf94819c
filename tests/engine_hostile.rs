//! The engine against servers that misbehave on purpose: it must return a
//! clear error or a capped exchange, never hang, panic or buffer without bound.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rampart::engine::{Caller, Engine, EngineConfig, EngineError, Probe};
use rampart::identity::Identity;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Serves every connection with `behaviour` on an ephemeral loopback port.
async fn hostile_server<F, Fut>(behaviour: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(behaviour(stream));
        }
    });
    addr
}

async fn read_request_head(stream: &mut TcpStream) {
    let mut buf = vec![0u8; 8192];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

fn engine_for(addr: SocketAddr, timeout: Duration, body_cap: usize) -> Engine {
    let mut config = EngineConfig::new(Url::parse(&format!("http://{addr}/")).unwrap());
    config.timeout = timeout;
    config.body_cap = body_cap;
    config.rate_per_second = None;
    Engine::new(config).unwrap()
}

fn probe(addr: SocketAddr, path: &str) -> Probe {
    Probe::get(Url::parse(&format!("http://{addr}{path}")).unwrap())
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
    })
    .await;
    let engine = engine_for(addr, Duration::from_millis(500), 1024);
    let started = Instant::now();
    let error = engine.send(probe(addr, "/")).await.unwrap_err();
    assert!(matches!(error, EngineError::Timeout(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_never_ending_body_is_cut_at_the_cap() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 16384, "A".repeat(16384));
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(10), 64 * 1024);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert!(exchange.response.truncated);
    assert_eq!(exchange.response.body.len(), 64 * 1024);
}

#[tokio::test]
async fn a_huge_declared_body_is_cut_at_the_cap() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 10737418240\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let block = vec![b'x'; 65536];
        while stream.write_all(&block).await.is_ok() {}
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(10), 100_000);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert!(exchange.response.truncated);
    assert_eq!(exchange.response.body.len(), 100_000);
}

#[tokio::test]
async fn a_dripping_body_does_not_outlive_the_timeout() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            if stream.write_all(b"1\r\nx\r\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let engine = engine_for(addr, Duration::from_millis(700), 1024 * 1024);
    let started = Instant::now();
    let error = engine.send(probe(addr, "/")).await.unwrap_err();
    assert!(matches!(error, EngineError::Timeout(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_decompression_bomb_is_bounded_by_the_cap() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = std::sync::Arc::new(encoder.finish().unwrap());
    assert!(bomb.len() < 1024 * 1024, "64 MiB must compress well");
    let addr = hostile_server(move |mut stream| {
        let bomb = std::sync::Arc::clone(&bomb);
        async move {
            read_request_head(&mut stream).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                bomb.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&bomb).await;
        }
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(10), 256 * 1024);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert!(exchange.response.truncated);
    assert_eq!(exchange.response.body.len(), 256 * 1024);
}

#[tokio::test]
async fn garbage_instead_of_http_is_an_error_not_a_panic() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"\x00\x01garbage\xff\xfe not http\r\n\r\n")
            .await;
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(5), 1024);
    let error = engine.send(probe(addr, "/")).await.unwrap_err();
    assert!(!error.to_string().is_empty());
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let addr = hostile_server(|mut stream| async move {
        read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 302 Found\r\nlocation: http://10.255.255.1/elsewhere\r\ncontent-length: 0\r\n\r\n")
            .await;
    })
    .await;
    let engine = engine_for(addr, Duration::from_secs(5), 1024);
    let exchange = engine.send(probe(addr, "/")).await.unwrap();
    assert_eq!(exchange.response.status, 302);
    assert_eq!(
        exchange.response_header("location"),
        Some("http://10.255.255.1/elsewhere")
    );
}

#[tokio::test]
async fn probes_outside_the_target_origin_are_refused_before_sending() {
    let engine = engine_for("127.0.0.1:9".parse().unwrap(), Duration::from_secs(1), 1024);
    let outside = Probe::get(Url::parse("http://127.0.0.2:9/").unwrap());
    assert!(matches!(
        engine.send(outside).await.unwrap_err(),
        EngineError::OutOfScope(_)
    ));
    assert_eq!(engine.requests_sent(), 0);
}

#[tokio::test]
async fn errors_never_carry_supplied_credentials() {
    let mut config = EngineConfig::new(Url::parse("http://127.0.0.1:9/").unwrap());
    config.identities = vec![Identity {
        name: "alice".into(),
        headers: vec![("X-API-Key".into(), "sk_live_supersecret_123".into())],
    }];
    let engine = Engine::new(config).unwrap();
    let url = Url::parse("http://127.0.0.1:9/?key=sk_live_supersecret_123").unwrap();
    let error = engine
        .send(Probe::get(url).as_caller(Caller::Identity("alice".into())))
        .await
        .unwrap_err();
    assert!(
        !error.to_string().contains("sk_live_supersecret_123"),
        "{error}"
    );
}
