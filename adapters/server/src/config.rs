//! Server settings.

use core::time::Duration;

use ssewire_stream::KeepAlive;

/// Server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Keep-alive for SSE responses that do not set their own (default: 15 s, no `retry`).
    pub keep_alive: KeepAlive,
    /// How long a client may take to send request headers (HTTP/1.1). Default 30 s.
    pub header_read_timeout: Duration,
    /// Largest request body read for a handler ([`Request::body`](crate::Request::body)); larger ones get `413`.
    /// Default 64 KiB.
    pub max_request_body: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keep_alive: KeepAlive::default(),
            header_read_timeout: Duration::from_secs(30),
            max_request_body: 64 * 1024,
        }
    }
}
