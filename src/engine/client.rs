//! The HTTP client under the engine: keep-alive connections of its own
//! (HTTP/1.1, and HTTP/2 where a TLS server offers it by ALPN) over rustls,
//! see [`super::connections`]. It follows no redirect (checks must see
//! them, and following one could leave scope), stores no cookie and goes
//! through no proxy. Compressed answers are decoded here, as they arrive,
//! so that the engine's body cap bounds the decoded size: a decompression
//! bomb costs at most the cap.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder};
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use http::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, HOST,
    USER_AGENT,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::CertificateDer;
use rustls::DigitallySignedStruct as Signed;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;
use url::{Position, Url};

use super::connections::{Connection, Connections, Lease};

const USER_AGENT_VALUE: &str = concat!(
    "rampart/",
    env!("CARGO_PKG_VERSION"),
    " (API security scanner)"
);
/// The encodings decoded here, offered on every request that does not
/// choose its own.
const ACCEPTED_ENCODINGS: &str = "gzip,deflate,br";
/// How much decoded body one read takes: what a capped body may overshoot
/// its cap by in memory, for a moment.
const DECODE_CHUNK: usize = 16 * 1024;

/// Why a request got no usable answer, before the engine classifies it.
#[derive(Debug, Error)]
pub(super) enum HttpError {
    #[error("{0}")]
    Request(String),
    /// Resolving the host or opening the TCP connection: nothing was sent.
    #[error("tcp connect error: {source}")]
    Connect { source: io::Error },
    /// The TLS handshake: nothing was sent.
    #[error("TLS handshake failed: {source}")]
    Tls { source: io::Error },
    /// Starting HTTP/2 (or HTTP/1.1) on a new connection.
    #[error("HTTP handshake failed: {0}")]
    Handshake(#[source] hyper::Error),
    /// Sending the request, or reading the answer's head. (Not
    /// transparent: the error chain must hold hyper's error itself, whose
    /// kind tells a dropped connection.)
    #[error("{0}")]
    Send(#[source] hyper::Error),
    /// Reading the answer's body.
    #[error("{0}")]
    Body(#[from] hyper::Error),
    #[error("error decoding the {encoding} body: {source}")]
    Decode {
        encoding: &'static str,
        source: io::Error,
    },
}

impl HttpError {
    /// No connection could be made (TCP or TLS): nothing was sent.
    pub(super) fn is_connect(&self) -> bool {
        matches!(self, HttpError::Connect { .. } | HttpError::Tls { .. })
    }

    /// The TLS handshake failed.
    pub(super) fn is_tls(&self) -> bool {
        matches!(self, HttpError::Tls { .. })
    }

    /// Every error in the chain, this one first.
    pub(super) fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        std::iter::successors(Some(self as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    }

    /// An operating-system timeout under it (a TCP connect that took too long).
    pub(super) fn timed_out(&self) -> bool {
        self.chain().any(|e| {
            e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
        })
    }
}

/// The head of an answer, its body still to be read, and the connection
/// it came on (an HTTP/1.1 one goes back once the body is read whole).
pub(super) struct Response {
    head: http::Response<Incoming>,
    lease: Option<Lease>,
}

impl Response {
    pub(super) fn status(&self) -> http::StatusCode {
        self.head.status()
    }
}

/// What was read of an answer: its head (without `Content-Encoding` and
/// `Content-Length` when the body was decoded: they describe bytes no one
/// sees) and at most the cap of its body.
pub(super) struct Answer {
    pub head: http::response::Parts,
    pub body: Bytes,
    /// The body went on past the cap.
    pub truncated: bool,
}

#[derive(Clone)]
pub(super) struct Client {
    connections: Connections,
}

impl Client {
    pub(super) fn new(
        connect_timeout: Duration,
        idle_per_host: usize,
        accept_invalid_certs: bool,
    ) -> Result<Self, HttpError> {
        let mut tls = tls_config(accept_invalid_certs)?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Client {
            connections: Connections::new(tls, connect_timeout, idle_per_host),
        })
    }

    /// Sends one request and waits for the head of its answer. The
    /// `User-Agent`, `Accept` and `Accept-Encoding` defaults go with it
    /// unless `headers` chose their own.
    pub(super) async fn send(
        &self,
        method: http::Method,
        url: &Url,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response, HttpError> {
        let (connection, lender) = self.connections.checkout(url).await?;
        let (mut sender, reused) = match connection {
            // Boxed, as every rare path here: what a future holds across
            // an await is copied each time the future moves, and the
            // engine's request futures move several times per request.
            Connection::Http2(sender) => {
                let request = request(method, url, headers, body, Form::Absolute)?;
                return Box::pin(send_http2(sender, request)).await;
            }
            Connection::Http1 { sender, reused } => (sender, reused),
        };
        let request = request(method, url, headers, body, Form::Origin(lender.host()))?;
        match sender.try_send_request(request).await {
            Ok(head) => Ok(Response {
                head,
                lease: Some(lender.lease(sender)),
            }),
            Err(error) => Box::pin(self.resend(url, error, reused)).await,
        }
    }

    /// A request never written to a reused connection found it closed by
    /// the server meanwhile: it goes out on a new one, whatever its method,
    /// since the server never saw it. Any other failure is the answer.
    async fn resend(
        &self,
        url: &Url,
        mut error: hyper::client::conn::TrySendError<http::Request<Full<Bytes>>>,
        reused: bool,
    ) -> Result<Response, HttpError> {
        let unsent = error.take_message().filter(|_| reused);
        let Some(request) = unsent else {
            return Err(HttpError::Send(error.into_error()));
        };
        let (connection, lender) = self.connections.connect(url).await?;
        let Connection::Http1 { mut sender, .. } = connection else {
            return Err(HttpError::Send(error.into_error()));
        };
        let head = sender
            .send_request(request)
            .await
            .map_err(HttpError::Send)?;
        Ok(Response {
            head,
            lease: Some(lender.lease(sender)),
        })
    }
}

async fn send_http2(
    mut sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Result<Response, HttpError> {
    let head = sender
        .send_request(request)
        .await
        .map_err(HttpError::Send)?;
    Ok(Response { head, lease: None })
}

/// How a request names its target.
enum Form<'a> {
    /// `/path?query`, with the origin in this `Host` (HTTP/1.1).
    Origin(&'a HeaderValue),
    /// The whole URL (HTTP/2, which sends the origin as `:authority`).
    Absolute,
}

/// The request as it goes out. The `User-Agent`, `Accept` and
/// `Accept-Encoding` defaults go with it unless `headers` chose their own;
/// on HTTP/1.1 so does `Host`.
fn request(
    method: http::Method,
    url: &Url,
    mut headers: HeaderMap,
    body: Option<Bytes>,
    form: Form<'_>,
) -> Result<http::Request<Full<Bytes>>, HttpError> {
    let invalid = |e: &dyn std::fmt::Display| HttpError::Request(format!("{url}: {e}"));
    headers
        .entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(USER_AGENT_VALUE));
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    headers
        .entry(ACCEPT_ENCODING)
        .or_insert(HeaderValue::from_static(ACCEPTED_ENCODINGS));
    let target = match form {
        Form::Absolute => &url[..Position::AfterQuery],
        Form::Origin(host) => {
            if !headers.contains_key(HOST) {
                headers.insert(HOST, host.clone());
            }
            &url[Position::BeforePath..Position::AfterQuery]
        }
    };
    let mut request = http::Request::new(Full::new(body.unwrap_or_default()));
    *request.method_mut() = method;
    *request.uri_mut() = target.parse().map_err(|e| invalid(&e))?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Reads at most `cap` bytes of the answer's body, decoded when it came
/// compressed; the rest is never read, so a never-ending body or a
/// decompression bomb costs at most `cap` bytes of memory.
pub(super) async fn read_capped(response: Response, cap: usize) -> Result<Answer, HttpError> {
    let Response { head, lease } = response;
    let (mut head, body) = head.into_parts();
    let encoding = match head.headers.get(CONTENT_ENCODING).map(|v| v.as_bytes()) {
        Some(b"gzip") => Some(Encoding::Gzip),
        Some(b"deflate") => Some(Encoding::Deflate),
        Some(b"br") => Some(Encoding::Brotli),
        _ => None,
    };
    let (body, truncated) = match encoding {
        None => read_plain(body, cap).await?,
        Some(encoding) => {
            head.headers.remove(CONTENT_ENCODING);
            head.headers.remove(CONTENT_LENGTH);
            // Boxed: the decoders make a large future, and a rare one.
            Box::pin(read_decoded(body, encoding, cap)).await?
        }
    };
    if !truncated {
        if let Some(lease) = lease {
            lease.give_back();
        }
    }
    Ok(Answer {
        head,
        body,
        truncated,
    })
}

#[derive(Clone, Copy)]
enum Encoding {
    Gzip,
    Deflate,
    Brotli,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
        }
    }
}

async fn read_plain(mut body: Incoming, cap: usize) -> Result<(Bytes, bool), HttpError> {
    let mut kept = Capped::new(cap);
    while let Some(frame) = body.frame().await {
        // Trailers carry no body.
        if let Ok(chunk) = frame?.into_data() {
            if kept.push(chunk) {
                return Ok(kept.finish(true));
            }
        }
    }
    Ok(kept.finish(false))
}

async fn read_decoded(
    body: Incoming,
    encoding: Encoding,
    cap: usize,
) -> Result<(Bytes, bool), HttpError> {
    let mut raw = StreamReader::new(body.into_data_stream().map_err(io::Error::other));
    // An empty body (an answer to HEAD, a 204) has nothing to decode, even
    // when its headers name an encoding.
    if raw
        .fill_buf()
        .await
        .map_err(|e| unwrapped(e, encoding))?
        .is_empty()
    {
        return Ok((Bytes::new(), false));
    }
    let mut decoder: std::pin::Pin<Box<dyn AsyncRead + Send>> = match encoding {
        Encoding::Gzip => Box::pin(GzipDecoder::new(raw)),
        Encoding::Deflate => Box::pin(ZlibDecoder::new(raw)),
        Encoding::Brotli => Box::pin(BrotliDecoder::new(raw)),
    };
    let mut kept = Capped::new(cap);
    let mut chunk = vec![0u8; DECODE_CHUNK];
    loop {
        let read = decoder
            .read(&mut chunk)
            .await
            .map_err(|e| unwrapped(e, encoding))?;
        if read == 0 {
            return Ok(kept.finish(false));
        }
        if kept.push(Bytes::copy_from_slice(&chunk[..read])) {
            return Ok(kept.finish(true));
        }
    }
}

/// The transport error under a decoder's I/O error, when there is one (so
/// that a reset is classified as a reset), else a decoding error.
fn unwrapped(error: io::Error, encoding: Encoding) -> HttpError {
    match error.downcast::<hyper::Error>() {
        Ok(transport) => HttpError::Body(transport),
        Err(error) => HttpError::Decode {
            encoding: encoding.name(),
            source: error,
        },
    }
}

/// A body kept up to a cap. Most answers come in one chunk; it is copied
/// once it is whole all the same, because a chunk hyper hands out shares
/// the connection's read buffer, and a baseline kept for the whole scan
/// would keep that buffer (many times the body's size) alive with it.
struct Capped {
    cap: usize,
    first: Bytes,
    rest: BytesMut,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Capped {
            cap,
            first: Bytes::new(),
            rest: BytesMut::new(),
        }
    }

    fn len(&self) -> usize {
        self.first.len() + self.rest.len()
    }

    /// Keeps what fits of `chunk`; true once the cap is passed (the rest
    /// of the body is not wanted).
    fn push(&mut self, mut chunk: Bytes) -> bool {
        let room = self.cap - self.len();
        let over = chunk.len() > room;
        chunk.truncate(room);
        if self.first.is_empty() && self.rest.is_empty() {
            self.first = chunk;
        } else {
            if self.rest.is_empty() {
                self.rest.extend_from_slice(&self.first);
                self.first = Bytes::new();
            }
            self.rest.extend_from_slice(&chunk);
        }
        over
    }

    fn finish(self, truncated: bool) -> (Bytes, bool) {
        let body = if self.rest.is_empty() {
            Bytes::copy_from_slice(&self.first)
        } else {
            self.rest.freeze()
        };
        (body, truncated)
    }
}

/// rustls with the ring provider, TLS 1.2 and 1.3, the Mozilla roots —
/// or, with `accept_invalid_certs` (`--insecure`), any certificate at all:
/// a scanner must be able to look at servers with broken certificates
/// (they are what the transport checks report).
fn tls_config(accept_invalid_certs: bool) -> Result<rustls::ClientConfig, HttpError> {
    // ring, as the engine has always used (aws-lc-rs needs a C toolchain and
    // cmake to build); rustls 0.23.48 deprecates it for lacking the
    // post-quantum key exchange, which a scanner's handshakes do not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Request(format!("TLS configuration: {e}")))?;
    let config = if accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(config)
}

/// The verifier of `--insecure`: every certificate and handshake
/// signature passes, and every signature scheme is offered (legacy SHA-1
/// ones included), so that an old server still answers.
#[derive(Debug)]
struct AnyCertificate;

type Checked = Result<HandshakeSignatureValid, rustls::Error>;

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, _: &[u8], _: &CertificateDer<'_>, _: &Signed) -> Checked {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(&self, _: &[u8], _: &CertificateDer<'_>, _: &Signed) -> Checked {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        use rustls::SignatureScheme as S;
        vec![
            S::RSA_PKCS1_SHA1,
            S::ECDSA_SHA1_Legacy,
            S::RSA_PKCS1_SHA256,
            S::ECDSA_NISTP256_SHA256,
            S::RSA_PKCS1_SHA384,
            S::ECDSA_NISTP384_SHA384,
            S::RSA_PKCS1_SHA512,
            S::ECDSA_NISTP521_SHA512,
            S::RSA_PSS_SHA256,
            S::RSA_PSS_SHA384,
            S::RSA_PSS_SHA512,
            S::ED25519,
            S::ED448,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncWriteExt;

    /// A keep-alive server answering every request with `body`; it counts
    /// the connections it accepted.
    async fn keep_alive_server(body: &'static str) -> (Url, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut socket = tokio::io::BufReader::new(socket);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match socket.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => {
                                let answer = format!(
                                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                                    body.len()
                                );
                                if socket.get_mut().write_all(answer.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    async fn get(client: &Client, url: &Url, cap: usize) -> Answer {
        let response = client
            .send(http::Method::GET, url, HeaderMap::new(), None)
            .await
            .unwrap();
        read_capped(response, cap).await.unwrap()
    }

    #[tokio::test]
    async fn a_connection_goes_back_once_its_answer_is_read_whole_and_never_when_cut() {
        let (url, accepted) = keep_alive_server("0123456789").await;
        let client = Client::new(Duration::from_secs(5), 4, false).unwrap();
        for _ in 0..3 {
            let answer = get(&client, &url, 1024).await;
            assert_eq!(
                (&answer.body[..], answer.truncated),
                (&b"0123456789"[..], false)
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        // Cut at the cap: the rest of the body is still on the connection,
        // which no later request may read as its own answer.
        assert!(get(&client, &url, 4).await.truncated);
        let answer = get(&client, &url, 1024).await;
        assert_eq!(&answer.body[..], b"0123456789");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_capped_body_holds_no_share_of_the_readers_buffer_and_cuts_at_the_cap() {
        let mut one = Capped::new(10);
        let buffer = Bytes::from(vec![b'x'; 64 * 1024]);
        let chunk = buffer.slice(..5);
        assert!(!one.push(chunk.clone()));
        let (body, truncated) = one.finish(false);
        assert_eq!((&body[..], truncated), (&chunk[..], false));
        assert_ne!(body.as_ptr(), chunk.as_ptr());

        let mut many = Capped::new(8);
        assert!(!many.push(Bytes::from_static(b"abc")));
        assert!(!many.push(Bytes::from_static(b"def")));
        assert!(many.push(Bytes::from_static(b"ghi")));
        assert_eq!(&many.finish(true).0[..], b"abcdefgh");
    }
}
