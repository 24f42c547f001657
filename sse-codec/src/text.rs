//! `Text`: checked UTF-8 text, owned or `'static`.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// UTF-8 text: a `String` (what decoded values and the caller's values are) or a `'static`
/// string (a name given once, kept without a copy).
///
/// Decoded values are copied out of the input (one allocation each) rather than shared with it
/// as `Bytes`: shared text cost two atomic operations and, being bytes, a UTF-8 check each time
/// it was read (safe Rust makes no `&str` of bytes without one). Copying took owned `decode` on
/// the benches' `token` corpus (16 KiB reads) from 202 to 143 µs per 256 KiB (`cargo bench -p
/// ssewire-benches --bench decode`); a third variant holding `Bytes` made an
/// [`Event`](crate::Event) 144 bytes, moved through `memcpy` calls, against 112 with these two.
#[derive(Clone)]
pub(crate) enum Text {
    Owned(String),
    Static(&'static str),
}

impl Default for Text {
    fn default() -> Self {
        Text::Static("")
    }
}

impl Text {
    /// Text from a `'static` string, without copying.
    pub(crate) const fn from_static(s: &'static str) -> Self {
        Text::Static(s)
    }

    /// Text from bytes that may not be UTF-8: copied as they are when valid, otherwise with
    /// every invalid sequence replaced by U+FFFD (WHATWG "UTF-8 decode", which never fails).
    pub(crate) fn from_utf8_lossy(bytes: &[u8]) -> Self {
        match utf8(bytes) {
            Ok(text) => Text::Owned(String::from(text)),
            Err(()) => Text::Owned(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    /// Text from a buffer that may not be UTF-8: its own allocation when valid (no copy),
    /// otherwise a copy with every invalid sequence replaced by U+FFFD.
    pub(crate) fn from_utf8_lossy_vec(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => Text::Owned(text),
            Err(invalid) => Text::Owned(String::from_utf8_lossy(invalid.as_bytes()).into_owned()),
        }
    }

    /// The text.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Owned(s) => s,
            Text::Static(s) => s,
        }
    }

    /// The text's bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the text is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

// Equal text is equal whatever holds it.
impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl core::hash::Hash for Text {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Owned(s)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::Owned(String::from(s))
    }
}

impl From<Cow<'_, str>> for Text {
    fn from(s: Cow<'_, str>) -> Self {
        Text::Owned(s.into_owned())
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
        let t = Text::from_utf8_lossy(b"a\xffb\xe2\x82");
        assert_eq!(t.as_str(), "a\u{fffd}b\u{fffd}");
    }
}
