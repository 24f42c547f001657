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
    /// Hub subscriptions the hub ended while their stream was open, for its
    /// [`SlowPolicy::Disconnect`](ssewire_stream::SlowPolicy::Disconnect): on the lean HTTP/1.1
    /// path when the hub ends it while its socket is full; on hyper's paths (HTTP/2, HTTP/1.1
    /// requests with a body), whenever the hub ends it (which also counts a
    /// [`Subscription::end`](ssewire_stream::Subscription::end) there).
    pub closed_slow_subscriber: u64,
    /// HTTP/2 event streams whose client granted no flow-control window for
    /// [`send_timeout`](crate::Config::send_timeout) while the server had an event for them:
    /// their producer (or hub subscription) is dropped, the rest of the connection goes on.
    pub closed_http2_stream_stalled: u64,
    /// TLS connections closed at [`tls_handshake_timeout`](crate::Config::tls_handshake_timeout)
    /// with their handshake unfinished.
    pub closed_tls_handshake_timeout: u64,
    /// Event streams open now (every path, hub subscriptions included).
    pub event_streams: usize,
    /// Event streams open now that are fed by a [`Hub`](ssewire_stream::Hub) subscription.
    pub hub_subscribers: usize,
    /// Event streams served since the server started (opened, ended or not).
    pub event_streams_served: u64,
    /// Bytes of HTTP written to connections since the server started, on every path (the lean
    /// path, the fan-out lanes, hyper's HTTP/1.1 and HTTP/2), counted before TLS; not the `503`s
    /// of the connection caps.
    pub bytes_written: u64,
}

/// Why the server closed a connection (or refused a request) for one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    SendTimeout,
    HeaderTimeout,
    BodyTimeout,
    Http2Idle,
    OverCap,
    SlowSubscriber,
    Http2StreamStalled,
    TlsHandshakeTimeout,
}

impl Limit {
    fn as_str(self) -> &'static str {
        match self {
            Limit::SendTimeout => "send timeout",
            Limit::HeaderTimeout => "header read timeout",
            Limit::BodyTimeout => "request body timeout",
            Limit::Http2Idle => "http2 idle timeout",
            Limit::OverCap => "over the connection cap",
            Limit::SlowSubscriber => "slow hub subscriber ended by the hub",
            Limit::Http2StreamStalled => "http2 stream granted no window for the send timeout",
            Limit::TlsHandshakeTimeout => "tls handshake timeout",
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
    slow_subscriber: AtomicU64,
    http2_stream_stalled: AtomicU64,
    tls_handshake_timeout: AtomicU64,
    pub(crate) event_streams: AtomicUsize,
    pub(crate) hub_subscribers: AtomicUsize,
    event_streams_served: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
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
            Limit::SlowSubscriber => &self.slow_subscriber,
            Limit::Http2StreamStalled => &self.http2_stream_stalled,
            Limit::TlsHandshakeTimeout => &self.tls_handshake_timeout,
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
            closed_slow_subscriber: self.slow_subscriber.load(Ordering::Relaxed),
            closed_http2_stream_stalled: self.http2_stream_stalled.load(Ordering::Relaxed),
            closed_tls_handshake_timeout: self.tls_handshake_timeout.load(Ordering::Relaxed),
            event_streams: self.event_streams.load(Ordering::Relaxed),
            hub_subscribers: self.hub_subscribers.load(Ordering::Relaxed),
            event_streams_served: self.event_streams_served.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }

    /// Counts bytes written to a connection (one relaxed add per write).
    pub(crate) fn wrote(&self, bytes: usize) {
        self.bytes_written
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// An event stream, counted as open (and as a hub subscriber, if it is one) until dropped. The
/// server's state it holds is the stream's way to see the server end.
pub(crate) struct OpenStream {
    shutdown: alloc::sync::Arc<crate::server::Shutdown>,
    hub: bool,
}

impl OpenStream {
    pub(crate) fn new(shutdown: &alloc::sync::Arc<crate::server::Shutdown>, hub: bool) -> Self {
        let stats = &shutdown.stats;
        stats.event_streams.fetch_add(1, Ordering::Relaxed);
        stats.event_streams_served.fetch_add(1, Ordering::Relaxed);
        if hub {
            stats.hub_subscribers.fetch_add(1, Ordering::Relaxed);
        }
        OpenStream {
            shutdown: shutdown.clone(),
            hub,
        }
    }
}

impl core::ops::Deref for OpenStream {
    type Target = crate::server::Shutdown;

    fn deref(&self) -> &crate::server::Shutdown {
        &self.shutdown
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let stats = &self.shutdown.stats;
        stats.event_streams.fetch_sub(1, Ordering::Relaxed);
        if self.hub {
            stats.hub_subscribers.fetch_sub(1, Ordering::Relaxed);
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

#[cfg(all(test, feature = "log"))]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Keeps what is logged.
    struct Kept(Mutex<Vec<String>>);

    impl log::Log for Kept {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = format!("{} {}", record.target(), record.args());
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
        fn flush(&self) {}
    }

    static KEPT: Kept = Kept(Mutex::new(Vec::new()));

    /// Each close for a limit is counted and logged with the peer address and the reason.
    #[test]
    fn every_limit_counted_and_logged() {
        log::set_logger(&KEPT).expect("the only logger");
        log::set_max_level(log::LevelFilter::Info);
        let counters = Counters::default();
        let peer: SocketAddr = "192.0.2.7:4242".parse().expect("an address");
        let limits = [
            Limit::SendTimeout,
            Limit::HeaderTimeout,
            Limit::BodyTimeout,
            Limit::Http2Idle,
            Limit::OverCap,
            Limit::SlowSubscriber,
            Limit::Http2StreamStalled,
            Limit::TlsHandshakeTimeout,
        ];
        for limit in limits {
            counters.closed(limit, peer);
        }
        let kept = KEPT.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(kept.len(), limits.len(), "{kept:?}");
        for (line, limit) in kept.iter().zip(limits) {
            assert_eq!(
                *line,
                format!("ssewire_server closed 192.0.2.7:4242: {}", limit.as_str())
            );
        }
        let stats = counters.snapshot();
        let counted = [
            stats.closed_send_timeout,
            stats.closed_header_timeout,
            stats.closed_body_timeout,
            stats.closed_http2_idle,
            stats.refused_over_cap,
            stats.closed_slow_subscriber,
            stats.closed_http2_stream_stalled,
            stats.closed_tls_handshake_timeout,
        ];
        assert_eq!(counted, [1; 8]);
    }
}
