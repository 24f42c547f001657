//! The `EventSource`: a `Stream` of [`ClientEvent`]s over a controller and a transport.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderMap, StatusCode};
use ssewire::{Event, EventId};
use ssewire_client::{Config, Connect, StopReason, Wait};

use rustls::{ClientConfig, RootCertStore};

use crate::driver::{self, Failure, Hook, Queue, Terminal};
use crate::tls::Trust;
use crate::{Error, Request, Runtime};

/// What an [`EventSource`] yields: the `EventSource` events of a browser, and the reasons
/// behind them.
///
/// The stream ends (`None`) right after [`Closed`](ClientEvent::Closed).
///
/// # Examples
///
/// ```
/// use ssewire_client_transport::ClientEvent;
///
/// fn line(event: &ClientEvent) -> String {
///     match event {
///         ClientEvent::Open { status, .. } => format!("open {status}"),
///         ClientEvent::Event(event) => format!("{}: {}", event.event_type(), event.data()),
///         ClientEvent::Dropped(error) => format!("dropped: {error}"),
///         ClientEvent::Retry(wait) => format!("retry in {:?} ({:?})", wait.delay, wait.reason),
///         ClientEvent::Closed(reason) => format!("closed: {reason:?}"),
///         _ => String::new(),
///     }
/// }
/// # drop(line);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A response opened the stream (status 200, `text/event-stream`), after any redirects.
    Open {
        /// The status (200).
        status: StatusCode,
        /// The response headers.
        headers: HeaderMap,
    },
    /// An event, as `EventSource` dispatches it (see
    /// [`Action::Deliver`](ssewire_client::Action::Deliver)).
    Event(Event),
    /// An event went over the decoder's limits and was skipped; the stream goes on.
    Dropped(ssewire::Error),
    /// The connection is closed and a new one is made after [`Wait::delay`], for
    /// [`Wait::reason`].
    Retry(Wait),
    /// The client stopped for good; the stream ends after this.
    Closed(StopReason),
}

/// A reconnecting Server-Sent Events client on runtime `R`, as a [`Stream`] of
/// [`ClientEvent`]s: the WHATWG `EventSource` processing model of
/// [`ssewire_client::Controller`] over hyper 1 client connections on the runtime's TCP:
/// HTTP/1.1, or HTTP/2 over TLS when the server picks `h2` by ALPN (`https://` URLs; see
/// [`with_root_certificates`](EventSource::with_root_certificates) for the certificates
/// trusted).
///
/// Nothing happens until the stream is first polled. Each connection makes the
/// [`Request`] (method, URL, headers, body) with the controller's headers added (`Accept`,
/// `Cache-Control: no-cache`, `Last-Event-ID` when the last event ID is not empty), follows up
/// to 10 redirects ([`with_max_redirects`](EventSource::with_max_redirects)), and gives the
/// dial, the redirects and the response head 30 s in all
/// ([`with_timeout`](EventSource::with_timeout)); redirects may switch between `http` and
/// `https`. Each connection carries one stream and is not pooled. The connection is driven inside
/// `poll_next`: nothing is spawned, and [`close`](EventSource::close) or dropping the stream
/// ends the connection and every timer at once. Events are read from the socket only as fast
/// as the stream is polled.
///
/// Settings given after the first poll do not apply.
///
/// # Examples
///
/// ```no_run
/// # async fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
/// use ssewire_client_transport::{ClientEvent, EventSource};
/// # use futures_core::Stream;
/// # async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
/// #     std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
/// # }
///
/// let mut events = EventSource::<R>::get("http://127.0.0.1:3000/events")?
///     .with_header("authorization", "Bearer t0")?
///     .with_terminal(|event| event.data() == "[DONE]");
/// while let Some(event) = next(&mut events).await {
///     match event {
///         ClientEvent::Event(event) => println!("{}", event.data()),
///         ClientEvent::Closed(reason) => println!("done: {reason:?}"),
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct EventSource<R: Runtime> {
    /// `Mutex` only so that the stream is `Sync`: `poll_next` and the settings reach it with
    /// `get_mut`, which does not lock.
    state: Mutex<State<R>>,
    /// Filled by the driver, emptied by `poll_next`.
    queue: Queue,
    /// A transport error the driver reported and `poll_next` has not moved to `last_error`.
    failure: Failure,
    /// What [`EventSource::last_error`] returns.
    last_error: Option<io::Error>,
}

enum State<R: Runtime> {
    /// Not polled yet.
    Ready(Box<Setup<R>>),
    /// The driver: the controller and the current connection.
    Running(Pin<Box<dyn Future<Output = ()> + Send>>),
    /// The driver is done (or was closed); the queue drains, then `None`.
    Done,
}

/// Everything the driver starts from.
pub(crate) struct Setup<R> {
    pub(crate) runtime: R,
    pub(crate) tls: Trust,
    pub(crate) request: Request,
    pub(crate) config: Config,
    pub(crate) terminal: Option<Terminal>,
    pub(crate) last_event_id: Option<EventId>,
    pub(crate) hook: Option<Hook>,
    pub(crate) max_redirects: u32,
    pub(crate) timeout: Duration,
    pub(crate) http2_keep_alive: Option<Duration>,
}

impl<R: Runtime> fmt::Debug for EventSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.state.lock().unwrap_or_else(PoisonError::into_inner) {
            State::Ready(setup) => format!("ready: {} {}", setup.request.method, setup.request.url),
            State::Running(_) => "running".to_owned(),
            State::Done => "done".to_owned(),
        };
        f.debug_struct("EventSource")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime + Default> EventSource<R> {
    /// A `GET` of `url` on the default runtime value.
    ///
    /// # Errors
    ///
    /// `url` is not an absolute `http://` or `https://` URL with a host.
    ///
    /// # Examples
    ///
    /// See [`EventSource`].
    pub fn get(url: &str) -> Result<Self, Error> {
        Ok(Self::new(R::default(), Request::get(url)?))
    }

    /// A `POST` of `body` to `url`. A stream that cannot be resumed (a generation) wants
    /// [`Config::reconnect`]` = false` too.
    ///
    /// # Errors
    ///
    /// `url` is not an absolute `http://` or `https://` URL with a host.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), ssewire_client_transport::Error> {
    /// use ssewire_client_transport::{Config, EventSource};
    ///
    /// let events = EventSource::<R>::post("http://127.0.0.1:8080/v1/chat/completions", "{}")?
    ///     .with_header("content-type", "application/json")?
    ///     .with_config(Config { reconnect: false, ..Config::default() });
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn post(url: &str, body: impl Into<Bytes>) -> Result<Self, Error> {
        Ok(Self::new(R::default(), Request::post(url, body)?))
    }
}

impl<R: Runtime> EventSource<R> {
    /// An event source making `request` on `runtime`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn example<R: ssewire_client_transport::Runtime>(runtime: R) -> Result<(), ssewire_client_transport::Error> {
    /// use ssewire_client_transport::{EventSource, Request};
    ///
    /// let events = EventSource::new(runtime, Request::get("http://127.0.0.1:3000/events")?);
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn new(runtime: R, request: Request) -> Self {
        EventSource {
            state: Mutex::new(State::Ready(Box::new(Setup {
                runtime,
                tls: Trust::Default,
                request,
                config: Config::default(),
                terminal: None,
                last_event_id: None,
                hook: None,
                max_redirects: 10,
                timeout: Duration::from_secs(30),
                http2_keep_alive: None,
            }))),
            queue: Arc::default(),
            failure: Arc::default(),
            last_error: None,
        }
    }

    fn setup(&mut self) -> Option<&mut Setup<R>> {
        match self.state.get_mut().unwrap_or_else(PoisonError::into_inner) {
            State::Ready(setup) => Some(setup),
            _ => None,
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Setup<R>)) -> Self {
        if let Some(setup) = self.setup() {
            change(setup);
        }
        self
    }

    /// Adds a header to the request (appended: a name may repeat).
    ///
    /// # Errors
    ///
    /// The name or the value is not valid in HTTP.
    ///
    /// # Examples
    ///
    /// See [`EventSource`].
    pub fn with_header(self, name: &str, value: &str) -> Result<Self, Error> {
        let (name, value) = crate::request::header_pair(name, value)?;
        Ok(self.with(|setup| {
            setup.request.headers.append(name, value);
        }))
    }

    /// The controller's settings: reconnection time, backoff, jitter, idle timeout, retried
    /// statuses, reconnecting at all, limits. Default [`Config::default`].
    ///
    /// # Examples
    ///
    /// See [`EventSource::post`].
    pub fn with_config(self, config: Config) -> Self {
        self.with(|setup| setup.config = config)
    }

    /// Stops at the first event `terminal` returns `true` for (`data: [DONE]`): it is not
    /// yielded, the stream yields [`ClientEvent::Closed`] with
    /// [`StopReason::Terminal`] and ends.
    ///
    /// # Examples
    ///
    /// See [`EventSource`].
    pub fn with_terminal<F>(self, terminal: F) -> Self
    where
        F: Fn(&Event) -> bool + Send + Sync + 'static,
    {
        self.with(|setup| setup.terminal = Some(Box::new(terminal)))
    }

    /// Seeds the last event ID: the first request already sends it as `Last-Event-ID`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// use ssewire_client_transport::EventSource;
    ///
    /// let events = EventSource::<R>::get("http://127.0.0.1:3000/events")?
    ///     .with_last_event_id(ssewire::EventId::new("41")?);
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn with_last_event_id(self, id: EventId) -> Self {
        self.with(|setup| setup.last_event_id = Some(id))
    }

    /// Calls `hook` before every connection (the first included) with the request, which it may
    /// change for this connection and the ones after it (a refreshed token, a cursor in the
    /// URL), and the controller's [`Connect`] (its [`attempt`](Connect::attempt) and
    /// [`reason`](Connect::reason)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// use ssewire_client_transport::EventSource;
    ///
    /// let events = EventSource::<R>::get("http://127.0.0.1:3000/events")?
    ///     .with_reconnect_hook(|request, connect| {
    ///         let token = format!("Bearer token-{}", connect.attempt);
    ///         request.headers.insert("authorization", token.parse().unwrap());
    ///     });
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn with_reconnect_hook<F>(self, hook: F) -> Self
    where
        F: FnMut(&mut Request, &Connect) + Send + 'static,
    {
        self.with(|setup| setup.hook = Some(Box::new(hook)))
    }

    /// The most redirects (301, 302, 303, 307, 308) followed per connection; one more is
    /// treated as the response it is (not 200: the stream stops with
    /// [`StopReason::Rejected`], status 3xx). Default 10.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// let events = ssewire_client_transport::EventSource::<R>::get("http://localhost/")?
    ///     .with_max_redirects(0);
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn with_max_redirects(self, max: u32) -> Self {
        self.with(|setup| setup.max_redirects = max)
    }

    /// How long the dial, the redirects and the response head may take together before the
    /// attempt fails with `TimedOut` (and the controller's backoff applies). Default 30 s.
    /// (The body's silence is bounded by [`Config::idle_timeout`].)
    ///
    /// # Examples
    ///
    /// ```
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// let events = ssewire_client_transport::EventSource::<R>::get("http://localhost/")?
    ///     .with_timeout(std::time::Duration::from_secs(5));
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.with(|setup| setup.timeout = timeout)
    }

    /// Trusts these root certificates, and only these, for `https://` (a private CA, a test's
    /// self-signed certificate), instead of those of the `webpki-roots` and `native-certs`
    /// features. ALPN offers `h2` and `http/1.1`; the cryptography is rustls's `aws-lc-rs`
    /// provider.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// use ssewire_client_transport::{EventSource, rustls};
    /// use rustls::pki_types::{CertificateDer, pem::PemObject};
    ///
    /// let mut roots = rustls::RootCertStore::empty();
    /// roots.add(CertificateDer::from_pem_file("ca.pem")?)?;
    /// let events = EventSource::<R>::get("https://internal.example:8443/events")?
    ///     .with_root_certificates(roots);
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn with_root_certificates(self, roots: RootCertStore) -> Self {
        self.with(|setup| setup.tls = Trust::Roots(Arc::new(roots)))
    }

    /// A whole rustls client config for `https://` (client certificates, another provider,
    /// other roots). Its `alpn_protocols` decide the protocol: HTTP/2 only if they hold `h2`
    /// and the server picks it, HTTP/1.1 otherwise (empty: HTTP/1.1).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn example<R: ssewire_client_transport::Runtime + Default>(roots: ssewire_client_transport::rustls::RootCertStore) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use ssewire_client_transport::{EventSource, rustls};
    ///
    /// let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    /// let mut config = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// config.alpn_protocols = vec![b"http/1.1".to_vec()];  // never HTTP/2
    /// let events = EventSource::<R>::get("https://example.com/events")?
    ///     .with_tls_config(Arc::new(config));
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn with_tls_config(self, config: Arc<ClientConfig>) -> Self {
        self.with(|setup| setup.tls = Trust::Config(config))
    }

    /// The transport error behind the latest [`ClientEvent::Retry`] or [`ClientEvent::Closed`]
    /// whose reason is [`Ended::Error`](crate::Ended::Error), with its message: the
    /// certificate rustls refused and why, the refused or timed-out connection, the HTTP
    /// error. The reason itself carries only the [`io::ErrorKind`] (an untrusted certificate
    /// is `InvalidData`); `None` until a transport error happens. The controller's rules
    /// decide retrying as for any transport error.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// use ssewire_client_transport::{ClientEvent, Ended, EventSource, Reason};
    /// # use futures_core::Stream;
    /// # async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    /// #     std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
    /// # }
    ///
    /// let mut events = EventSource::<R>::get("https://self-signed.example/events")?;
    /// while let Some(event) = next(&mut events).await {
    ///     if let ClientEvent::Retry(wait) = &event
    ///         && let Reason::Ended(Ended::Error(_)) = wait.reason
    ///     {
    ///         // "tls handshake with self-signed.example: invalid peer certificate: UnknownIssuer"
    ///         eprintln!("{:?}", events.last_error());
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn last_error(&self) -> Option<&io::Error> {
        self.last_error.as_ref()
    }

    /// On an HTTP/2 connection, a `PING` after `interval` without a frame from the server, and
    /// the connection fails (`TimedOut`, a transport error the controller retries) when no
    /// answer comes within `interval` more: a dead path is noticed even when the server sends
    /// no keep-alive comments. Default off. HTTP/1.1 has no such frame: there, and for a
    /// server that sends nothing yet answers pings, [`Config::idle_timeout`] bounds the
    /// silence.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// let events = ssewire_client_transport::EventSource::<R>::get("https://example.com/events")?
    ///     .with_http2_keep_alive(std::time::Duration::from_secs(30));
    /// # drop(events); Ok(())
    /// # }
    /// ```
    pub fn with_http2_keep_alive(self, interval: Duration) -> Self {
        self.with(|setup| setup.http2_keep_alive = Some(interval))
    }

    /// Stops now, like `EventSource.close()`: the connection and timers are dropped, events
    /// not yet yielded are discarded, and the stream yields
    /// `Closed(`[`StopReason::Closed`]`)`, then ends. Nothing if it already stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut events = ssewire_client_transport::EventSource::<R>::get("http://localhost/")?;
    /// events.close();
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let stopped = matches!(queue.back(), Some(ClientEvent::Closed(_)));
        if matches!(state, State::Done) && (queue.is_empty() || stopped) {
            return;
        }
        *state = State::Done;
        queue.clear();
        queue.push_back(ClientEvent::Closed(StopReason::Closed));
    }
}

impl<R: Runtime> Stream for EventSource<R> {
    type Item = ClientEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = pop(&this.queue) {
                // The driver reports an error before the `Retry` or `Closed` it causes.
                if let Some(error) = this
                    .failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                {
                    this.last_error = Some(error);
                }
                return Poll::Ready(Some(event));
            }
            let state = this.state.get_mut().unwrap_or_else(PoisonError::into_inner);
            match state {
                State::Ready(_) => {
                    let State::Ready(setup) = std::mem::replace(state, State::Done) else {
                        unreachable!("matched above")
                    };
                    let driver = driver::drive(*setup, this.queue.clone(), this.failure.clone());
                    *state = State::Running(Box::pin(driver));
                }
                // The driver waits for the queue to empty before it reads on (`driver::drained`),
                // and is polled again only when it is empty: so it needs no waker for that.
                State::Running(driver) => match driver.as_mut().poll(cx) {
                    Poll::Ready(()) => *state = State::Done,
                    Poll::Pending => {
                        if is_empty(&this.queue) {
                            return Poll::Pending;
                        }
                    }
                },
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

fn pop(queue: &Queue) -> Option<ClientEvent> {
    queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop_front()
}

fn is_empty(queue: &Mutex<VecDeque<ClientEvent>>) -> bool {
    queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_empty()
}
