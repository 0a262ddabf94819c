//! The engine's own keep-alive connections: per origin, a stack of idle
//! HTTP/1.1 connections and, where a TLS server chose HTTP/2 by ALPN, one
//! shared HTTP/2 connection.
//!
//! Why not a general-purpose pooled client: the engine always reads an
//! answer's body itself, to the end or to its cap, so it knows the moment a
//! connection is free again and hands it back there and then. A client that
//! cannot know that must watch every connection from a task of its own
//! until it is idle again, and that task per request, with the pool's
//! bookkeeping around it, cost a fifth of the request rate on loopback.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::{Position, Url};

use super::client::HttpError;

/// How long an idle connection is kept: servers close theirs after a
/// while (nginx after 75 s), and one found closed is only a wasted try.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

type Body = Full<Bytes>;

/// Where a connection goes: scheme, host and port, as the URL says them.
struct Origin {
    https: bool,
    /// The URL's host; an IPv6 address in brackets.
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &Url) -> Result<Origin, HttpError> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(HttpError::Request(format!(
                    "{url}: unsupported scheme {other}"
                )))
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| HttpError::Request(format!("{url}: no host")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| HttpError::Request(format!("{url}: no port")))?;
        Ok(Origin {
            https,
            host: host.to_string(),
            port,
        })
    }

    fn is(&self, url: &Url) -> bool {
        self.https == (url.scheme() == "https")
            && url.host_str() == Some(self.host.as_str())
            && url.port_or_known_default() == Some(self.port)
    }

    /// The host without an IPv6 address's brackets: what DNS and SNI take.
    fn bare_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }
}

/// A connection a request can go out on.
pub(super) enum Connection {
    /// Used by one request at a time; given back once its answer is read.
    Http1 {
        sender: http1::SendRequest<Body>,
        /// It served a request before (so a failure to send on it may just
        /// be the server having closed it meanwhile).
        reused: bool,
    },
    /// Shared by every request to its origin.
    Http2(http2::SendRequest<Body>),
}

/// An HTTP/1.1 connection out for one request, to be given back once its
/// answer has been read whole. Dropped instead, the connection closes:
/// an answer read only in part leaves it unusable.
pub(super) struct Lease {
    slot: Arc<Slot>,
    sender: http1::SendRequest<Body>,
}

impl Lease {
    pub(super) fn give_back(self) {
        if self.sender.is_closed() {
            return;
        }
        let mut state = self.slot.state();
        if state.idle.len() < self.slot.most_idle {
            state.idle.push(Idle {
                sender: self.sender,
                since: Instant::now(),
            });
        }
    }
}

struct Idle {
    sender: http1::SendRequest<Body>,
    since: Instant,
}

/// One origin's connections.
struct Slot {
    origin: Origin,
    /// `Host` for HTTP/1.1 requests to it: host, and port unless the
    /// scheme's own.
    host: HeaderValue,
    most_idle: usize,
    state: Mutex<SlotState>,
    /// Held while a TLS connection whose protocol is not known yet (or is
    /// HTTP/2) is being made, so that the first requests to an HTTP/2
    /// server share one connection instead of each opening its own.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct SlotState {
    idle: Vec<Idle>,
    shared: Option<http2::SendRequest<Body>>,
    /// What the server chose by ALPN the last time: `None` before the
    /// first TLS connection.
    http2: Option<bool>,
}

impl SlotState {
    /// The HTTP/2 connection, forgotten once the server has closed it.
    fn open_shared(&mut self) -> Option<http2::SendRequest<Body>> {
        if self.shared.as_ref()?.is_closed() {
            self.shared = None;
        }
        self.shared.clone()
    }
}

impl Slot {
    fn state(&self) -> MutexGuard<'_, SlotState> {
        // Every step under the lock leaves the state whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The origin's HTTP/2 connection, while it is open.
    fn shared(&self) -> Option<http2::SendRequest<Body>> {
        self.state().open_shared()
    }

    /// A live connection of this origin's, when one is idle (one lock).
    fn idle(&self) -> Option<Connection> {
        let mut state = self.state();
        if let Some(shared) = state.open_shared() {
            return Some(Connection::Http2(shared));
        }
        while let Some(idle) = state.idle.pop() {
            if !idle.sender.is_closed() && idle.since.elapsed() < IDLE_TIMEOUT {
                return Some(Connection::Http1 {
                    sender: idle.sender,
                    reused: true,
                });
            }
        }
        None
    }
}

#[derive(Clone)]
pub(super) struct Connections {
    inner: Arc<Inner>,
}

struct Inner {
    tls: TlsConnector,
    connect_timeout: Duration,
    most_idle: usize,
    /// The first origin asked for, nearly always the only one (the
    /// target's): found without a lock.
    first: OnceLock<Arc<Slot>>,
    slots: Mutex<Vec<Arc<Slot>>>,
}

impl Connections {
    /// `tls` must offer `h2` and `http/1.1` by ALPN for HTTP/2 to be used.
    pub(super) fn new(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        most_idle: usize,
    ) -> Self {
        Connections {
            inner: Arc::new(Inner {
                tls: TlsConnector::from(Arc::new(tls)),
                connect_timeout,
                most_idle: most_idle.max(1),
                first: OnceLock::new(),
                slots: Mutex::new(Vec::new()),
            }),
        }
    }

    fn slot(&self, url: &Url) -> Result<Arc<Slot>, HttpError> {
        if let Some(first) = self.inner.first.get() {
            if first.origin.is(url) {
                return Ok(Arc::clone(first));
            }
        }
        let mut slots = self.inner.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.iter().find(|s| s.origin.is(url)) {
            return Ok(Arc::clone(slot));
        }
        let host = &url[Position::BeforeHost..Position::BeforePath];
        let slot = Arc::new(Slot {
            origin: Origin::of(url)?,
            host: HeaderValue::from_str(host)
                .map_err(|e| HttpError::Request(format!("{url}: {e}")))?,
            most_idle: self.inner.most_idle,
            state: Mutex::default(),
            connecting: tokio::sync::Mutex::new(()),
        });
        slots.push(Arc::clone(&slot));
        let _ = self.inner.first.set(Arc::clone(&slot));
        Ok(slot)
    }

    /// A connection to `url`'s origin: an idle one that is still open, or
    /// a new one. The slot goes with it, for the lease.
    pub(super) async fn checkout(&self, url: &Url) -> Result<(Connection, Lender), HttpError> {
        let slot = self.slot(url)?;
        while let Some(connection) = slot.idle() {
            match connection {
                Connection::Http1 { mut sender, reused } => {
                    // A connection given back the moment its answer was read
                    // may not have noticed yet that it is free.
                    if sender.is_ready() || sender.ready().await.is_ok() {
                        return Ok((Connection::Http1 { sender, reused }, Lender(slot)));
                    }
                }
                shared => return Ok((shared, Lender(slot))),
            }
        }
        // Boxed: connecting (TLS, HTTP/2) is a large future, and the rare
        // one; inline, every request's future would carry its size.
        let connection = Box::pin(self.connect_new(&slot)).await?;
        Ok((connection, Lender(slot)))
    }

    /// A new connection, never an idle one (for a request the server
    /// dropped on a reused connection).
    pub(super) async fn connect(&self, url: &Url) -> Result<(Connection, Lender), HttpError> {
        let slot = self.slot(url)?;
        let connection = Box::pin(self.connect_new(&slot)).await?;
        Ok((connection, Lender(slot)))
    }

    async fn connect_new(&self, slot: &Arc<Slot>) -> Result<Connection, HttpError> {
        let origin = &slot.origin;
        if !origin.https {
            let tcp = self.tcp(origin).await?;
            return http1_over(tcp).await;
        }
        let may_be_http2 = slot.state().http2 != Some(false);
        let _one_at_a_time = if may_be_http2 {
            let guard = slot.connecting.lock().await;
            // Another request may have made the shared connection meanwhile.
            if let Some(shared) = slot.shared() {
                return Ok(Connection::Http2(shared));
            }
            Some(guard)
        } else {
            None
        };
        let tcp = self.tcp(origin).await?;
        let name = ServerName::try_from(origin.bare_host().to_string())
            .map_err(|e| HttpError::Request(format!("{}: {e}", origin.host)))?;
        let tls = self
            .inner
            .tls
            .connect(name, tcp)
            .await
            .map_err(|source| HttpError::Tls { source })?;
        let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
        slot.state().http2 = Some(http2);
        if !http2 {
            return http1_over(tls).await;
        }
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(TokioIo::new(tls))
            .await
            .map_err(HttpError::Handshake)?;
        tokio::spawn(async move {
            // Its end (the server closing it) shows on the sender.
            let _ = connection.await;
        });
        slot.state().shared = Some(sender.clone());
        Ok(Connection::Http2(sender))
    }

    /// A TCP connection to the origin, to the first of its addresses that
    /// accepts one, each given the connect timeout.
    async fn tcp(&self, origin: &Origin) -> Result<TcpStream, HttpError> {
        let connect_error = |source: io::Error| HttpError::Connect { source };
        let addresses: Vec<SocketAddr> = tokio::time::timeout(
            self.inner.connect_timeout,
            tokio::net::lookup_host((origin.bare_host(), origin.port)),
        )
        .await
        .map_err(|_| {
            connect_error(io::Error::new(
                io::ErrorKind::TimedOut,
                "name resolution timed out",
            ))
        })?
        .map_err(|e| connect_error(io::Error::new(e.kind(), format!("dns error: {e}"))))?
        .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for address in addresses {
            match tokio::time::timeout(self.inner.connect_timeout, TcpStream::connect(address))
                .await
            {
                Ok(Ok(stream)) => {
                    stream.set_nodelay(true).map_err(connect_error)?;
                    return Ok(stream);
                }
                Ok(Err(e)) => last = e,
                Err(_) => {
                    last = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connecting to {address} timed out"),
                    )
                }
            }
        }
        Err(connect_error(last))
    }
}

/// The origin's slot, which a lease of an HTTP/1.1 connection goes back to.
pub(super) struct Lender(Arc<Slot>);

impl Lender {
    /// The origin's `Host` header.
    pub(super) fn host(&self) -> &HeaderValue {
        &self.0.host
    }

    pub(super) fn lease(self, sender: http1::SendRequest<Body>) -> Lease {
        Lease {
            slot: self.0,
            sender,
        }
    }
}

async fn http1_over<T>(io: T) -> Result<Connection, HttpError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await
        .map_err(HttpError::Handshake)?;
    tokio::spawn(async move {
        // Its end (the server closing it) shows on the sender.
        let _ = connection.await;
    });
    Ok(Connection::Http1 {
        sender,
        reused: false,
    })
}
