//! One connection: HTTP/2 told from HTTP/1.1 by its first bytes, the lean path then hyper, and
//! the connection's part in shutdown.

use alloc::sync::Arc;
use core::convert::Infallible;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use event_listener::listener;
use futures_io::{AsyncRead, AsyncWrite};
use hyper::body::Incoming;

use atomic_waker::AtomicWaker;

use crate::body::{Body, into_http};
use crate::conn_io::StallWatch;
use crate::hyper_rt::{Exec, RuntimeTimer};
use crate::server::{ConnGuard, FLUSH_AFTER_END, Shutdown, sleep_unless_stopping};
use crate::stats::{self, Limit};
use crate::{Config, Request, Response, Runtime, conn_io, fanout, lean};
use http::StatusCode;

/// Which HTTP a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Cleartext: HTTP/2 with prior knowledge or HTTP/1.1, told apart by the first bytes.
    Sniff,
    /// Agreed beforehand (TLS's ALPN): HTTP/1.1.
    Http1,
    /// Agreed beforehand (TLS's ALPN): HTTP/2.
    Http2,
}

/// An accepted connection, ready for HTTP: the byte stream (the runtime's socket, or TLS over
/// it) and what is known of it.
pub(crate) struct Accepted<C> {
    pub(crate) conn: C,
    /// A second handle to `conn` for the fan-out lanes, where the transport has one (a socket
    /// whose handles are shared; never an encrypted stream, whose writes go through one state).
    pub(crate) try_clone: fn(&C) -> Option<C>,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) protocol: Protocol,
}

pub(crate) async fn serve_connection<R, C, H, F>(
    runtime: R,
    accepted_conn: Accepted<C>,
    config: Arc<Config>,
    handler: Arc<H>,
    lanes: Arc<fanout::Lanes>,
    guard: ConnGuard,
) where
    R: Runtime,
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let Accepted {
        conn,
        try_clone,
        remote_addr,
        protocol,
    } = accepted_conn;
    let shutdown = guard.0.clone();
    let lean_handler = handler.clone();
    let stall_runtime = runtime.clone();
    let service = |track, http2: bool| {
        service::<R, H, F>(
            handler,
            shutdown.clone(),
            config.clone(),
            remote_addr,
            track,
            http2.then_some(stall_runtime),
        )
    };
    // HTTP/2 with prior knowledge or HTTP/1.1, told apart by the first bytes. (hyper-util's
    // automatic builder does this too, but its connection is sized for HTTP/2 even when the
    // client speaks HTTP/1.1, which costs every idle SSE stream kilobytes.)
    let accepted = Instant::now();
    let sniffed = match protocol {
        Protocol::Http1 => Some(Ok((conn, Bytes::new(), false))),
        Protocol::Http2 => Some(Ok((conn, Bytes::new(), true))),
        Protocol::Sniff => {
            // A client that has sent nothing yet has no request in flight: shutdown closes it
            // at once. (Made here, not before the match: a future alive across the stream's
            // awaits costs every idle stream its size.)
            let deadline = sleep_unless_stopping::<R>(&shutdown, config.header_read_timeout);
            with_deadline(sniff(conn), deadline).await
        }
    };
    let Some(Ok((conn, prefix, http2))) = sniffed else {
        if sniffed.is_none() && !shutdown.stopping.load(Ordering::SeqCst) {
            shutdown.stats.closed(Limit::HeaderTimeout, remote_addr);
        }
        drop(guard);
        return;
    };
    let counter = if http2 {
        &shutdown.stats.http2
    } else {
        &shutdown.stats.http1
    };
    let open = stats::Open::new(counter);
    let mut io = conn_io::Io::new(conn, prefix, shutdown.clone());
    let stall = io.stall_watch();
    // The connection (and its socket) is gone before the guard says so.
    if http2 {
        // hyper has no idle timeout of its own: the service counts the open streams.
        let track = Track::new();
        let connection = hyper::server::conn::http2::Builder::new(Exec(runtime))
            .timer(RuntimeTimer::<R>::default())
            .max_concurrent_streams(config.http2_max_concurrent_streams)
            .keep_alive_interval(config.http2_keep_alive_interval)
            .keep_alive_timeout(config.http2_keep_alive_timeout)
            .max_header_list_size(config.http2_max_header_list_size)
            .serve_connection(io, service(Some(track.clone()), true));
        let watched = Watched::<_, R>::new(Box::pin(connection), track, None)
            .idle_timeout(config.http2_idle_timeout);
        let done = drive::<R, _>(
            watched,
            |c| c.get_mut().connection.as_mut().graceful_shutdown(),
            &shutdown,
            &stall,
            config.send_timeout,
            remote_addr,
        )
        .await;
        if let Some(None) = done {
            shutdown.stats.closed(Limit::Http2Idle, remote_addr);
        }
    } else {
        // Requests without a body take the lean path; the first one that does not (or anything
        // unusual) hands the rest of the connection to hyper.
        let lean = lean::serve::<R, _, _, _>(
            &mut io,
            try_clone,
            &config,
            &*lean_handler,
            &shutdown,
            &lanes,
            remote_addr,
            accepted,
        );
        let next = drive::<R, _>(
            core::pin::pin!(lean),
            |_| {},
            &shutdown,
            &stall,
            config.send_timeout,
            remote_addr,
        )
        .await;
        if let Some(lean::Next::Close) = next {
            // Closed by the lean path (`Connection: close`, the keep-alive or header deadline,
            // the client gone or cut off by the hub): over TLS a `close_notify` first, so the
            // client can tell the end from a cut; on TCP a FIN. Bounded: a client that does not
            // read gets no more time.
            let close =
                core::future::poll_fn(|cx| hyper::rt::Write::poll_shutdown(Pin::new(&mut io), cx));
            with_deadline(close, R::sleep(CLOSE_WAIT)).await;
        }
        if let Some(lean::Next::Hyper(read, since)) = next {
            io.set_prefix(read);
            // hyper's header-read timeout starts again with each head it reads; for the head
            // the lean path began, the deadline stays the one counted from `since`.
            let track = Track::new();
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(RuntimeTimer::<R>::default())
                .header_read_timeout(config.header_read_timeout)
                .max_header_size(config.max_head_size);
            // Left at hyper's default when it is ours: set, hyper allocates the fields per request.
            if config.max_headers != HYPER_MAX_HEADERS {
                builder.max_headers(config.max_headers);
            }
            // Boxed: the connection task stays small while the lean path serves a stream.
            let connection =
                Box::pin(builder.serve_connection(io, service(Some(track.clone()), false)));
            let deadline = since + config.header_read_timeout;
            let watched = Watched::<_, R>::new(connection, track, Some(deadline));
            let done = drive::<R, _>(
                watched,
                |c| c.get_mut().connection.as_mut().graceful_shutdown(),
                &shutdown,
                &stall,
                config.send_timeout,
                remote_addr,
            )
            .await;
            if let Some(None) = done {
                shutdown.stats.closed(Limit::HeaderTimeout, remote_addr);
            }
        }
    }
    drop(open);
    drop(guard);
}

/// How long a connection the lean path closes may take to say so (TLS `close_notify`).
const CLOSE_WAIT: Duration = Duration::from_millis(100);

/// hyper's default for `max_headers`.
const HYPER_MAX_HEADERS: usize = 100;

/// The hyper service of a connection: the request body read (within its size and deadline),
/// then the handler. With `track`, each request counts as open until its response is over.
/// With `http2` (the runtime), each event stream runs under a stall watchdog (see
/// [`StreamStall`]).
fn service<R, H, F>(
    handler: Arc<H>,
    shutdown: Arc<Shutdown>,
    config: Arc<Config>,
    remote_addr: SocketAddr,
    track: Option<Arc<Track>>,
    http2: Option<R>,
) -> impl hyper::service::Service<
    http::Request<Incoming>,
    Response = http::Response<Tracked>,
    Error = Infallible,
    Future: Send + 'static,
> + Send
+ 'static
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let handler = handler.clone();
        let shutdown = shutdown.clone();
        let config = config.clone();
        let guard = track.as_ref().map(StreamGuard::open);
        let http2 = http2.clone();
        async move {
            let respond = |response: Response| {
                let response = into_http::<R>(response, &config, &shutdown);
                Ok::<_, Infallible>(response.map(|body| {
                    let inner = match (http2, &body) {
                        (Some(runtime), Body::Sse { .. }) => {
                            let stall = Arc::new(StreamStall::new(body, guard));
                            runtime.spawn(stall_watchdog::<R>(
                                stall.clone(),
                                config.send_timeout,
                                shutdown.clone(),
                                remote_addr,
                            ));
                            Inner::Watched(Watchdogged(stall))
                        }
                        _ => Inner::Plain {
                            body,
                            _guard: guard,
                        },
                    };
                    Tracked {
                        inner,
                        peer: remote_addr,
                    }
                }))
            };
            let (parts, body) = request.into_parts();
            // The timer exists while the body is read.
            let read = read_body(body, config.max_request_body);
            let body = match with_deadline(read, R::sleep(config.request_body_timeout)).await {
                Some(Some(body)) => body,
                Some(None) => return respond(Response::status(StatusCode::PAYLOAD_TOO_LARGE)),
                None => {
                    shutdown.stats.closed(Limit::BodyTimeout, remote_addr);
                    let timeout = Response::status(StatusCode::REQUEST_TIMEOUT).with_header(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                    return respond(timeout);
                }
            };
            let view =
                Request::new(parts.method, parts.uri, parts.headers, remote_addr).with_body(body);
            respond(handler(view).await)
        }
    })
}

/// What a connection's hyper service tells the connection's task, for the limits hyper does not
/// keep: whether a request head has been read, and how many responses are open (HTTP/2's
/// streams) since when.
pub(crate) struct Track {
    /// Requests whose response is not over yet.
    open: AtomicUsize,
    /// Whether hyper has read a request head (called the service).
    served: AtomicBool,
    /// When `open` last went to 0, in milliseconds since `origin`.
    idle_since: AtomicU64,
    origin: Instant,
    /// The connection's task, woken when `open` goes to 0.
    waker: AtomicWaker,
}

impl Track {
    fn new() -> Arc<Track> {
        Arc::new(Track {
            open: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            origin: Instant::now(),
            waker: AtomicWaker::new(),
        })
    }

    /// When the connection last had no open request, if it has none now.
    fn idle_since(&self) -> Option<Instant> {
        if self.open.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let millis = self.idle_since.load(Ordering::SeqCst);
        Some(self.origin + Duration::from_millis(millis))
    }
}

/// One open request of a tracked connection, until its response body is dropped.
struct StreamGuard(Arc<Track>);

impl StreamGuard {
    fn open(track: &Arc<Track>) -> StreamGuard {
        track.served.store(true, Ordering::SeqCst);
        track.open.fetch_add(1, Ordering::SeqCst);
        StreamGuard(track.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let track = &self.0;
        let millis = u64::try_from(track.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        track.idle_since.store(millis, Ordering::SeqCst);
        if track.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            track.waker.wake();
        }
    }
}

/// A response body that holds its request's place in the connection's [`Track`].
pub(crate) struct Tracked {
    inner: Inner,
    /// The client's address, for the report of a slow subscriber.
    peer: SocketAddr,
}

/// A hyper response body: as it is, or (an HTTP/2 event stream) shared with its watchdog.
enum Inner {
    Plain {
        body: Body,
        _guard: Option<StreamGuard>,
    },
    Watched(Watchdogged),
}

type Frame = Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>>;

/// Polls `body`; at its end, counts a hub subscription the hub ended (its slow-subscriber
/// policy).
fn poll_counted(body: &mut Body, cx: &mut Context<'_>, peer: SocketAddr) -> Frame {
    use http_body::Body as _;
    let polled = Pin::new(&mut *body).poll_frame(cx);
    if let Poll::Ready(None) = polled
        && body.ended_by_hub()
        && let Body::Sse { shutdown, .. } = body
    {
        shutdown.stats.closed(Limit::SlowSubscriber, peer);
    }
    polled
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Frame {
        let this = self.get_mut();
        match &mut this.inner {
            Inner::Plain { body, .. } => poll_counted(body, cx, this.peer),
            Inner::Watched(Watchdogged(stall)) => {
                let mut slot = lock(&stall.slot);
                stall.polls.fetch_add(1, Ordering::Relaxed);
                // Dropped by the watchdog: the stream ends (hyper sends an empty last DATA
                // frame once the client grants window for the frame it holds).
                let Some((body, _)) = slot.as_mut() else {
                    return Poll::Ready(None);
                };
                let polled = poll_counted(body, cx, this.peer);
                stall
                    .owed
                    .store(matches!(polled, Poll::Ready(Some(_))), Ordering::Relaxed);
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Plain { body, .. } => body.is_end_stream(),
            Inner::Watched(_) => false,
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.inner {
            Inner::Plain { body, .. } => body.size_hint(),
            Inner::Watched(_) => http_body::SizeHint::default(),
        }
    }
}

/// An HTTP/2 event stream and what its watchdog sees of it.
///
/// hyper polls a response body only while its stream has flow-control window: a client that
/// opens a stream and never grants window (never reads) leaves the body unpolled and its
/// producer (or hub subscription) held forever, while the socket itself is not stalled (other
/// streams and PINGs go through), so the connection's send timeout does not see it. hyper
/// offers no way to reset one stream from outside its body, and the body is not polled, so the
/// watchdog (a task per HTTP/2 event stream, woken every quarter of `send_timeout`) drops the
/// body itself once hyper has held a frame of it for `send_timeout` without polling again: the
/// producer and subscription go, the stream's place in the connection's idle count too, and the
/// stream ends as soon as hyper polls it again (when the client grants window, or the
/// connection closes: at its idle timeout once no other stream is open). The body sits behind a
/// mutex that only the watchdog contends for (at its ticks).
struct StreamStall {
    /// The body and its place in the connection's [`Track`]; `None` once the watchdog took it.
    slot: std::sync::Mutex<Option<(Body, Option<StreamGuard>)>>,
    /// Polls of the body so far.
    polls: AtomicU64,
    /// Whether the last poll returned a frame (hyper holds it until it has window for it).
    owed: AtomicBool,
    /// Set when hyper drops the body: the watchdog ends.
    done: AtomicBool,
    watchdog: AtomicWaker,
}

impl StreamStall {
    fn new(body: Body, guard: Option<StreamGuard>) -> Self {
        StreamStall {
            slot: std::sync::Mutex::new(Some((body, guard))),
            polls: AtomicU64::new(0),
            owed: AtomicBool::new(false),
            done: AtomicBool::new(false),
            watchdog: AtomicWaker::new(),
        }
    }
}

/// hyper's handle on a watched body: dropping it ends the watchdog.
struct Watchdogged(Arc<StreamStall>);

impl Drop for Watchdogged {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::SeqCst);
        self.0.watchdog.wake();
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Drops an HTTP/2 event stream's body once hyper has held a frame of it for `send_timeout`
/// without polling it again (see [`StreamStall`]); ends when hyper drops the body.
async fn stall_watchdog<R: Runtime>(
    stall: Arc<StreamStall>,
    send_timeout: Duration,
    shutdown: Arc<Shutdown>,
    peer: SocketAddr,
) {
    let tick = (send_timeout / 4).max(Duration::from_millis(1));
    let done = || {
        core::future::poll_fn(|cx| {
            stall.watchdog.register(cx.waker());
            if stall.done.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    };
    let mut last = u64::MAX;
    // How long hyper has held a frame without polling again, at least.
    let mut held = Duration::ZERO;
    loop {
        if with_deadline(done(), R::sleep(tick)).await.is_some() {
            return;
        }
        let polls = stall.polls.load(Ordering::Relaxed);
        if stall.owed.load(Ordering::Relaxed) && polls == last {
            held += tick;
        } else {
            held = Duration::ZERO;
        }
        last = polls;
        if held >= send_timeout {
            let taken = lock(&stall.slot).take();
            if taken.is_some() {
                shutdown.stats.closed(Limit::Http2StreamStalled, peer);
            }
            // Dropped unlocked: the producer's drop runs no code of ours under the lock.
            drop(taken);
            return;
        }
    }
}

/// A hyper connection under the limits hyper does not keep: the deadline of the first request
/// head when the lean path began it (counted from before the hand-off), and HTTP/2's idle
/// timeout. The timer exists only while one of them runs.
struct Watched<C, R: Runtime> {
    connection: Pin<Box<C>>,
    track: Arc<Track>,
    /// Until hyper has read the first request head.
    head_deadline: Option<Instant>,
    /// How long the connection may have no open request.
    idle_timeout: Option<Duration>,
    /// The timer, and the instant it was set for.
    timer: Option<(Instant, Pin<Box<R::Sleep>>)>,
}

impl<C: Future, R: Runtime> Watched<C, R> {
    fn new(connection: Pin<Box<C>>, track: Arc<Track>, head_deadline: Option<Instant>) -> Self {
        Watched {
            connection,
            track,
            head_deadline,
            idle_timeout: None,
            timer: None,
        }
    }

    fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }
}

impl<C: Future, R: Runtime> Future for Watched<C, R> {
    /// `None` when a deadline closed the connection.
    type Output = Option<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(output) = this.connection.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if this.head_deadline.is_some() && this.track.served.load(Ordering::SeqCst) {
            this.head_deadline = None;
        }
        if this.idle_timeout.is_some() {
            this.track.waker.register(cx.waker());
        }
        let idle = || Some(this.track.idle_since()? + this.idle_timeout?);
        let Some(deadline) = this.head_deadline.or_else(idle) else {
            this.timer = None;
            return Poll::Pending;
        };
        let now = Instant::now();
        if now >= deadline {
            return Poll::Ready(None);
        }
        if this.timer.as_ref().is_none_or(|(at, _)| *at != deadline) {
            this.timer = Some((deadline, Box::pin(R::sleep(deadline - now))));
        }
        if let Some((_, timer)) = &mut this.timer
            && timer.as_mut().poll(cx).is_ready()
        {
            // Look again at the next poll: the deadline may have moved since.
            this.timer = None;
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
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

/// `future`, or `None` once `deadline` completes first. `future` is polled first, so a value
/// ready at the deadline is kept.
pub(crate) async fn with_deadline<T>(
    future: impl Future<Output = T>,
    deadline: impl Future<Output = ()>,
) -> Option<T> {
    // Not `futures_lite::future::or`: wrapping `future` in an async block stores it twice in the
    // connection's task (measured: 7.4 → 9.6 KiB per idle stream, `benches/load`).
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
///
/// A connection whose socket has taken no byte for `send_timeout` while it had bytes to send is
/// closed the same way (the deadline is checked here, when the task wakes, and its timer exists
/// only while the socket is stalled: the write path gains nothing per event).
async fn drive<R: Runtime, C: Future + Unpin>(
    mut connection: C,
    mut graceful: impl FnMut(Pin<&mut C>),
    shutdown: &Shutdown,
    stall: &StallWatch,
    send_timeout: Duration,
    peer: SocketAddr,
) -> Option<C::Output> {
    let mut stopping_seen = false;
    loop {
        // Once `stopping` is seen, only `ended` matters: listened for on its own event (see
        // `Shutdown::end`).
        let event = if stopping_seen {
            &shutdown.end
        } else {
            &shutdown.stop
        };
        listener!(event => stop);
        if shutdown.ended.load(Ordering::SeqCst) {
            return with_deadline(&mut connection, R::sleep(FLUSH_AFTER_END)).await;
        }
        if shutdown.stopping.load(Ordering::SeqCst) && !stopping_seen {
            graceful(Pin::new(&mut connection));
            stopping_seen = true;
            // Listen on `end` from here on.
            continue;
        }
        let mut stop = core::pin::pin!(stop);
        // The waker `stop` holds. Polling `stop` locks the list of listeners that every
        // connection shares, and an SSE connection wakes once per event: it is polled again only
        // when one of its flags is set or the task's waker changed.
        let mut registered: Option<Waker> = None;
        // Armed while the socket is stalled, boxed so an idle stream does not carry it.
        let mut stall_timer: Option<Pin<Box<R::Sleep>>> = None;
        // Not `futures_lite::future::or`: it would poll `stop` at every wake-up.
        let done = core::future::poll_fn(|cx| {
            if let Poll::Ready(output) = Pin::new(&mut connection).poll(cx) {
                return Poll::Ready(Some(Some(output)));
            }
            match stall.stalled_for() {
                None => stall_timer = None,
                Some(stalled) if stalled >= send_timeout => return Poll::Ready(None),
                Some(stalled) => {
                    let timer = stall_timer
                        .get_or_insert_with(|| Box::pin(R::sleep(send_timeout - stalled)));
                    if timer.as_mut().poll(cx).is_ready() {
                        // Look again (the socket may have taken bytes since): a new timer for
                        // what is left, if anything.
                        stall_timer = None;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
            }
            let flagged = shutdown.ended.load(Ordering::SeqCst)
                || (shutdown.stopping.load(Ordering::SeqCst) && !stopping_seen);
            if !flagged && registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return Poll::Pending;
            }
            registered = Some(cx.waker().clone());
            stop.as_mut().poll(cx).map(|()| Some(None))
        })
        .await;
        match done {
            Some(Some(output)) => return Some(output),
            // The send timeout: the connection is dropped, which closes the socket.
            None => {
                shutdown.stats.closed(Limit::SendTimeout, peer);
                return None;
            }
            Some(None) => {}
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
