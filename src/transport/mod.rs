//! Transport security: what a TLS handshake reveals about a server, probed
//! with hand-built ClientHellos (rustls would refuse to offer the weak
//! protocol versions and suites a server must be tested for).

pub mod tls_probe;
