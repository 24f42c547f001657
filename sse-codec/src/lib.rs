//! Server-Sent Events for Rust: a spec-exact encoder and incremental decoder that never panic,
//! never grow without bound, and need no I/O, no runtime and no `std`.
//!
//! ```text
//!    network bytes ─► Decoder ─► Event ─► application        (clients, proxies, tests, fuzzing)
//!    application ─► Event ─► encode ─► bytes ─► HTTP response body
//! ```
//!
//! - [`Event`] is checked when it is built ([`EventType`], [`EventId`]), so [`encode`] cannot
//!   fail and nothing a value holds can inject a field.
//! - [`Decoder`] follows the WHATWG HTML "Server-sent events" parsing rules exactly, with a
//!   browser view ([`Decoder::decode`]; without copying, [`Decoder::decode_ref`] one event per
//!   call, [`Decoder::decode_each`] every event of a buffer, or [`Decoder::decode_read`] every
//!   event of a read where it is) and a raw
//!   view ([`Decoder::decode_frame`]) that also yields id-only blocks, comments (keep-alives) and
//!   `retry` fields. [`Limits`] bound memory.
//! - [`IntoEvent`] is what a producer's `send` accepts: text, [`Event`]s and, with the `json`
//!   feature, [`Json`] values and `serde_json::Value` (Nex's `%{event: .., data: ..}` form).
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use ssewire::{Decoder, Event, encode};
//!
//! // Encode: events → bytes, into a buffer you own.
//! let mut wire = BytesMut::new();
//! encode(&Event::new("hello"), &mut wire);
//! encode(&Event::new("line one\nline two").with_event("note")?.with_id("2")?, &mut wire);
//! assert_eq!(wire, "data: hello\n\nevent: note\nid: 2\ndata: line one\ndata: line two\n\n");
//!
//! // Decode: bytes (in any chunking) → events.
//! let mut decoder = Decoder::new();
//! let first = decoder.decode(&mut wire)?.expect("a complete event");
//! let second = decoder.decode(&mut wire)?.expect("a complete event");
//! assert_eq!((first.event_type(), first.data()), ("message", "hello"));
//! assert_eq!((second.event_type(), second.data(), second.id()), ("note", "line one\nline two", Some("2")));
//! assert!(decoder.decode(&mut wire)?.is_none());
//! # Ok::<(), ssewire::Error>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | `From<Error> for std::io::Error`; the dependencies' `std` features |
//! | `json` | no | [`Json`], `Event::json` and `serde_json::Value` conversions (`serde_json` with `alloc` only) |
//! | `stream` | no | the producer bridge [`stream`] / [`Sender`] and [`KeepAlive`] with an injected [`Timer`] (needs `std`) |
//! | `http-body` | no | [`SseBody`], an `http_body::Body` for hyper or axum, and [`sse_headers`] |
//! | `hub` | no | [`Hub`]: publish once, fan out by reference count, replay after `Last-Event-ID`, bounded slow subscribers |
//! | `server` | no | [`server`]: the server the runtime adapters share (a lean HTTP/1.1 path for requests without a body, hyper 1 for the rest and HTTP/2), generic over a small runtime trait |
//!
//! Without default features the crate is `#![no_std]` and needs only `alloc`.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "http-body")]
mod body;
#[cfg(feature = "stream")]
mod bridge;
mod convert;
mod decode;
mod encode;
mod error;
mod event;
#[cfg(feature = "hub")]
mod hub;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "stream")]
mod keepalive;
#[cfg(feature = "server")]
pub mod server;
mod text;

#[cfg(feature = "http-body")]
pub use body::{SseBody, sse_headers};
#[cfg(feature = "stream")]
pub use bridge::{EventStream, ProducerOutput, SendError, Sender, stream};
pub use convert::IntoEvent;
pub use decode::{Decoder, EventRef, Frame, Limits, Overflow};
#[cfg(feature = "json")]
pub use encode::encode_json;
pub use encode::{encode, encode_data, encoded_len};
pub use error::Error;
pub use event::{Event, EventId, EventType};
#[cfg(feature = "hub")]
pub use hub::{Hub, HubConfig, SlowPolicy, Subscription};
#[cfg(feature = "json")]
pub use json::Json;
#[cfg(feature = "stream")]
pub use keepalive::{KEEP_ALIVE_FRAME, KeepAlive, KeepAliveStream, Timer};
