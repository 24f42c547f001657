//! Keep-alive for an event byte stream, with a timer the runtime injects.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;

/// A runtime's timer: the one thing keep-alive needs from it.
///
/// Implemented for every `FnMut(Duration) -> impl Future<Output = ()>`, so
/// `|d| async_std::task::sleep(d)`-style closures work as they are. Such a timer has no clock,
/// so every event re-arms it; a timer that also implements [`now`](Timer::now) is armed once
/// per idle interval instead (with many streams, arming a runtime timer per event costs
/// reactor wake-ups and system calls).
pub trait Timer {
    /// The future that completes after the duration.
    type Sleep: Future<Output = ()>;
    /// A future that completes after `duration`.
    fn sleep(&mut self, duration: Duration) -> Self::Sleep;
    /// The time on a monotonic clock, from any fixed origin, if the timer has a clock.
    /// Default: `None`.
    fn now(&mut self) -> Option<Duration> {
        None
    }
}

impl<F, S> Timer for F
where
    F: FnMut(Duration) -> S,
    S: Future<Output = ()>,
{
    type Sleep = S;
    fn sleep(&mut self, duration: Duration) -> S {
        self(duration)
    }
}

/// Keep-alive settings: what goes out when a stream opens, and while it is idle.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let settings = ssewire_stream::KeepAlive {
///     retry: Some(Duration::from_secs(3)),
///     ..ssewire_stream::KeepAlive::default()
/// };
/// assert_eq!(settings.interval, Some(Duration::from_secs(15)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Idle time after which a comment frame (`:\n\n`) goes out; every event resets it. `None`
    /// turns keep-alive off. Default 15 s (the WHATWG authoring advice).
    pub interval: Option<Duration>,
    /// A `retry:` (reconnection time) to send in the opening frame.
    pub retry: Option<Duration>,
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive {
            interval: Some(Duration::from_secs(15)),
            retry: None,
        }
    }
}

impl KeepAlive {
    /// Wraps `stream` (items are whole encoded events): sends an opening frame at once (a comment,
    /// and `retry:` if set) so proxies see body bytes, then a keep-alive comment whenever the
    /// stream has been idle for `interval`. Keep-alives go only between items, never inside an
    /// event; the wrapped stream ends when `stream` ends.
    pub fn wrap<S, T>(self, stream: S, mut timer: T) -> KeepAliveStream<S, T>
    where
        S: Stream<Item = Bytes>,
        T: Timer,
    {
        let mut opening = BytesMut::with_capacity(32);
        opening.put_slice(b":\n");
        if let Some(retry) = self.retry {
            ssewire::encode(&ssewire::Event::default().with_retry(retry), &mut opening);
        } else {
            opening.put_u8(b'\n');
        }
        let last = timer.now();
        KeepAliveStream {
            inner: stream,
            timer,
            sleep: None,
            last,
            interval: self.interval,
            opening: Some(opening.freeze()),
            done: false,
        }
    }
}

/// The keep-alive comment frame.
pub const KEEP_ALIVE_FRAME: &[u8] = b":\n\n";

pin_project_lite::pin_project! {
    /// A byte stream with an opening frame and idle keep-alives. See [`KeepAlive::wrap`].
    pub struct KeepAliveStream<S, T: Timer> {
        #[pin]
        inner: S,
        timer: T,
        #[pin]
        sleep: Option<T::Sleep>,
        // When the stream last sent something, if the timer has a clock.
        last: Option<Duration>,
        interval: Option<Duration>,
        opening: Option<Bytes>,
        done: bool,
    }
}

impl<S, T> Stream for KeepAliveStream<S, T>
where
    S: Stream<Item = Bytes>,
    T: Timer,
{
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let mut this = self.project();
        if let Some(opening) = this.opening.take() {
            return Poll::Ready(Some(opening));
        }
        if *this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_next(cx) {
            Poll::Ready(Some(frame)) => {
                // Every event restarts the idle time: noted on the clock (the armed sleep stays
                // and is extended when it fires), or without one by re-arming.
                match this.timer.now() {
                    Some(now) => *this.last = Some(now),
                    None => this.sleep.set(None),
                }
                Poll::Ready(Some(frame))
            }
            Poll::Ready(None) => {
                *this.done = true;
                this.sleep.set(None);
                Poll::Ready(None)
            }
            Poll::Pending => {
                let Some(interval) = *this.interval else {
                    return Poll::Pending;
                };
                loop {
                    if this.sleep.is_none() {
                        // Until `interval` after the last frame (on the clock), or a whole one.
                        let wait = match (*this.last, this.timer.now()) {
                            (Some(last), Some(now)) => {
                                interval.saturating_sub(now.saturating_sub(last))
                            }
                            _ => interval,
                        };
                        this.sleep.set(Some(this.timer.sleep(wait)));
                    }
                    match this.sleep.as_mut().as_pin_mut().map(|sleep| sleep.poll(cx)) {
                        Some(Poll::Ready(())) => {
                            this.sleep.set(None);
                            let now = this.timer.now();
                            if let (Some(last), Some(now)) = (*this.last, now)
                                && now.saturating_sub(last) < interval
                            {
                                // Events went out meanwhile: wait for the rest of the interval.
                                continue;
                            }
                            *this.last = now;
                            return Poll::Ready(Some(Bytes::from_static(KEEP_ALIVE_FRAME)));
                        }
                        _ => return Poll::Pending,
                    }
                }
            }
        }
    }
}

impl<S, T: Timer> core::fmt::Debug for KeepAliveStream<S, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeepAliveStream")
            .field("interval", &self.interval)
            .field("idle_timer_armed", &self.sleep.is_some())
            .field("done", &self.done)
            .finish()
    }
}
