//! Server-Sent Events client transport: a reconnecting [`EventSource`] (a `Stream` of
//! [`ClientEvent`]s) over hyper 1 client connections on any runtime's TCP (HTTP/1.1, and
//! HTTP/2 when TLS's ALPN picks `h2`), driven by the sans-I/O [`ssewire_client::Controller`].
//!
//! ```text
//!   Runtime (shell: smol, async-std) ── connect(host, port), timer(duration)
//!      │
//!   EventSource ── Request (method, url, headers, body) + reconnect hook
//!      │  Connect ─► dial ─► https: rustls, ALPN h2 / http/1.1
//!      │          ─► hyper http1 or http2 ─► redirects (≤ 10) ─► response head
//!      │  Response / Body / End / Error / TimerFired ─► Controller ─► actions
//!      ▼
//!   ClientEvent: Open · Event · Dropped · Retry(Wait) · Closed(StopReason)
//! ```
//!
//! The rules (what opens a stream, `204`, backoff, `Last-Event-ID`, idle timeout, terminal
//! events, retried statuses) are the controller's; this crate makes the requests, follows
//! redirects, times out a connection that does not answer, and keeps time for the controller.
//! It spawns nothing: the connection is driven by the stream's own `poll_next` (the tasks
//! hyper's HTTP/2 client hands to an executor too), so closing or dropping the stream ends
//! everything at once.
//!
//! `https://` goes through rustls with its `aws-lc-rs` provider (picked explicitly, so a second
//! provider in the build does no harm) and `futures-rustls`: SNI is the URL's host (an IP
//! address works too), ALPN offers `h2` and `http/1.1`, and a server that picks `h2` gets
//! HTTP/2 (browsers speak HTTP/2 only over TLS; there is no cleartext HTTP/2 here). The
//! certificates trusted are those of the features below, or your own
//! ([`EventSource::with_root_certificates`], or a whole rustls config with
//! [`EventSource::with_tls_config`]). A refused certificate is a transport error like any
//! other (the controller decides about retrying); [`EventSource::last_error`] says what was
//! wrong. Redirects may go from `http` to `https` (and back). On HTTP/2,
//! [`EventSource::with_http2_keep_alive`] pings a silent server and fails a dead connection.
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
//! | feature | default | what |
//! |---|---|---|
//! | `webpki-roots` | yes | `https://` trusts Mozilla's root certificates, compiled in (`webpki-roots`) |
//! | `native-certs` | no | `https://` trusts the operating system's root certificates, loaded once per process (`rustls-native-certs`) |
//!
//! With both, both sets are trusted; with neither, `https://` needs
//! [`EventSource::with_root_certificates`] or [`EventSource::with_tls_config`] (otherwise each
//! attempt fails with an error that says so).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod driver;
mod event_source;
mod request;
mod runtime;
mod tls;

pub use event_source::{ClientEvent, EventSource};
pub use request::{Error, Request};
pub use runtime::Runtime;
pub use ssewire_client::{Config, Connect, Ended, Jitter, Reason, Rejected, StopReason, Wait};
/// The layers below, and rustls (for [`EventSource::with_root_certificates`] and
/// [`EventSource::with_tls_config`]).
pub use {rustls, ssewire, ssewire_client};
