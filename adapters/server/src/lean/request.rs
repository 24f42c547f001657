//! Reading and parsing a request head for the lean path, and telling which requests are not its
//! own (those go to hyper with every byte read).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Poll, ready};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use hyper::rt::{Read, ReadBuf};

use crate::conn::with_deadline;
use crate::conn_io::Io;
use crate::server::Shutdown;
use crate::stats::Limit;
use crate::{Config, Request, Runtime};

/// Most header fields this path parses (on the stack); a head with more, or with more than
/// [`Config::max_headers`], goes to hyper, which has the same limit and answers `431` past it.
const MAX_FIELDS: usize = 100;
/// Bytes read per call while a head is incomplete.
pub(crate) const READ_CHUNK: usize = 2048;

/// Whether a header field (a comma-separated list) holds `token`, in any case.
pub(super) fn has_token(headers: &HeaderMap, name: HeaderName, token: &[u8]) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    })
}

pub(crate) enum Head {
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
/// counted from `since`; at the deadline the connection closes. A head longer than
/// [`Config::max_head_size`] goes to hyper, whose limit is the same (it answers `431`).
pub(super) async fn read_head<R: Runtime, C: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Io<C>,
    head: &mut Vec<u8>,
    config: &Config,
    shutdown: &Shutdown,
    remote_addr: SocketAddr,
    since: Instant,
) -> Head {
    loop {
        if let Some(verdict) = judge(head, config, remote_addr) {
            return verdict;
        }
        let left = config.header_read_timeout.saturating_sub(since.elapsed());
        match with_deadline(read_some(io, head, shutdown), R::sleep(left)).await {
            Some(Ok(n)) if n > 0 => {}
            Some(_) => return Head::Closed,
            None => {
                shutdown.stats.closed(Limit::HeaderTimeout, remote_addr);
                return Head::Closed;
            }
        }
    }
}

/// What the bytes of a head read so far decide: a request this path serves, one for hyper, or
/// `None` (more bytes are needed).
pub(crate) fn judge(head: &[u8], config: &Config, remote_addr: SocketAddr) -> Option<Head> {
    if head.is_empty() {
        return None;
    }
    match parse(head, remote_addr, config.max_headers) {
        // hyper's rules: a whole head longer than the limit, or an unfinished one at it.
        Parse::Done(Head::Parsed { len, .. }) if len > config.max_head_size => Some(Head::Hyper),
        Parse::Done(parsed) => Some(parsed),
        Parse::Partial if head.len() < config.max_head_size => None,
        Parse::Partial | Parse::NotOurs => Some(Head::Hyper),
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
fn parse(bytes: &[u8], remote_addr: SocketAddr, max_headers: usize) -> Parse {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut fields[..max_headers.min(MAX_FIELDS)]);
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
