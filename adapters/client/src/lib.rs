//! Server-Sent Events client, the sans-I/O reconnect controller: transport outcomes in,
//! actions out, by the WHATWG HTML `EventSource` processing model.
//!
//! ```text
//!    transport (any HTTP client, any runtime, or a test)
//!      │ Response / Body / End / Error / TimerFired, with `now` and a random u64
//!      ▼
//!    Controller ── ssewire::Decoder (events, id, retry) ── backoff ── Last-Event-ID
//!      │ poll_action()
//!      ▼
//!    Connect { headers, attempt, reason } · Open · Deliver(Event) · Dropped(error)
//!    · Wait { delay, reason } · Stop(reason)
//! ```
//!
//! [`Controller`] decides what an `EventSource` decides, and nothing else:
//!
//! - only a `200` whose `Content-Type` essence is `text/event-stream` opens the stream; `204`
//!   stops for good; any other response stops with its status, headers and the start of its
//!   body ([`Rejected`]), unless [`Config::retry_status`] retries 408/429/502/503/504
//!   (honouring `Retry-After` in delta-seconds); 401 and 403 never retry;
//! - a clean end ([`Ended::Clean`]), an end inside an event ([`Ended::Truncated`]), a transport
//!   error ([`Ended::Error`]) and a silent connection ([`Ended::IdleTimeout`], with
//!   [`Config::idle_timeout`]) all reconnect, and say which in [`Wait::reason`];
//! - the wait is the reconnection time (`retry:`, else [`Config::retry`], 3 s), doubled for each
//!   failure in a row up to [`Config::max_backoff`], spread by [`Jitter`], and back to the
//!   reconnection time after a healthy connection ([`Config::healthy_after`]);
//!   [`Config::max_retries`] bounds the failures in a row;
//! - every reconnection sends `Last-Event-ID` when the last event ID is not empty (seed it with
//!   [`Controller::with_last_event_id`]);
//! - [`Controller::with_terminal`] ends the stream at an event such as `data: [DONE]`, and
//!   [`Config::reconnect`]` = false` makes the first end final (a `POST` that cannot resume).
//!
//! It owns no socket, no timer and no random source. The caller passes the time as a
//! `Duration` since any origin it keeps (`start.elapsed()`), and a random `u64` for the jitter.
//! URLs, methods, redirects, credentials and connect timeouts are the transport's; a
//! transport that must rebuild its request between attempts does so when it sees
//! [`Action::Connect`], whose [`attempt`](Connect::attempt) and [`reason`](Connect::reason) say
//! which attempt it is and why.
//!
//! # Example
//!
//! Driving the controller by hand, as a transport (or a test) does:
//!
//! ```
//! use std::time::Duration;
//! use http::{HeaderMap, HeaderValue, StatusCode, header};
//! use ssewire_client::{Action, Config, Controller, Ended, Input, Jitter, Reason};
//!
//! let ms = Duration::from_millis;
//! let config = Config { retry: ms(500), jitter: Jitter::None, ..Config::default() };
//! let mut sse = Controller::new(config);
//!
//! // The first action: connect, without Last-Event-ID.
//! let Some(Action::Connect(connect)) = sse.poll_action() else { panic!() };
//! assert_eq!(connect.headers[header::ACCEPT], "text/event-stream");
//! assert!(!connect.headers.contains_key("last-event-id"));
//!
//! // The response opens the stream; the body delivers events (split anywhere).
//! let mut headers = HeaderMap::new();
//! let stream = HeaderValue::from_static("text/event-stream; charset=utf-8");
//! headers.insert(header::CONTENT_TYPE, stream);
//! sse.handle(ms(0), 0, Input::Response { status: StatusCode::OK, headers: &headers });
//! sse.handle(ms(10), 0, Input::Body(b"retry: 1000\nid: 7\ndata: hel"));
//! sse.handle(ms(20), 0, Input::Body(b"lo\n\n"));
//! assert!(matches!(sse.poll_action(), Some(Action::Open)));
//! let Some(Action::Deliver(event)) = sse.poll_action() else { panic!() };
//! assert_eq!((event.data(), event.id()), ("hello", Some("7")));
//!
//! // The server closes the stream: wait the reconnection time the stream set, then reconnect.
//! sse.handle(ms(30), 0, Input::End);
//! let Some(Action::Wait(wait)) = sse.poll_action() else { panic!() };
//! assert_eq!((wait.delay, wait.reason), (ms(1000), Reason::Ended(Ended::Clean)));
//! assert_eq!(sse.next_deadline(), Some(ms(1030)));
//!
//! sse.handle(ms(1030), 0, Input::TimerFired);
//! let Some(Action::Connect(again)) = sse.poll_action() else { panic!() };
//! assert_eq!(again.headers["last-event-id"], "7");
//! assert_eq!((again.attempt, again.reason), (1, Some(Reason::Ended(Ended::Clean))));
//! assert!(sse.poll_action().is_none());
//! ```
//!
//! A transport's loop, in outline: start the request that [`Action::Connect`] describes, feed
//! what comes back with [`Controller::handle`], drain [`Controller::poll_action`] after every
//! call, sleep until [`Controller::next_deadline`] (racing the next read) and feed
//! [`Input::TimerFired`] when it passes; close the connection on [`Action::Wait`] and
//! [`Action::Stop`].
//!
//! # Features
//!
//! None. The crate needs `std` (for `http`'s header types).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod action;
mod config;
mod controller;
mod delay;
mod response;

pub use action::{Action, Connect, Ended, Input, Reason, Rejected, StopReason, Wait};
pub use config::{Config, Jitter};
pub use controller::Controller;
