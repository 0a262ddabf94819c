//! One ClientHello exchange over plain TCP, and a bounded batch of them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::client_hello::build_client_hello;
use super::server_reply::{
    parse_certificate_list, parse_server_hello, ProtoError, ServerEvent, ServerHello, ServerStream,
};
use super::wire::{HS_CERTIFICATE, HS_SERVER_HELLO, HS_SERVER_HELLO_DONE};
use super::{TlsProbeError, TlsVersion, MAX_READ_BYTES};

#[derive(Debug, Clone)]
pub(super) enum Outcome {
    /// The server answered with a ServerHello (and maybe a Certificate).
    Hello(ServerHello, Option<Vec<Vec<u8>>>),
    /// The server answered with an alert before any ServerHello.
    Alert,
    /// Closed, reset or stalled without a ServerHello (or malformed TLS).
    Closed,
    /// The bytes that came back are not TLS.
    NotTls,
}

#[derive(Debug)]
pub(super) enum ConnError {
    Connect(std::io::Error),
    /// Nothing at all within the deadline.
    Timeout,
}

pub(super) struct Target {
    pub(super) addr: SocketAddr,
    pub(super) sni: Option<String>,
    pub(super) timeout: Duration,
}

#[derive(Clone)]
pub(super) struct Job {
    pub(super) version: TlsVersion,
    pub(super) suites: Vec<u16>,
    pub(super) want_cert: bool,
}

/// Runs one ClientHello exchange.
async fn exchange(target: &Target, job: &Job) -> Result<Outcome, ConnError> {
    let deadline = Instant::now() + target.timeout;
    let mut stream = match tokio::time::timeout_at(deadline, TcpStream::connect(target.addr)).await
    {
        Err(_) => return Err(ConnError::Timeout),
        Ok(Err(e)) => return Err(ConnError::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let hello = build_client_hello(job.version, &job.suites, target.sni.as_deref());
    match tokio::time::timeout_at(deadline, stream.write_all(&hello)).await {
        Err(_) => return Err(ConnError::Timeout),
        Ok(Err(_)) => return Ok(Outcome::Closed),
        Ok(Ok(())) => {}
    }

    let mut parser = ServerStream::default();
    let mut hello: Option<ServerHello> = None;
    let mut got_bytes = false;
    let mut total = 0usize;
    let mut buf = vec![0u8; 8192];
    let finish = |hello: Option<ServerHello>, fallback: Outcome| match hello {
        Some(sh) => Outcome::Hello(sh, None),
        None => fallback,
    };
    loop {
        // Drain complete events.
        loop {
            match parser.next_event() {
                Ok(None) => break,
                Ok(Some(ServerEvent::Handshake(HS_SERVER_HELLO, body))) if hello.is_none() => {
                    let Some(sh) = parse_server_hello(&body) else {
                        return Ok(Outcome::Closed);
                    };
                    if !job.want_cert || sh.version >= TlsVersion::Tls13.wire() || sh.hello_retry {
                        return Ok(Outcome::Hello(sh, None));
                    }
                    hello = Some(sh);
                }
                Ok(Some(ServerEvent::Handshake(HS_CERTIFICATE, body))) if hello.is_some() => {
                    let certs = parse_certificate_list(&body);
                    return Ok(match hello {
                        Some(sh) => Outcome::Hello(sh, certs),
                        None => Outcome::Closed,
                    });
                }
                Ok(Some(ServerEvent::Handshake(HS_SERVER_HELLO_DONE, _))) => {
                    return Ok(finish(hello, Outcome::Closed));
                }
                Ok(Some(ServerEvent::Handshake(..))) => {}
                Ok(Some(ServerEvent::Alert(..))) => return Ok(finish(hello, Outcome::Alert)),
                Ok(Some(ServerEvent::Other(_))) => return Ok(finish(hello, Outcome::Closed)),
                Err(ProtoError::NotTls) => return Ok(finish(hello, Outcome::NotTls)),
                Err(_) => return Ok(finish(hello, Outcome::Closed)),
            }
        }
        if total >= MAX_READ_BYTES {
            return Ok(finish(hello, Outcome::Closed));
        }
        let want = buf.len().min(MAX_READ_BYTES - total);
        match tokio::time::timeout_at(deadline, stream.read(&mut buf[..want])).await {
            Err(_) if !got_bytes => return Err(ConnError::Timeout),
            Err(_) | Ok(Ok(0)) | Ok(Err(_)) => return Ok(finish(hello, Outcome::Closed)),
            Ok(Ok(n)) => {
                got_bytes = true;
                total += n;
                parser.push(&buf[..n]);
            }
        }
    }
}

/// Runs `jobs` with at most `limit` connections in flight; results in job order.
pub(super) async fn run_jobs(
    target: &Arc<Target>,
    jobs: &[Job],
    limit: usize,
) -> Vec<Result<Outcome, ConnError>> {
    let mut results: Vec<Option<Result<Outcome, ConnError>>> =
        (0..jobs.len()).map(|_| None).collect();
    let mut set = JoinSet::new();
    let mut pending = jobs.iter().cloned().enumerate();
    loop {
        while set.len() < limit.max(1) {
            let Some((i, job)) = pending.next() else {
                break;
            };
            let target = Arc::clone(target);
            set.spawn(async move { (i, exchange(&target, &job).await) });
        }
        match set.join_next().await {
            None => break,
            Some(Ok((i, r))) => {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            Some(Err(_)) => {} // task panicked or was cancelled: treated as Closed
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Ok(Outcome::Closed)))
        .collect()
}

pub(super) fn normalize_sni(sni: &str) -> Result<Option<String>, TlsProbeError> {
    let name = sni.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() || bare.parse::<IpAddr>().is_ok() {
        return Ok(None); // RFC 6066: no IP literals in SNI
    }
    let valid = name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if valid {
        Ok(Some(name))
    } else {
        Err(TlsProbeError::InvalidSni(sni.to_string()))
    }
}

pub(super) async fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<SocketAddr, TlsProbeError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let err = |source| TlsProbeError::Resolve {
        host: host.to_string(),
        source,
    };
    let mut addrs = match tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port))).await
    {
        Err(_) => {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "lookup timed out",
            )));
        }
        Ok(r) => r.map_err(err)?,
    };
    addrs.next().ok_or_else(|| {
        err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no address",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_normalization() {
        assert_eq!(
            normalize_sni("Example.COM.").unwrap().as_deref(),
            Some("example.com")
        );
        assert_eq!(normalize_sni("").unwrap(), None);
        assert_eq!(normalize_sni("127.0.0.1").unwrap(), None);
        assert_eq!(normalize_sni("[::1]").unwrap(), None);
        assert!(normalize_sni("bad name").is_err());
    }
}
