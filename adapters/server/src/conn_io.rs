//! The I/O shim between a runtime's `futures-io` socket and hyper's I/O traits.
//!
//! Leaner than a plain wrapper in the two ways that matter for many idle streams: it never
//! zero-fills hyper's read buffer (only the bytes read are written into it, so an idle
//! connection's buffer pages stay untouched), and it does not call `recv` again until the
//! reactor has said the socket is readable (hyper polls its read side every time the connection
//! task wakes, which for an SSE response is once per event).

use alloc::sync::Arc;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use std::io;
use std::task::Wake;

use atomic_waker::AtomicWaker;
use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};

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

    pub(super) fn new(inner: T, prefix: Bytes) -> Self {
        Io {
            inner,
            prefix,
            gate: Arc::new(ReadGate {
                readable: AtomicBool::new(true),
                task: AtomicWaker::new(),
            }),
        }
    }
}

/// Remembers whether the socket may have data, and whom to wake when the reactor says so.
struct ReadGate {
    /// Invariant: false only between a read that returned `Pending` and the reactor's wake-up.
    readable: AtomicBool,
    /// The task that last polled the read side (a waker equal to the stored one is not cloned).
    task: AtomicWaker,
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
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
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
