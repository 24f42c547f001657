//! The I/O shim between a runtime's `futures-io` socket and hyper's I/O traits.
//!
//! Leaner than a plain wrapper in the two ways that matter for many idle streams: it never
//! zero-fills hyper's read buffer (only the bytes read are written into it, so an idle
//! connection's buffer pages stay untouched), and it does not call `recv` again until the
//! reactor has said the socket is readable (hyper polls its read side every time the connection
//! task wakes, which for an SSE response is once per event).

use alloc::sync::Arc;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::io;
use std::sync::OnceLock;
use std::task::Wake;
use std::time::Instant;

use atomic_waker::AtomicWaker;
use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};

use crate::server::Shutdown;

/// Most bytes read per call; the stack buffer they pass through.
const READ_CHUNK: usize = 8 * 1024;

pin_project_lite::pin_project! {
    /// A `futures-io` socket as hyper I/O.
    pub(super) struct Io<T> {
        #[pin]
        inner: T,
        // Bytes already read from `inner` (to tell HTTP/2 from HTTP/1.1), handed to hyper first.
        prefix: Bytes,
        gate: Arc<ReadGate>,
    }
}

impl<T> Io<T> {
    /// Bytes already read from `inner` (the start of the next request), handed out first, before
    /// any not yet handed out.
    pub(super) fn set_prefix(&mut self, prefix: Bytes) {
        if self.prefix.is_empty() {
            self.prefix = prefix;
        } else {
            let mut both = bytes::BytesMut::from(&prefix[..]);
            both.extend_from_slice(&self.prefix);
            self.prefix = both.freeze();
        }
    }

    /// The socket.
    pub(super) fn get_ref(&self) -> &T {
        &self.inner
    }

    /// `inner`, with `prefix` (bytes already read) handed to hyper first; what is written is
    /// counted in `server`'s stats.
    pub(super) fn new(inner: T, prefix: Bytes, server: Arc<Shutdown>) -> Self {
        Io {
            inner,
            prefix,
            gate: Arc::new(ReadGate {
                readable: AtomicBool::new(true),
                task: AtomicWaker::new(),
                stalled_since: AtomicU64::new(0),
                server,
            }),
        }
    }

    /// Tells how long the socket has refused every byte offered to it.
    pub(super) fn stall_watch(&self) -> StallWatch {
        StallWatch(self.gate.clone())
    }

    /// Notes what a write returned: a `Pending` starts the stall clock (if not running), a byte
    /// taken stops it and counts in the stats. One atomic load and one relaxed add per write
    /// that goes through; the clock is read only at the first `Pending`.
    fn note_write(gate: &ReadGate, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Pending => {
                if gate.stalled_since.load(Ordering::Relaxed) == 0 {
                    gate.stalled_since.store(now_nanos(), Ordering::Relaxed);
                }
            }
            Poll::Ready(Ok(n)) if *n > 0 => {
                gate.server.stats.wrote(*n);
                if gate.stalled_since.load(Ordering::Relaxed) != 0 {
                    gate.stalled_since.store(0, Ordering::Relaxed);
                }
            }
            Poll::Ready(_) => {}
        }
    }
}

/// Nanoseconds since the first call in this process, at least 1 (0 means "not stalled").
fn now_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A view of a connection's stall clock, for the send timeout (checked by the connection's
/// driver, so the per-event write path gains no timer).
pub(crate) struct StallWatch(Arc<ReadGate>);

impl StallWatch {
    /// How long the socket has taken no byte while the server had bytes for it, if it is
    /// stalled now.
    pub(crate) fn stalled_for(&self) -> Option<Duration> {
        let since = self.0.stalled_since.load(Ordering::Relaxed);
        (since != 0).then(|| Duration::from_nanos(now_nanos().saturating_sub(since)))
    }
}

/// Remembers whether the socket may have data, and whom to wake when the reactor says so.
struct ReadGate {
    /// Invariant: false only between a read that returned `Pending` and the reactor's wake-up.
    readable: AtomicBool,
    /// The task that last polled the read side (a waker equal to the stored one is not cloned).
    task: AtomicWaker,
    /// When a write last returned `Pending` with no byte taken since ([`now_nanos`]); 0 while
    /// the socket takes what it is given.
    stalled_since: AtomicU64,
    /// The server's state: its stats count the bytes written.
    server: Arc<Shutdown>,
}

impl Wake for ReadGate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Set before the wake, so the task it wakes sees the socket readable.
        self.readable.store(true, Ordering::SeqCst);
        self.task.wake();
    }
}

impl<T: AsyncRead> hyper::rt::Read for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        this.gate.task.register(cx.waker());
        if !this.gate.readable.load(Ordering::SeqCst) {
            // The reactor has not signalled since the last `WouldBlock`: no syscall.
            return Poll::Pending;
        }
        // Cleared before the attempt, so a wake-up that races with it is not lost.
        this.gate.readable.store(false, Ordering::SeqCst);
        let gate_waker = Waker::from(this.gate.clone());
        let mut chunk = [0u8; READ_CHUNK];
        let len = buf.remaining().min(READ_CHUNK);
        match this
            .inner
            .poll_read(&mut Context::from_waker(&gate_waker), &mut chunk[..len])
        {
            Poll::Ready(Ok(n)) => {
                this.gate.readable.store(true, Ordering::SeqCst);
                buf.put_slice(&chunk[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                this.gate.readable.store(true, Ordering::SeqCst);
                Poll::Ready(Err(e))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite> hyper::rt::Write for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.inner.poll_write(cx, buf);
        Io::<T>::note_write(this.gate, &polled);
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.inner.poll_write_vectored(cx, bufs);
        Io::<T>::note_write(this.gate, &polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}
