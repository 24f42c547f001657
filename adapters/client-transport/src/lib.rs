//! Server-Sent Events client transport: a reconnecting [`EventSource`] (a `Stream` of
//! [`ClientEvent`]s) over hyper 1 HTTP/1.1 client connections on any runtime's TCP, driven by
//! the sans-I/O [`ssewire_client::Controller`].
//!
//! ```text
//!   Runtime (shell: smol, async-std) ── connect(host, port), timer(duration)
//!      │
//!   EventSource ── Request (method, url, headers, body) + reconnect hook
//!      │  Connect ─► dial ─► hyper http1 ─► redirects (≤ 10) ─► response head
//!      │  Response / Body / End / Error / TimerFired ─► Controller ─► actions
//!      ▼
//!   ClientEvent: Open · Event · Dropped · Retry(Wait) · Closed(StopReason)
//! ```
//!
//! The rules (what opens a stream, `204`, backoff, `Last-Event-ID`, idle timeout, terminal
//! events, retried statuses) are the controller's; this crate makes the requests, follows
//! redirects, times out a connection that does not answer, and keeps time for the controller.
//! It spawns nothing: the connection is driven by the stream's own `poll_next`, so closing or
//! dropping the stream ends everything at once. `https://` is not supported yet (no TLS).
//!
//! The runtime shells re-export it with their runtime filled in:
//! `ssewire_smol::EventSource::get(url)`, `ssewire_async_std::EventSource::get(url)`.
//!
//! # Example
//!
//! ```no_run
//! # async fn example<R: ssewire_client_transport::Runtime + Default>() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use ssewire_client_transport::{ClientEvent, Config, EventSource, StopReason};
//! # use futures_core::Stream;
//! # async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
//! #     std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
//! # }
//!
//! let config = Config { idle_timeout: Some(Duration::from_secs(45)), ..Config::default() };
//! let mut events = EventSource::<R>::get("http://127.0.0.1:3000/events")?.with_config(config);
//! while let Some(event) = next(&mut events).await {
//!     match event {
//!         ClientEvent::Event(event) => println!("{}", event.data()),
//!         ClientEvent::Retry(wait) => eprintln!("reconnecting in {:?}", wait.delay),
//!         ClientEvent::Closed(StopReason::NoContent) => break,
//!         ClientEvent::Closed(reason) => return Err(format!("{reason:?}").into()),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! None.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod driver;
mod event_source;
mod request;
mod runtime;

pub use event_source::{ClientEvent, EventSource};
pub use request::{Error, Request};
pub use runtime::Runtime;
pub use ssewire_client::{Config, Connect, Ended, Jitter, Reason, Rejected, StopReason, Wait};
/// The layers below.
pub use {ssewire, ssewire_client};
