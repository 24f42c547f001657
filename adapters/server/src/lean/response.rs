//! The response head the lean path writes (it owns the framing headers), and the write of a
//! whole response.

use alloc::vec::Vec;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Poll, ready};
use std::io::{self, IoSlice};
use std::time::SystemTime;

use futures_io::{AsyncRead, AsyncWrite};
use http::{HeaderMap, StatusCode, header};
use http_body::Body as _;
use hyper::rt::Write;

use crate::body::Body;
use crate::conn_io::Io;

/// Whether a response with this status carries a body.
pub(super) fn has_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// The status line and header fields of a response: the handler's fields, `date`, and the
/// framing (`content-length`, or chunked for a stream), which this path owns.
pub(super) fn response_head(
    status: StatusCode,
    headers: &HeaderMap,
    body: &Body,
    close: bool,
) -> Vec<u8> {
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
                out.extend_from_slice(b"content-length: ");
                out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
                out.extend_from_slice(b"\r\n");
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
pub(super) async fn write_all<T: AsyncRead + AsyncWrite + Unpin>(
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
        // TLS may hold records a full socket did not take.
        Pin::new(&mut *io).poll_flush(cx)
    })
    .await
}
