//! The response body the server writes: the handler's bytes, or its SSE stream under keep-alive,
//! a fairness budget and the server's shutdown.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::convert::Infallible;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::time::Instant;

use bytes::Bytes;
use ssewire_stream::direct::DirectHandle;
use ssewire_stream::{SseBody, Timer};

use crate::response::Kind;
use crate::server::Shutdown;
use crate::stats::OpenStream;
use crate::{Config, Response, Runtime};

/// The response body, written by the lean HTTP/1.1 path or handed to hyper.
pub(crate) enum Body {
    Full(Option<Bytes>),
    /// Ends (cleanly, with HTTP/1.1's last chunk) once the server's grace period is over.
    Sse {
        body: Pin<Box<dyn http_body::Body<Data = Bytes, Error = Infallible> + Send>>,
        /// The server's state, the stream counted open in its stats until dropped.
        shutdown: OpenStream,
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

impl Body {
    /// Whether this is a hub subscription that the hub has ended (its slow-subscriber policy),
    /// asked once the stream has ended; not when the server's shutdown ended it.
    pub(crate) fn ended_by_hub(&self) -> bool {
        match self {
            Body::Sse {
                direct: Some(handle),
                shutdown,
                ..
            } => !shutdown.ended.load(Ordering::SeqCst) && handle.disconnected(Waker::noop()),
            _ => false,
        }
    }
}

pub(crate) fn into_http<R: Runtime>(
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
                shutdown: OpenStream::new(shutdown, direct.is_some()),
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
    origin: Instant,
    /// A hub subscription and the keep-alive interval: what a fan-out lane writes counts as
    /// activity too.
    direct: Option<(DirectHandle, Duration)>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> KeepAliveClock<R> {
    fn new(direct: Option<(DirectHandle, Duration)>) -> Self {
        KeepAliveClock {
            origin: Instant::now(),
            direct,
            runtime: PhantomData,
        }
    }
}

impl<R: Runtime> Timer for KeepAliveClock<R> {
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
