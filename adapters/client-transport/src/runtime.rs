//! What the client needs from a runtime: a TCP dialer and a timer.

use core::future::Future;
use core::time::Duration;
use std::io;

/// What a runtime shell supplies to the client: how to open a TCP connection and how to sleep.
///
/// Nothing is spawned: an [`EventSource`](crate::EventSource) drives its HTTP connection inside
/// its own `poll_next`, so dropping it (or [`close`](crate::EventSource::close)) ends the
/// connection, the timers and the request at once.
///
/// # Examples
///
/// A runtime of a test's own, on `std` sockets would not do (they block); the shells implement
/// it for smol (`ssewire_smol::Smol`) and async-std (`ssewire_async_std::AsyncStd`):
///
/// ```text
/// impl ssewire_client_transport::Runtime for Smol {
///     type Stream = smol::net::TcpStream;
///     type Timer = Sleep;
///     async fn connect(&self, host: &str, port: u16) -> io::Result<TcpStream> { … }
///     fn timer(duration: Duration) -> Sleep { Sleep(smol::Timer::after(duration)) }
/// }
/// ```
pub trait Runtime: Send + Sync + 'static {
    /// A connected TCP stream.
    type Stream: futures_io::AsyncRead + futures_io::AsyncWrite + Send + Unpin + 'static;
    /// The runtime's sleep future.
    type Timer: Future<Output = ()> + Send + 'static;

    /// Opens a TCP connection to `host` (a name or an IP address, IPv6 without brackets) and
    /// `port`.
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// A future that completes after `duration`.
    fn timer(duration: Duration) -> Self::Timer;
}
