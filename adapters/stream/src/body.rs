//! An `http_body::Body` for event streams , usable from hyper or axum.

use core::convert::Infallible;
use core::pin::Pin;
use core::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::header::{self, HeaderMap, HeaderValue};

pin_project_lite::pin_project! {
    /// A response body that streams SSE bytes: every item of the stream is sent as one data frame
    /// (flushed as it is written). The body ends when the stream ends.
    ///
    /// # Examples
    ///
    /// With hyper (or axum, whose handlers can return an `http::Response<B>` for any such body):
    ///
    /// ```
    /// use std::time::Duration;
    /// use ssewire_stream::{KeepAlive, SseBody};
    ///
    /// let events = ssewire_stream::stream(|send| async move {
    ///     let _ = send.send("hello").await;
    /// });
    /// // Any runtime's timer: here a stand-in that never fires.
    /// let timer = |_: Duration| std::future::pending::<()>();
    /// let response = SseBody::new(KeepAlive::default().wrap(events, timer)).into_response();
    /// assert_eq!(response.headers()["content-type"], "text/event-stream");
    /// ```
    #[derive(Debug)]
    pub struct SseBody<S> {
        #[pin]
        stream: S,
    }
}

impl<S> SseBody<S>
where
    S: Stream<Item = Bytes>,
{
    /// A body streaming `stream`'s items.
    pub fn new(stream: S) -> Self {
        SseBody { stream }
    }

    /// A `200 OK` response with this body and the SSE headers (see [`sse_headers`]).
    pub fn into_response(self) -> http::Response<Self> {
        let mut response = http::Response::new(self);
        sse_headers(response.headers_mut());
        response
    }
}

impl<S> http_body::Body for SseBody<S>
where
    S: Stream<Item = Bytes>,
{
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.project()
            .stream
            .poll_next(cx)
            .map(|item| item.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }
}

/// Sets the headers of an SSE response:
///
/// - `Content-Type: text/event-stream`;
/// - `Cache-Control: no-cache, no-transform` (no caching; no compression or rewriting by proxies);
/// - `X-Accel-Buffering: no` (nginx does not buffer the stream);
/// - never `Connection`, which HTTP/2 forbids.
pub fn sse_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
}
