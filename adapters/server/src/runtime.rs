//! What the server needs from a runtime: a listener, spawn and a timer.

use core::future::Future;
use core::time::Duration;
use std::io;
use std::net::SocketAddr;

/// What an adapter supplies: how to listen, accept, spawn and sleep on its runtime.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// A bound TCP listener.
    type Listener: Send + Sync + 'static;
    /// An accepted connection.
    type Conn: futures_io::AsyncRead + futures_io::AsyncWrite + Send + Unpin + 'static;
    /// The runtime's sleep future.
    type Sleep: Future<Output = ()> + Send + Sync + 'static;

    /// Binds a listener to `addr`.
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// The address a listener is bound to.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
    /// Accepts the next connection.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Conn, SocketAddr)>> + Send;
    /// Runs `future` to completion in the background.
    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static);
    /// A future that completes after `duration`.
    fn sleep(duration: Duration) -> Self::Sleep;
    /// A second handle to the same socket, if the runtime's sockets are shared handles (async-io's
    /// are). With one, a [`Hub`](ssewire_stream::Hub) subscription served over HTTP/1.1 is
    /// written by a fan-out task of the server while it is idle, instead of waking the
    /// connection's task for every event. Default: `None`.
    fn try_clone(conn: &Self::Conn) -> Option<Self::Conn> {
        let _ = conn;
        None
    }
}
