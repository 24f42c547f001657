//! The stream pump: an SSE body written as chunks, one event at a time, while the socket is
//! watched for the client leaving.

use alloc::vec::Vec;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};
use std::io;

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use http_body::Body as _;
use hyper::rt::{Read, ReadBuf, Write};
use ssewire_stream::direct::DirectHandle;

use super::chunk::{Chunk, FLAT_CHUNK};
use crate::body::Body;
use crate::conn_io::Io;

/// Streams an SSE body as chunks until it ends (then writes the last chunk) or the client goes.
/// Bytes the client sends meanwhile (its next request) are kept in `next`, up to `max_head`.
/// A chunk is written before the next event is asked for: a client that does not read holds
/// the producer back.
///
/// `sub` is the handle of a hub subscription (to learn that the hub ended a slow subscriber);
/// with `lane` too (the waker of its fan-out lane), the stream releases the socket to the lane
/// whenever it has written everything and the subscription has nothing more, and claims it back
/// before it writes anything itself.
pub(super) async fn stream<T: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<T>,
    mut body: Body,
    sub: Option<DirectHandle>,
    lane: Option<Waker>,
    next: &mut Vec<u8>,
    max_head: usize,
) -> io::Result<()> {
    let mut pending: Option<Chunk> = None;
    let mut ending = false;
    // Whether the lane owns the socket.
    let mut released = false;
    // Zeroed once, not at every wake-up.
    let mut scratch = [0u8; 512];
    poll_fn(|cx| {
        if released && let Some(handle) = &sub {
            // While the lane is writing, it wakes this task when it is done.
            let rest = ready!(handle.claim(cx.waker()));
            released = false;
            pending = rest.map(Chunk::raw);
        }
        // The client closing its side ends the stream. (The I/O shim reads only once the reactor
        // says the socket is readable, so this costs no system call per event.)
        let mut read = ReadBuf::new(&mut scratch);
        match Pin::new(&mut *io).poll_read(cx, read.unfilled()) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            Poll::Ready(Ok(())) if next.len() + read.filled().len() <= max_head => {
                next.extend_from_slice(read.filled());
                // Read again on the next poll, so that the reactor is asked to wake this task
                // on the next bytes.
                cx.waker().wake_by_ref();
            }
            Poll::Ready(Ok(())) => return Poll::Ready(Err(io::ErrorKind::OutOfMemory.into())),
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {}
        }
        // The body returns `Pending` now and then even with frames at hand (see `BUDGET`), so this
        // loop lets other tasks run.
        loop {
            if let Some(chunk) = &mut pending {
                while chunk.remaining() > 0 {
                    let written = Pin::new(&mut *io).poll_write_vectored(cx, &chunk.slices());
                    let Poll::Ready(written) = written else {
                        // A full socket: a hub that ends slow subscribers ends this one now.
                        if let Some(handle) = &sub
                            && handle.disconnected(cx.waker())
                        {
                            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
                        }
                        return Poll::Pending;
                    };
                    let n = written?;
                    if n == 0 {
                        return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                    }
                    chunk.advance(n);
                }
                pending = None;
                if ending {
                    ready!(Pin::new(&mut *io).poll_flush(cx))?;
                    return Poll::Ready(Ok(()));
                }
            }
            // What the transport holds back goes out before the stream waits (TLS keeps the
            // records a full socket did not take; on a plain socket this is a call that returns).
            ready!(Pin::new(&mut *io).poll_flush(cx))?;
            // Pending here (and only here) may release the socket to the lane: everything taken
            // is written.
            match ready!(poll_body(&mut body, cx, &sub, &lane, &mut released)) {
                Some(Ok(frame)) => {
                    // An empty chunk would end the body: skipped.
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        let mut chunk = Chunk::new(data);
                        // A small chunk goes out as one contiguous `send`, which costs the
                        // kernel less than a three-part `writev`; what it does not take is
                        // written from the chunk.
                        let mut flat = [0u8; FLAT_CHUNK];
                        if let Some(flat) = chunk.flatten(&mut flat) {
                            match Pin::new(&mut *io).poll_write(cx, flat) {
                                Poll::Ready(Ok(n)) => chunk.advance(n),
                                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                                Poll::Pending => {}
                            }
                        }
                        if chunk.remaining() > 0 {
                            pending = Some(chunk);
                        }
                    }
                }
                None => {
                    // The last chunk: `0\r\n\r\n`.
                    pending = Some(Chunk::new(Bytes::new()));
                    ending = true;
                }
            }
        }
    })
    .await
}

/// Polls `body` for its next frame; at `Pending`, with nothing of ours left to write, the socket
/// goes to the lane if the subscription lets it.
fn poll_body(
    body: &mut Body,
    cx: &mut Context<'_>,
    sub: &Option<DirectHandle>,
    lane: &Option<Waker>,
    released: &mut bool,
) -> Poll<Option<Result<http_body::Frame<Bytes>, core::convert::Infallible>>> {
    let polled = Pin::new(body).poll_frame(cx);
    if polled.is_pending()
        && let (Some(handle), Some(lane)) = (sub, lane)
    {
        *released = handle.release(lane);
    }
    polled
}
