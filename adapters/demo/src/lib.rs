//! The ssewire demos, shared by the examples and tests of every runtime adapter: the same routes
//! and producers on any runtime (generic over [`ssewire_server::Runtime`] where they need its
//! timer).
//!
//! - [`chat`]: the AI-chat page (HTMX `sse` extension panel and a plain `EventSource` panel), JSON
//!   pushes, and a counter that reconnects with `Last-Event-ID`;
//! - [`proxy`]: the chat demo's AI-proxy mode: an upstream OpenAI-style streaming API of its
//!   own, consumed with the client and re-streamed to the browser token by token;
//! - [`room`]: a live room on a [`Hub`](ssewire_stream::Hub): `POST /say` publishes, `GET /events`
//!   subscribes with resume;
//! - [`tail`]: follow a stream with the client, one JSON line per client event (the `tail`
//!   examples);
//! - [`stats`]: `GET /stats`, the server's counters as JSON, around any of them;
//! - [`tls_from_env`]: HTTPS when `TLS_CERT` and `TLS_KEY` name PEM files (or `TLS_SELF_SIGNED=1`);
//! - [`listen_addr`]: where a demo listens (`PORT`, default 3000, on 127.0.0.1).
#![forbid(unsafe_code)]

pub mod chat;
mod https;
mod listen;
pub mod proxy;
pub mod room;
pub mod stats;
pub mod tail;

pub use https::tls_from_env;
pub use listen::listen_addr;
