//! `Text`: checked UTF-8 text, owned, `'static` or short and inline.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// UTF-8 text: a `String` (the caller's values, and decoded values longer than
/// [`SHORT`] bytes), a `'static` string (a name given once, kept without a copy), or a short
/// value inline (an event type or id made from a `&str`, or decoded: no allocation).
///
/// Decoded values are copied out of the input rather than shared with it as `Bytes`: shared
/// text cost two atomic operations and, being bytes, a UTF-8 check each time it was read (safe
/// Rust makes no `&str` of bytes without one). Copying took owned `decode` on the benches'
/// `token` corpus (16 KiB reads) from 202 to 143 µs per 256 KiB (`cargo bench -p
/// ssewire-benches --bench decode`); a variant holding `Bytes` made an [`Event`](crate::Event)
/// 144 bytes, moved through `memcpy` calls. Keeping short values inline (an event type, an id)
/// saves two allocations per `chat` event: owned `decode` 8.5–10% faster on `chat` and `crlf`
/// (two interleaved runs per build), `token` unchanged.
#[derive(Clone)]
pub(crate) enum Text {
    Owned(String),
    Static(&'static str),
    Short(Short),
}

/// The longest text kept inline: with its length, it takes the 16 bytes a `&'static str` does,
/// so [`Text`] stays the size of a `String` (24 bytes).
pub(crate) const SHORT: usize = 15;

/// Text of at most [`SHORT`] bytes, inline. Invariant: `bytes[..len]` is UTF-8 (checked when
/// made). Reading it checks again (at most 15 bytes) rather than use `unsafe`.
#[derive(Clone, Copy)]
pub(crate) struct Short {
    len: u8,
    bytes: [u8; SHORT],
}

impl Short {
    /// `text` inline, if it fits.
    #[inline]
    fn new(text: &str) -> Option<Self> {
        let mut bytes = [0; SHORT];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(Short {
            // At most `SHORT`, checked by `get_mut`.
            len: text.len() as u8,
            bytes,
        })
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
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
            Ok(text) => Text::from(text),
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

    /// Text from `s` with every CRLF and lone CR replaced by LF ([`normalize_newlines`]),
    /// keeping `s`'s allocation when it holds no CR.
    pub(crate) fn from_lines(s: String) -> Self {
        match normalize_newlines(&s) {
            Cow::Owned(normalized) => Text::Owned(normalized),
            Cow::Borrowed(_) => Text::Owned(s),
        }
    }

    /// The text.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Owned(s) => s,
            Text::Static(s) => s,
            // The invariant makes the error branch unreachable; an empty string keeps this
            // panic-free.
            Text::Short(short) => core::str::from_utf8(short.as_bytes()).unwrap_or_default(),
        }
    }

    /// The text's bytes (what the encoder writes: no check).
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Owned(s) => s.as_bytes(),
            Text::Static(s) => s.as_bytes(),
            Text::Short(short) => short.as_bytes(),
        }
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
    #[inline]
    fn from(s: &str) -> Self {
        match Short::new(s) {
            Some(short) => Text::Short(short),
            None => Text::Owned(String::from(s)),
        }
    }
}

impl From<Cow<'_, str>> for Text {
    #[inline]
    fn from(s: Cow<'_, str>) -> Self {
        match s {
            Cow::Borrowed(s) => Text::from(s),
            Cow::Owned(s) => Text::Owned(s),
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
    fn short_text_is_inline_and_equal_to_the_same_text_held_otherwise() {
        assert_eq!(core::mem::size_of::<Text>(), core::mem::size_of::<String>());
        for text in [
            "",
            "a",
            "chat",
            "é€𝄞",
            "123456789012345",
            "1234567890123456",
            "ééééééé€",
        ] {
            let made = Text::from(text);
            assert_eq!(made.as_str(), text);
            assert_eq!(made.as_bytes(), text.as_bytes());
            assert_eq!(
                matches!(made, Text::Short(_)),
                text.len() <= SHORT,
                "{text}"
            );
            assert!(made == Text::Owned(String::from(text)));
            assert!(made == Text::from_static(text));
        }
    }

    #[test]
    fn lossy_text_replaces_invalid_sequences() {
        let t = Text::from_utf8_lossy(b"a\xffb\xe2\x82");
        assert_eq!(t.as_str(), "a\u{fffd}b\u{fffd}");
    }
}
