//! The client side on each adapter: the same tests for every runtime shell, of what its
//! [`EventSource`](ssewire_client_transport::EventSource) (`ssewire_client_transport`'s, with the
//! shell's runtime filled in) and the demos built on it do against our own server.
//! [`client_suite!`](crate::client_suite) turns each `async fn(runtime)` into a `#[test]`.
//!
//! - [`tail`]: the `tail` examples' logic (`ssewire_demo::tail`) against a real server;
//! - [`proxy`]: the chat demo's AI-proxy mode end to end, read with the client;
//! - [`https`]: the client over `https://` (HTTP/2 by ALPN, HTTP/1.1, redirects, timeouts,
//!   keep-alive) against `serve_tls` with a [`TestCert`](crate::client::TestCert).
//!
//! The servers and the client run on the runtime under test; the fixtures around them (a relay,
//! a listener that never answers) use `async_io` sockets, as [`client`](crate::client) does.
//! Each test bounds its waits with the runtime's timer and shuts its servers down.
//!
//! The runtime is a [`ProxyRuntime`](ssewire_demo::proxy::ProxyRuntime): a server's and a
//! client's (`ssewire_smol::Smol` and `ssewire_async_std::AsyncStd` are both).

pub mod https;
pub mod proxy;
pub mod tail;
