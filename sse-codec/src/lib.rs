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
//! - [`Decoder`] follows the WHATWG HTML "Server-sent events" parsing rules exactly, with one
//!   grammar behind three views: [`Decoder::decode`] (owned [`Event`]s from a buffer you append
//!   to), [`Decoder::decode_each`] (borrowed [`EventRef`]s straight from each read, the decoder
//!   keeping its own carry-over: the fastest) and [`Decoder::decode_frame`] (everything on the
//!   wire: id-only blocks, comments (keep-alives) and `retry` fields too). [`Limits`] bound
//!   memory.
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
//! | `tokio-util` | no | tokio-util's `Decoder` for [`Decoder`] and `Encoder` for `Encoder` (`FramedRead` / `FramedWrite`); turns on `std` |
//! | `asynchronous-codec` | no | the same traits of asynchronous-codec (`futures` I/O); turns on `std` |
//!
//! Without default features the crate is `#![no_std]` and needs only `alloc`.
//!
//! The async layer (the `send` bridge, keep-alive, the broadcast hub, an `http_body::Body`) is
//! `ssewire-stream`; the server is `ssewire-server`, run by `ssewire-smol` or
//! `ssewire-async-std`. This crate knows nothing of them.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(any(feature = "tokio-util", feature = "asynchronous-codec"))]
mod codec;
mod convert;
mod decode;
mod encode;
mod error;
mod event;
#[cfg(feature = "json")]
mod json;
mod text;

#[cfg(any(feature = "tokio-util", feature = "asynchronous-codec"))]
pub use codec::Encoder;
pub use convert::IntoEvent;
pub use decode::{Decoder, EventRef, Frame, Limits, Overflow};
#[cfg(feature = "json")]
pub use encode::encode_json;
pub use encode::{encode, encode_data, encode_ref, encoded_len};
pub use error::Error;
pub use event::{Event, EventId, EventType};
#[cfg(feature = "json")]
pub use json::Json;
