//! The encoder: `Event` → SSE bytes, into a caller-owned buffer.

use bytes::BufMut;

use crate::{Event, EventRef};

/// Writes `event` in the SSE wire format to `buf`.
///
/// Fields go out in the order comment, `event`, `id`, `retry`, `data`, then the blank line that
/// dispatches the event. Every value line is written as `name: value` (with the space), so a value
/// that starts with a space survives; data and comments are split on LF into one line each (an
/// [`Event`] holds no CR), so nothing in a value can inject a field. An event with no field at all
/// writes nothing.
///
/// Infallible: every `Event` was checked when it was built. Writing a single-line event into a
/// buffer with room allocates nothing.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
///
/// let mut buf = BytesMut::new();
/// ssewire::encode(&ssewire::Event::new(" leading space\nx\revent: admin"), &mut buf);
/// assert_eq!(buf, "data:  leading space\ndata: x\ndata: event: admin\n\n");
/// ```
pub fn encode(event: &Event, buf: &mut impl BufMut) {
    let mut wrote = false;
    // Values are written from their bytes: each was checked (UTF-8, no line break where none
    // may be) when the `Event` was built, so nothing is checked again here.
    if let Some(comment) = &event.comment {
        for line in comment.as_bytes().split(|&b| b == b'\n') {
            put_field(buf, b": ", line);
        }
        wrote = true;
    }
    if let Some(name) = &event.event {
        put_field(buf, b"event: ", name.text().as_bytes());
        wrote = true;
    }
    if let Some(id) = &event.id {
        put_field(buf, b"id: ", id.text().as_bytes());
        wrote = true;
    }
    if let Some(ms) = event.retry {
        let mut digits = [0u8; 20];
        put_field(buf, b"retry: ", format_u64(ms, &mut digits));
        wrote = true;
    }
    if let Some(data) = &event.data {
        let mut rest = data.text().as_bytes();
        debug_assert!(!data.is_one_line() || !rest.contains(&b'\n'));
        // Data known to be one line (searched when it was set) is not searched again.
        if !data.is_one_line() {
            while let Some(i) = memchr::memchr(b'\n', rest) {
                put_field(buf, b"data: ", &rest[..i]);
                rest = &rest[i + 1..];
            }
        }
        put_field(buf, b"data: ", rest);
        wrote = true;
    }
    if wrote {
        buf.put_u8(b'\n');
    }
}

/// Writes a borrowed event ([`EventRef::new`], or one the decoder handed out) in the SSE wire
/// format to `buf`: the `event` line unless the type is the default, the `id` line if there is
/// one, then one `data:` line per line of data (LF, CRLF and lone CR all break lines) and the
/// blank line. Nothing is allocated or checked again: the type and id were checked when it was
/// built.
///
/// # Examples
///
/// ```
/// use ssewire::{EventRef, encode_ref};
///
/// let mut buf = bytes::BytesMut::new();
/// encode_ref(&EventRef::new("a\r\nb").with_id("3")?, &mut buf);
/// assert_eq!(buf, "id: 3\ndata: a\ndata: b\n\n");
/// # Ok::<(), ssewire::Error>(())
/// ```
pub fn encode_ref(event: &EventRef<'_>, buf: &mut impl BufMut) {
    let name = event.event_field();
    if !name.is_empty() {
        put_field(buf, b"event: ", name.as_bytes());
    }
    if let Some(id) = event.id() {
        put_field(buf, b"id: ", id.as_bytes());
    }
    encode_data(event.data(), buf);
}

/// Writes a message event carrying `data`, straight from a `&str`: the same bytes as
/// `encode(&Event::new(data), buf)`, without building an [`Event`] (no allocation).
///
/// Every line break (LF, CRLF, lone CR) starts a new `data:` line, so nothing in `data` can inject
/// a field.
///
/// # Examples
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// ssewire::encode_data("one\r\ntwo", &mut buf);
/// assert_eq!(buf, "data: one\ndata: two\n\n");
/// ```
pub fn encode_data(data: &str, buf: &mut impl BufMut) {
    let mut rest = data.as_bytes();
    while let Some(i) = memchr::memchr2(b'\r', b'\n', rest) {
        put_field(buf, b"data: ", &rest[..i]);
        // A CR followed by LF is one line break.
        let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        rest = &rest[i + skip..];
    }
    put_field(buf, b"data: ", rest);
    buf.put_u8(b'\n');
}

/// Writes a message event whose data is `value` as compact JSON, serialized straight into `buf`
/// (with `std`; without it through one temporary buffer): one `data:` line. Only a serde_json
/// `RawValue` can hold a raw line break (between tokens); its text goes out one `data:` line per
/// line, as [`Event::json`](crate::Event::json) sends it, so nothing it holds can cut the frame.
///
/// # Errors
///
/// [`Error::Json`](crate::Error::Json) if serialization fails; `buf` is then left as it was.
///
/// # Examples
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// ssewire::encode_json(&serde_json::json!({"id": 1, "status": "ok"}), &mut buf)?;
/// assert_eq!(buf, "data: {\"id\":1,\"status\":\"ok\"}\n\n");
/// # Ok::<(), ssewire::Error>(())
/// ```
#[cfg(feature = "json")]
pub fn encode_json<T: serde::Serialize + ?Sized>(
    value: &T,
    buf: &mut bytes::BytesMut,
) -> Result<(), crate::Error> {
    let start = buf.len();
    buf.put_slice(b"data: ");
    // Compact JSON escapes every line break inside strings; only a `RawValue` (serde_json's
    // `raw_value` feature, which any crate in a build can turn on) is written verbatim, whitespace
    // and all. Its line breaks sit between tokens: each starts a new `data:` line (the client joins
    // the lines with LF: the same JSON), so nothing it holds can cut the frame.
    #[cfg(feature = "std")]
    let written = {
        let mut ser = serde_json::Serializer::with_formatter(
            ExtendWriter(&mut *buf),
            crate::json::DataLines::default(),
        );
        value.serialize(&mut ser)
    };
    #[cfg(not(feature = "std"))]
    let written = serde_json::to_vec(value).map(|json| {
        let mut text = &json[..];
        while let Some((line, rest)) = crate::json::split_line(text) {
            buf.put_slice(line);
            buf.put_slice(b"\ndata: ");
            text = rest;
        }
        buf.put_slice(text);
    });
    if let Err(e) = written {
        buf.truncate(start);
        return Err(crate::Error::Json(e));
    }
    buf.put_slice(b"\n\n");
    Ok(())
}

/// `io::Write` straight onto a `BytesMut`. `bytes`' own `BufMut::writer` goes through the
/// generic `put` and `write_all`'s loop for every token serde_json writes: 1.50x the time of bare
/// `serde_json::to_writer` into a `Vec` with it (`cargo bench --bench encode -- token_json`).
#[cfg(all(feature = "json", feature = "std"))]
struct ExtendWriter<'a>(&'a mut bytes::BytesMut);

#[cfg(all(feature = "json", feature = "std"))]
impl std::io::Write for ExtendWriter<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The exact number of bytes [`encode`] writes for `event`.
///
/// # Examples
///
/// ```
/// let event = ssewire::Event::new("hi");
/// assert_eq!(ssewire::encoded_len(&event), "data: hi\n\n".len());
/// ```
pub fn encoded_len(event: &Event) -> usize {
    // Each field line is `name: value\n`: name + 2 + value.
    let line = |name: &[u8], value: usize| name.len() + 2 + value;
    let mut len = 0usize;
    if let Some(comment) = &event.comment {
        len += comment
            .as_bytes()
            .split(|&b| b == b'\n')
            .map(|l| line(b":", l.len()))
            .sum::<usize>();
    }
    if let Some(name) = &event.event {
        len += line(b"event:", name.text().len());
    }
    if let Some(id) = &event.id {
        len += line(b"id:", id.text().len());
    }
    if let Some(ms) = event.retry {
        let mut digits = [0u8; 20];
        len += line(b"retry:", format_u64(ms, &mut digits).len());
    }
    if let Some(data) = &event.data {
        let data = data.text();
        let breaks = memchr::memchr_iter(b'\n', data.as_bytes()).count();
        // n breaks: n + 1 lines, each `data: ` + its text + LF; the breaks themselves are not written.
        len += (breaks + 1) * line(b"data:", 0) + data.len() - breaks;
    }
    if len > 0 {
        len += 1;
    }
    len
}

/// Writes one field line: `prefix` is the name, its colon and the space (`b"data: "`).
#[inline]
fn put_field(buf: &mut impl BufMut, prefix: &[u8], value: &[u8]) {
    buf.put_slice(prefix);
    buf.put_slice(value);
    buf.put_u8(b'\n');
}

// Not `itoa`: the codec's dependencies stay bytes, memchr and simdutf8; this only formats `retry`.
/// Formats `n` in decimal into `out`, returning the digits.
fn format_u64(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &out[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_u64_bounds() {
        let mut d = [0u8; 20];
        assert_eq!(format_u64(0, &mut d), b"0");
        assert_eq!(format_u64(1500, &mut d), b"1500");
        assert_eq!(format_u64(u64::MAX, &mut d), b"18446744073709551615");
    }
}
