//! Corpora for the ssewire benchmarks and allocation tests, built in code so every run measures
//! the same bytes.
//!
//! Each corpus is a complete SSE stream of about [`TARGET_LEN`] bytes. [`chunks`] cuts a stream
//! into the pieces a decoder is fed, the way network reads would deliver them.
//!
//! ```
//! let stream = ssewire_benches::token_stream();
//! let pieces = ssewire_benches::chunks(&stream, 16 * 1024);
//! assert_eq!(pieces.iter().map(|c| c.len()).sum::<usize>(), stream.len());
//! ```

use bytes::Bytes;
use serde::Serialize;

/// About how many bytes each decode corpus holds.
pub const TARGET_LEN: usize = 256 * 1024;

/// Chunk sizes the decoders are measured with: large network reads, and tiny ones.
pub const CHUNK_SIZES: [(usize, &str); 2] = [(16 * 1024, "16KiB"), (64, "64B")];

/// A small deterministic generator (xorshift64*), so corpora are the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced by a fixed non-zero seed).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        // The modulo bias is irrelevant for corpus generation.
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// One item of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)]
    }
}

const WORDS: &[&str] = &[
    "the",
    "stream",
    "token",
    "of",
    "a",
    "model",
    "server",
    "sent",
    "event",
    "data",
    "and",
    "to",
    "response",
    "is",
    "chunk",
    "Rust",
    "codec",
    "fast",
    "line",
    "with",
    "über",
    "naïve",
    "😀",
    "json",
    "\\\"quoted\\\"",
    "\\n",
    "async",
    "bytes",
    "decoder",
    "in",
    "for",
    "you",
    ",",
    ".",
];

/// Token text as an LLM streams it: one to four words, usually with a leading space.
fn token(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.range(1, 4) {
        if rng.range(0, 3) != 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    s
}

/// The JSON payload of one token event, as OpenAI-style APIs send it (one line).
pub fn token_payload(rng: &mut Rng) -> String {
    format!(
        r#"{{"id":"chatcmpl-42","object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":"{}"}}}}]}}"#,
        token(rng)
    )
}

/// The payloads of the token corpus, in order (`count` of them).
pub fn token_payloads(count: usize) -> Vec<String> {
    let mut rng = Rng::new(1);
    (0..count).map(|_| token_payload(&mut rng)).collect()
}

/// The same token chunk as a serde struct, for the JSON-serialization encode benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct TokenChunk {
    /// Completion id.
    pub id: &'static str,
    /// Object kind.
    pub object: &'static str,
    /// One choice with one delta.
    pub choices: [Choice; 1],
}

/// One choice of a [`TokenChunk`].
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// Choice index.
    pub index: u32,
    /// The new text.
    pub delta: Delta,
}

/// The delta of a [`Choice`].
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    /// The token text.
    pub content: String,
}

/// `count` token chunks as structs (the same texts as [`token_payloads`], unescaped).
pub fn token_chunks(count: usize) -> Vec<TokenChunk> {
    let mut rng = Rng::new(1);
    (0..count)
        .map(|_| TokenChunk {
            id: "chatcmpl-42",
            object: "chat.completion.chunk",
            choices: [Choice {
                index: 0,
                delta: Delta {
                    content: token(&mut rng).replace("\\\"", "\"").replace("\\n", "\n"),
                },
            }],
        })
        .collect()
}

fn build(mut push_event: impl FnMut(&mut String, &mut Rng, usize)) -> Bytes {
    let mut rng = Rng::new(7);
    let mut out = String::with_capacity(TARGET_LEN + 70 * 1024);
    let mut n = 0;
    while out.len() < TARGET_LEN {
        push_event(&mut out, &mut rng, n);
        n += 1;
    }
    Bytes::from(out)
}

/// LLM token stream: `data: {"choices":[{"delta":{"content":"…"}}]}` events, then `[DONE]`.
pub fn token_stream() -> Bytes {
    build(|out, rng, _| {
        out.push_str("data: ");
        out.push_str(&token_payload(rng));
        out.push_str("\n\n");
        if out.len() >= TARGET_LEN {
            // The last event: `build` stops here.
            out.push_str("data: [DONE]\n\n");
        }
    })
}

const NAMES: &[&str] = &["message", "typing", "presence", "reaction", "edit"];
const USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin"];

fn chat_event(out: &mut String, rng: &mut Rng, n: usize, eol: &str) {
    out.push_str("event: ");
    out.push_str(rng.pick(NAMES));
    out.push_str(eol);
    out.push_str(&format!("id: {n}{eol}"));
    out.push_str(&format!(
        r#"data: {{"user":"{}","room":{},"text":"{}"}}"#,
        rng.pick(USERS),
        rng.range(1, 9),
        token(rng).trim_start()
    ));
    out.push_str(eol);
    out.push_str(eol);
}

/// Chat: `event`, `id` and a short JSON `data` line per event.
pub fn chat_stream() -> Bytes {
    build(|out, rng, n| chat_event(out, rng, n, "\n"))
}

/// Multi-line data: 5 to 20 `data:` lines per event (a log tail, a pretty-printed document).
pub fn multiline_stream() -> Bytes {
    build(|out, rng, n| {
        out.push_str(&format!("id: {n}\n"));
        for _ in 0..rng.range(5, 20) {
            out.push_str("data: ");
            for _ in 0..rng.range(2, 8) {
                out.push_str(rng.pick(WORDS));
                out.push(' ');
            }
            out.push('\n');
        }
        out.push('\n');
    })
}

/// Large events: each a single 64 KiB `data:` line (a base64 image, say).
pub fn large_stream() -> Bytes {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    build(|out, rng, _| {
        out.push_str("event: image\ndata: ");
        for _ in 0..64 * 1024 {
            out.push(char::from(ALPHABET[rng.range(0, 63)]));
        }
        out.push_str("\n\n");
    })
}

/// CRLF line endings: the chat corpus as a Windows or .NET server writes it.
pub fn crlf_stream() -> Bytes {
    build(|out, rng, n| chat_event(out, rng, n, "\r\n"))
}

/// Keep-alive comments between events (`: keep-alive`) and inside them (`: ping`).
pub fn keepalive_stream() -> Bytes {
    build(|out, rng, n| {
        if rng.range(0, 1) == 0 {
            out.push_str(": keep-alive\n\n");
        }
        out.push_str(&format!("id: {n}\n: ping\ndata: "));
        out.push_str(&token_payload(rng));
        out.push_str("\n\n");
    })
}

/// Every decode corpus, with its name.
pub fn corpora() -> Vec<(&'static str, Bytes)> {
    vec![
        ("token", token_stream()),
        ("chat", chat_stream()),
        ("multiline", multiline_stream()),
        ("large", large_stream()),
        ("crlf", crlf_stream()),
        ("keepalive", keepalive_stream()),
    ]
}

/// `stream` cut into pieces of `size` bytes (the last one shorter), sharing its memory.
pub fn chunks(stream: &Bytes, size: usize) -> Vec<Bytes> {
    (0..stream.len())
        .step_by(size)
        .map(|at| stream.slice(at..(at + size).min(stream.len())))
        .collect()
}

/// The criterion settings every bench group uses: short warm-up and measurement, so a full run
/// of all decoders and encoders stays within a few minutes on 2 cores.
pub fn criterion_config() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args()
}

/// Decodes `pieces` with ssewire's browser view, fed as network reads, and returns the number of
/// events and the total data length. ssewire's fastest reader: every event of each read handed
/// over by `Decoder::decode_each`, straight from the read (zero-copy, one UTF-8 check per read);
/// only an event split between reads is copied, into the decoder's carry-over (reads under 512
/// bytes are appended to it whole).
///
/// # Panics
///
/// If the decoder reports an error (no corpus goes over the default limits).
pub fn ssewire_decode(pieces: &[Bytes]) -> (usize, usize) {
    let mut decoder = ssewire::Decoder::new();
    let (mut events, mut len) = (0, 0);
    for piece in pieces {
        decoder
            .decode_each(piece, |event| {
                events += 1;
                len += event.data().len();
            })
            .expect("within the default limits");
    }
    decoder.finish(&mut bytes::BytesMut::new());
    (events, len)
}

/// The fields of one event to encode: type and id (empty: none) and data, as owned strings.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The event type, `""` for the default.
    pub event: String,
    /// The id, `""` for none.
    pub id: String,
    /// The data (lines joined with LF).
    pub data: String,
}

/// The first `count` events of a decode corpus (`chat`, `multiline`), or all of them if it holds
/// fewer, as the fields an encoder is given.
///
/// # Panics
///
/// If the corpus goes over the decoder's default limits.
pub fn corpus_fields(stream: &Bytes, count: usize) -> Vec<Fields> {
    let mut decoder = ssewire::Decoder::new();
    let mut buf = bytes::BytesMut::from(&stream[..]);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let Some(event) = decoder.decode(&mut buf).expect("within the default limits") else {
            break;
        };
        out.push(Fields {
            event: event.event().unwrap_or("").to_owned(),
            id: event.id().unwrap_or("").to_owned(),
            data: event.data().to_owned(),
        });
    }
    out
}

/// [`ssewire_decode`] through the owned view, `Decoder::decode` (each event an owned `Event`).
pub fn ssewire_decode_owned(pieces: &[Bytes]) -> (usize, usize) {
    let mut decoder = ssewire::Decoder::new();
    let mut buf = bytes::BytesMut::new();
    let (mut events, mut len) = (0, 0);
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(event) = decoder.decode(&mut buf).expect("within the default limits") {
            events += 1;
            len += event.data().len();
        }
    }
    decoder.finish(&mut buf);
    (events, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpora_are_deterministic_and_complete() {
        for (name, stream) in corpora() {
            assert!(stream.len() >= TARGET_LEN, "{name}");
            assert_eq!(
                corpora().iter().find(|c| c.0 == name).map(|c| &c.1),
                Some(&stream)
            );
            let (events, _) = ssewire_decode(&chunks(&stream, 16 * 1024));
            let (small, _) = ssewire_decode(&chunks(&stream, 64));
            assert!(events > 0, "{name}");
            assert_eq!(events, small, "{name}");
            // The borrowing and the owned views agree, whatever the reads.
            let whole = ssewire_decode_owned(&chunks(&stream, stream.len()));
            assert_eq!(ssewire_decode(&chunks(&stream, 64)), whole, "{name}");
            assert_eq!(ssewire_decode_owned(&chunks(&stream, 64)), whole, "{name}");
            assert_eq!(ssewire_decode(&chunks(&stream, 16 * 1024)), whole, "{name}");
            assert_eq!(ssewire_decode(&chunks(&stream, 1000)), whole, "{name}");
        }
    }
}
