//! `Text`: UTF-8 text stored in [`Bytes`], so decoded values can share the input buffer.

use alloc::borrow::Cow;
use alloc::string::String;
use bytes::Bytes;

/// UTF-8 text backed by [`Bytes`].
///
/// Invariant: `bytes` is valid UTF-8. Every constructor checks it (or builds the value from a
/// `str`), so [`Text::as_str`] never fails; it still re-checks instead of using `unsafe`, which
/// costs one fast validation pass per access.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Text {
    bytes: Bytes,
}

impl Text {
    /// Text from a `'static` string, without copying.
    pub(crate) const fn from_static(s: &'static str) -> Self {
        Text {
            bytes: Bytes::from_static(s.as_bytes()),
        }
    }

    /// Text from bytes that may not be UTF-8: shared when valid, otherwise copied with every
    /// invalid sequence replaced by U+FFFD (WHATWG "UTF-8 decode", which never fails).
    pub(crate) fn from_utf8_lossy(bytes: Bytes) -> Self {
        match utf8(&bytes) {
            Ok(_) => Text { bytes },
            Err(_) => Text::from(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// Text from bytes the caller has checked as UTF-8 (a slice, cut next to ASCII bytes, of a
    /// checked block). Were they not, [`Text::as_str`] would give `""`: never a panic.
    pub(crate) fn from_checked(bytes: Bytes) -> Self {
        debug_assert!(utf8(&bytes).is_ok());
        Text { bytes }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // The invariant makes the error branch unreachable; an empty string keeps this panic-free.
        utf8(&self.bytes).unwrap_or_default()
    }

    /// The underlying bytes (valid UTF-8).
    pub(crate) fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the text is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text {
            bytes: Bytes::from(s),
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text {
            bytes: Bytes::copy_from_slice(s.as_bytes()),
        }
    }
}

impl From<Cow<'_, str>> for Text {
    fn from(s: Cow<'_, str>) -> Self {
        match s {
            Cow::Borrowed(s) => Text::from(s),
            Cow::Owned(s) => Text::from(s),
        }
    }
}

impl core::fmt::Debug for Text {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// `bytes` as text if it is valid UTF-8: SIMD-checked when long, the standard check when short
/// (where setting up SIMD costs more than it saves).
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, ()> {
    const SIMD_MIN_LEN: usize = 64;
    if bytes.len() >= SIMD_MIN_LEN {
        simdutf8::basic::from_utf8(bytes).map_err(drop)
    } else {
        core::str::from_utf8(bytes).map_err(drop)
    }
}

/// Whether `bytes` holds `a`, `b` or `c`. Event types and ids are short, and for them a plain
/// loop beats memchr, whose call and set-up cost about 100 instructions on a 4–10 byte value
/// (callgrind on `benches/examples/prof_codec.rs enc-ref/chat`); long values go to memchr.
#[inline]
pub(crate) fn contains_any(bytes: &[u8], a: u8, b: u8, c: u8) -> bool {
    const SHORT: usize = 32;
    if bytes.len() < SHORT {
        bytes.iter().any(|&x| x == a || x == b || x == c)
    } else {
        memchr::memchr3(a, b, c, bytes).is_some()
    }
}

/// Replaces every CRLF and lone CR with LF: the only line break an SSE value can carry.
///
/// Returns the input unchanged (borrowed) when it holds no CR.
pub(crate) fn normalize_newlines(s: &str) -> Cow<'_, str> {
    let Some(first) = memchr::memchr(b'\r', s.as_bytes()) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut rest = &s[first..];
    while let Some(i) = memchr::memchr(b'\r', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push('\n');
        // A CR followed by LF is one line break.
        let skip = if rest.as_bytes().get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        rest = &rest[i + skip..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_every_line_break_to_lf() {
        assert_eq!(normalize_newlines("a\r\nb\rc\nd\r"), "a\nb\nc\nd\n");
        assert_eq!(normalize_newlines("\r\r\n\n"), "\n\n\n");
        assert!(matches!(normalize_newlines("plain\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn lossy_text_replaces_invalid_sequences() {
        let t = Text::from_utf8_lossy(Bytes::from_static(b"a\xffb\xe2\x82"));
        assert_eq!(t.as_str(), "a\u{fffd}b\u{fffd}");
    }
}
