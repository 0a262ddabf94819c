//! Connections a server drops under a request instead of answering it.

use super::client::HttpError;

/// Whether the server closed or reset the connection under a request
/// instead of answering it.
pub(super) fn connection_dropped(error: &HttpError) -> bool {
    error.chain().any(|e| {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            return hyper.is_incomplete_message();
        }
        e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use crate::engine::{Engine, EngineConfig, Probe};

    /// A server that closes its first `drops` connections as soon as a
    /// request arrives, and answers `200 fine` on the others.
    async fn dropping_server(drops: usize) -> (url::Url, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let number = seen.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = socket.read(&mut buffer).await;
                    if number >= drops {
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nfine")
                            .await;
                    }
                });
            }
        });
        (url, connections)
    }

    fn engine(url: url::Url) -> Engine {
        let mut config = EngineConfig::new(url);
        config.rate_per_second = None;
        Engine::new(config).unwrap()
    }

    #[tokio::test]
    async fn a_safe_request_whose_connection_was_dropped_goes_out_once_more() {
        let (url, connections) = dropping_server(1).await;
        let engine = engine(url.clone());
        let exchange = engine.send(Probe::get(url)).await.unwrap();
        assert_eq!(exchange.response.status, 200);
        assert_eq!(connections.load(Ordering::SeqCst), 2);
        // One request, answered: no failure, no slow-down, one unit of budget.
        let stats = engine.stats();
        assert_eq!((stats.requests_sent, stats.transport_failures), (1, 0));
        assert_eq!(engine.pacing_report(Duration::from_secs(1)).slowdowns, 0);
    }

    #[tokio::test]
    async fn a_second_drop_is_the_answer() {
        let (url, connections) = dropping_server(usize::MAX).await;
        let engine = engine(url.clone());
        assert!(engine.send(Probe::get(url)).await.is_err());
        assert_eq!(connections.load(Ordering::SeqCst), 2);
        // Two drops of one request are one failure to the pacer.
        assert_eq!(engine.stats().transport_failures, 1);
        assert_eq!(engine.pacing_report(Duration::from_secs(1)).slowdowns, 1);
    }

    #[tokio::test]
    async fn an_unsafe_request_is_never_sent_twice() {
        let (url, connections) = dropping_server(1).await;
        let mut probe = Probe::get(url.clone());
        probe.method = "POST".into();
        probe.body = Some(bytes::Bytes::from_static(b"{}"));
        assert!(engine(url).send(probe).await.is_err());
        assert_eq!(connections.load(Ordering::SeqCst), 1);
    }
}
