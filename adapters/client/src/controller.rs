//! The controller: the WHATWG `EventSource` processing model as a state machine.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::Duration;

use bytes::BytesMut;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use ssewire::{Decoder, Event, EventId};

use crate::delay::backoff;
use crate::response::{is_event_stream, is_retryable, retry_after};
use crate::{Action, Config, Connect, Ended, Input, Reason, Rejected, StopReason, Wait};

/// The `Last-Event-ID` request header.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The terminal predicate of [`Controller::with_terminal`].
type Terminal = Box<dyn Fn(&Event) -> bool + Send + Sync>;

/// The sans-I/O reconnect controller of an SSE client: transport outcomes in, actions out.
///
/// It owns the stream's [`Decoder`], the last event ID, the reconnection time and the backoff,
/// and no socket, clock or random source: every [`handle`](Controller::handle) call passes the
/// time (a monotonic `Duration` since any origin the caller keeps, such as
/// `start.elapsed()`) and a fresh random `u64` for jitter. After each call (and after
/// [`new`](Controller::new)), drain [`poll_action`](Controller::poll_action) and do what the
/// actions say; sleep until [`next_deadline`](Controller::next_deadline) and then feed
/// [`Input::TimerFired`].
///
/// ```text
///   new ─► Connect ─► Response ─┬─ 200, text/event-stream ─► Open ─► Body… ─► Deliver…
///            ▲  │               │     then End / Error / idle timeout ─► Wait ─┐
///            │  └─ Error ───────┼──────────────────────────────────────► Wait ─┤
///            │                  ├─ 408/429/502/503/504 (opted in) ─────► Wait ─┤
///            │                  ├─ 204 ─► Stop(NoContent)                      │
///            │                  └─ other ─► Body… End ─► Stop(Rejected)        │
///            └─────────────── TimerFired at next_deadline() ◄──────────────────┘
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use http::{HeaderMap, HeaderValue, StatusCode, header};
/// use ssewire_client::{Action, Config, Controller, Input, StopReason};
///
/// let mut sse = Controller::new(Config::default()).with_terminal(|e| e.data() == "[DONE]");
/// assert!(matches!(sse.poll_action(), Some(Action::Connect(_))));
///
/// let mut headers = HeaderMap::new();
/// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
/// let now = Duration::ZERO;
/// sse.handle(now, 0, Input::Response { status: StatusCode::OK, headers: &headers });
/// sse.handle(now, 0, Input::Body(b"data: token\n\ndata: [DONE]\n\ndata: ignored\n\n"));
///
/// let actions: Vec<Action> = std::iter::from_fn(|| sse.poll_action()).collect();
/// assert!(matches!(&actions[..], [
///     Action::Open,
///     Action::Deliver(token),
///     Action::Stop(StopReason::Terminal(_)),
/// ] if token.data() == "token"));
/// assert!(sse.is_stopped());
/// ```
pub struct Controller {
    config: Config,
    terminal: Option<Terminal>,
    /// Holds the last event ID and the reconnection time across connections.
    decoder: Decoder,
    /// The partial line of the body being decoded (at most `Limits::max_line` bytes between
    /// calls); empty outside [`State::Open`].
    buf: BytesMut,
    state: State,
    /// Reconnections in a row since the last healthy connection; the next [`Connect::attempt`].
    streak: u32,
    /// Actions not yet polled, in order. Never holds anything after a [`Action::Stop`].
    queue: VecDeque<Queued>,
}

/// Where the controller is.
#[derive(Debug)]
enum State {
    /// A [`Action::Connect`] is out; the response has not come.
    Connecting,
    /// The stream is open.
    Open {
        /// When the response came.
        opened_at: Duration,
        /// When the last byte came (or the response, before any byte).
        idle_since: Duration,
        /// At least one event was delivered on this connection.
        delivered: bool,
    },
    /// A rejected response's body is being collected.
    Rejecting {
        status: StatusCode,
        headers: HeaderMap,
        /// `body.len() <= config.max_error_body`.
        body: BytesMut,
        idle_since: Duration,
    },
    /// Waiting to reconnect.
    Waiting { until: Duration, reason: Reason },
    /// Done: every input is ignored.
    Stopped,
}

/// An action in the queue. `Connect` is built when polled, so that its `Last-Event-ID` is the
/// one in force then (a seed given after `new`).
#[derive(Debug)]
enum Queued {
    Connect {
        attempt: u32,
        reason: Option<Reason>,
    },
    Action(Action),
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("config", &self.config)
            .field("terminal", &self.terminal.as_ref().map(|_| ".."))
            .field("state", &self.state)
            .field("streak", &self.streak)
            .field("last_event_id", &self.decoder.last_event_id())
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// A controller whose first action is [`Action::Connect`] (attempt 0, no reason).
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire_client::{Action, Config, Controller};
    ///
    /// let mut sse = Controller::new(Config::default());
    /// let Some(Action::Connect(connect)) = sse.poll_action() else { panic!() };
    /// assert_eq!((connect.attempt, connect.reason), (0, None));
    /// assert_eq!(connect.headers[http::header::ACCEPT], "text/event-stream");
    /// assert!(sse.poll_action().is_none());
    /// ```
    pub fn new(config: Config) -> Self {
        let mut queue = VecDeque::new();
        queue.push_back(Queued::Connect {
            attempt: 0,
            reason: None,
        });
        Controller {
            config,
            terminal: None,
            decoder: Decoder::with_limits(config.limits),
            buf: BytesMut::new(),
            state: State::Connecting,
            streak: 0,
            queue,
        }
    }

    /// Stops at the first event `terminal` returns `true` for (an LLM stream's
    /// `data: [DONE]`, say): the events before it are delivered, it comes back in
    /// [`StopReason::Terminal`] instead, and nothing after it is read.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire_client::{Config, Controller};
    ///
    /// let sse = Controller::new(Config::default()).with_terminal(|e| e.data() == "[DONE]");
    /// # drop(sse);
    /// ```
    pub fn with_terminal<F>(mut self, terminal: F) -> Self
    where
        F: Fn(&Event) -> bool + Send + Sync + 'static,
    {
        self.terminal = Some(Box::new(terminal));
        self
    }

    /// Seeds the last event ID (one the application kept from an earlier session): the first
    /// [`Connect`] already sends it, and the stream's `id:` fields replace it as usual. Call it
    /// before feeding any input. An ID longer than [`Limits::max_line`](ssewire::Limits) is
    /// not kept (no stream could have set it).
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire::EventId;
    /// use ssewire_client::{Action, Config, Controller};
    ///
    /// let mut sse = Controller::new(Config::default()).with_last_event_id(EventId::new("41")?);
    /// let Some(Action::Connect(connect)) = sse.poll_action() else { panic!() };
    /// assert_eq!(connect.headers["last-event-id"], "41");
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    pub fn with_last_event_id(mut self, id: EventId) -> Self {
        // The decoder holds the last event ID; it learns this one the way it learns any: from
        // an id-only block (which dispatches nothing), encoded by the codec.
        let mut block = BytesMut::new();
        let mut seed = Event::comment("last event id");
        seed.set_id(id);
        ssewire::encode(&seed, &mut block);
        while let Ok(Some(_)) = self.decoder.decode(&mut block) {}
        self.decoder.finish(&mut block);
        self
    }

    /// Feeds what happened on the transport at time `now`. `random` is a fresh uniformly random
    /// number, used only if this input schedules a reconnection (see [`Jitter`](crate::Jitter)).
    /// Then drain [`poll_action`](Controller::poll_action).
    ///
    /// Inputs that do not fit the state are ignored (see [`Input`]); after a
    /// [`Action::Stop`] every input is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::time::Duration;
    /// use ssewire_client::{Action, Config, Controller, Ended, Input, Jitter, Reason};
    ///
    /// let mut sse = Controller::new(Config { jitter: Jitter::None, ..Config::default() });
    /// sse.poll_action(); // Connect
    /// sse.handle(Duration::ZERO, 0, Input::Error(ErrorKind::ConnectionRefused));
    /// let Some(Action::Wait(wait)) = sse.poll_action() else { panic!() };
    /// assert_eq!(wait.delay, Duration::from_secs(3));
    /// assert_eq!(wait.reason, Reason::Ended(Ended::Error(ErrorKind::ConnectionRefused)));
    /// ```
    pub fn handle(&mut self, now: Duration, random: u64, input: Input<'_>) {
        match input {
            Input::Response { status, headers } => self.on_response(now, random, status, headers),
            Input::Body(bytes) => self.on_body(now, bytes),
            Input::End => self.on_end(now, random),
            Input::Error(kind) => self.on_error(now, random, kind),
            Input::TimerFired => self.on_timer(now, random),
        }
    }

    /// The next action, in order; `None` when there is nothing to do until the next input.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire_client::{Action, Config, Controller};
    ///
    /// let mut sse = Controller::new(Config::default());
    /// while let Some(action) = sse.poll_action() {
    ///     match action {
    ///         Action::Connect(connect) => { /* start the request with connect.headers */ }
    ///         _ => {}
    ///     }
    /// }
    /// ```
    pub fn poll_action(&mut self) -> Option<Action> {
        Some(match self.queue.pop_front()? {
            Queued::Action(action) => action,
            Queued::Connect { attempt, reason } => Action::Connect(Connect {
                attempt,
                reason,
                headers: self.request_headers(),
            }),
        })
    }

    /// When to feed [`Input::TimerFired`]: the end of a [`Wait`], or the idle deadline of an
    /// open connection (the time of its last byte plus [`Config::idle_timeout`]). `None` while
    /// connecting (connect timeouts are the transport's), without an idle timeout, and once
    /// stopped. Same time base as `now`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire_client::{Config, Controller};
    ///
    /// let sse = Controller::new(Config::default());
    /// assert_eq!(sse.next_deadline(), None);
    /// ```
    pub fn next_deadline(&self) -> Option<Duration> {
        match &self.state {
            State::Open { idle_since, .. } | State::Rejecting { idle_since, .. } => self
                .config
                .idle_timeout
                .map(|timeout| idle_since.saturating_add(timeout)),
            State::Waiting { until, .. } => Some(*until),
            State::Connecting | State::Stopped => None,
        }
    }

    /// Stops: the next action after those already queued is `Stop(`[`StopReason::Closed`]`)`
    /// (nothing, if already stopped), like `EventSource.close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire_client::{Action, Config, Controller, StopReason};
    ///
    /// let mut sse = Controller::new(Config::default());
    /// sse.poll_action(); // Connect
    /// sse.close();
    /// assert!(matches!(sse.poll_action(), Some(Action::Stop(StopReason::Closed))));
    /// assert!(sse.is_stopped());
    /// ```
    pub fn close(&mut self) {
        if !self.is_stopped() {
            self.stop(StopReason::Closed);
        }
    }

    /// Whether the controller has stopped (a [`Action::Stop`] is queued or was polled).
    ///
    /// # Examples
    ///
    /// ```
    /// let sse = ssewire_client::Controller::new(Default::default());
    /// assert!(!sse.is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        matches!(self.state, State::Stopped)
    }

    /// The last event ID: what the next [`Connect`] sends as `Last-Event-ID` (`""`: none).
    ///
    /// # Examples
    ///
    /// ```
    /// let sse = ssewire_client::Controller::new(Default::default());
    /// assert_eq!(sse.last_event_id(), "");
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.decoder.last_event_id()
    }

    /// The reconnection time: the last valid `retry:` field of the stream, or
    /// [`Config::retry`]. The backoff starts from it.
    ///
    /// # Examples
    ///
    /// ```
    /// let sse = ssewire_client::Controller::new(Default::default());
    /// assert_eq!(sse.reconnection_time(), std::time::Duration::from_secs(3));
    /// ```
    pub fn reconnection_time(&self) -> Duration {
        self.decoder.retry().unwrap_or(self.config.retry)
    }

    /// The settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let sse = ssewire_client::Controller::new(Default::default());
    /// assert!(sse.config().reconnect);
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn on_response(&mut self, now: Duration, random: u64, status: StatusCode, headers: &HeaderMap) {
        if !matches!(self.state, State::Connecting) {
            return;
        }
        // "Otherwise, if res's status is not 200, or if res's `Content-Type` is not
        // `text/event-stream`, then fail the connection. Otherwise, announce the connection and
        // interpret res's body line by line."
        if status == StatusCode::OK && is_event_stream(headers) {
            self.state = State::Open {
                opened_at: now,
                idle_since: now,
                delivered: false,
            };
            self.push(Action::Open);
            return;
        }
        // "a client can be told to stop reconnecting using the HTTP 204 No Content response
        // code."
        if status == StatusCode::NO_CONTENT {
            self.stop(StopReason::NoContent);
            return;
        }
        // An opt-in beyond the spec (which fails the connection): the transient statuses wait
        // and reconnect.
        if self.config.reconnect && self.config.retry_status && is_retryable(status) {
            let reason = Reason::Status {
                status,
                retry_after: retry_after(headers),
            };
            self.schedule(now, random, reason);
            return;
        }
        self.state = State::Rejecting {
            status,
            headers: headers.clone(),
            body: BytesMut::new(),
            idle_since: now,
        };
    }

    fn on_body(&mut self, now: Duration, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        match &mut self.state {
            State::Open { idle_since, .. } => {
                *idle_since = now;
                self.buf.extend_from_slice(bytes);
                self.decode_events();
            }
            State::Rejecting {
                body, idle_since, ..
            } => {
                *idle_since = now;
                let room = self.config.max_error_body.saturating_sub(body.len());
                if bytes.len() > room {
                    body.extend_from_slice(&bytes[..room]);
                    self.reject(true);
                } else {
                    body.extend_from_slice(bytes);
                }
            }
            State::Connecting | State::Waiting { .. } | State::Stopped => {}
        }
    }

    /// Delivers every event `buf` completes, up to a terminal one.
    fn decode_events(&mut self) {
        let mut delivered = false;
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(event)) => {
                    if self.terminal.as_ref().is_some_and(|t| t(&event)) {
                        self.stop(StopReason::Terminal(event));
                        return;
                    }
                    delivered = true;
                    self.push(Action::Deliver(event));
                }
                Ok(None) => break,
                // The decoder dropped the event and goes on after it.
                Err(error) => self.push(Action::Dropped(error)),
            }
        }
        if let State::Open { delivered: d, .. } = &mut self.state {
            *d |= delivered;
        }
    }

    fn on_end(&mut self, now: Duration, random: u64) {
        match self.state {
            State::Open { .. } => {
                // "Once the end of the file is reached, any pending data must be discarded. (If
                // the file ends in the middle of an event, before the final empty line, the
                // incomplete event is not dispatched.)"
                // A partial line, or field lines (`id: 5`, with or without data) that no blank
                // line has ended.
                let truncated = !self.buf.is_empty() || self.decoder.in_event();
                self.decoder.finish(&mut self.buf);
                self.ended(
                    now,
                    random,
                    if truncated {
                        Ended::Truncated
                    } else {
                        Ended::Clean
                    },
                );
            }
            State::Rejecting { .. } => self.reject(false),
            State::Connecting => {
                self.ended(now, random, Ended::Error(io::ErrorKind::UnexpectedEof));
            }
            State::Waiting { .. } | State::Stopped => {}
        }
    }

    fn on_error(&mut self, now: Duration, random: u64, kind: io::ErrorKind) {
        match self.state {
            State::Open { .. } => {
                self.decoder.finish(&mut self.buf);
                self.ended(now, random, Ended::Error(kind));
            }
            State::Rejecting { .. } => self.reject(true),
            // "Otherwise, if res is a network error, then reestablish the connection".
            State::Connecting => self.ended(now, random, Ended::Error(kind)),
            State::Waiting { .. } | State::Stopped => {}
        }
    }

    fn on_timer(&mut self, now: Duration, random: u64) {
        if self.next_deadline().is_none_or(|deadline| now < deadline) {
            return;
        }
        match self.state {
            State::Waiting { reason, .. } => {
                // "5. … Fetch request and process the response obtained in this fashion".
                self.state = State::Connecting;
                self.queue.push_back(Queued::Connect {
                    attempt: self.streak,
                    reason: Some(reason),
                });
            }
            State::Open { .. } => {
                self.decoder.finish(&mut self.buf);
                self.ended(now, random, Ended::IdleTimeout);
            }
            State::Rejecting { .. } => self.reject(true),
            State::Connecting | State::Stopped => {}
        }
    }

    /// The connection ended (or never came up): reconnect, unless reconnecting is off.
    fn ended(&mut self, now: Duration, random: u64, how: Ended) {
        if !self.config.reconnect {
            self.stop(StopReason::Ended(how));
            return;
        }
        // "processEventSourceEndOfBody … if res is not a network error, then reestablish the
        // connection." (Network errors reestablish it too.)
        self.schedule(now, random, Reason::Ended(how));
    }

    /// "Reestablish the connection": "Wait a delay equal to the reconnection time of the event
    /// source. Optionally, wait some more. In particular, if the previous attempt failed, then
    /// user agents might introduce an exponential backoff delay".
    fn schedule(&mut self, now: Duration, random: u64, reason: Reason) {
        let healthy = match self.state {
            State::Open {
                opened_at,
                delivered,
                ..
            } => delivered || now.saturating_sub(opened_at) >= self.config.healthy_after,
            _ => false,
        };
        if healthy {
            self.streak = 0;
        }
        if self
            .config
            .max_retries
            .is_some_and(|max| self.streak >= max)
        {
            self.stop(StopReason::Exhausted {
                attempts: self.streak,
                last: reason,
            });
            return;
        }
        let delay = match reason {
            Reason::Status {
                retry_after: Some(wait),
                ..
            } => wait.min(self.config.max_retry_after),
            _ => backoff(
                self.reconnection_time(),
                self.streak,
                self.config.max_backoff,
                self.config.jitter,
                random,
            ),
        };
        self.streak = self.streak.saturating_add(1);
        self.state = State::Waiting {
            until: now.saturating_add(delay),
            reason,
        };
        self.push(Action::Wait(Wait {
            delay,
            reason,
            attempt: self.streak,
        }));
    }

    /// Stops with the rejected response collected so far.
    fn reject(&mut self, truncated: bool) {
        if let State::Rejecting {
            status,
            headers,
            body,
            ..
        } = std::mem::replace(&mut self.state, State::Stopped)
        {
            self.stop(StopReason::Rejected(Rejected {
                status,
                headers,
                body: body.freeze(),
                truncated,
            }));
        }
    }

    /// "Fail the connection": "Once the user agent has failed the connection, it does not
    /// attempt to reconnect."
    fn stop(&mut self, reason: StopReason) {
        self.state = State::Stopped;
        self.decoder.finish(&mut self.buf);
        self.buf = BytesMut::new();
        self.push(Action::Stop(reason));
    }

    fn push(&mut self, action: Action) {
        self.queue.push_back(Queued::Action(action));
    }

    /// The spec's request headers: "Set (`Accept`, `text/event-stream`)", cache mode
    /// "no-store", and "If the EventSource object's last event ID string is not the empty
    /// string … Set (`Last-Event-ID`, lastEventIDValue)".
    fn request_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let id = self.decoder.last_event_id();
        // An ID with a control character cannot be a header value: it is not sent.
        let value = HeaderValue::from_bytes(id.as_bytes()).ok();
        if let Some(value) = value.filter(|_| !id.is_empty()) {
            headers.insert(LAST_EVENT_ID, value);
        }
        headers
    }
}
