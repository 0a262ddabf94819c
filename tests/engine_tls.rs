//! The engine's client against a real TLS server (nginx with a certificate
//! from the harness's throwaway CA, which no client trusts): HTTP/2 where
//! the server offers it by ALPN, HTTP/1.1 on plain HTTP, compressed answers
//! decoded, `--insecure` needed to talk to it at all, a failed
//! certificate check reported as a TLS failure, and connections shared or
//! kept alive as each protocol allows.

mod support;

use std::sync::Arc;
use std::time::Duration;

use rampart::engine::{Engine, EngineConfig, EngineError, Exchange, PaceMode, Probe};
use support::proxy::{Nginx, Proxy};
use support::{Leaf, Ready, TestPki};
use url::Url;

/// nginx on two ports: TLS with HTTP/2 (port 0) and plain HTTP (port 1),
/// both answering JSON that names the Host they were asked for and the
/// connection it came on (nginx's serial number), gzipped.
fn nginx(pki: &TestPki) -> Proxy {
    let cert = pki.leaf(Leaf {
        name: "engine-tls",
        san: "DNS:localhost,IP:127.0.0.1",
        ..Leaf::default()
    });
    Nginx::start_config(
        2,
        |prefix, ports| {
            let prefix = prefix.display();
            let location = "default_type application/json;\n\
                 gzip on; gzip_types application/json; gzip_min_length 1;\n\
                 location / { return 200 '{\"host\":\"$http_host\",\"connection\":\"$connection\",\"padding\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}'; }";
            format!(
                "worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log notice;\n\
                 user root root;\nevents {{ worker_connections 64; }}\n\
                 http {{\n  access_log off;\n\
                   client_body_temp_path {prefix}/cb; proxy_temp_path {prefix}/p;\n\
                   fastcgi_temp_path {prefix}/f; uwsgi_temp_path {prefix}/u; scgi_temp_path {prefix}/s;\n\
                   server {{\n    listen 127.0.0.1:{tls} ssl http2;\n\
                     ssl_certificate {chain};\n    ssl_certificate_key {key};\n\
                     ssl_protocols TLSv1.2 TLSv1.3;\n    {location}\n  }}\n\
                   server {{\n    listen 127.0.0.1:{plain};\n    {location}\n  }}\n}}\n",
                tls = ports[0],
                plain = ports[1],
                chain = cert.chain.display(),
                key = cert.key.display(),
            )
        },
        Ready::Tcp,
    )
}

/// The engine's answer to `GET {scheme}://127.0.0.1:{port}/api`, `port`
/// being nginx's first (TLS) or second (plain HTTP), and the Host it named.
async fn get(
    scheme: &str,
    port: usize,
    insecure: bool,
) -> (String, Result<Arc<Exchange>, EngineError>) {
    let pki = TestPki::new();
    let nginx = nginx(&pki);
    let host = format!("127.0.0.1:{}", nginx.ports()[port]);
    let url = Url::parse(&format!("{scheme}://{host}/api")).unwrap();
    let mut config = EngineConfig::new(url.clone());
    config.timeout = Duration::from_secs(5);
    config.accept_invalid_certs = insecure;
    let sent = Engine::new(config).unwrap().send(Probe::get(url)).await;
    (host, sent)
}

#[tokio::test]
async fn tls_targets_that_offer_http2_get_it_and_compressed_answers_are_decoded() {
    let (host, exchange) = get("https", 0, true).await;
    let exchange = exchange.unwrap();
    assert_eq!(exchange.response.status, 200);
    assert_eq!(exchange.response.http_version, "HTTP/2.0");
    let json = exchange.body_json().expect("the gzipped JSON, decoded");
    assert_eq!(json["host"], host.as_str());
    // The body is the decoded one: the encoding headers described other bytes.
    assert!(exchange.response_header("content-encoding").is_none());
    assert!(exchange.response_header("content-length").is_none());
}

#[tokio::test]
async fn plain_http_targets_get_http1_with_the_host_header() {
    let (host, exchange) = get("http", 1, false).await;
    let exchange = exchange.unwrap();
    assert_eq!(exchange.response.http_version, "HTTP/1.1");
    let json = exchange.body_json().expect("the gzipped JSON, decoded");
    assert_eq!(json["host"], host.as_str());
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_failure_without_insecure() {
    let error = get("https", 0, false).await.1.unwrap_err();
    assert!(matches!(error, EngineError::Tls(_)), "{error:?}");
    assert!(error.to_string().contains("certificate"), "{error}");
}

/// The connection (nginx's serial number) of each of `requests` GETs of
/// `url`, sent all at once (`together`) or one after another, by one
/// fresh engine.
async fn connections_used(url: &str, requests: usize, together: bool) -> Vec<String> {
    let url = Url::parse(url).unwrap();
    let mut config = EngineConfig::new(url.clone());
    config.timeout = Duration::from_secs(5);
    config.accept_invalid_certs = true;
    config.concurrency = requests;
    // Unpaced, so that requests sent together are in flight together.
    config.pacing = PaceMode::Steady;
    config.rate_per_second = None;
    let engine = Engine::new(config).unwrap();
    let answers = if together {
        let sends = (0..requests).map(|_| engine.send(Probe::get(url.clone())));
        futures::future::join_all(sends).await
    } else {
        let mut answers = Vec::new();
        for _ in 0..requests {
            answers.push(engine.send(Probe::get(url.clone())).await);
        }
        answers
    };
    answers
        .into_iter()
        .map(|answer| {
            let exchange = answer.unwrap();
            let json = exchange.body_json().expect("nginx's JSON");
            json["connection"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_first_requests_to_an_http2_server_share_one_connection_and_http1_ones_keep_theirs_alive(
) {
    let pki = TestPki::new();
    let nginx = nginx(&pki);
    let [tls, plain] = [0, 1].map(|i| nginx.ports()[i]);
    // Sent at once before any connection exists: they wait for the one
    // handshake instead of each opening a connection of its own.
    let at_once = connections_used(&format!("https://127.0.0.1:{tls}/api"), 8, true).await;
    assert!(at_once.iter().all(|c| c == &at_once[0]), "{at_once:?}");
    // Each HTTP/1.1 answer is read whole, so the next request finds its
    // connection idle.
    let in_turn = connections_used(&format!("http://127.0.0.1:{plain}/api"), 4, false).await;
    assert!(in_turn.iter().all(|c| c == &in_turn[0]), "{in_turn:?}");
    // Not one connection for everything: HTTP/1.1 requests at once need
    // as many.
    let http1_at_once = connections_used(&format!("http://127.0.0.1:{plain}/api"), 4, true).await;
    let distinct: std::collections::HashSet<_> = http1_at_once.iter().collect();
    assert_eq!(distinct.len(), 4, "{http1_at_once:?}");
}
