//! Server-Sent Events on [async-std]: serve a send-callback producer over HTTP/1.1 and HTTP/2
//! cleartext (`ssewire-server`: a lean HTTP/1.1 path for event streams, hyper 1 for the rest) on
//! `async_std::net`, with `async_std::task::spawn` and `async_std::task::sleep`.
//!
//! The same API as `ssewire-smol`, so moving between them is a rename. **async-std is
//! discontinued upstream** (its README points to smol; RUSTSEC-2025-0052): prefer
//! `ssewire-smol` for new code. Migrating is two lines:
//!
//! ```text
//! - ssewire-async-std = "0.1"        + ssewire-smol = "0.1"
//! - use ssewire_async_std::serve;    + use ssewire_smol::serve;
//! ```
//!
//! ```no_run
//! use ssewire_async_std::{Request, Response, serve};
//!
//! fn main() -> std::io::Result<()> {
//!     async_std::task::block_on(async {
//!         let server = serve("127.0.0.1:3000".parse().unwrap(), |request: Request| async move {
//!             match request.path() {
//!                 "/events" => Response::sse(|send| async move {
//!                     send.send("hello").await?;
//!                     send.send(serde_json::json!({"id": 1, "status": "ok"})).await?;
//!                     send.send(serde_json::json!({"event": "done", "data": ""})).await
//!                 }),
//!                 _ => Response::not_found(),
//!             }
//!         })
//!         .await?;
//!         println!("listening on http://{}", server.local_addr());
//!         server.stopped().await;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! [async-std]: https://docs.rs/async-std

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use async_std::net::{TcpListener, TcpStream};

pub use ssewire::{Event, Json};
pub use ssewire_server::{
    Config, HeaderValue, Method, Request, Response, StatusCode, TlsConfig, header,
};
pub use ssewire_stream::{Hub, HubConfig, KeepAlive, SendError, Sender, SlowPolicy};
/// The layers below, for what this crate does not re-export by name.
pub use {ssewire, ssewire_server, ssewire_stream};

/// The client: a reconnecting `EventSource` on this runtime ([`EventSource`], [`ClientEvent`]);
/// its settings and reasons (`client::Config`, `client::StopReason`, …) are in this module.
pub use ssewire_client_transport as client;
pub use ssewire_client_transport::ClientEvent;

/// A reconnecting Server-Sent Events client on this runtime, a `Stream` of [`ClientEvent`]s:
/// `EventSource::get(url)`, `EventSource::post(url, body)`, `http://` or `https://` (HTTP/2
/// when the server picks `h2` by ALPN; the roots of the `webpki-roots` and `native-certs`
/// features, or `with_root_certificates`); see [`ssewire_client_transport::EventSource`].
///
/// # Examples
///
/// ```no_run
/// use ssewire_async_std::{ClientEvent, EventSource};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// # use async_std::stream::StreamExt;
/// let mut events = EventSource::get("http://127.0.0.1:3000/events")?
///     .with_terminal(|event| event.data() == "[DONE]");
/// while let Some(event) = events.next().await {
///     if let ClientEvent::Event(event) = event {
///         println!("{}", event.data());
///     }
/// }
/// # Ok(()) }
/// ```
pub type EventSource = ssewire_client_transport::EventSource<AsyncStd>;

/// A running server; see [`ssewire_server::Server`].
pub type Server = ssewire_server::Server<AsyncStd>;

/// The async-std runtime for [`ssewire_server`]: `async_std::net` sockets,
/// `async_std::task::spawn`, `async_std::task::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

impl ssewire_server::Runtime for AsyncStd {
    type Listener = TcpListener;
    type Conn = TcpStream;
    type Sleep = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<TcpListener>> + Send {
        TcpListener::bind(addr)
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = listener.accept().await?;
        // Events are small and must leave at once.
        stream.set_nodelay(true)?;
        Ok((stream, addr))
    }

    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        // Dropping the handle detaches the task.
        drop(async_std::task::spawn(future));
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        Box::pin(async_std::task::sleep(duration))
    }

    /// Both handles share one async-io source (a reference count): the server's fan-out lanes
    /// write hub events through the second one.
    fn try_clone(conn: &TcpStream) -> Option<TcpStream> {
        Some(conn.clone())
    }
}

/// The client's runtime: `async_std::net::TcpStream` (no Nagle: events are small), the runtime's timer.
impl ssewire_client_transport::Runtime for AsyncStd {
    type Stream = async_std::net::TcpStream;
    type Timer = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

    async fn connect(&self, host: &str, port: u16) -> io::Result<async_std::net::TcpStream> {
        let stream = async_std::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn timer(duration: Duration) -> Self::Timer {
        Box::pin(async_std::task::sleep(duration))
    }
}

/// Binds `addr` and serves `handler` with the default [`Config`].
///
/// # Errors
///
/// Binding failed; the message names the address.
pub async fn serve<H, F>(addr: SocketAddr, handler: H) -> io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    ssewire_server::serve(AsyncStd, addr, Config::default(), handler).await
}

/// Like [`serve`], with a [`Config`].
///
/// # Errors
///
/// Binding failed; the message names the address.
pub async fn serve_with<H, F>(addr: SocketAddr, config: Config, handler: H) -> io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    ssewire_server::serve(AsyncStd, addr, config, handler).await
}

/// Binds `addr` and serves `handler` over HTTPS with the default [`Config`]: HTTP/2 or HTTP/1.1
/// as the client's ALPN decides (a browser gets HTTP/2, and with it more than six event streams
/// to one origin), the certificate from `tls` (reloadable, see [`TlsConfig`]).
///
/// # Errors
///
/// Binding failed; the message names the address.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use ssewire_async_std::{Response, TlsConfig, serve_tls};
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let server = serve_tls("127.0.0.1:3443".parse().unwrap(), tls, |_request| async {
///     Response::not_found()
/// })
/// .await?;
/// println!("listening on https://{}", server.local_addr());
/// # Ok(()) }
/// ```
pub async fn serve_tls<H, F>(addr: SocketAddr, tls: TlsConfig, handler: H) -> io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    ssewire_server::serve_tls(AsyncStd, addr, Config::default(), tls, handler).await
}

/// Like [`serve_tls`], with a [`Config`] (its `tls_handshake_timeout` bounds each handshake).
///
/// # Errors
///
/// Binding failed; the message names the address.
pub async fn serve_tls_with<H, F>(
    addr: SocketAddr,
    config: Config,
    tls: TlsConfig,
    handler: H,
) -> io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    ssewire_server::serve_tls(AsyncStd, addr, config, tls, handler).await
}
