//! Server-Sent Events server, shared by the runtime adapters: HTTP/1.1 and HTTP/2 cleartext,
//! generic over a small [`Runtime`] trait (listener, spawn, timer).
//!
//! ```text
//!    accept ─► conn: HTTP/2 preface? ─► hyper http2
//!                    └─ HTTP/1.1 ─► lean path (bodyless requests, SSE as chunks) ─► hyper http1
//!    handler(Request) ─► Response::sse(producer) / sse_stream(Hub subscription) / bytes
//! ```
//!
//! HTTP/1.1 requests without a body (an `EventSource`'s `GET`) take a lean path: the head is
//! parsed with `httparse` and the response written straight to the socket, an event stream as
//! one chunk per event, with no buffer kept while it is open. Everything else, and the rest of a
//! connection once something else arrives, is served by hyper 1, as is HTTP/2.
//!
//! A [`Hub`](ssewire_stream::Hub) subscription on that path is written by the server's fan-out
//! lanes (one task per core) while it is idle: a `publish` wakes the lanes, not every
//! subscriber's task, and each event costs one non-blocking `send` per subscriber. The
//! connection's task takes the socket back for anything else (replay, keep-alive, a gap marker,
//! a full socket, the end).
//!
//! Users normally reach this through `ssewire-smol` or `ssewire-async-std`, which implement
//! [`Runtime`] and re-export this API.
//!
//! # Example
//!
//! A handler is an `async fn(Request) -> Response`; it runs on any runtime:
//!
//! ```
//! use ssewire::Event;
//! use ssewire_server::{Request, Response};
//!
//! async fn handle(request: Request) -> Response {
//!     match request.path() {
//!         "/events" => Response::sse(|send| async move {
//!             send.send("hello").await?;
//!             send.send(Event::new("bye").with_event("done")?).await
//!         }),
//!         _ => Response::not_found(),
//!     }
//! }
//! # let _ = handle;
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;

#[doc(hidden)]
pub mod __fuzz;
mod admit;
mod body;
mod config;
mod conn;
mod conn_io;
mod fanout;
mod hyper_rt;
mod lean;
mod request;
mod response;
mod runtime;
mod server;
mod stats;
mod tls;

pub use config::Config;
pub use http::{HeaderMap as Headers, HeaderValue, Method, StatusCode, header};
pub use request::Request;
pub use response::Response;
pub use runtime::Runtime;
/// rustls, for [`TlsConfig::from_server_config`].
pub use rustls;
pub use server::{Server, serve};
pub use stats::Stats;
pub use tls::{TlsConfig, serve_tls};
