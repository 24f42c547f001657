//! What a handler answers: an SSE stream or an ordinary response.

use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use ssewire_stream::direct::DirectHandle;
use ssewire_stream::{KeepAlive, ProducerOutput, Sender, Subscription};

pub(crate) type ByteStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

pub(crate) enum Kind {
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
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) kind: Kind,
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
    /// An SSE response running `producer` (see [`ssewire_stream::stream`]): `200 OK`, the SSE
    /// headers, an opening frame at once and keep-alives while idle. When the client goes away the
    /// producer is dropped at its current `.await` (and `send` fails for senders moved elsewhere).
    pub fn sse<P, F>(producer: P) -> Response
    where
        P: FnOnce(Sender) -> F,
        F: Future + Send + 'static,
        F::Output: ProducerOutput,
    {
        Response::sse_stream(ssewire_stream::stream(producer))
    }

    /// An SSE response streaming already-encoded frames (each item whole events), such as a
    /// [`Hub`](ssewire_stream::Hub) subscription.
    ///
    /// A [`Subscription`] given as it is (not wrapped in another stream) and served over
    /// HTTP/1.1 is written by the server's fan-out tasks while it is idle (one `send` per event,
    /// no wake-up of the connection's task), on runtimes whose sockets allow it
    /// ([`Runtime::try_clone`](crate::Runtime::try_clone); both adapters' do).
    pub fn sse_stream(stream: impl Stream<Item = Bytes> + Send + 'static) -> Response {
        let mut headers = HeaderMap::new();
        ssewire_stream::sse_headers(&mut headers);
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

    /// Sets the keep-alive of an SSE response (otherwise the server's [`Config::keep_alive`](crate::Config::keep_alive)).
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
