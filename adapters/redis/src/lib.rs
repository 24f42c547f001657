//! Server-Sent Events over many server instances: an ssewire [`Hub`](ssewire_stream::Hub) per
//! topic on every instance, fed by Redis Streams, so that an event published on any instance
//! reaches the subscribers of all of them and a browser that reconnects to another instance with
//! `Last-Event-ID` gets exactly what it missed, or a `reset`.
//!
//! ```text
//!   publish ─► Lua (one round trip): dense counter, XADD <ms>-<n>, trim ─► Redis stream per topic
//!                                                                              │
//!   every instance: one reader, XREAD BLOCK over its topics ◄──────────────────┘
//!        └─► frame each entry once ─► Hub::ingest ─► its subscribers (by reference count)
//!   subscribe(Last-Event-ID) ─► the local ring, else XRANGE <id> <newest> ─► replay or reset, then live
//! ```
//!
//! The stream entry id is the SSE `id:`: `<ms>-<n>`, where `n` is a dense per-topic counter. The
//! reader checks that `n` grows by one; a jump (it fell behind the retention, or Redis lost its
//! data) clears the local ring and ends the local streams, and each browser reconnects to a
//! replay or a reset. The instance that publishes does not deliver locally: every instance
//! delivers in the stream's order.
//!
//! Runtime: the `redis` crate on smol's `async-io` (its `smol-comp`), usable from smol or
//! async-std. The reader is a future the caller spawns; its connection has no 500 ms response
//! timeout (that would break `XREAD BLOCK`); publishing and replay share another.
//!
//! # Example
//!
//! ```no_run
//! # smol::block_on(async {
//! use ssewire::Event;
//! use ssewire_redis::{Config, RedisHub};
//!
//! let (hub, reader) = RedisHub::connect("redis://127.0.0.1/", &["room"], Config::default()).await?;
//! smol::spawn(reader).detach();
//! let id = hub.publish("room", &Event::new("hello")).await?;   // "1733400000000-1"
//! // GET /events: `Response::sse_stream(hub.subscribe("room", request.last_event_id()).await?)`
//! let subscription = hub.subscribe("room", Some(&id)).await?;
//! # Ok::<(), ssewire_redis::Error>(()) }).unwrap();
//! ```
#![forbid(unsafe_code)]

mod error;
mod id;
mod redis_hub;

pub use error::Error;
pub use redis_hub::{Config, RedisHub};
