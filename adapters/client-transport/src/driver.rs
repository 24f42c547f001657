//! The driver: one future that runs the controller's actions over hyper client connections.

use std::any::Any;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::marker::PhantomData;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use http::{HeaderMap, Method, StatusCode, Uri, header};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use smol_hyper::rt::FuturesIo;
use ssewire::Event;
use ssewire_client::{Action, Connect, Controller, Input};

use crate::event_source::Setup;
use crate::request::{
    absolute, host_header, host_port, is_https, redirect_target, same_origin, target,
};
use crate::tls::{self, Trust};
use crate::{ClientEvent, Request, Runtime};

/// The events the driver has produced and the stream has not yielded yet.
pub(crate) type Queue = Arc<Mutex<VecDeque<ClientEvent>>>;
/// The transport error behind the controller's latest `Ended::Error`, with its message, until
/// the stream takes it.
pub(crate) type Failure = Arc<Mutex<Option<io::Error>>>;
/// The reconnect hook.
pub(crate) type Hook = Box<dyn FnMut(&mut Request, &Connect) + Send>;
/// The terminal predicate.
pub(crate) type Terminal = Box<dyn Fn(&Event) -> bool + Send + Sync>;

/// Runs the controller until it stops.
pub(crate) async fn drive<R: Runtime>(setup: Setup<R>, queue: Queue, failure: Failure) {
    let Setup {
        runtime,
        mut tls,
        mut request,
        config,
        terminal,
        last_event_id,
        mut hook,
        max_redirects,
        timeout,
        http2_keep_alive,
    } = setup;
    let mut sse = Controller::new(config);
    if let Some(terminal) = terminal {
        sse = sse.with_terminal(terminal);
    }
    if let Some(id) = last_event_id {
        sse = sse.with_last_event_id(id);
    }
    let clock = Clock(Instant::now());
    loop {
        let Some(action) = sse.poll_action() else {
            // Nothing to do but wait for the controller's deadline (the end of a `Wait`).
            let Some(deadline) = sse.next_deadline() else {
                return;
            };
            R::timer(deadline.saturating_sub(clock.now())).await;
            sse.handle(clock.now(), random(), Input::TimerFired);
            continue;
        };
        match action {
            Action::Connect(connect) => {
                if let Some(hook) = &mut hook {
                    hook(&mut request, &connect);
                }
                let hop = Hop {
                    runtime: &runtime,
                    tls: &mut tls,
                    failure: &failure,
                    request: &request,
                    extra: &connect.headers,
                    max_redirects,
                    timeout,
                    http2_keep_alive,
                };
                connection(hop, &mut sse, &queue, clock).await;
            }
            other => {
                push(&queue, other, None);
                if sse.is_stopped() {
                    return;
                }
            }
        }
    }
}

/// What one connection needs to know.
struct Hop<'a, R> {
    runtime: &'a R,
    /// The certificates `https` trusts.
    tls: &'a mut Trust,
    failure: &'a Failure,
    request: &'a Request,
    /// The controller's headers, which win over the request's.
    extra: &'a HeaderMap,
    max_redirects: u32,
    timeout: Duration,
    http2_keep_alive: Option<Duration>,
}

/// The controller's time base.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(self) -> Duration {
        self.0.elapsed()
    }
}

/// One connection, from the dial to a `Wait` or `Stop`: redirects, the response head, the body.
async fn connection<R: Runtime>(
    mut hop: Hop<'_, R>,
    sse: &mut Controller,
    queue: &Queue,
    clock: Clock,
) {
    let mut method = hop.request.method.clone();
    let mut url = hop.request.url.clone();
    let mut body = hop.request.body.clone();
    let mut headers = hop.request.headers.clone();
    for (name, value) in hop.extra {
        headers.insert(name, value.clone());
    }
    let head_deadline = clock.now().saturating_add(hop.timeout);
    let mut redirects = 0;
    let (response, mut conn) = loop {
        let exchange = exchange(&mut hop, &method, &url, &headers, &body);
        let timer = R::timer(head_deadline.saturating_sub(clock.now()));
        let outcome = match race(exchange, timer).await {
            Either::Left(outcome) => outcome,
            Either::Right(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no response from {url} within {:?} (dial, tls, redirects and head)",
                    hop.timeout
                ),
            )),
        };
        let (response, conn) = match outcome {
            Ok(pair) => pair,
            Err(error) => {
                fail(sse, hop.failure, clock, error);
                deliver(sse, queue, None).await;
                return;
            }
        };
        if redirects < hop.max_redirects
            && let Some(next) = redirect_target(&url, response.status(), response.headers())
        {
            redirects += 1;
            // Fetch's "HTTP-redirect fetch": 303 (but for HEAD), and 301/302 after a POST,
            // become a GET without a body.
            let status = response.status();
            if (status == StatusCode::SEE_OTHER && method != Method::HEAD)
                || (matches!(status.as_u16(), 301 | 302) && method == Method::POST)
            {
                method = Method::GET;
                body = Bytes::new();
                for name in [
                    header::CONTENT_TYPE,
                    header::CONTENT_ENCODING,
                    header::CONTENT_LANGUAGE,
                ] {
                    headers.remove(name);
                }
            }
            // "If request's current URL's origin is not same origin with locationURL's origin,
            // then … delete `Authorization` from request's header list."
            if !same_origin(&url, &next) {
                headers.remove(header::AUTHORIZATION);
            }
            url = next;
            continue;
        }
        break (response, conn);
    };
    let (parts, mut incoming) = response.into_parts();
    let status = parts.status;
    sse.handle(
        clock.now(),
        random(),
        Input::Response {
            status,
            headers: &parts.headers,
        },
    );
    if deliver(sse, queue, Some((status, &parts.headers))).await {
        return;
    }
    loop {
        let timer = sse
            .next_deadline()
            .map(|deadline| R::timer(deadline.saturating_sub(clock.now())));
        let read = conn.with(poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx)));
        let step = race(read, optional(timer)).await;
        let now = clock.now();
        match step {
            Either::Right(()) => sse.handle(now, random(), Input::TimerFired),
            Either::Left(None) => sse.handle(now, random(), Input::End),
            Either::Left(Some(Err(error))) => {
                // The connection's own error is the cause (an unanswered HTTP/2 keep-alive
                // ping ends the connection, and the body only sees it gone).
                let error = conn.failure().await.unwrap_or(error);
                fail(sse, hop.failure, clock, hyper_error(error));
            }
            Either::Left(Some(Ok(frame))) => {
                // Trailers carry nothing for an event stream.
                if let Ok(data) = frame.into_data() {
                    sse.handle(now, random(), Input::Body(&data));
                }
            }
        }
        if deliver(sse, queue, None).await {
            return;
        }
    }
}

/// Hands a transport error to the controller (which sees its kind) and keeps it whole for
/// [`EventSource::last_error`](crate::EventSource::last_error).
fn fail(sse: &mut Controller, failure: &Failure, clock: Clock, error: io::Error) {
    sse.handle(clock.now(), random(), Input::Error(error.kind()));
    *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
}

/// Drains the controller's actions into the queue, then waits until the stream has taken
/// them. `true` when the connection is over (a `Wait` or a `Stop`).
async fn deliver(
    sse: &mut Controller,
    queue: &Queue,
    response: Option<(StatusCode, &HeaderMap)>,
) -> bool {
    let mut over = false;
    while let Some(action) = sse.poll_action() {
        over |= push(queue, action, response);
    }
    drained(queue).await;
    over
}

/// Queues what `action` means to the application; `true` when it ends the connection (a
/// `Wait` or a `Stop`).
fn push(queue: &Queue, action: Action, response: Option<(StatusCode, &HeaderMap)>) -> bool {
    let (event, stop) = match action {
        Action::Open => {
            let (status, headers) =
                response.map_or((StatusCode::OK, HeaderMap::new()), |(s, h)| (s, h.clone()));
            (ClientEvent::Open { status, headers }, false)
        }
        Action::Deliver(event) => (ClientEvent::Event(event), false),
        Action::Dropped(error) => (ClientEvent::Dropped(error), false),
        Action::Wait(wait) => (ClientEvent::Retry(wait), true),
        Action::Stop(reason) => (ClientEvent::Closed(reason), true),
        // The driver handles `Connect` itself; an action added to the controller later is not
        // the application's business until this transport knows it.
        _ => return false,
    };
    queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push_back(event);
    stop
}

/// Ready once the stream has yielded everything queued. It registers no waker: the stream
/// polls the driver again as soon as its queue is empty, in the same `poll_next`.
fn drained(queue: &Queue) -> impl Future<Output = ()> + '_ {
    poll_fn(move |_| {
        if queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
        {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// A task of a connection's own.
type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A connection's own futures (hyper's HTTP/1.1 connection; HTTP/2's connection, dispatcher
/// and per-stream tasks), polled alongside whatever waits on the connection, and its
/// `SendRequest`, which must live as long. Nothing is spawned on the runtime: dropping this
/// drops the socket and every task at once.
struct Conn {
    /// Tasks not finished yet (`None` once they are, until the next sweep).
    tasks: Vec<Option<Task>>,
    /// Where hyper's HTTP/2 client puts the tasks it spawns.
    local: Option<Local>,
    /// The error the connection future ended with, if it did.
    failed: Arc<Mutex<Option<hyper::Error>>>,
    /// The `SendRequest`, never read: hyper ends a connection whose sender is gone.
    _sender: Box<dyn Any + Send>,
}

impl Conn {
    /// A connection whose future is `connection` (its error kept for [`Conn::failure`]).
    fn new<F>(connection: F, local: Option<Local>) -> Conn
    where
        F: Future<Output = Result<(), hyper::Error>> + Send + 'static,
    {
        let failed: Arc<Mutex<Option<hyper::Error>>> = Arc::default();
        let slot = failed.clone();
        let task: Task = Box::pin(async move {
            if let Err(error) = connection.await {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
            }
        });
        Conn {
            tasks: vec![Some(task)],
            local,
            failed,
            _sender: Box::new(()),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) {
        // A task polled may spawn another, which is polled in the next round.
        let mut polled = 0;
        loop {
            if let Some(local) = &self.local {
                self.tasks.extend(local.take().into_iter().map(Some));
            }
            if polled == self.tasks.len() {
                break;
            }
            let end = self.tasks.len();
            for slot in &mut self.tasks[polled..end] {
                if let Some(task) = slot
                    && task.as_mut().poll(cx).is_ready()
                {
                    *slot = None;
                }
            }
            polled = end;
        }
        self.tasks.retain(Option::is_some);
    }

    /// The error the connection ended with, after one more turn of its tasks (the one that
    /// notices may come after the one that ended the connection).
    async fn failure(&mut self) -> Option<hyper::Error> {
        poll_fn(|cx| {
            self.poll(cx);
            Poll::Ready(())
        })
        .await;
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// `future`, with the connection driven while it waits.
    async fn with<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = pin!(future);
        poll_fn(|cx| {
            self.poll(cx);
            future.as_mut().poll(cx)
        })
        .await
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The HTTP/2 tasks hold the executor, whose queue may hold tasks: drop them outside its
        // lock, until it stays empty, so that no cycle keeps the socket open.
        self.tasks.clear();
        if let Some(local) = &self.local {
            while !local.take().is_empty() {}
        }
    }
}

/// The executor hyper's HTTP/2 client spawns its tasks on: a queue the [`Conn`] empties into
/// its own tasks, polled in the stream's `poll_next` (so they end with the stream).
#[derive(Clone, Default)]
struct Local(Arc<Mutex<Vec<Task>>>);

impl Local {
    fn take(&self) -> Vec<Task> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<F: Future<Output = ()> + Send + 'static> hyper::rt::Executor<F> for Local {
    fn execute(&self, future: F) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(future));
    }
}

/// The runtime's timer as hyper's, for HTTP/2 keep-alive pings.
struct HyperTimer<R>(PhantomData<fn() -> R>);

impl<R: Runtime> hyper::rt::Timer for HyperTimer<R> {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(Mutex::new(Box::pin(R::timer(duration)))))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep(deadline.saturating_duration_since(Instant::now()))
    }
}

/// A runtime timer, `Sync` as hyper wants: polling reaches it through `get_mut`, which does
/// not lock.
struct HyperSleep<T>(Mutex<Pin<Box<T>>>);

impl<T: Future<Output = ()>> Future for HyperSleep<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let timer = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        timer.as_mut().poll(cx)
    }
}

impl<T: Future<Output = ()> + Send + 'static> hyper::rt::Sleep for HyperSleep<T> {}

/// Dials `url` (with TLS for `https`), sends the request over HTTP/2 if ALPN chose `h2` and
/// HTTP/1.1 otherwise, and waits for the response head.
async fn exchange<R: Runtime>(
    hop: &mut Hop<'_, R>,
    method: &Method,
    url: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> io::Result<(http::Response<Incoming>, Conn)> {
    let (host, port) = host_port(url);
    let stream = hop
        .runtime
        .connect(host, port)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("connect to {host}:{port}: {e}")))?;
    let mut request = http::Request::new(Full(Some(body.clone()).filter(|b| !b.is_empty())));
    *request.method_mut() = method.clone();
    *request.headers_mut() = headers.clone();
    if !is_https(url) {
        return http1(stream, url, request).await;
    }
    let config = hop.tls.config()?;
    let stream = tls::connect(config, host, stream).await?;
    if stream.get_ref().1.alpn_protocol() == Some(tls::ALPN_H2) {
        http2::<R, _>(stream, url, request, hop.http2_keep_alive).await
    } else {
        http1(stream, url, request).await
    }
}

/// The request over a new HTTP/1.1 connection: origin-form target and a `Host` header.
async fn http1<T>(
    io: T,
    url: &Uri,
    mut request: http::Request<Full>,
) -> io::Result<(http::Response<Incoming>, Conn)>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    *request.uri_mut() = target(url);
    if let Some(host) = host_header(url) {
        request.headers_mut().insert(header::HOST, host);
    }
    let (mut sender, connection) = hyper::client::conn::http1::handshake(FuturesIo::new(io))
        .await
        .map_err(hyper_error)?;
    let mut conn = Conn::new(connection, None);
    let response = conn
        .with(sender.send_request(request))
        .await
        .map_err(hyper_error)?;
    // The connection ends when both the `SendRequest` and the body are gone.
    conn._sender = Box::new(sender);
    Ok((response, conn))
}

/// The request over a new HTTP/2 connection: the absolute URL gives `:scheme`, `:authority`
/// and `:path` (no `Host` header).
async fn http2<R, T>(
    io: T,
    url: &Uri,
    mut request: http::Request<Full>,
    keep_alive: Option<Duration>,
) -> io::Result<(http::Response<Incoming>, Conn)>
where
    R: Runtime,
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    *request.uri_mut() = absolute(url)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("bad url {url}")))?;
    let local = Local::default();
    let mut builder = hyper::client::conn::http2::Builder::new(local.clone());
    if let Some(interval) = keep_alive {
        builder
            .timer(HyperTimer::<R>(PhantomData))
            .keep_alive_interval(interval)
            .keep_alive_timeout(interval);
    }
    let (mut sender, connection) = builder
        .handshake(FuturesIo::new(io))
        .await
        .map_err(hyper_error)?;
    let mut conn = Conn::new(connection, Some(local));
    let response = conn
        .with(sender.send_request(request))
        .await
        .map_err(hyper_error)?;
    conn._sender = Box::new(sender);
    Ok((response, conn))
}

/// A request body held whole.
struct Full(Option<Bytes>);

impl Body for Full {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// A hyper error as an I/O error of the kind [`error_kind`] finds, its message kept.
fn hyper_error(error: hyper::Error) -> io::Error {
    // hyper's own message is the outer kind only ("http2 error"): the causes say what.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    io::Error::new(error_kind(&error), message)
}

/// The I/O error kind inside a hyper error; `UnexpectedEof` for a message cut short,
/// `InvalidData` for one that does not parse.
fn error_kind(error: &hyper::Error) -> io::ErrorKind {
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return io.kind();
        }
        source = inner.source();
    }
    if error.is_incomplete_message() {
        io::ErrorKind::UnexpectedEof
    } else if error.is_timeout() {
        io::ErrorKind::TimedOut
    } else {
        io::ErrorKind::InvalidData
    }
}

/// A fresh random number for the controller's jitter: the standard library's randomly keyed
/// hasher (new keys per `RandomState`) over a counter.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

enum Either<A, B> {
    Left(A),
    Right(B),
}

/// The first of two futures to finish (`a` is polled first).
async fn race<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(out));
        }
        b.as_mut().poll(cx).map(Either::Right)
    })
    .await
}

/// `timer`, or never.
async fn optional<T: Future<Output = ()>>(timer: Option<T>) {
    match timer {
        Some(timer) => timer.await,
        None => std::future::pending().await,
    }
}
