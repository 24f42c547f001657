//! Load benchmark of ssewire's broadcast servers against axum and actix-web-lab.
//!
//! - four server binaries with the same behaviour (`load-server-smol`, `load-server-async-std`,
//!   `load-server-axum`, `load-server-actix`): `GET /events` streams a broadcast with `id:`
//!   lines, `GET /control?rate=R&count=K` makes the server's publisher send `K` events at `R`
//!   per second, each event's data being `"<seq> <send time, ns since the Unix epoch>"`;
//! - [`client`]: a light load client (tokio, one thread, raw HTTP/1.1, kernel receive
//!   timestamps) holding N streams;
//! - [`tls`]: the client's HTTPS mode (`loadtest --tls`, the ssewire servers' `--tls`);
//! - [`driver`]: starts each server as a child process and measures it (`loadtest` binary);
//! - [`many`]: several instances sharing one Redis against the single-node hub
//!   (`loadtest-redis` binary).
//!
//! Everything runs on 127.0.0.1, bounded in count and time.

pub mod client;
pub mod driver;
pub mod many;
pub mod proc;
pub mod publish;
pub mod sys;
pub mod tls;
