//! The HTTP server shared by the runtime adapters (feature `server`): HTTP/1.1 and HTTP/2
//! cleartext, generic over a tiny [`Runtime`] trait that an adapter implements with its listener,
//! spawn and timer.
//!
//! HTTP/1.1 requests without a body (an `EventSource`'s `GET`) take a lean path: the head is
//! parsed with `httparse` and the response written straight to the socket, an event stream as
//! one chunk per event, with no buffer kept while it is open (an idle stream costs a few KiB).
//! Everything else, and the rest of a connection once something else arrives, is served by
//! hyper 1, as is HTTP/2.
//!
//! A [`Hub`](crate::Hub) subscription on that path is written by the server's fan-out lanes (one
//! task per core) while it is idle: a `publish` wakes the lanes, not every subscriber's task, and
//! each event costs one non-blocking `send` per subscriber. The connection's task takes the socket
//! back for anything else (replay, keep-alive, a gap marker, a full socket, the end).
//!
//! Users normally reach this through `ssewire-smol` or `ssewire-async-std`, which re-export it.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::convert::Infallible;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use event_listener::{Event as Notify, listener};
use futures_core::Stream;
use http::{HeaderMap, Uri};
use hyper::body::Incoming;

use crate::hub::DirectHandle;
use crate::{KeepAlive, ProducerOutput, Sender, SseBody, Subscription};

mod conn_io;
mod fanout;
mod lean;

pub use http::{HeaderMap as Headers, HeaderValue, Method, StatusCode, header};

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
    /// are). With one, a [`Hub`](crate::Hub) subscription served over HTTP/1.1 is written by a
    /// fan-out task of the server while it is idle, instead of waking the connection's task for
    /// every event. Default: `None`.
    fn try_clone(conn: &Self::Conn) -> Option<Self::Conn> {
        let _ = conn;
        None
    }
}

/// Server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Keep-alive for SSE responses that do not set their own (default: 15 s, no `retry`).
    pub keep_alive: KeepAlive,
    /// How long a client may take to send request headers (HTTP/1.1). Default 30 s.
    pub header_read_timeout: Duration,
    /// Largest request body read for a handler ([`Request::body`]); larger ones get `413`.
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

/// The request as a handler sees it: method, path, query, headers, the parsed `Last-Event-ID`,
/// and the body (read up to [`Config::max_request_body`]).
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    remote_addr: SocketAddr,
    body: Bytes,
}

impl Request {
    /// A request view from its parts (for tests, or to call a handler directly).
    pub fn new(method: Method, uri: Uri, headers: HeaderMap, remote_addr: SocketAddr) -> Self {
        Request {
            method,
            uri,
            headers,
            remote_addr,
            body: Bytes::new(),
        }
    }

    /// The same request with `body`.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The request body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The first value of `name` in an `application/x-www-form-urlencoded` body (an HTML form
    /// POST), decoded.
    pub fn form_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path, such as `/api/chat_stream`.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The raw query string, if any (without `?`).
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The first value of query parameter `name`, percent- and `+`-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.uri.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The value of header `name` if it is present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The `Last-Event-ID` a reconnecting client sent: the id of the last event it received.
    /// `None` when absent, empty or not valid text.
    pub fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id").filter(|id| !id.is_empty())
    }

    /// `Last-Event-ID` parsed as `T` (a number, say); `None` when absent or unparsable.
    pub fn last_event_id_as<T: core::str::FromStr>(&self) -> Option<T> {
        self.last_event_id()?.parse().ok()
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

enum Kind {
    Full(Bytes),
    Sse {
        stream: ByteStream,
        keep_alive: Option<KeepAlive>,
        /// Set when the stream is a hub subscription (direct delivery on HTTP/1.1).
        direct: Option<DirectHandle>,
    },
}

/// What a handler answers: an SSE stream or an ordinary response.
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    kind: Kind,
}

impl core::fmt::Debug for Response {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("sse", &matches!(self.kind, Kind::Sse { .. }))
            .finish()
    }
}

impl Response {
    /// An SSE response running `producer` (see [`stream`](crate::stream)): `200 OK`, the SSE
    /// headers, an opening frame at once and keep-alives while idle. When the client goes away the
    /// producer is dropped at its current `.await` (and `send` fails for senders moved elsewhere).
    pub fn sse<P, F>(producer: P) -> Response
    where
        P: FnOnce(Sender) -> F,
        F: Future + Send + 'static,
        F::Output: ProducerOutput,
    {
        Response::sse_stream(crate::stream(producer))
    }

    /// An SSE response streaming already-encoded frames (each item whole events).
    ///
    /// A [`Subscription`] served over HTTP/1.1 is written by the server's fan-out tasks while it
    /// is idle (one `send` per event, no wake-up of the connection's task), on runtimes whose
    /// sockets allow it ([`Runtime::try_clone`]; both adapters' do).
    pub fn sse_stream(stream: impl Stream<Item = Bytes> + Send + 'static) -> Response {
        let mut headers = HeaderMap::new();
        crate::sse_headers(&mut headers);
        let direct = (&stream as &dyn core::any::Any)
            .downcast_ref::<Subscription>()
            .map(Subscription::direct_handle);
        Response {
            status: StatusCode::OK,
            headers,
            kind: Kind::Sse {
                stream: Box::pin(stream),
                keep_alive: None,
                direct,
            },
        }
    }

    /// Sets the keep-alive of an SSE response (otherwise the server's [`Config::keep_alive`]).
    pub fn with_keep_alive(mut self, keep_alive: KeepAlive) -> Response {
        if let Kind::Sse { keep_alive: k, .. } = &mut self.kind {
            *k = Some(keep_alive);
        }
        self
    }

    /// A response with `body` and a `Content-Type`.
    pub fn bytes(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Response {
            status,
            headers,
            kind: Kind::Full(body.into()),
        }
    }

    /// `200 OK` with an HTML page.
    pub fn html(body: impl Into<Bytes>) -> Response {
        Response::bytes(StatusCode::OK, "text/html; charset=utf-8", body)
    }

    /// `200 OK` with plain text.
    pub fn text(body: impl Into<Bytes>) -> Response {
        Response::bytes(StatusCode::OK, "text/plain; charset=utf-8", body)
    }

    /// An empty response with `status`: `404 Not Found`, or `204 No Content`, which tells an
    /// `EventSource` to stop reconnecting.
    pub fn status(status: StatusCode) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            kind: Kind::Full(Bytes::new()),
        }
    }

    /// `404 Not Found`.
    pub fn not_found() -> Response {
        Response::bytes(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found\n",
        )
    }

    /// Adds or replaces a header.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Response {
        self.headers.insert(name, value);
        self
    }

    /// The status.
    pub fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// The response body, written by the lean HTTP/1.1 path or handed to hyper.
enum Body {
    Full(Option<Bytes>),
    /// Ends (cleanly, with HTTP/1.1's last chunk) once the server's grace period is over.
    Sse {
        body: Pin<Box<dyn http_body::Body<Data = Bytes, Error = Infallible> + Send>>,
        shutdown: Arc<Shutdown>,
        /// Set for a hub subscription (see `fanout`).
        direct: Option<DirectHandle>,
        /// Frames yielded since the body was last `Pending` (see [`BUDGET`]).
        in_a_row: usize,
    },
}

/// Frames an SSE body yields in a row before it returns `Pending` once (and wakes its task at
/// once): a producer that never waits, with a client that keeps up, cannot keep an executor
/// thread from the other connections, on any path (the lean HTTP/1.1 loop, hyper's HTTP/1.1 and
/// HTTP/2).
const BUDGET: usize = 64;

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(http_body::Frame::data(b)))),
            Body::Sse { shutdown, .. } if shutdown.ended.load(Ordering::SeqCst) => {
                Poll::Ready(None)
            }
            Body::Sse { in_a_row, .. } if *in_a_row >= BUDGET => {
                *in_a_row = 0;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Body::Sse { body, in_a_row, .. } => {
                let polled = body.as_mut().poll_frame(cx);
                match polled {
                    Poll::Ready(Some(_)) => *in_a_row += 1,
                    _ => *in_a_row = 0,
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Full(Some(bytes)) => http_body::SizeHint::with_exact(bytes.len() as u64),
            Body::Full(None) => http_body::SizeHint::with_exact(0),
            Body::Sse { .. } => http_body::SizeHint::default(),
        }
    }
}

/// How long a connection may take to flush the end of its streams after the grace period.
const FLUSH_AFTER_END: Duration = Duration::from_millis(500);

/// State shared by the accept loop, the connections and the SSE streams of one server.
#[derive(Default)]
struct Shutdown {
    /// Stop accepting; connections finish their current response and close.
    stopping: AtomicBool,
    /// End every SSE stream now.
    ended: AtomicBool,
    /// Open connections.
    connections: AtomicUsize,
    /// Fired when `stopping` or `ended` is set: wakes the accept loop and the connection tasks.
    stop: Notify,
    /// Fired when a connection closes: wakes whoever waits for the server to drain. Separate from
    /// `stop`, so a closing connection never wakes the others.
    closed: Notify,
}

impl Shutdown {
    fn set(&self, flag: &AtomicBool) {
        flag.store(true, Ordering::SeqCst);
        self.stop.notify(usize::MAX);
    }

    fn drained(&self) -> bool {
        self.connections.load(Ordering::SeqCst) == 0
    }
}

/// A running server on runtime `R`. Dropping it leaves the server running; call
/// [`Server::shutdown`] to stop it.
pub struct Server<R> {
    local_addr: SocketAddr,
    shutdown: Arc<Shutdown>,
    runtime: core::marker::PhantomData<fn() -> R>,
}

impl<R> Clone for Server<R> {
    fn clone(&self) -> Self {
        Server {
            local_addr: self.local_addr,
            shutdown: self.shutdown.clone(),
            runtime: core::marker::PhantomData,
        }
    }
}

impl<R> core::fmt::Debug for Server<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field(
                "connections",
                &self.shutdown.connections.load(Ordering::SeqCst),
            )
            .finish()
    }
}

impl<R: Runtime> Server<R> {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shutdown.connections.load(Ordering::SeqCst)
    }

    /// Stops the server: stops accepting, lets open connections finish the response in flight
    /// (HTTP/2: `GOAWAY`), and after `grace` ends every SSE stream still open (on HTTP/1.1 the
    /// body ends cleanly; then the connection closes) and drops its producer, so browsers
    /// reconnect elsewhere. Resolves when every connection is closed.
    pub async fn shutdown(&self, grace: Duration) {
        let state = &self.shutdown;
        state.set(&state.stopping);
        wait_drained(state, R::sleep(grace)).await;
        state.set(&state.ended);
        // Connection tasks end their streams and close within `FLUSH_AFTER_END` now.
        wait_drained(
            state,
            R::sleep(FLUSH_AFTER_END + Duration::from_millis(100)),
        )
        .await;
    }

    /// Resolves once [`Server::shutdown`] has been called (from anywhere) and every connection is
    /// closed.
    pub async fn stopped(&self) {
        until_set(&self.shutdown, &self.shutdown.stopping).await;
        wait_drained(&self.shutdown, core::future::pending()).await;
    }
}

/// Resolves once `flag` (`stopping` or `ended`) is set.
async fn until_set(state: &Shutdown, flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        listener!(state.stop => stop);
        if flag.load(Ordering::SeqCst) {
            break;
        }
        stop.await;
    }
}

/// Waits until no connection is open or `deadline` completes.
async fn wait_drained(state: &Shutdown, deadline: impl Future<Output = ()>) {
    let mut deadline = core::pin::pin!(deadline);
    loop {
        if state.drained() {
            return;
        }
        listener!(state.closed => listener);
        if state.drained() {
            return;
        }
        let mut listener = core::pin::pin!(listener);
        let woke = core::future::poll_fn(|cx| {
            if listener.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            deadline.as_mut().poll(cx).map(|()| false)
        })
        .await;
        if !woke {
            return;
        }
    }
}

/// Binds `addr` and serves `handler` on `runtime` until [`Server::shutdown`].
///
/// # Errors
///
/// Binding failed (the address is in use, say); the error names the address.
pub async fn serve<R, H, F>(
    runtime: R,
    addr: SocketAddr,
    config: Config,
    handler: H,
) -> io::Result<Server<R>>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let listener = runtime
        .bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), alloc::format!("cannot listen on {addr}: {e}")))?;
    let local_addr = R::local_addr(&listener)?;
    let shutdown = Arc::new(Shutdown::default());
    let server = Server {
        local_addr,
        shutdown: shutdown.clone(),
        runtime: core::marker::PhantomData,
    };
    let handler = Arc::new(handler);
    // One fan-out lane per core (see `fanout`), started by the first hub subscription and ended
    // once the accept loop and every connection are done with them.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lanes = Arc::new(fanout::Lanes::new(cores, {
        let runtime = runtime.clone();
        move |tasks| {
            for task in tasks {
                runtime.spawn(task);
            }
        }
    }));
    let rt = runtime.clone();
    runtime.spawn(async move {
        accept_loop(rt, listener, config, handler, shutdown, lanes).await;
    });
    Ok(server)
}

async fn accept_loop<R, H, F>(
    runtime: R,
    listener: R::Listener,
    config: Config,
    handler: Arc<H>,
    shutdown: Arc<Shutdown>,
    lanes: Arc<fanout::Lanes>,
) where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    loop {
        if shutdown.stopping.load(Ordering::SeqCst) {
            return;
        }
        listener!(shutdown.stop => stop);
        if shutdown.stopping.load(Ordering::SeqCst) {
            return;
        }
        let mut accept = core::pin::pin!(R::accept(&listener));
        let mut stop = core::pin::pin!(stop);
        let accepted = core::future::poll_fn(|cx| {
            if let Poll::Ready(result) = accept.as_mut().poll(cx) {
                return Poll::Ready(Some(result));
            }
            stop.as_mut().poll(cx).map(|()| None)
        })
        .await;
        match accepted {
            None => continue,
            Some(Ok((conn, remote_addr))) => {
                shutdown.connections.fetch_add(1, Ordering::SeqCst);
                let guard = ConnGuard(shutdown.clone());
                let task = serve_connection(
                    runtime.clone(),
                    conn,
                    remote_addr,
                    config,
                    handler.clone(),
                    lanes.clone(),
                    guard,
                );
                runtime.spawn(task);
            }
            Some(Err(e)) => {
                // Out of file descriptors and similar: back off instead of spinning.
                if !is_connection_error(&e) {
                    R::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Counts a connection as open until dropped.
struct ConnGuard(Arc<Shutdown>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
        self.0.closed.notify(usize::MAX);
    }
}

async fn serve_connection<R, H, F>(
    runtime: R,
    conn: R::Conn,
    remote_addr: SocketAddr,
    config: Config,
    handler: Arc<H>,
    lanes: Arc<fanout::Lanes>,
    guard: ConnGuard,
) where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let shutdown = guard.0.clone();
    let service_shutdown = shutdown.clone();
    let lean_handler = handler.clone();
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let handler = handler.clone();
        let shutdown = service_shutdown.clone();
        async move {
            let (parts, body) = request.into_parts();
            let Some(body) = read_body(body, config.max_request_body).await else {
                let response = Response::status(StatusCode::PAYLOAD_TOO_LARGE);
                return Ok::<_, Infallible>(into_http::<R>(response, &config, &shutdown));
            };
            let view =
                Request::new(parts.method, parts.uri, parts.headers, remote_addr).with_body(body);
            let response = handler(view).await;
            Ok::<_, Infallible>(into_http::<R>(response, &config, &shutdown))
        }
    });
    // HTTP/2 with prior knowledge or HTTP/1.1, told apart by the first bytes. (hyper-util's
    // automatic builder does this too, but its connection is sized for HTTP/2 even when the
    // client speaks HTTP/1.1, which costs every idle SSE stream kilobytes.)
    let accepted = Instant::now();
    // A client that has sent nothing yet has no request in flight: shutdown closes it at once.
    let deadline = async {
        with_deadline(
            until_set(&shutdown, &shutdown.stopping),
            R::sleep(config.header_read_timeout),
        )
        .await;
    };
    let sniffed = with_deadline(sniff(conn), deadline).await;
    let Some(Ok((conn, prefix, http2))) = sniffed else {
        drop(guard);
        return;
    };
    let mut io = conn_io::Io::new(conn, prefix);
    // The connection (and its socket) is gone before the guard says so.
    if http2 {
        let connection = hyper::server::conn::http2::Builder::new(Exec(runtime))
            .timer(RuntimeTimer::<R>::default())
            .serve_connection(io, service);
        drive::<R, _>(
            Box::pin(connection),
            |c| c.get_mut().as_mut().graceful_shutdown(),
            &shutdown,
        )
        .await;
    } else {
        // Requests without a body take the lean path; the first one that does not (or anything
        // unusual) hands the rest of the connection to hyper.
        let lean = lean::serve::<R, _, _>(
            &mut io,
            &config,
            &*lean_handler,
            &shutdown,
            &lanes,
            remote_addr,
            accepted,
        );
        let next = drive::<R, _>(core::pin::pin!(lean), |_| {}, &shutdown).await;
        if let Some(lean::Next::Hyper(read)) = next {
            io.set_prefix(read);
            // Boxed: the connection task stays small while the lean path serves a stream.
            let connection = Box::pin(
                hyper::server::conn::http1::Builder::new()
                    .timer(RuntimeTimer::<R>::default())
                    .header_read_timeout(config.header_read_timeout)
                    .serve_connection(io, service),
            );
            drive::<R, _>(
                connection,
                |c| c.get_mut().as_mut().graceful_shutdown(),
                &shutdown,
            )
            .await;
        }
    }
    drop(guard);
}

/// The HTTP/2 connection preface a prior-knowledge client starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads the first bytes of a connection, as far as needed to tell whether they are the HTTP/2
/// preface. Returns the bytes read (to be replayed) and the verdict.
async fn sniff<C: futures_io::AsyncRead + Unpin>(mut conn: C) -> io::Result<(C, Bytes, bool)> {
    let mut prefix = [0u8; H2_PREFACE.len()];
    let mut len = 0;
    while len < prefix.len() {
        let n = core::future::poll_fn(|cx| Pin::new(&mut conn).poll_read(cx, &mut prefix[len..]))
            .await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        len += n;
        if prefix[..len] != H2_PREFACE[..len] {
            return Ok((conn, Bytes::copy_from_slice(&prefix[..len]), false));
        }
    }
    Ok((conn, Bytes::copy_from_slice(&prefix), true))
}

/// `future`, or `None` once `deadline` completes first.
async fn with_deadline<T>(
    future: impl Future<Output = T>,
    deadline: impl Future<Output = ()>,
) -> Option<T> {
    let mut future = core::pin::pin!(future);
    let mut deadline = core::pin::pin!(deadline);
    core::future::poll_fn(|cx| {
        if let Poll::Ready(value) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        deadline.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Runs a connection until it ends or the server's shutdown ends it: at `stopping` it finishes
/// the response in flight (HTTP/2: `GOAWAY`); at `ended` its SSE bodies end (cleanly on
/// HTTP/1.1), it gets a short, bounded flush, and it is dropped, which closes the socket.
/// Returns the connection's output, or `None` if the flush deadline cut it short.
async fn drive<R: Runtime, C: Future + Unpin>(
    mut connection: C,
    mut graceful: impl FnMut(Pin<&mut C>),
    shutdown: &Shutdown,
) -> Option<C::Output> {
    let mut stopping_seen = false;
    loop {
        listener!(shutdown.stop => stop);
        if shutdown.ended.load(Ordering::SeqCst) {
            let mut flush = core::pin::pin!(R::sleep(FLUSH_AFTER_END));
            return core::future::poll_fn(|cx| {
                if let Poll::Ready(output) = Pin::new(&mut connection).poll(cx) {
                    return Poll::Ready(Some(output));
                }
                flush.as_mut().poll(cx).map(|()| None)
            })
            .await;
        }
        if shutdown.stopping.load(Ordering::SeqCst) && !stopping_seen {
            graceful(Pin::new(&mut connection));
            stopping_seen = true;
        }
        let mut stop = core::pin::pin!(stop);
        // The waker `stop` holds. Polling `stop` locks the list of listeners that every
        // connection shares, and an SSE connection wakes once per event: it is polled again only
        // when one of its flags is set or the task's waker changed.
        let mut registered: Option<Waker> = None;
        let done = core::future::poll_fn(|cx| {
            if let Poll::Ready(output) = Pin::new(&mut connection).poll(cx) {
                return Poll::Ready(Some(output));
            }
            let flagged = shutdown.ended.load(Ordering::SeqCst)
                || (shutdown.stopping.load(Ordering::SeqCst) && !stopping_seen);
            if !flagged && registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return Poll::Pending;
            }
            registered = Some(cx.waker().clone());
            stop.as_mut().poll(cx).map(|()| None)
        })
        .await;
        if done.is_some() {
            return done;
        }
    }
}

/// Reads a request body of at most `limit` bytes; `None` if it is larger or broken.
async fn read_body(body: Incoming, limit: usize) -> Option<Bytes> {
    use http_body::Body as _;
    let mut body = core::pin::pin!(body);
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = core::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        if let Ok(data) = frame.ok()?.into_data() {
            if collected.len() + data.len() > limit {
                return None;
            }
            collected.extend_from_slice(&data);
        }
    }
    Some(collected.freeze())
}

fn into_http<R: Runtime>(
    response: Response,
    config: &Config,
    shutdown: &Arc<Shutdown>,
) -> http::Response<Body> {
    let Response {
        status,
        headers,
        kind,
    } = response;
    let body = match kind {
        Kind::Full(bytes) => Body::Full(Some(bytes).filter(|b| !b.is_empty())),
        Kind::Sse {
            stream,
            keep_alive,
            direct,
        } => {
            let keep_alive = keep_alive.unwrap_or(config.keep_alive);
            let clock = KeepAliveClock::<R>::new(direct.clone().zip(keep_alive.interval));
            let stream = keep_alive.wrap(stream, clock);
            Body::Sse {
                body: Box::pin(SseBody::new(stream)),
                shutdown: shutdown.clone(),
                direct,
                in_a_row: 0,
            }
        }
    };
    let mut http = http::Response::new(body);
    *http.status_mut() = status;
    *http.headers_mut() = headers;
    http
}

/// The keep-alive timer of a response: the runtime's sleep, and a clock so that events do not
/// re-arm it (a runtime timer armed per event costs reactor wake-ups).
struct KeepAliveClock<R> {
    origin: std::time::Instant,
    /// A hub subscription and the keep-alive interval: what a fan-out lane writes counts as
    /// activity too.
    direct: Option<(DirectHandle, Duration)>,
    runtime: core::marker::PhantomData<fn() -> R>,
}

impl<R> KeepAliveClock<R> {
    fn new(direct: Option<(DirectHandle, Duration)>) -> Self {
        KeepAliveClock {
            origin: std::time::Instant::now(),
            direct,
            runtime: core::marker::PhantomData,
        }
    }
}

impl<R: Runtime> crate::Timer for KeepAliveClock<R> {
    type Sleep = IdleSleep<R>;

    fn sleep(&mut self, duration: Duration) -> IdleSleep<R> {
        IdleSleep {
            sleep: R::sleep(duration),
            direct: self.direct.clone(),
        }
    }

    fn now(&mut self) -> Option<Duration> {
        Some(self.origin.elapsed())
    }
}

pin_project_lite::pin_project! {
    /// The runtime's sleep; for a subscription a lane writes to, extended until the interval has
    /// passed since the lane's last write (the keep-alive stream sees only what its task writes).
    struct IdleSleep<R: Runtime> {
        #[pin]
        sleep: R::Sleep,
        direct: Option<(DirectHandle, Duration)>,
    }
}

impl<R: Runtime> Future for IdleSleep<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let Some((handle, interval)) = &this.direct else {
                return Poll::Ready(());
            };
            let quiet = handle.sent_at().map(|at| at.elapsed());
            match quiet {
                Some(quiet) if quiet < *interval => {
                    this.sleep.set(R::sleep(*interval - quiet));
                }
                _ => return Poll::Ready(()),
            }
        }
    }
}

/// hyper's executor (HTTP/2 spawns per-stream tasks) on the adapter's runtime.
#[derive(Clone)]
struct Exec<R>(R);

impl<R, F> hyper::rt::Executor<F> for Exec<R>
where
    R: Runtime,
    F: Future + Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn(async move {
            future.await;
        });
    }
}

/// hyper's timer (header-read timeout, HTTP/2 keep-alive) on the adapter's runtime.
struct RuntimeTimer<R>(core::marker::PhantomData<fn() -> R>);

impl<R> Default for RuntimeTimer<R> {
    fn default() -> Self {
        RuntimeTimer(core::marker::PhantomData)
    }
}

impl<R> Clone for RuntimeTimer<R> {
    fn clone(&self) -> Self {
        RuntimeTimer::default()
    }
}

pin_project_lite::pin_project! {
    struct RuntimeSleep<S> {
        #[pin]
        sleep: S,
    }
}

impl<S: Future<Output = ()>> Future for RuntimeSleep<S> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().sleep.poll(cx)
    }
}

impl<S: Future<Output = ()> + Send + Sync> hyper::rt::Sleep for RuntimeSleep<S> {}

impl<R: Runtime> hyper::rt::Timer for RuntimeTimer<R> {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RuntimeSleep {
            sleep: R::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep(deadline.saturating_duration_since(Instant::now()))
    }
}
