//! Rampart's own callback listener for SSRF proofs: a tiny HTTP server on
//! 127.0.0.1 (an ephemeral port) that records every request it receives and
//! answers each with a short marker. A target that fetches a URL Rampart gave
//! it shows up here with the URL's unique token in its path; nothing else
//! is ever sent by the listener.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Largest request head the listener reads.
const MAX_HEAD: usize = 8 * 1024;
/// Callbacks remembered per scan; a flood beyond this is ignored.
const MAX_CALLBACKS: usize = 1024;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A request the target sent to the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    pub user_agent: Option<String>,
    /// Where the connection came from.
    pub peer: String,
}

#[derive(Default)]
struct Inbox {
    seen: Mutex<Vec<Callback>>,
    arrived: Notify,
}

/// The running listener; stops when dropped.
pub struct Listener {
    port: u16,
    inbox: Arc<Inbox>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("port", &self.port)
            .finish()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Binds 127.0.0.1:0 and starts accepting.
    pub async fn start() -> std::io::Result<Listener> {
        let socket = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = socket.local_addr()?.port();
        let inbox = Arc::new(Inbox::default());
        let shared = Arc::clone(&inbox);
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = socket.accept().await {
                let inbox = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(READ_TIMEOUT, serve(stream, peer, &inbox)).await;
                });
            }
        });
        Ok(Listener { port, inbox, task })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL that proves a fetch when `token` comes back.
    pub fn url_for(&self, token: &str) -> String {
        format!("http://127.0.0.1:{}/{token}", self.port)
    }

    /// The marker every answer of the listener carries for `token`, so a
    /// response that contains it shows the fetched body was returned.
    pub fn body_marker(token: &str) -> String {
        format!("rampart-callback-{token}")
    }

    /// The first callback whose path holds `token`, waiting up to `wait`.
    pub async fn wait_for(&self, token: &str, wait: Duration) -> Option<Callback> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so an arrival in between still wakes us.
            let arrived = self.inbox.arrived.notified();
            if let Some(found) = self.seen(token) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.seen(token);
            }
        }
    }

    fn seen(&self, token: &str) -> Option<Callback> {
        self.inbox
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .find(|c| c.path.contains(token))
            .cloned()
    }
}

/// Reads one request head, records it and answers with the marker.
async fn serve(mut stream: tokio::net::TcpStream, peer: std::net::SocketAddr, inbox: &Inbox) {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let Some(callback) = parse_head(&head, &peer.to_string()) else {
        return;
    };
    let token = callback
        .path
        .trim_start_matches('/')
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    {
        let mut seen = inbox
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() < MAX_CALLBACKS {
            seen.push(callback);
        }
    }
    inbox.arrived.notify_waiters();
    let body = Listener::body_marker(&token);
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The request line and `User-Agent` of a request head.
fn parse_head(head: &[u8], peer: &str) -> Option<Callback> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    if method.is_empty() || !path.starts_with('/') {
        return None;
    }
    let user_agent = lines
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("user-agent"))
        .map(|(_, value)| value.trim().chars().take(200).collect());
    Some(Callback {
        method,
        path: path.chars().take(512).collect(),
        user_agent,
        peer: peer.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_are_parsed_and_garbage_is_not() {
        let head = b"GET /tok123?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: python-requests/2.32\r\n\r\n";
        let callback = parse_head(head, "127.0.0.1:5000").expect("a request");
        assert_eq!(callback.method, "GET");
        assert_eq!(callback.path, "/tok123?x=1");
        assert_eq!(callback.user_agent.as_deref(), Some("python-requests/2.32"));
        assert!(parse_head(b"\x16\x03\x01 tls", "p").is_none());
        assert!(parse_head(b"", "p").is_none());
    }

    #[tokio::test]
    async fn a_fetch_of_the_url_is_seen_with_its_token_and_answered_with_the_marker() {
        let listener = Listener::start().await.expect("bind loopback");
        let url = listener.url_for("tok-abc");
        assert!(url.starts_with("http://127.0.0.1:"));
        assert!(listener
            .wait_for("tok-abc", Duration::from_millis(20))
            .await
            .is_none());
        let port = listener.port();
        let fetch = tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            stream
                .write_all(b"GET /tok-abc HTTP/1.1\r\nHost: x\r\nUser-Agent: ua/1\r\n\r\n")
                .await
                .expect("write");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.expect("read");
            answer
        });
        let seen = listener
            .wait_for("tok-abc", Duration::from_secs(5))
            .await
            .expect("the callback");
        assert_eq!(seen.user_agent.as_deref(), Some("ua/1"));
        let answer = fetch.await.expect("the fetch");
        assert!(
            answer.ends_with(&Listener::body_marker("tok-abc")),
            "{answer}"
        );
        assert!(listener
            .wait_for("tok-other", Duration::from_millis(20))
            .await
            .is_none());
    }
}
