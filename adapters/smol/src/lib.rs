//! Server-Sent Events on [smol]: serve a send-callback producer over HTTP/1.1 and HTTP/2
//! cleartext (`ssewire-server`: a lean HTTP/1.1 path for event streams, hyper 1 for the rest) on
//! `smol::net`.
//!
//! The routing is yours: a closure from a [`Request`] view (method, path, query, headers, parsed
//! `Last-Event-ID`) to a [`Response`], either an SSE stream or an ordinary response.
//!
//! ```no_run
//! use ssewire_smol::{Request, Response, serve};
//!
//! fn main() -> std::io::Result<()> {
//!     smol::block_on(async {
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
//! Keep-alive comments go out every 15 s of idleness (see [`Config`]); a client that disconnects
//! drops the producer at its current `.await` at once, even while it is idle; [`Server::shutdown`]
//! ends open streams after a grace period.
//!
//! [smol]: https://docs.rs/smol

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use smol::Executor;
use smol::net::{TcpListener, TcpStream};

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
/// use ssewire_smol::{ClientEvent, EventSource};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// # use smol::stream::StreamExt;
/// let mut events = EventSource::get("http://127.0.0.1:3000/events")?
///     .with_terminal(|event| event.data() == "[DONE]");
/// while let Some(event) = events.next().await {
///     if let ClientEvent::Event(event) = event {
///         println!("{}", event.data());
///     }
/// }
/// # Ok(()) }
/// ```
pub type EventSource = ssewire_client_transport::EventSource<Smol>;

/// A running server; see [`ssewire_server::Server`].
pub type Server = ssewire_server::Server<Smol>;

/// The smol runtime for [`ssewire_server`]: `smol::net` sockets, tasks on an executor (smol's
/// global one unless given), `async-io` timers.
#[derive(Clone, Default)]
pub struct Smol {
    executor: Option<Arc<Executor<'static>>>,
}

impl std::fmt::Debug for Smol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smol")
            .field("own_executor", &self.executor.is_some())
            .finish()
    }
}

impl Smol {
    /// Spawns tasks on smol's global executor.
    pub fn global() -> Self {
        Smol { executor: None }
    }

    /// Spawns tasks on `executor` (which the caller must run).
    pub fn with_executor(executor: &Arc<Executor<'static>>) -> Self {
        Smol {
            executor: Some(executor.clone()),
        }
    }
}

/// `smol::Timer` as a `()` future.
#[derive(Debug)]
pub struct Sleep(smol::Timer);

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl ssewire_server::Runtime for Smol {
    type Listener = TcpListener;
    type Conn = TcpStream;
    type Sleep = Sleep;

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
        match &self.executor {
            Some(executor) => executor.spawn(future).detach(),
            None => smol::spawn(future).detach(),
        }
    }

    fn sleep(duration: Duration) -> Sleep {
        Sleep(smol::Timer::after(duration))
    }

    /// Both handles share one async-io source (a reference count): the server's fan-out lanes
    /// write hub events through the second one.
    fn try_clone(conn: &TcpStream) -> Option<TcpStream> {
        Some(conn.clone())
    }
}

/// The client's runtime: `smol::net::TcpStream` (no Nagle: events are small), the runtime's timer.
impl ssewire_client_transport::Runtime for Smol {
    type Stream = smol::net::TcpStream;
    type Timer = Sleep;

    async fn connect(&self, host: &str, port: u16) -> io::Result<smol::net::TcpStream> {
        let stream = smol::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn timer(duration: Duration) -> Self::Timer {
        Sleep(smol::Timer::after(duration))
    }
}

/// Binds `addr` and serves `handler` on smol's global executor, with the default [`Config`].
///
/// # Errors
///
/// Binding failed; the message names the address.
pub async fn serve<H, F>(addr: SocketAddr, handler: H) -> io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    ssewire_server::serve(Smol::global(), addr, Config::default(), handler).await
}

/// Like [`serve`], with tasks spawned on `executor` (which the caller runs) and a [`Config`].
///
/// # Errors
///
/// Binding failed; the message names the address.
pub async fn serve_on<H, F>(
    executor: &Arc<Executor<'static>>,
    addr: SocketAddr,
    config: Config,
    handler: H,
) -> io::Result<Server>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    ssewire_server::serve(Smol::with_executor(executor), addr, config, handler).await
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
    ssewire_server::serve(Smol::global(), addr, config, handler).await
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
/// use ssewire_smol::{Response, TlsConfig, serve_tls};
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
    ssewire_server::serve_tls(Smol::global(), addr, Config::default(), tls, handler).await
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
    ssewire_server::serve_tls(Smol::global(), addr, config, tls, handler).await
}
