//! Server-Sent Events, the runtime-free async layer: what sits between a producer and an HTTP
//! response body, on any executor.
//!
//! ```text
//!    producer(send) ─► stream (bridge) ─► KeepAlive ─► SseBody ─► hyper / axum / the server
//!    Hub::publish ─► Subscription (replay after Last-Event-ID, then live) ─┘
//! ```
//!
//! - [`stream`] turns a `send`-callback producer (Nex's `Nex.stream(fn send -> .. end)`) into a
//!   `futures_core::Stream` of encoded frames. No spawn, so no runtime; the producer is at most
//!   one event ahead of the consumer, and dropping the stream drops it.
//! - [`KeepAlive`] sends the opening frame at once and a comment while the stream is idle, with
//!   a timer the caller injects ([`Timer`]).
//! - [`Hub`] publishes an event once and fans the same bytes out to every [`Subscription`],
//!   replays what a reconnecting client missed, and bounds slow subscribers ([`SlowPolicy`]).
//! - [`SseBody`] is an `http_body::Body`, for hyper, axum or any server built on `http-body`.
//! - [`direct`] is the seam a server uses to write a subscription's frames to its client from a
//!   fan-out task of its own.
//! - [`DecodeStream`] is the client side: a response body's byte chunks (any `Stream`, with or
//!   without a transport error) in, events out, with the last event ID and `retry` that a
//!   reconnection needs, and whether the body ended inside an event ([`Ended`]).
//!
//! The events themselves come from the codec, [`ssewire`]. A ready server is `ssewire-smol` or
//! `ssewire-async-std`.
//!
//! # Example
//!
//! ```
//! # futures_lite::future::block_on(async {
//! use futures_lite::StreamExt;
//! use ssewire::Event;
//!
//! let mut events = Box::pin(ssewire_stream::stream(|send| async move {
//!     send.send("hello").await?;
//!     send.send(Event::new("payload").with_event("my_event")?).await
//! }));
//! assert_eq!(events.next().await.unwrap(), "data: hello\n\n");
//! assert_eq!(events.next().await.unwrap(), "event: my_event\ndata: payload\n\n");
//! assert_eq!(events.next().await, None);
//! # });
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `json` | no | `send` accepts `ssewire::Json` and `serde_json::Value` (the codec's `json`) |
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;

mod body;
mod bridge;
mod decode;
pub mod direct;
mod hub;
mod keepalive;

pub use body::{SseBody, sse_headers};
pub use bridge::{EventStream, ProducerOutput, SendError, Sender, stream};
pub use decode::{DecodeError, DecodeStream, Ended, IntoChunk};
pub use hub::{Hub, HubConfig, SlowPolicy, Subscription};
pub use keepalive::{KEEP_ALIVE_FRAME, KeepAlive, KeepAliveStream, Timer};
