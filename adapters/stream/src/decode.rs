//! The client side: a stream of byte chunks (a response body) decoded into events.

use core::convert::Infallible;
use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;

use alloc::string::String;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use ssewire::{Decoder, Error, Event, Limits};

/// One item of the stream a [`DecodeStream`] reads: a chunk of bytes, or a transport's `Result`
/// of one.
///
/// Implemented for plain chunks ([`Bytes`], [`BytesMut`], `Vec<u8>`, `String`, `&[u8]`, `&str`,
/// and an `http_body::Frame<Bytes>`, whose trailers count as no bytes), whose
/// [`Error`](IntoChunk::Error) is [`Infallible`], and for a `Result<chunk, E>` of any of them,
/// whose error is the transport's `E`: a reqwest `bytes_stream()` (`Result<Bytes, _>`), or a
/// hyper `Incoming` body as `http_body_util::BodyStream` (`Result<Frame<Bytes>, hyper::Error>`).
///
/// # Examples
///
/// ```
/// use ssewire_stream::IntoChunk;
///
/// let chunk = b"data: x\n\n".to_vec().into_chunk();
/// assert_eq!(chunk.as_deref(), Ok(&b"data: x\n\n"[..]));
/// let failed: Result<&str, &str> = Err("reset");
/// assert_eq!(failed.into_chunk().err(), Some("reset"));
/// ```
pub trait IntoChunk {
    /// The bytes of a chunk.
    type Bytes: AsRef<[u8]>;
    /// The transport's error; [`Infallible`] for plain chunks.
    type Error;
    /// The chunk's bytes, or the transport's error.
    ///
    /// # Errors
    ///
    /// The transport's error, as it came.
    fn into_chunk(self) -> Result<Self::Bytes, Self::Error>;
}

/// Plain chunks: their own bytes, never an error.
macro_rules! plain_chunks {
    ($($ty:ty),*) => {$(
        impl IntoChunk for $ty {
            type Bytes = Self;
            type Error = Infallible;
            fn into_chunk(self) -> Result<Self, Infallible> {
                Ok(self)
            }
        }
    )*};
}

plain_chunks!(Bytes, BytesMut, Vec<u8>, String);

impl<'a> IntoChunk for &'a [u8] {
    type Bytes = &'a [u8];
    type Error = Infallible;
    fn into_chunk(self) -> Result<&'a [u8], Infallible> {
        Ok(self)
    }
}

impl<'a> IntoChunk for &'a str {
    type Bytes = &'a str;
    type Error = Infallible;
    fn into_chunk(self) -> Result<&'a str, Infallible> {
        Ok(self)
    }
}

impl IntoChunk for http_body::Frame<Bytes> {
    type Bytes = Bytes;
    type Error = Infallible;
    fn into_chunk(self) -> Result<Bytes, Infallible> {
        // Trailers carry no body bytes.
        Ok(self.into_data().unwrap_or_default())
    }
}

impl<B, E> IntoChunk for Result<B, E>
where
    B: IntoChunk<Error = Infallible>,
{
    type Bytes = B::Bytes;
    type Error = E;
    fn into_chunk(self) -> Result<B::Bytes, E> {
        self.map(|chunk| match chunk.into_chunk() {
            Ok(bytes) => bytes,
            Err(never) => match never {},
        })
    }
}

/// An error of a [`DecodeStream`]: the transport's, or the codec's.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use futures_lite::{StreamExt, stream};
/// use ssewire::{Error, Limits};
/// use ssewire_stream::{DecodeError, DecodeStream};
///
/// let limits = Limits { max_event: 8, ..Limits::default() };
/// let body = stream::iter(["data: far too long\n\ndata: ok\n\n"]);
/// let mut events = DecodeStream::with_limits(body, limits);
/// let error = events.next().await.unwrap().unwrap_err();
/// assert!(matches!(error, DecodeError::Decode(Error::EventTooLarge { limit: 8 })));
/// assert_eq!(events.next().await.unwrap()?.data(), "ok"); // decoding goes on
/// # Ok::<(), DecodeError<std::convert::Infallible>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError<E> {
    /// The transport failed (the inner stream yielded an `Err`). The [`DecodeStream`] ends after
    /// it: the bytes after a failure are not known to continue the same stream.
    Transport(E),
    /// An event went over the decoder's [`Limits`] ([`Error::LineTooLong`] or
    /// [`Error::EventTooLarge`], under [`Overflow::Error`](ssewire::Overflow::Error)). The event
    /// was dropped; the stream goes on with the next one.
    Decode(Error),
}

impl<E: fmt::Display> fmt::Display for DecodeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Transport(e) => write!(f, "transport error: {e}"),
            DecodeError::Decode(e) => write!(f, "invalid event stream: {e}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for DecodeError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            DecodeError::Transport(e) => Some(e),
            DecodeError::Decode(e) => Some(e),
        }
    }
}

/// How a [`DecodeStream`] ended ([`DecodeStream::ended`]).
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use futures_lite::{StreamExt, stream};
/// use ssewire_stream::{DecodeStream, Ended};
///
/// let mut events = DecodeStream::new(stream::iter(["data: whole\n\n", "data: cut"]));
/// assert_eq!(events.ended(), None); // still going
/// while events.next().await.is_some() {}
/// assert_eq!(events.ended(), Some(Ended::Truncated));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The bytes ended between events: nothing was dropped.
    Clean,
    /// The bytes ended inside an event: a partial line, or field lines (`data`, `event`, `id`)
    /// that no blank line ended. The spec drops that event (and its `id`): a client reconnects
    /// and gets it again after the last event ID.
    Truncated,
}

pin_project_lite::pin_project! {
    /// A stream of byte chunks decoded into [`Event`]s, as a browser's `EventSource` would
    /// dispatch them: what an SSE client reads a response body with.
    ///
    /// Its items are `Result<Event, DecodeError<E>>`, where `E` is the transport's error
    /// ([`Infallible`] for a stream of plain chunks; see [`IntoChunk`]). It decodes with the
    /// codec's [`Decoder::decode`], so the events are the codec's, in any chunking: `id`
    /// persists (an event's [`id`](Event::id) is the last event ID at dispatch), `retry` counts
    /// only if all digits, comments are skipped, invalid UTF-8 becomes U+FFFD.
    ///
    /// - Every event of a chunk is returned before the inner stream is polled again, so an
    ///   event is never held back waiting for more bytes.
    /// - Memory is bounded by the decoder's [`Limits`]: beyond one chunk, only a partial line is
    ///   kept. A limit hit is a [`DecodeError::Decode`]; that event is dropped and decoding goes
    ///   on (or, under [`Overflow::SkipEvent`](ssewire::Overflow::SkipEvent), it is dropped
    ///   silently).
    /// - A transport error is returned as [`DecodeError::Transport`] and ends the stream (the
    ///   inner stream is not polled again).
    /// - At the end, an event without its blank line is dropped (the spec's rule), and
    ///   [`ended`](DecodeStream::ended) says whether that happened; [`last_event_id`] and
    ///   [`retry`] are what a reconnection needs.
    ///
    /// [`last_event_id`]: DecodeStream::last_event_id
    /// [`retry`]: DecodeStream::retry
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use std::time::Duration;
    ///
    /// use futures_lite::{StreamExt, stream};
    /// use ssewire_stream::{DecodeStream, Ended};
    ///
    /// // A response body as it arrives, in any chunking (a reqwest `bytes_stream()` is such a
    /// // stream of `Result<Bytes, reqwest::Error>`).
    /// let body = stream::iter([
    ///     Ok::<_, std::io::Error>("retry: 3000\nid: 1\nevent: greet\ndata: hel"),
    ///     Ok("lo\n\n: keep-alive\n\ndata: second\n\ndata: cut"),
    /// ]);
    /// let mut events = DecodeStream::new(body);
    /// let event = events.next().await.unwrap()?;
    /// assert_eq!((event.event_type(), event.data(), event.id()), ("greet", "hello", Some("1")));
    /// let event = events.next().await.unwrap()?;
    /// assert_eq!((event.event_type(), event.data(), event.id()), ("message", "second", Some("1")));
    /// assert!(events.next().await.is_none());
    ///
    /// // "data: cut" had no blank line: dropped, and the end says so.
    /// assert_eq!(events.ended(), Some(Ended::Truncated));
    /// // What a client reconnects with.
    /// assert_eq!(events.last_event_id(), "1");
    /// assert_eq!(events.retry(), Some(Duration::from_secs(3)));
    /// # Ok::<(), ssewire_stream::DecodeError<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub struct DecodeStream<S> {
        #[pin]
        inner: S,
        decoder: Decoder,
        // Bytes received and not yet decoded. Between chunks it holds at most one partial line
        // (no more than `Limits::max_line` bytes); `decode` consumes every complete line.
        buf: BytesMut,
        // `Some` once the stream has ended; the inner stream is not polled after that.
        ended: Option<Ended>,
    }
}

impl<S> DecodeStream<S>
where
    S: Stream,
    S::Item: IntoChunk,
{
    /// Decodes `stream` with the default [`Limits`] (1 MiB per line, 8 MiB of data per event).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::{StreamExt, stream};
    ///
    /// let body = stream::iter([bytes::Bytes::from("data: one\n\ndata: two\n\n")]);
    /// let events: Vec<_> = ssewire_stream::DecodeStream::new(body)
    ///     .map(|event| event.map(|event| event.data().to_owned()))
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(events, ["one", "two"]);
    /// # Ok::<(), ssewire_stream::DecodeError<std::convert::Infallible>>(())
    /// # }).unwrap();
    /// ```
    pub fn new(stream: S) -> Self {
        DecodeStream::with_limits(stream, Limits::default())
    }

    /// Decodes `stream` with the given [`Limits`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::stream;
    /// use ssewire::{Limits, Overflow};
    ///
    /// let limits = Limits { max_event: 64 * 1024, overflow: Overflow::SkipEvent, ..Limits::default() };
    /// let events = ssewire_stream::DecodeStream::with_limits(stream::iter(["data: x\n\n"]), limits);
    /// # drop(events);
    /// ```
    pub fn with_limits(stream: S, limits: Limits) -> Self {
        DecodeStream {
            inner: stream,
            decoder: Decoder::with_limits(limits),
            buf: BytesMut::new(),
            ended: None,
        }
    }
}

impl<S> DecodeStream<S> {
    /// The last event ID: the `id` in force at the last blank line, `""` if none. A reconnecting
    /// client sends it as `Last-Event-ID` when it is not empty. The `id` of an event dropped at
    /// the end (or for a limit) does not count.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::{StreamExt, stream};
    ///
    /// let mut events = ssewire_stream::DecodeStream::new(stream::iter(["id: 7\n\n", "id: 8\n"]));
    /// assert_eq!(events.last_event_id(), "");
    /// assert!(events.next().await.is_none()); // an id-only block dispatches no event
    /// assert_eq!(events.last_event_id(), "7"); // and "id: 8" had no blank line
    /// # });
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.decoder.last_event_id()
    }

    /// The last valid reconnection time (`retry` field) the stream set, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use std::time::Duration;
    /// use futures_lite::{StreamExt, stream};
    ///
    /// let mut events = ssewire_stream::DecodeStream::new(stream::iter(["retry: 2500\nretry: 1s\n"]));
    /// assert!(events.next().await.is_none());
    /// assert_eq!(events.retry(), Some(Duration::from_millis(2500))); // "1s" is not all digits
    /// # });
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.decoder.retry()
    }

    /// How the stream ended, once it has returned `None` (or a transport error): whether the
    /// bytes received ended between events or inside one. `None` while it is going.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::{StreamExt, stream};
    /// use ssewire_stream::{DecodeStream, Ended};
    ///
    /// let mut events = DecodeStream::new(stream::iter(["data: whole\n\n"]));
    /// while events.next().await.is_some() {}
    /// assert_eq!(events.ended(), Some(Ended::Clean));
    /// # });
    /// ```
    pub fn ended(&self) -> Option<Ended> {
        self.ended
    }
}

impl<S> Stream for DecodeStream<S>
where
    S: Stream,
    S::Item: IntoChunk,
{
    type Item = Result<Event, DecodeError<<S::Item as IntoChunk>::Error>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if this.ended.is_some() {
            return Poll::Ready(None);
        }
        loop {
            // Every event already received goes out before the inner stream is polled again.
            match this.decoder.decode(this.buf) {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Some(Err(DecodeError::Decode(e)))),
            }
            let Some(chunk) = ready!(this.inner.as_mut().poll_next(cx)) else {
                *this.ended = Some(end(this.decoder, this.buf));
                return Poll::Ready(None);
            };
            match chunk.into_chunk() {
                Ok(bytes) => this.buf.extend_from_slice(bytes.as_ref()),
                Err(e) => {
                    *this.ended = Some(end(this.decoder, this.buf));
                    return Poll::Ready(Some(Err(DecodeError::Transport(e))));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended.is_some() {
            (0, Some(0))
        } else {
            (0, None)
        }
    }
}

impl<S> FusedStream for DecodeStream<S>
where
    S: Stream,
    S::Item: IntoChunk,
{
    fn is_terminated(&self) -> bool {
        self.ended.is_some()
    }
}

impl<S> fmt::Debug for DecodeStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeStream")
            .field("last_event_id", &self.decoder.last_event_id())
            .field("retry", &self.decoder.retry())
            .field(
                "buffered",
                &self.buf.len().saturating_add(self.decoder.buffered()),
            )
            .field("ended", &self.ended)
            .finish()
    }
}

/// Ends the stream: tells whether it ended inside an event, then lets the decoder drop that
/// event. `decode` has returned `Ok(None)`, so `buf` holds no complete event.
fn end(decoder: &mut Decoder, buf: &mut BytesMut) -> Ended {
    // A partial line, or field lines (with or without data) that no blank line has ended.
    let truncated = !buf.is_empty() || decoder.in_event();
    let ended = if truncated {
        Ended::Truncated
    } else {
        Ended::Clean
    };
    decoder.finish(buf);
    ended
}
