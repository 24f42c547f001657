//! Server settings.

use core::time::Duration;

use ssewire_stream::KeepAlive;

/// Server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Keep-alive for SSE responses that do not set their own (default: 15 s, no `retry`).
    pub keep_alive: KeepAlive,
    /// How long a client may take to send a request head (HTTP/1.1), counted from the
    /// connection's accept for the first request (not restarted when the lean path hands the
    /// request to hyper) and from the end of the response before for the next ones. At the
    /// deadline the connection is closed. Default 30 s.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and header fields, in bytes) on HTTP/1.1, the same
    /// on the lean path and hyper's; a larger one gets `431` and the connection is closed.
    /// Default 16 KiB.
    pub max_head_size: usize,
    /// Most header fields in an HTTP/1.1 request head, the same on both paths; more get `431`.
    /// Default 100 (hyper's).
    pub max_headers: usize,
    /// How long a client may take to send a whole request body (read for a handler, see
    /// [`max_request_body`](Config::max_request_body)); a client still sending at the deadline
    /// gets `408` and the connection is closed. Default 30 s.
    pub request_body_timeout: Duration,
    /// Largest request body read for a handler ([`Request::body`](crate::Request::body)); larger ones get `413`.
    /// Default 64 KiB.
    pub max_request_body: usize,
    /// How long a TLS client may take to finish its handshake (HTTPS servers only: the
    /// handshake runs in the connection's task, and a client that stalls it is closed after
    /// this). Default 10 s.
    pub tls_handshake_timeout: Duration,
    /// Whether idle [`Hub`](ssewire_stream::Hub) subscriptions on HTTP/1.1 are written by the
    /// server's fan-out lanes (one task per core) rather than by each connection's own task.
    /// Default `true`: with 5 000 streams the lanes cost 11–17% less CPU per event (see the
    /// crate docs). `false` is there to measure that.
    pub fan_out_lanes: bool,
    /// How long a connection's socket may take no byte while the server has bytes for it
    /// before the connection is closed (its streams' producers and hub subscriptions dropped),
    /// on every path: lean HTTP/1.1 (and its fan-out lanes), hyper's HTTP/1.1 and HTTP/2.
    /// Default 60 s (nginx's `send_timeout`).
    pub send_timeout: Duration,
    /// Most connections open at once; past it a new connection gets `503` with `Retry-After`
    /// and is closed (or, while many are being turned away, is closed at accept). On TLS
    /// ([`serve_tls`](crate::serve_tls)) it is closed at accept, before any handshake. Default
    /// 10 000.
    pub max_connections: usize,
    /// Most connections open at once from one client address, the same way. Default
    /// `usize::MAX` (no cap: behind a proxy every client has one address); set it for a server
    /// that faces clients directly.
    pub max_connections_per_ip: usize,
    /// Most streams an HTTP/2 client may have open on one connection (its `SETTINGS`); a
    /// stream past it is refused. Default 100.
    pub http2_max_concurrent_streams: u32,
    /// How often an HTTP/2 connection is sent a `PING`; one not answered within
    /// [`http2_keep_alive_timeout`](Config::http2_keep_alive_timeout) closes it. Default 20 s.
    pub http2_keep_alive_interval: Duration,
    /// How long an HTTP/2 client has to answer a `PING`. Default 20 s.
    pub http2_keep_alive_timeout: Duration,
    /// How long an HTTP/2 connection may have no open stream before it is closed (a client that
    /// sent the preface and nothing since is closed after this). Default 60 s.
    pub http2_idle_timeout: Duration,
    /// Largest header list an HTTP/2 client may send (its `SETTINGS_MAX_HEADER_LIST_SIZE`, each
    /// field counted as name + value + 32 bytes). Default 16 KiB.
    pub http2_max_header_list_size: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keep_alive: KeepAlive::default(),
            header_read_timeout: Duration::from_secs(30),
            max_head_size: 16 * 1024,
            max_headers: 100,
            request_body_timeout: Duration::from_secs(30),
            max_request_body: 64 * 1024,
            tls_handshake_timeout: Duration::from_secs(10),
            fan_out_lanes: true,
            send_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_connections_per_ip: usize::MAX,
            http2_max_concurrent_streams: 100,
            http2_keep_alive_interval: Duration::from_secs(20),
            http2_keep_alive_timeout: Duration::from_secs(20),
            http2_idle_timeout: Duration::from_secs(60),
            http2_max_header_list_size: 16 * 1024,
        }
    }
}
