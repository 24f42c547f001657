//! What goes in ([`Input`]) and what comes out ([`Action`]) of the controller.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use ssewire::Event;

/// What happened on the transport: one per call to
/// [`Controller::handle`](crate::Controller::handle).
///
/// A connection, started by an [`Action::Connect`], reports either [`Error`](Input::Error) (it
/// could not be made) or one [`Response`](Input::Response), then any number of
/// [`Body`](Input::Body) chunks and one [`End`](Input::End) or [`Error`](Input::Error). The
/// controller ignores inputs that do not fit where it is (a chunk while it waits to
/// reconnect, anything after it stopped).
///
/// # Examples
///
/// ```
/// use http::{HeaderMap, StatusCode};
/// use ssewire_client::Input;
///
/// let headers = HeaderMap::new();
/// let inputs = [
///     Input::Response { status: StatusCode::OK, headers: &headers },
///     Input::Body(b"data: hi\n\n"),
///     Input::Error(std::io::ErrorKind::ConnectionReset),
/// ];
/// # drop(inputs);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Input<'a> {
    /// The response head (after any redirects, which the transport follows).
    Response {
        /// The status.
        status: StatusCode,
        /// The response headers (`Content-Type`, `Retry-After`, …).
        headers: &'a HeaderMap,
    },
    /// A chunk of the response body, of any size and split anywhere.
    Body(&'a [u8]),
    /// The response body ended: the server closed the stream.
    End,
    /// The transport failed: the connection could not be made (refused, DNS, TLS, a connect or
    /// response-head timeout of the transport's own), or reading the body failed.
    Error(io::ErrorKind),
    /// The time [`Controller::next_deadline`](crate::Controller::next_deadline) named has come
    /// (a fire before it is ignored).
    TimerFired,
}

/// What the transport should do next: drained with
/// [`Controller::poll_action`](crate::Controller::poll_action) after each input.
///
/// # Examples
///
/// ```
/// use ssewire_client::{Action, Config, Controller};
///
/// let mut sse = Controller::new(Config::default());
/// while let Some(action) = sse.poll_action() {
///     match action {
///         Action::Connect(connect) => println!("GET with {:?}", connect.headers),
///         Action::Open => println!("open"),
///         Action::Deliver(event) => println!("{}: {}", event.event_type(), event.data()),
///         Action::Dropped(error) => println!("dropped an event: {error}"),
///         Action::Wait(wait) => println!("reconnecting in {:?}: {:?}", wait.delay, wait.reason),
///         Action::Stop(reason) => println!("done: {reason:?}"),
///         _ => {}
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Make a request with these headers added to the request's own. The first action of every
    /// controller, and the one after each [`Wait`](Action::Wait) has elapsed.
    Connect(Connect),
    /// The response opened the stream (status 200, `text/event-stream`): the `EventSource`
    /// `open` event. Feed the body as [`Input::Body`].
    Open,
    /// An event, as `EventSource` dispatches it: it has data, its [`Event::id`] is the last
    /// event ID at dispatch (absent when empty) and [`Event::event`] is absent for the default
    /// type `message`.
    Deliver(Event),
    /// An event went over the decoder's [`Limits`](ssewire::Limits) and was dropped; the stream
    /// goes on.
    Dropped(ssewire::Error),
    /// Close the connection (if one is open) and feed [`Input::TimerFired`] once
    /// [`Wait::delay`] has passed (that is, at
    /// [`Controller::next_deadline`](crate::Controller::next_deadline)); a
    /// [`Connect`](Action::Connect) follows.
    Wait(Wait),
    /// Close the connection (if one is open); the controller is done and ignores every input
    /// from now on.
    Stop(StopReason),
}

/// The request to make: [`Action::Connect`].
///
/// The controller knows no URL and no method: those, credentials and any headers of the
/// application's own are the transport's. A transport that must change them between
/// attempts (a fresh token, a cursor in the query string) does so when it sees a `Connect`,
/// from [`attempt`](Connect::attempt) and [`reason`](Connect::reason).
///
/// # Examples
///
/// ```
/// use ssewire_client::{Action, Config, Controller};
///
/// let mut sse = Controller::new(Config::default());
/// let Some(Action::Connect(connect)) = sse.poll_action() else { panic!() };
/// assert_eq!(connect.attempt, 0);
/// assert_eq!(connect.headers[http::header::CACHE_CONTROL], "no-cache");
/// ```
#[derive(Debug, Clone)]
pub struct Connect {
    /// 0 for the first connection; for a reconnection, its number in the run of reconnections
    /// since the last healthy connection (1 after a healthy one, then 2, 3, … while they fail).
    pub attempt: u32,
    /// Why this is a reconnection; `None` for the first connection.
    pub reason: Option<Reason>,
    /// What the spec's request carries: `Accept: text/event-stream`, `Cache-Control:
    /// no-cache` and, when the last event ID is not empty, `Last-Event-ID`. (An ID with a
    /// control character, which cannot be a header value, is not sent.)
    pub headers: HeaderMap,
}

/// How long to wait before reconnecting: [`Action::Wait`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ssewire_client::{Action, Config, Controller, Input, Jitter};
///
/// let mut sse = Controller::new(Config { jitter: Jitter::None, ..Config::default() });
/// sse.poll_action(); // Connect
/// sse.handle(Duration::from_secs(1), 0, Input::Error(std::io::ErrorKind::TimedOut));
/// let Some(Action::Wait(wait)) = sse.poll_action() else { panic!() };
/// assert_eq!((wait.delay, wait.attempt), (Duration::from_secs(3), 1));
/// assert_eq!(sse.next_deadline(), Some(Duration::from_secs(4)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The wait: within [`Config::max_backoff`](crate::Config::max_backoff), or the
    /// `Retry-After` wait within [`Config::max_retry_after`](crate::Config::max_retry_after).
    pub delay: Duration,
    /// Why the connection is being reestablished.
    pub reason: Reason,
    /// The [`Connect::attempt`] of the connection that follows.
    pub attempt: u32,
}

/// Why the controller reconnects (or, in [`StopReason::Exhausted`], why it last failed).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use http::{HeaderMap, HeaderValue, StatusCode, header};
/// use ssewire_client::{Action, Config, Controller, Input, Reason};
///
/// let mut sse = Controller::new(Config { retry_status: true, ..Config::default() });
/// sse.poll_action(); // Connect
/// let mut headers = HeaderMap::new();
/// headers.insert(header::RETRY_AFTER, HeaderValue::from_static("20"));
/// let status = StatusCode::SERVICE_UNAVAILABLE;
/// sse.handle(Duration::ZERO, 0, Input::Response { status, headers: &headers });
/// let Some(Action::Wait(wait)) = sse.poll_action() else { panic!() };
/// let retry_after = Some(Duration::from_secs(20));
/// assert_eq!(wait.reason, Reason::Status { status, retry_after });
/// assert_eq!(wait.delay, Duration::from_secs(20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The connection ended, or never came up.
    Ended(Ended),
    /// A status retried by [`Config::retry_status`](crate::Config::retry_status).
    Status {
        /// The status.
        status: StatusCode,
        /// The `Retry-After` wait the response asked for (delta-seconds), before the
        /// [`Config::max_retry_after`](crate::Config::max_retry_after) bound.
        retry_after: Option<Duration>,
    },
}

/// How a connection ended.
///
/// # Examples
///
/// ```
/// use ssewire_client::{Action, Ended, Reason};
///
/// fn describe(action: &Action) -> &'static str {
///     match action {
///         Action::Wait(wait) => match wait.reason {
///             Reason::Ended(Ended::Clean) => "the server closed the stream",
///             Reason::Ended(Ended::Truncated) => "cut off inside an event",
///             Reason::Ended(Ended::Error(_)) => "network error",
///             Reason::Ended(Ended::IdleTimeout) => "silent for too long",
///             _ => "other",
///         },
///         _ => "not a wait",
///     }
/// }
/// # drop(describe);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// The body ended between events ([`Input::End`] with no event left unfinished). The
    /// spec reconnects.
    Clean,
    /// The body ended inside an event ([`Input::End`] after field lines of an event, even
    /// without data such as `id: 5`, or inside a line): that event was dropped, as the spec says.
    Truncated,
    /// The transport failed ([`Input::Error`]); also an [`Input::End`] that came before any
    /// response (`UnexpectedEof`).
    Error(io::ErrorKind),
    /// Nothing arrived for [`Config::idle_timeout`](crate::Config::idle_timeout).
    IdleTimeout,
}

/// Why the controller stopped: [`Action::Stop`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use http::{HeaderMap, StatusCode};
/// use ssewire_client::{Action, Config, Controller, Input, StopReason};
///
/// let mut sse = Controller::new(Config::default());
/// sse.poll_action(); // Connect
/// let (status, headers) = (StatusCode::NO_CONTENT, HeaderMap::new());
/// sse.handle(Duration::ZERO, 0, Input::Response { status, headers: &headers });
/// assert!(matches!(sse.poll_action(), Some(Action::Stop(StopReason::NoContent))));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StopReason {
    /// The server answered 204 No Content: the spec's way to tell a client to stop
    /// reconnecting.
    NoContent,
    /// The response was not a stream (a status other than 200, or not `text/event-stream`):
    /// the spec fails the connection and does not reconnect. The stop comes once the body is
    /// collected: at its end, at an error, at the idle timeout, or as soon as it passes
    /// [`Config::max_error_body`](crate::Config::max_error_body). (A transport that does not
    /// read error bodies feeds [`Input::End`] right after the response.)
    Rejected(Rejected),
    /// The terminal predicate ([`Controller::with_terminal`](crate::Controller::with_terminal))
    /// matched this event. The events before it were delivered; it and everything after it
    /// were not.
    Terminal(Event),
    /// [`Config::max_retries`](crate::Config::max_retries) reconnections in a row failed.
    Exhausted {
        /// The reconnections made in a row.
        attempts: u32,
        /// Why the last connection ended.
        last: Reason,
    },
    /// The connection ended and [`Config::reconnect`](crate::Config::reconnect) is off.
    Ended(Ended),
    /// [`Controller::close`](crate::Controller::close) was called.
    Closed,
}

/// A response that did not open a stream: [`StopReason::Rejected`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use http::{HeaderMap, StatusCode};
/// use ssewire_client::{Action, Config, Controller, Input, StopReason};
///
/// let mut sse = Controller::new(Config::default());
/// sse.poll_action(); // Connect
/// let (now, headers) = (Duration::ZERO, HeaderMap::new());
/// sse.handle(now, 0, Input::Response { status: StatusCode::UNAUTHORIZED, headers: &headers });
/// sse.handle(now, 0, Input::Body(b"log in first"));
/// sse.handle(now, 0, Input::End);
/// let Some(Action::Stop(StopReason::Rejected(rejected))) = sse.poll_action() else { panic!() };
/// assert_eq!(rejected.status, StatusCode::UNAUTHORIZED);
/// assert_eq!(rejected.body, "log in first");
/// assert!(!rejected.truncated);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The start of the body, at most [`Config::max_error_body`](crate::Config::max_error_body)
    /// bytes.
    pub body: Bytes,
    /// The body is not all there: it went over the bound, or an error or the idle timeout cut
    /// it off.
    pub truncated: bool,
}
