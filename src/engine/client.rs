//! The HTTP client under the engine: hyper's pooled keep-alive connections
//! (HTTP/1.1, and HTTP/2 where a TLS server offers it by ALPN) over rustls.
//! It follows no redirect (checks must see them, and following one could
//! leave scope), stores no cookie and goes through no proxy. Compressed
//! answers are decoded here, as they arrive, so that the engine's body cap
//! bounds the decoded size: a decompression bomb costs at most the cap.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder};
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use http::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, USER_AGENT,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::CertificateDer;
use rustls::DigitallySignedStruct as Signed;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;
use url::Url;

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
    /// Connecting, the TLS handshake, sending, or reading the answer's head.
    #[error(transparent)]
    Send(#[from] hyper_util::client::legacy::Error),
    /// Reading the answer's body.
    #[error(transparent)]
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
        matches!(self, HttpError::Send(e) if e.is_connect())
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

pub(super) type Response = http::Response<Incoming>;

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
    pool: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Client {
    pub(super) fn new(
        connect_timeout: Duration,
        idle_per_host: usize,
        accept_invalid_certs: bool,
    ) -> Result<Self, HttpError> {
        let mut http = HttpConnector::new();
        // https URLs go through it too, wrapped in TLS by the outer connector.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(accept_invalid_certs)?)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let pool = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_max_idle_per_host(idle_per_host)
            .build(https);
        Ok(Client { pool })
    }

    /// Sends one request and waits for the head of its answer. The
    /// `User-Agent`, `Accept` and `Accept-Encoding` defaults go with it
    /// unless `headers` chose their own.
    pub(super) async fn send(
        &self,
        method: http::Method,
        url: &Url,
        mut headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response, HttpError> {
        let uri: http::Uri = url
            .as_str()
            .parse()
            .map_err(|e| HttpError::Request(format!("{url}: {e}")))?;
        headers
            .entry(USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT_VALUE));
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        headers
            .entry(ACCEPT_ENCODING)
            .or_insert(HeaderValue::from_static(ACCEPTED_ENCODINGS));
        let mut request = http::Request::new(Full::new(body.unwrap_or_default()));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(self.pool.request(request).await?)
    }
}

/// Reads at most `cap` bytes of the answer's body, decoded when it came
/// compressed; the rest is never read, so a never-ending body or a
/// decompression bomb costs at most `cap` bytes of memory.
pub(super) async fn read_capped(response: Response, cap: usize) -> Result<Answer, HttpError> {
    let (mut head, body) = response.into_parts();
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
            read_decoded(body, encoding, cap).await?
        }
    };
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
