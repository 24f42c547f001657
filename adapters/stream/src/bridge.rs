//! The producer bridge : `stream(|send| async move { .. })` → a byte stream.
//!
//! The stream owns the producer future and polls it inside its own `poll_next`, through a
//! single-slot hand-off: no spawn, so no runtime; the producer is at most one event ahead of the
//! consumer; dropping the stream drops the producer at its current `.await`.

use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use futures_core::Stream;

use ssewire::{Error, IntoEvent};

/// Why a [`Sender::send`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The stream was dropped: the client is gone (or the server shut down). Stop producing.
    Closed,
    /// The value could not become an event (a JSON conversion failed); nothing was sent and the
    /// stream goes on.
    Invalid(Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the event stream is closed"),
            SendError::Invalid(e) => write!(f, "invalid event: {e}"),
        }
    }
}

/// An event that could not be built (`Event::new(..).with_event(..)?` in a producer returning
/// `Result<(), SendError>`).
impl From<Error> for SendError {
    fn from(e: Error) -> Self {
        SendError::Invalid(e)
    }
}

impl core::error::Error for SendError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SendError::Invalid(e) => Some(e),
            SendError::Closed => None,
        }
    }
}

/// What a producer future may return: `()`, or a `Result` (so `send(..).await?` works). An error
/// ends the stream like a normal return does.
pub trait ProducerOutput: sealed::Sealed {}
impl ProducerOutput for () {}
impl<E> ProducerOutput for Result<(), E> {}
mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl<E> Sealed for Result<(), E> {}
}

// Measured (benches/bridge.rs, 1000 events, same task): 107–160 µs text, 130–139 µs JSON; async-channel bounded(1) 272–384 / 298–380 µs; event-listener 278–348 / 264–383 µs.
#[derive(Default)]
struct State {
    /// The one encoded event waiting for the consumer.
    slot: Option<Bytes>,
    /// The stream was dropped.
    closed: bool,
    /// Senders alive (the stream waits for them after the producer returns).
    senders: usize,
    /// The consumer waiting for an event from a sender moved elsewhere.
    consumer: Option<Waker>,
    /// Senders waiting for the slot to empty, or for `closed`.
    waiting: alloc::vec::Vec<Waker>,
}

struct Shared(Mutex<State>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn wake_all(wakers: &mut alloc::vec::Vec<Waker>) {
    for waker in wakers.drain(..) {
        waker.wake();
    }
}

fn register(wakers: &mut alloc::vec::Vec<Waker>, cx: &Context<'_>) {
    if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
        wakers.push(cx.waker().clone());
    }
}

/// The `send` handle a producer receives: pushes events into the stream.
///
/// It may be moved into a task the user spawns, and cloned; the stream ends when the producer has
/// returned and every `Sender` is dropped.
pub struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Sends one value (anything [`IntoEvent`]: text, an [`Event`](ssewire::Event), JSON with the
    /// `json` feature). Waits while the previous event has not been taken by the consumer, so the
    /// producer is never more than one event ahead of the socket.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once the stream is gone; [`SendError::Invalid`] if the value cannot
    /// become an event.
    pub async fn send(&self, value: impl IntoEvent) -> Result<(), SendError> {
        let frame = value.to_frame().map_err(SendError::Invalid)?;
        self.send_bytes(frame).await
    }

    /// Sends bytes that are already a complete SSE frame (one or more encoded events, or a
    /// comment), as [`encode`](ssewire::encode) wrote them.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once the stream is gone.
    pub async fn send_bytes(&self, frame: Bytes) -> Result<(), SendError> {
        let mut frame = Some(frame);
        core::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.closed {
                return Poll::Ready(Err(SendError::Closed));
            }
            if state.slot.is_some() {
                register(&mut state.waiting, cx);
                return Poll::Pending;
            }
            state.slot = frame.take();
            if let Some(waker) = state.consumer.take() {
                waker.wake();
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// Resolves when the stream is gone (the client disconnected or the server shut down), even
    /// if the producer never sends again.
    pub async fn closed(&self) {
        core::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.closed {
                return Poll::Ready(());
            }
            register(&mut state.waiting, cx);
            Poll::Pending
        })
        .await
    }

    /// Whether the stream is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0
            && let Some(waker) = state.consumer.take()
        {
            waker.wake();
        }
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// The byte stream of a producer: each item is one encoded event. See [`stream`].
    pub struct EventStream<F> {
        #[pin]
        producer: Option<F>,
        shared: Arc<Shared>,
    }

    impl<F> PinnedDrop for EventStream<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut state = this.shared.lock();
            state.closed = true;
            state.slot = None;
            wake_all(&mut state.waiting);
        }
    }
}

/// Runs a producer in the style of `Nex.stream(fn send -> ... end)`: `producer` receives a
/// [`Sender`] and pushes values; the returned stream yields each as encoded SSE bytes.
///
/// The producer runs inside the stream's `poll_next` (no spawn, no runtime needed), at most one
/// event ahead of the consumer. Dropping the stream drops the producer. The stream is `Send` and
/// `Sync` when the producer future is `Send`.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use futures_lite::StreamExt;
///
/// let mut events = Box::pin(ssewire_stream::stream(|send| async move {
///     send.send("hello").await?;
///     send.send(ssewire::Event::new("payload").with_event("my_event")?).await?;
///     Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// }));
/// assert_eq!(events.next().await.unwrap(), "data: hello\n\n");
/// assert_eq!(events.next().await.unwrap(), "event: my_event\ndata: payload\n\n");
/// assert!(events.next().await.is_none());
/// # });
/// ```
pub fn stream<P, F>(producer: P) -> EventStream<F>
where
    P: FnOnce(Sender) -> F,
    F: Future,
    F::Output: ProducerOutput,
{
    let shared = Arc::new(Shared(Mutex::new(State {
        senders: 1,
        ..State::default()
    })));
    let sender = Sender {
        shared: shared.clone(),
    };
    EventStream {
        producer: Some(producer(sender)),
        shared,
    }
}

impl<F> Stream for EventStream<F>
where
    F: Future,
    F::Output: ProducerOutput,
{
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let mut this = self.project();
        if let Some(frame) = take_slot(this.shared) {
            return Poll::Ready(Some(frame));
        }
        if let Some(producer) = this.producer.as_mut().as_pin_mut()
            && producer.poll(cx).is_ready()
        {
            this.producer.set(None);
        }
        // One lock decides: the frame the producer just sent, the end, or waiting.
        let mut state = this.shared.lock();
        if let Some(frame) = state.slot.take() {
            wake_all(&mut state.waiting);
            return Poll::Ready(Some(frame));
        }
        if this.producer.is_none() && state.senders == 0 {
            return Poll::Ready(None);
        }
        state.consumer = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn take_slot(shared: &Shared) -> Option<Bytes> {
    let mut state = shared.lock();
    let frame = state.slot.take()?;
    // A sender moved elsewhere may be waiting for the slot.
    wake_all(&mut state.waiting);
    Some(frame)
}

impl<F> fmt::Debug for EventStream<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("producer_done", &self.producer.is_none())
            .finish()
    }
}
