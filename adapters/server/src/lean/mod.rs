//! The HTTP/1.1 path for requests without a body (an `EventSource`'s `GET`): the head parsed
//! with `httparse`, the response written straight to the socket, an SSE stream as one chunk per
//! event in one write each.
//!
//! Why not hyper here: its HTTP/1 connection keeps an 8 KiB read buffer and an 8 KiB header
//! buffer for its whole life, the better part of what an idle SSE stream costs (18.5 KiB per
//! idle stream through hyper, 7.8 KiB on this path, measured by `benches/load`). This path keeps
//! no buffer while a stream is open. Anything it does not serve (a request with a body, `HEAD`,
//! HTTP/1.0, `Expect`, `Upgrade`, a head that does not parse or is very long) goes to hyper with
//! the bytes read so far, so hyper's rules and errors still apply to everything unusual.

mod chunk;
mod pump;
pub(crate) mod request;
mod response;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use http::{StatusCode, header};

use crate::body::{Body, into_http};
use crate::conn_io::Io;
use crate::fanout::Lanes;
use crate::server::Shutdown;
use crate::stats::Limit;
use crate::{Config, Request, Response, Runtime};
use chunk::ChunkSink;
use request::{Head, has_token, read_head};
use response::{has_body, response_head, write_all};

/// How the connection goes on after the lean path.
pub(crate) enum Next {
    /// hyper serves the rest of the connection, starting with these bytes already read; the
    /// head they begin was awaited since the instant (its header-read deadline runs from it).
    Hyper(Bytes, Instant),
    /// Close it.
    Close,
}

/// Serves requests without a body until the connection closes or a request needs hyper.
///
/// Like hyper's, the header-read timeout bounds the wait for each request head: the first from
/// `accepted`, the next ones from the end of the response before (so an idle keep-alive
/// connection is closed after it).
#[expect(
    clippy::too_many_arguments,
    reason = "the connection's parts, passed once"
)]
pub(crate) async fn serve<R, C, H, F>(
    io: &mut Io<C>,
    try_clone: fn(&C) -> Option<C>,
    config: &Config,
    handler: &H,
    shutdown: &Arc<Shutdown>,
    lanes: &Lanes,
    remote_addr: SocketAddr,
    accepted: Instant,
) -> Next
where
    R: Runtime,
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    H: Fn(Request) -> F,
    F: Future<Output = Response>,
{
    // The bytes of the next request head (and any that follow it).
    let mut head = Vec::new();
    let mut waiting_since = accepted;
    loop {
        let read = read_head::<R, C>(io, &mut head, config, shutdown, remote_addr, waiting_since);
        let (request, len, close) = match read.await {
            Head::Parsed {
                request,
                len,
                close,
            } => (request, len, close),
            Head::Hyper => return Next::Hyper(Bytes::from(head), waiting_since),
            Head::Closed => return Next::Close,
        };
        head.drain(..len);
        // Nothing is kept for the response's life but the bytes of a pipelined request.
        if head.is_empty() {
            head = Vec::new();
        } else {
            head.shrink_to_fit();
        }
        let response = handler(*request).await;
        let (mut parts, body) = into_http::<R>(response, config, shutdown).into_parts();
        if parts.status.is_informational() {
            // A handler cannot answer with an interim response (hyper does the same).
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        }
        let close = close
            || has_token(&parts.headers, header::CONNECTION, b"close")
            || shutdown.stopping.load(Ordering::SeqCst);
        let out = response_head(parts.status, &parts.headers, &body, close);
        let status = parts.status;
        // Not kept for the life of a stream.
        drop(parts);
        match body {
            Body::Full(bytes) => {
                let bytes = bytes.filter(|_| has_body(status)).unwrap_or_default();
                if write_all(io, &out, &bytes).await.is_err() {
                    return Next::Close;
                }
            }
            Body::Sse {
                body,
                shutdown: server,
                direct,
                in_a_row,
            } => {
                if write_all(io, &out, &[]).await.is_err() {
                    return Next::Close;
                }
                drop(out);
                // A hub subscription, on a runtime whose sockets can be shared, is written by a
                // fan-out task while it is idle (see `fanout`).
                let lane = direct
                    .as_ref()
                    .filter(|_| config.fan_out_lanes)
                    .and_then(|handle| {
                        let conn = try_clone(io.get_ref())?;
                        handle.attach(Box::new(ChunkSink(conn, shutdown.clone())));
                        Some(lanes.join(handle.clone()))
                    });
                let body = Body::Sse {
                    body,
                    shutdown: server,
                    direct: None,
                    in_a_row,
                };
                let streamed =
                    pump::stream(io, body, direct, lane, &mut head, config.max_head_size).await;
                if let Err(e) = streamed {
                    // The hub ended the subscription while its socket was full.
                    if e.kind() == std::io::ErrorKind::TimedOut {
                        shutdown.stats.closed(Limit::SlowSubscriber, remote_addr);
                    }
                    return Next::Close;
                }
            }
        }
        if close || shutdown.stopping.load(Ordering::SeqCst) {
            return Next::Close;
        }
        waiting_since = Instant::now();
    }
}
