//! The server's counters, and the report of each close for a limit.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::net::SocketAddr;

/// A snapshot of a server's counters ([`Server::stats`](crate::Server::stats)).
///
/// # Examples
///
/// ```
/// let stats = ssewire_server::Stats::default();
/// assert_eq!(stats.http1_connections + stats.http2_connections, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections open now that speak HTTP/1.1 (those still sending their first bytes are in
    /// neither count).
    pub http1_connections: usize,
    /// Connections open now that speak HTTP/2.
    pub http2_connections: usize,
    /// Connections closed because their socket took no byte for
    /// [`send_timeout`](crate::Config::send_timeout).
    pub closed_send_timeout: u64,
    /// Connections closed at the header-read deadline with a request head begun or none sent.
    pub closed_header_timeout: u64,
    /// Requests answered `408` at [`request_body_timeout`](crate::Config::request_body_timeout).
    pub closed_body_timeout: u64,
    /// HTTP/2 connections closed after [`http2_idle_timeout`](crate::Config::http2_idle_timeout)
    /// with no open stream.
    pub closed_http2_idle: u64,
    /// Connections turned away past [`max_connections`](crate::Config::max_connections) or
    /// [`max_connections_per_ip`](crate::Config::max_connections_per_ip).
    pub refused_over_cap: u64,
}

/// Why the server closed a connection (or refused a request) for one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    SendTimeout,
    HeaderTimeout,
    BodyTimeout,
    Http2Idle,
    OverCap,
}

impl Limit {
    fn as_str(self) -> &'static str {
        match self {
            Limit::SendTimeout => "send timeout",
            Limit::HeaderTimeout => "header read timeout",
            Limit::BodyTimeout => "request body timeout",
            Limit::Http2Idle => "http2 idle timeout",
            Limit::OverCap => "over the connection cap",
        }
    }
}

/// The live counters behind [`Stats`], in the server's shared state.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) http1: AtomicUsize,
    pub(crate) http2: AtomicUsize,
    send_timeout: AtomicU64,
    header_timeout: AtomicU64,
    body_timeout: AtomicU64,
    http2_idle: AtomicU64,
    over_cap: AtomicU64,
}

impl Counters {
    /// Counts a close for `limit` and reports it through `log` (with the `log` feature).
    pub(crate) fn closed(&self, limit: Limit, peer: SocketAddr) {
        let counter = match limit {
            Limit::SendTimeout => &self.send_timeout,
            Limit::HeaderTimeout => &self.header_timeout,
            Limit::BodyTimeout => &self.body_timeout,
            Limit::Http2Idle => &self.http2_idle,
            Limit::OverCap => &self.over_cap,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "log")]
        log::info!(target: "ssewire_server", "closed {peer}: {}", limit.as_str());
        #[cfg(not(feature = "log"))]
        let _ = (peer, limit.as_str());
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            http1_connections: self.http1.load(Ordering::Relaxed),
            http2_connections: self.http2.load(Ordering::Relaxed),
            closed_send_timeout: self.send_timeout.load(Ordering::Relaxed),
            closed_header_timeout: self.header_timeout.load(Ordering::Relaxed),
            closed_body_timeout: self.body_timeout.load(Ordering::Relaxed),
            closed_http2_idle: self.http2_idle.load(Ordering::Relaxed),
            refused_over_cap: self.over_cap.load(Ordering::Relaxed),
        }
    }
}

/// Counts a connection in `counter` until dropped.
pub(crate) struct Open<'a>(pub(crate) &'a AtomicUsize);

impl<'a> Open<'a> {
    pub(crate) fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Open(counter)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
