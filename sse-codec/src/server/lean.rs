//! The HTTP/1.1 path for requests without a body (an `EventSource`'s `GET`): the head parsed
//! with `httparse`, the response written straight to the socket, an SSE stream as one chunk per
//! event in one vectored write each.
//!
//! Why not hyper here: its HTTP/1 connection keeps an 8 KiB read buffer and an 8 KiB header
//! buffer for its whole life, the better part of what an idle SSE stream costs. This path keeps
//! no buffer while a stream is open. Anything it does not serve (a request with a body, `HEAD`,
//! HTTP/1.0, `Expect`, `Upgrade`, a head that does not parse or is very long) goes to hyper with
//! the bytes read so far, so hyper's rules and errors still apply to everything unusual.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};
use std::io::{self, IoSlice, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use bytes::{Buf, Bytes};
use futures_io::{AsyncRead, AsyncWrite};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use http_body::Body as _;
use hyper::rt::{Read, ReadBuf, Write};

use super::conn_io::Io;
use super::fanout::Lanes;
use super::{Body, Config, Request, Response, Runtime, Shutdown, into_http, with_deadline};
use crate::hub::{DirectHandle, Sent, Sink};

/// Longest request head this path serves; a longer one goes to hyper (and its own limit).
const MAX_HEAD: usize = 16 * 1024;
/// Most header fields this path parses; more go to hyper.
const MAX_HEADERS: usize = 64;
/// Largest chunk (size line, data, CRLF) copied into one contiguous write.
const FLAT_CHUNK: usize = 2048;
/// Bytes read per call while a head is incomplete.
const READ_CHUNK: usize = 2048;

/// How the connection goes on after the lean path.
pub(super) enum Next {
    /// hyper serves the rest of the connection, starting with these bytes already read.
    Hyper(Bytes),
    /// Close it.
    Close,
}

/// Serves requests without a body until the connection closes or a request needs hyper.
///
/// Like hyper's, the header-read timeout bounds the wait for each request head: the first from
/// `accepted`, the next ones from the end of the response before (so an idle keep-alive
/// connection is closed after it).
#[allow(clippy::too_many_arguments)]
pub(super) async fn serve<R, H, F>(
    io: &mut Io<R::Conn>,
    config: &Config,
    handler: &H,
    shutdown: &Arc<Shutdown>,
    lanes: &Lanes,
    remote_addr: SocketAddr,
    accepted: Instant,
) -> Next
where
    R: Runtime,
    H: Fn(Request) -> F,
    F: Future<Output = Response>,
{
    // The bytes of the next request head (and any that follow it).
    let mut head = Vec::new();
    let mut waiting_since = accepted;
    loop {
        let read = read_head::<R>(io, &mut head, config, shutdown, remote_addr, waiting_since);
        let (request, len, close) = match read.await {
            Head::Parsed {
                request,
                len,
                close,
            } => (request, len, close),
            Head::Hyper => return Next::Hyper(Bytes::from(head)),
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
                let direct = direct.and_then(|handle| {
                    let conn = R::try_clone(io.get_ref())?;
                    handle.attach(Box::new(ChunkSink(conn)));
                    let lane = lanes.join(handle.clone());
                    Some((handle, lane))
                });
                let body = Body::Sse {
                    body,
                    shutdown: server,
                    direct: None,
                    in_a_row,
                };
                if stream(io, body, direct, &mut head).await.is_err() {
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

/// Whether a header field (a comma-separated list) holds `token`, in any case.
fn has_token(headers: &HeaderMap, name: HeaderName, token: &[u8]) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    })
}

enum Head {
    /// A request this path serves; its head is `len` bytes long.
    Parsed {
        request: Box<Request>,
        len: usize,
        close: bool,
    },
    /// A request for hyper (everything read so far is in the buffer).
    Hyper,
    /// The client closed the connection (or the server is stopping) between requests.
    Closed,
}

/// Reads into `head` until it holds a whole request head, within the header-read timeout
/// counted from `since`; at the deadline the connection closes.
async fn read_head<R: Runtime>(
    io: &mut Io<R::Conn>,
    head: &mut Vec<u8>,
    config: &Config,
    shutdown: &Shutdown,
    remote_addr: SocketAddr,
    since: Instant,
) -> Head {
    loop {
        if !head.is_empty() {
            match parse(head, remote_addr) {
                Parse::Done(Head::Parsed { len, .. }) if len > MAX_HEAD => return Head::Hyper,
                Parse::Done(parsed) => return parsed,
                Parse::Partial if head.len() <= MAX_HEAD => {}
                Parse::Partial | Parse::NotOurs => return Head::Hyper,
            }
        }
        let left = config.header_read_timeout.saturating_sub(since.elapsed());
        match with_deadline(read_some(io, head, shutdown), R::sleep(left)).await {
            Some(Ok(n)) if n > 0 => {}
            _ => return Head::Closed,
        }
    }
}

/// Reads what the socket has into `head`; `Ok(0)` at the end of the stream, or when the server
/// is stopping and no request has begun.
async fn read_some<T: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<T>,
    head: &mut Vec<u8>,
    shutdown: &Shutdown,
) -> io::Result<usize> {
    let mut chunk = [0u8; READ_CHUNK];
    poll_fn(|cx| {
        if head.is_empty() && shutdown.stopping.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(0));
        }
        let mut buf = ReadBuf::new(&mut chunk);
        ready!(Pin::new(&mut *io).poll_read(cx, buf.unfilled()))?;
        head.extend_from_slice(buf.filled());
        Poll::Ready(Ok(buf.filled().len()))
    })
    .await
}

enum Parse {
    Done(Head),
    Partial,
    /// Not for this path: hyper takes it (and its errors) from here.
    NotOurs,
}

/// Parses a request head this path serves: HTTP/1.1, no body, nothing that changes the
/// connection's protocol.
fn parse(bytes: &[u8], remote_addr: SocketAddr) -> Parse {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parse::Partial,
        Err(_) => return Parse::NotOurs,
    };
    let (Some(method), Some(path), Some(1)) = (parsed.method, parsed.path, parsed.version) else {
        return Parse::NotOurs;
    };
    if matches!(method, "HEAD" | "CONNECT") {
        return Parse::NotOurs;
    }
    let (Ok(method), Ok(uri)) = (Method::from_bytes(method.as_bytes()), Uri::try_from(path)) else {
        return Parse::NotOurs;
    };
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    let mut close = false;
    for field in parsed.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(field.name.as_bytes()),
            HeaderValue::from_bytes(field.value),
        ) else {
            return Parse::NotOurs;
        };
        match name {
            header::CONTENT_LENGTH if field.value != b"0" => return Parse::NotOurs,
            header::TRANSFER_ENCODING | header::EXPECT | header::UPGRADE => {
                return Parse::NotOurs;
            }
            header::CONNECTION => {
                let tokens = field.value.split(|&b| b == b',');
                for token in tokens.map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        return Parse::NotOurs;
                    }
                }
            }
            _ => {}
        }
        headers.append(name, value);
    }
    Parse::Done(Head::Parsed {
        request: Box::new(Request::new(method, uri, headers, remote_addr)),
        len,
        close,
    })
}

/// Whether a response with this status carries a body.
fn has_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// The status line and header fields of a response: the handler's fields, `date`, and the
/// framing (`content-length`, or chunked for a stream), which this path owns.
fn response_head(status: StatusCode, headers: &HeaderMap, body: &Body, close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if matches!(
            *name,
            header::CONTENT_LENGTH | header::TRANSFER_ENCODING | header::CONNECTION
        ) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key(header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if has_body(status) {
        match body.size_hint().exact() {
            Some(len) => {
                // Writing into a `Vec` cannot fail.
                let _ = write!(out, "content-length: {len}\r\n");
            }
            None => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Writes `first` then `second`.
async fn write_all<T: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<T>,
    first: &[u8],
    second: &[u8],
) -> io::Result<()> {
    let (mut first, mut second) = (first, second);
    poll_fn(|cx| {
        while !first.is_empty() || !second.is_empty() {
            let slices = [IoSlice::new(first), IoSlice::new(second)];
            let n = ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let from_first = n.min(first.len());
            first = &first[from_first..];
            second = &second[n - from_first..];
        }
        Poll::Ready(Ok(()))
    })
    .await
}

/// Streams an SSE body as chunks until it ends (then writes the last chunk) or the client goes.
/// Bytes the client sends meanwhile (its next request) are kept in `next`, up to a head's size.
/// A chunk is written before the next event is asked for: a client that does not read holds
/// the producer back.
///
/// With `direct` (a hub subscription and the waker of its lane), the stream releases the socket
/// to the lane whenever it has written everything and the subscription has nothing more, and
/// claims it back before it writes anything itself.
async fn stream<T: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<T>,
    mut body: Body,
    direct: Option<(DirectHandle, Waker)>,
    next: &mut Vec<u8>,
) -> io::Result<()> {
    let mut pending: Option<Chunk> = None;
    let mut ending = false;
    // Whether the lane owns the socket.
    let mut released = false;
    // Zeroed once, not at every wake-up.
    let mut scratch = [0u8; 512];
    poll_fn(|cx| {
        if released && let Some((handle, _)) = &direct {
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
            Poll::Ready(Ok(())) if next.len() + read.filled().len() <= MAX_HEAD => {
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
                    let n = ready!(Pin::new(&mut *io).poll_write_vectored(cx, &chunk.slices()))?;
                    if n == 0 {
                        return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                    }
                    chunk.advance(n);
                }
                pending = None;
                if ending {
                    return Poll::Ready(Ok(()));
                }
            }
            // Pending here (and only here) may release the socket to the lane: everything taken
            // is written.
            match ready!(poll_body(&mut body, cx, &direct, &mut released)) {
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
    direct: &Option<(DirectHandle, Waker)>,
    released: &mut bool,
) -> Poll<Option<Result<http_body::Frame<Bytes>, core::convert::Infallible>>> {
    let polled = Pin::new(body).poll_frame(cx);
    if polled.is_pending()
        && let Some((handle, lane)) = direct
    {
        *released = handle.release(lane);
    }
    polled
}

/// A connection's second handle, for a lane: each frame goes out as one chunk, or as much of it
/// as the socket takes now.
struct ChunkSink<T>(T);

impl<T: AsyncWrite + Send + Unpin> Sink for ChunkSink<T> {
    fn send(&mut self, frame: &Bytes, scratch: &mut [u8]) -> Sent {
        // An empty chunk would end the body.
        if frame.is_empty() {
            return Sent::All;
        }
        let (size, size_len) = size_line(frame.len());
        let parts = [&size[..size_len], &frame[..], b"\r\n"];
        let len = size_len + frame.len() + 2;
        // Never waits: a full socket is left to the connection's task (which registers itself).
        let mut cx = Context::from_waker(Waker::noop());
        let written = if len <= scratch.len() {
            let mut at = 0;
            for part in parts {
                scratch[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            Pin::new(&mut self.0).poll_write(&mut cx, &scratch[..len])
        } else {
            let slices = parts.map(IoSlice::new);
            Pin::new(&mut self.0).poll_write_vectored(&mut cx, &slices)
        };
        match written {
            Poll::Ready(Ok(n)) if n >= len => Sent::All,
            Poll::Ready(Ok(n)) if n > 0 => {
                // What is left of the chunk, in one buffer (a partial write is rare).
                let mut rest = bytes::BytesMut::with_capacity(len - n);
                let mut skip = n;
                for part in parts {
                    let from = skip.min(part.len());
                    rest.extend_from_slice(&part[from..]);
                    skip -= from;
                }
                Sent::Part(rest.freeze())
            }
            _ => Sent::Nothing,
        }
    }
}

/// The size line of a chunk of `len` bytes, `{len:X}\r\n`, and its length (without `fmt`: this
/// runs per event).
fn size_line(len: usize) -> ([u8; 20], usize) {
    let mut line = [0u8; 20];
    let len = len as u64;
    let digits = (16 - (len.leading_zeros() as usize / 4)).max(1);
    for (i, byte) in line[..digits].iter_mut().enumerate() {
        let nibble = (len >> (4 * (digits - 1 - i))) & 0xF;
        *byte = b"0123456789ABCDEF"[nibble as usize];
    }
    line[digits..digits + 2].copy_from_slice(b"\r\n");
    (line, digits + 2)
}

/// One chunk of a chunked body in the writing: its size line, its data, its CRLF. With no data
/// it is the last chunk.
struct Chunk {
    /// `{size:X}\r\n`.
    size: [u8; 20],
    size_at: usize,
    size_end: usize,
    data: Bytes,
    /// Bytes of the closing CRLF written.
    crlf_at: usize,
}

impl Chunk {
    fn new(data: Bytes) -> Self {
        let (size, size_end) = size_line(data.len());
        Chunk {
            size,
            size_at: 0,
            size_end,
            data,
            crlf_at: 0,
        }
    }

    /// Bytes already framed (what a lane left half-written), written as they are.
    fn raw(bytes: Bytes) -> Self {
        Chunk {
            size: [0; 20],
            size_at: 0,
            size_end: 0,
            data: bytes,
            crlf_at: 2,
        }
    }

    fn remaining(&self) -> usize {
        (self.size_end - self.size_at) + self.data.len() + (2 - self.crlf_at)
    }

    fn slices(&self) -> [IoSlice<'_>; 3] {
        [
            IoSlice::new(&self.size[self.size_at..self.size_end]),
            IoSlice::new(&self.data),
            IoSlice::new(&b"\r\n"[self.crlf_at..]),
        ]
    }

    /// The whole chunk copied into `into`, if it fits and nothing of it was written yet.
    fn flatten<'a>(&self, into: &'a mut [u8]) -> Option<&'a [u8]> {
        let len = self.remaining();
        if len > into.len() || self.size_at > 0 {
            return None;
        }
        let size = &self.size[..self.size_end];
        let (head, rest) = into.split_at_mut(size.len());
        head.copy_from_slice(size);
        let (data, rest) = rest.split_at_mut(self.data.len());
        data.copy_from_slice(&self.data);
        rest[..2].copy_from_slice(b"\r\n");
        Some(&into[..len])
    }

    fn advance(&mut self, mut n: usize) {
        let size = (self.size_end - self.size_at).min(n);
        self.size_at += size;
        n -= size;
        let data = self.data.len().min(n);
        self.data.advance(data);
        n -= data;
        self.crlf_at = (self.crlf_at + n).min(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// What the chunk would write, `step` bytes at a time.
    fn written(mut chunk: Chunk, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while chunk.remaining() > 0 {
            let mut all = Vec::new();
            for slice in chunk.slices() {
                all.extend_from_slice(&slice);
            }
            let n = step.min(all.len());
            out.extend_from_slice(&all[..n]);
            chunk.advance(n);
        }
        out
    }

    #[test]
    fn chunks_frame_their_data_at_any_write_size() {
        for step in [1, 2, 3, 7, 100] {
            let chunk = Chunk::new(Bytes::from_static(b"data: hi\n\n"));
            assert_eq!(
                written(chunk, step),
                b"A\r\ndata: hi\n\n\r\n",
                "step {step}"
            );
            assert_eq!(written(Chunk::new(Bytes::new()), step), b"0\r\n\r\n");
        }
        let big = Bytes::from(vec![b'x'; 70_000]);
        let out = written(Chunk::new(big), 4096);
        assert!(out.starts_with(b"11170\r\nxxx") && out.ends_with(b"xx\r\n"));
    }

    #[test]
    fn size_lines_are_the_length_in_upper_case_hex() {
        for len in [
            0, 1, 9, 10, 15, 16, 17, 255, 256, 4095, 4096, 65_535, 65_536, 1_048_579,
        ] {
            let chunk = Chunk::new(Bytes::from(vec![b'x'; len]));
            let line = alloc::format!("{len:X}\r\n");
            assert_eq!(&*chunk.slices()[0], line.as_bytes(), "length {len}");
        }
    }

    /// A socket that takes at most `step` bytes per write.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = self.step.min(buf.len());
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_lane_write_cut_anywhere_leaves_the_exact_rest_of_the_chunk() {
        for len in [1, 10, 2000, FLAT_CHUNK, 70_000] {
            let frame = Bytes::from(vec![b'x'; len]);
            let whole = [
                alloc::format!("{len:X}\r\n").into_bytes(),
                vec![b'x'; len],
                b"\r\n".to_vec(),
            ]
            .concat();
            for step in [0, 1, 2, 3, 7, 100, whole.len() - 1, usize::MAX] {
                let mut sink = ChunkSink(Trickle {
                    out: Vec::new(),
                    step,
                });
                let mut scratch = [0u8; FLAT_CHUNK];
                let wire = match sink.send(&frame, &mut scratch) {
                    Sent::All => sink.0.out.clone(),
                    Sent::Part(rest) => [sink.0.out.clone(), rest.to_vec()].concat(),
                    Sent::Nothing => {
                        assert!(sink.0.out.is_empty(), "len {len} step {step}");
                        whole.clone()
                    }
                };
                assert!(wire == whole, "len {len} step {step}");
            }
        }
    }

    #[test]
    fn a_small_chunk_flattens_whole_and_only_before_any_write() {
        let mut flat = [0u8; FLAT_CHUNK];
        let mut chunk = Chunk::new(Bytes::from_static(b"data: hi\n\n"));
        assert_eq!(
            chunk.flatten(&mut flat),
            Some(&b"A\r\ndata: hi\n\n\r\n"[..])
        );
        chunk.advance(1);
        assert_eq!(chunk.flatten(&mut flat), None);
        let big = Chunk::new(Bytes::from(vec![b'x'; FLAT_CHUNK]));
        assert_eq!(big.flatten(&mut flat), None);
    }
}
