//! Spec tests: the WHATWG HTML "Server-sent events" parsing rules (§9.2.5 "Parsing an event
//! stream", §9.2.6 "Interpreting an event stream"), the web-platform-tests `eventsource/format-*`
//! cases, and the pitfalls where SSE decoders commonly go wrong:
//! - a CR at the end of a read ends its line at once, and an LF at the start of the next read is
//!   the rest of that CRLF, not a blank line (no early dispatch, no waiting for the next byte);
//!   CR, LF and CRLF line ends mixed in one stream;
//! - the UTF-8 BOM stripped once, at the start of the stream only, even when split across reads;
//!   a truncated BOM is kept;
//! - a field name with no colon (`data`, `id`, `event`) is that field with an empty value; only
//!   one space after the colon is stripped (`data:  x` is ` x`); names are case-sensitive;
//!   unknown fields, comments and a data-less block dispatch nothing (an `event`-only block
//!   resets the type);
//! - `id` sets the last event ID even in a block with no data, persists across events, is reset
//!   by an empty value (a bare `id`, or `id: ` with just the space), and is ignored when it
//!   contains NUL; the id of an unterminated final event is not in force;
//! - `retry` only when its value (after the one stripped space, so `retry: 1500` counts) is all
//!   ASCII digits: no sign, other space or decimal point; a bogus value does not reset the last
//!   good one;
//! - invalid UTF-8 becomes U+FFFD without stalling or ending the stream;
//! - an unterminated final event is dropped at the end of the stream.
//!
//! Each case is a table row: input bytes → the events a browser would dispatch (type, data,
//! `lastEventId`), the reconnection time and the last event ID at the end of the stream. Every
//! row runs in one shot, one byte at a time, at every split point into two chunks, and (for
//! short inputs) at every pair of split points; all runs must give the expected outcome.
//!
//! The web-platform-tests server (`resources/message.py`) writes `message + newline + "\n"`, with
//! `newline` defaulting to `"\n\n"`; the `wpt/` inputs below include those trailing bytes.

use bytes::BytesMut;
use ssewire::{Decoder, Frame};

// ---------------------------------------------------------------------------------------------
// Browser view (`Decoder::decode`)
// ---------------------------------------------------------------------------------------------

/// One expected browser event: `event` is `None` for the default type `message`, `id` is the
/// `lastEventId` (`None` when empty).
#[derive(Debug, Clone, Copy)]
struct Exp {
    event: Option<&'static str>,
    data: &'static str,
    id: Option<&'static str>,
}

const fn msg(data: &'static str) -> Exp {
    Exp {
        event: None,
        data,
        id: None,
    }
}

impl Exp {
    const fn ty(self, event: &'static str) -> Exp {
        Exp {
            event: Some(event),
            ..self
        }
    }
    const fn id(self, id: &'static str) -> Exp {
        Exp {
            id: Some(id),
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    input: &'static [u8],
    events: &'static [Exp],
    /// Reconnection time in milliseconds at the end of the stream.
    retry: Option<u64>,
    /// `Decoder::last_event_id()` at the end of the stream.
    last_id: &'static str,
}

const fn case(name: &'static str, input: &'static [u8], events: &'static [Exp]) -> Case {
    Case {
        name,
        input,
        events,
        retry: None,
        last_id: "",
    }
}

impl Case {
    const fn retry(self, ms: u64) -> Case {
        Case {
            retry: Some(ms),
            ..self
        }
    }
    const fn last_id(self, id: &'static str) -> Case {
        Case {
            last_id: id,
            ..self
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    event: Option<String>,
    data: String,
    id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<Got>,
    retry: Option<u64>,
    last_id: String,
}

impl Case {
    fn expected(&self) -> Outcome {
        Outcome {
            events: self
                .events
                .iter()
                .map(|e| Got {
                    event: e.event.map(str::to_owned),
                    data: e.data.to_owned(),
                    id: e.id.map(str::to_owned),
                })
                .collect(),
            retry: self.retry,
            last_id: self.last_id.to_owned(),
        }
    }
}

/// Checks the browser-view invariants of one decoded event and turns it into a comparable value.
fn got(event: &ssewire::Event) -> Got {
    assert!(
        event.has_data(),
        "browser view yielded an event without data: {event:?}"
    );
    assert_ne!(
        event.event(),
        Some(""),
        "an empty type must be reported as None"
    );
    assert_eq!(event.event_type(), event.event().unwrap_or("message"));
    assert_ne!(
        event.id(),
        Some(""),
        "an empty last event ID must be reported as None"
    );
    assert_eq!(event.retry(), None, "browser events never carry retry");
    assert_eq!(
        event.comment_text(),
        None,
        "browser events never carry comments"
    );
    Got {
        event: event.event().map(str::to_owned),
        data: event.data().to_owned(),
        id: event.id().map(str::to_owned),
    }
}

fn millis(d: core::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).expect("retry fits in u64")
}

/// Feeds `chunks` one after another into one buffer, decoding until `Ok(None)` after each, then
/// ends the stream; checks that every browser view gives the same.
fn run(chunks: &[&[u8]]) -> Outcome {
    let owned = run_owned(chunks);
    // `usize::MAX`: every read appended to the carry-over (as short reads are); 0 and 5: reads
    // of that many bytes or more read in place.
    for min in [usize::MAX, 0, 5] {
        assert_eq!(
            run_each(chunks, min),
            owned,
            "decode_each (reads of {min}+ bytes in place) disagrees with decode"
        );
    }
    owned
}

/// [`run`] through the borrowed view, `Decoder::decode_each`, each chunk a read of its own;
/// reads of `min` bytes or more are read in place.
fn run_each(chunks: &[&[u8]], min: usize) -> Outcome {
    let mut decoder = Decoder::new().with_read_in_place_min(min);
    let mut events = Vec::new();
    for chunk in chunks {
        decoder
            .decode_each(chunk, |event| events.push(got(&event.to_event())))
            .expect("no limit is hit");
    }
    finish(decoder, BytesMut::new(), events)
}

/// [`run`] through the owned view, `Decoder::decode`.
fn run_owned(chunks: &[&[u8]]) -> Outcome {
    run_with(chunks, |decoder, buf, events| {
        while let Some(event) = decoder.decode(buf).expect("no limit is hit") {
            events.push(got(&event));
        }
    })
}

/// Feeds `chunks` one after another into one buffer, letting `drain` take every event after
/// each, then ends the stream.
fn run_with(
    chunks: &[&[u8]],
    mut drain: impl FnMut(&mut Decoder, &mut BytesMut, &mut Vec<Got>),
) -> Outcome {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        drain(&mut decoder, &mut buf, &mut events);
    }
    finish(decoder, buf, events)
}

/// Ends the stream and collects what it produced.
fn finish(mut decoder: Decoder, mut buf: BytesMut, events: Vec<Got>) -> Outcome {
    decoder.finish(&mut buf);
    assert!(buf.is_empty(), "finish leaves nothing behind");
    assert_eq!(decoder.buffered(), 0, "finish drops the unterminated event");
    Outcome {
        events,
        retry: decoder.retry().map(millis),
        last_id: decoder.last_event_id().to_owned(),
    }
}

/// Runs `input` in one shot, byte by byte, at every split point, and (when short) at every pair
/// of split points, checking each run against `expected`.
fn check_chunkings<T: PartialEq + core::fmt::Debug>(
    name: &str,
    input: &[u8],
    expected: &T,
    run: impl Fn(&[&[u8]]) -> T,
) {
    assert_eq!(&run(&[input]), expected, "{name}: one shot");
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(&run(&bytes), expected, "{name}: one byte at a time");
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(&run(&[a, b]), expected, "{name}: split at {i}");
    }
    if input.len() <= 64 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let chunks = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(&run(&chunks), expected, "{name}: split at {i} and {j}");
            }
        }
    }
}

const CASES: &[Case] = &[
    // --- web-platform-tests eventsource/format-* --------------------------------------------
    case(
        "wpt/format-bom",
        b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n",
        &[msg("1"), msg("3")],
    ),
    case(
        "wpt/format-bom-2",
        b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n\n",
        &[msg("2"), msg("3")],
    ),
    case(
        // The WPT test uses 2048 `x`; see `wpt_format_comments_full_length` for that length.
        "wpt/format-comments (short)",
        b"data:1\r:\0\n:\r\ndata:2\n:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\rdata:3\n:data:fail\r:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\ndata:4\n\n",
        &[msg("1\n2\n3\n4")],
    ),
    case(
        "wpt/format-data-before-final-empty-line",
        b"data:test1\n\ndata:test2\n",
        &[msg("test1")],
    ),
    case(
        "wpt/format-field-data",
        b"data:\n\ndata\ndata\n\ndata:test\n\n\n",
        &[msg(""), msg("\n"), msg("test")],
    ),
    case(
        "wpt/format-field-event",
        b"event:test\ndata:x\n\ndata:x\n\n\n",
        &[msg("x").ty("test"), msg("x")],
    ),
    case(
        "wpt/format-field-event-empty",
        b"event: \ndata:data\n\n\n",
        &[msg("data")],
    ),
    case(
        "wpt/format-field-id",
        b"id: 1\ndata: 1\n\ndata: 2\n\n\n",
        &[msg("1").id("1"), msg("2").id("1")],
    )
    .last_id("1"),
    case(
        "wpt/format-field-id-2",
        b"id:1\ndata:1\n\ndata:2\n\nid\ndata:3\n\ndata:4\n\n\n",
        &[msg("1").id("1"), msg("2").id("1"), msg("3"), msg("4")],
    ),
    case(
        "wpt/format-field-id-3 changes and persists",
        b"id: 1\ndata: 1\n\nid: 2\ndata: 2\n\ndata: 3\n\n",
        &[msg("1").id("1"), msg("2").id("2"), msg("3").id("2")],
    )
    .last_id("2"),
    case(
        "wpt/format-field-id-3 resets",
        b"id: 1\ndata: 1\n\nid:\ndata: 2\n\ndata: 3\n\n",
        &[msg("1").id("1"), msg("2"), msg("3")],
    ),
    case(
        "wpt/format-field-id-null",
        b"id:1\ndata:1\n\nid:1\x002\ndata:2\n\nid\x00\ndata:3\n\n\n",
        &[msg("1").id("1"), msg("2").id("1"), msg("3").id("1")],
    )
    .last_id("1"),
    case(
        "wpt/format-field-parsing",
        b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
        &[msg("\0\n 2\n1\n3\n\n4")],
    ),
    case(
        "wpt/format-field-retry",
        b"retry:03000\ndata:x\n\n\n",
        &[msg("x")],
    )
    .retry(3000),
    case(
        "wpt/format-field-retry-bogus",
        b"retry:3000\nretry:1000x\ndata:x\n\n\n",
        &[msg("x")],
    )
    .retry(3000),
    case(
        "wpt/format-field-retry-empty",
        b"retry\ndata:test\n\n\n",
        &[msg("test")],
    ),
    case(
        "wpt/format-field-unknown",
        b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n",
        &[msg("test\n\ntest")],
    ),
    case(
        "wpt/format-leading-space",
        b"data:\ttest\rdata: \ndata:test\n\n\n",
        &[msg("\ttest\n\ntest")],
    ),
    case(
        "wpt/format-newlines",
        b"data:test\r\ndata\ndata:test\r\n\r\n",
        &[msg("test\n\ntest")],
    ),
    case(
        "wpt/format-null-character",
        b"data:\x00\n\n\n",
        &[msg("\0")],
    ),
    case(
        "wpt/format-utf-8",
        b"data:ok\xE2\x82\xAC\n\n\n",
        &[msg("ok\u{20AC}")],
    ),
    case(
        "wpt/event-data (mixed line breaks)",
        b"data:msg\r\ndata:msg\r\n\r\ndata:\r\r\ndata:end\r\r",
        &[msg("msg\nmsg"), msg(""), msg("end")],
    ),
    // --- examples from the WHATWG spec text -------------------------------------------------
    case(
        "spec/stock ticker",
        b"data: YHOO\ndata: +2\ndata: 10\n\n",
        &[msg("YHOO\n+2\n10")],
    ),
    case(
        "spec/four blocks",
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
        &[msg("first event").id("1"), msg("second event")],
    ),
    case(
        "spec/empty data and unterminated data:",
        b"data\n\ndata\ndata\n\ndata:",
        &[msg(""), msg("\n")],
    ),
    case(
        "spec/one space stripped",
        b"data:test\n\ndata: test\n\n",
        &[msg("test"), msg("test")],
    ),
    // --- field parsing ----------------------------------------------------------------------
    case(
        "value after the first colon",
        b"event:c:d\nid:e:f\ndata:a:b\n\n",
        &[msg("a:b").ty("c:d").id("e:f")],
    )
    .last_id("e:f"),
    case(
        "names are case-sensitive",
        b"DATA:x\nEvent:y\nID:z\nRetry:5\ndata:ok\n\n",
        &[msg("ok")],
    ),
    case(
        "spaces around names make unknown fields",
        b"data :x\n data:x\nid :1\ndata:ok\n\n",
        &[msg("ok")],
    ),
    case(
        "only one leading space is stripped, trailing spaces kept",
        b"data:  x\ndata:\ty\ndata:z \n\n",
        &[msg(" x\n\ty\nz ")],
    ),
    case(
        "data: without space keeps a leading space of data:  x",
        b"data:  x\n\n",
        &[msg(" x")],
    ),
    case(
        "colonless data line is empty data",
        b"data\n\n",
        &[msg("")],
    ),
    case(
        "trailing empty data line keeps one LF",
        b"data:a\ndata:\n\n",
        &[msg("a\n")],
    ),
    case(
        "unknown fields and comments are ignored",
        b"foo:bar\nfoo\n:data:x\n: comment\ndata:ok\nbar: baz\n\n",
        &[msg("ok")],
    ),
    case(
        "comments and blank lines alone dispatch nothing",
        b":\n: x\n:data:no\n\n\n\r\n\r\r",
        &[],
    ),
    case(
        "NUL in type and data is kept",
        b"event:a\x00b\ndata:\x00\n\n",
        &[msg("\0").ty("a\0b")],
    ),
    // --- event type ---------------------------------------------------------------------------
    case(
        "event type applies to one event only",
        b"event:e\ndata:1\n\ndata:2\n\n",
        &[msg("1").ty("e"), msg("2")],
    ),
    case(
        "event-only block is discarded and resets the type",
        b"event:e\n\ndata:2\n\n",
        &[msg("2")],
    ),
    case(
        "last event field wins",
        b"event:a\nevent:b\ndata:x\n\n",
        &[msg("x").ty("b")],
    ),
    case(
        "bare event resets to message",
        b"event:a\nevent\ndata:x\n\n",
        &[msg("x")],
    ),
    // --- id -------------------------------------------------------------------------------
    case(
        "id-only block sets the last event ID",
        b"id:7\n\ndata:x\n\n",
        &[msg("x").id("7")],
    )
    .last_id("7"),
    case(
        "id after data in the same block",
        b"data:x\nid:7\n\n",
        &[msg("x").id("7")],
    )
    .last_id("7"),
    case(
        "id of an unterminated final event is not in force",
        b"id:1\ndata:a\n\nid:2\ndata:b\n",
        &[msg("a").id("1")],
    )
    .last_id("1"),
    case(
        "id with NUL is ignored",
        b"id:1\ndata:a\n\nid:2\x003\ndata:b\n\nid:\x00\ndata:c\n\n",
        &[msg("a").id("1"), msg("b").id("1"), msg("c").id("1")],
    )
    .last_id("1"),
    case(
        "bare id resets the id",
        b"id:1\ndata:a\n\nid\ndata:b\n\n",
        &[msg("a").id("1"), msg("b")],
    ),
    case(
        "id: with one space resets the id",
        b"id:1\ndata:a\n\nid: \ndata:b\n\n",
        &[msg("a").id("1"), msg("b")],
    ),
    case(
        "id keeps a second leading space",
        b"id:  x\ndata:a\n\n",
        &[msg("a").id(" x")],
    )
    .last_id(" x"),
    // --- retry ----------------------------------------------------------------------------
    case("retry:1500", b"retry:1500\n", &[]).retry(1500),
    case(
        "retry: 1500 with the space is accepted",
        b"retry: 1500\n",
        &[],
    )
    .retry(1500),
    case("retry:+20 is rejected", b"retry:+20\n", &[]),
    case("retry:-1 is rejected", b"retry:-1\n", &[]),
    case("retry:1.5 is rejected", b"retry:1.5\n", &[]),
    case("retry:1e3 is rejected", b"retry:1e3\n", &[]),
    case("retry with trailing space is rejected", b"retry:1500 \n", &[]),
    case("retry with two leading spaces is rejected", b"retry:  1500\n", &[]),
    case("empty retry is ignored", b"retry:\nretry: \nretry\n", &[]),
    case("retry:0", b"retry:0\n", &[]).retry(0),
    case(
        "last valid retry wins, bogus ones do not reset it",
        b"retry:1\nretry:2\nretry:x\n",
        &[],
    )
    .retry(2),
    case(
        "retry takes effect without a blank line, not at end of input",
        b"retry:100\ndata:x\nretry:200",
        &[],
    )
    .retry(100),
    case(
        "retry-only block dispatches nothing",
        b"retry:100\n\n",
        &[],
    )
    .retry(100),
    // --- line breaks ------------------------------------------------------------------------
    case("lone CR lines", b"data:a\rdata:b\r\r", &[msg("a\nb")]),
    case("CRLF lines", b"data:a\r\ndata:b\r\n\r\n", &[msg("a\nb")]),
    case(
        "CRLF is one line break, not two",
        b"data:a\r\ndata:b\n\n",
        &[msg("a\nb")],
    ),
    case(
        "mixed line breaks",
        b"data:a\ndata:b\r\ndata:c\rdata:d\n\r",
        &[msg("a\nb\nc\nd")],
    ),
    case(
        "CR then CRLF: a line, then a blank line",
        b"data:a\r\r\ndata:b\n\n",
        &[msg("a"), msg("b")],
    ),
    case(
        "LF then CRLF: a blank line",
        b"data:a\n\r\ndata:b\n\n",
        &[msg("a"), msg("b")],
    ),
    case(
        "LF CR LF CR: blank lines only",
        b"\n\r\n\rdata:a\n\n",
        &[msg("a")],
    ),
    // --- end of stream ------------------------------------------------------------------------
    case("unterminated line is dropped", b"data:x", &[]),
    case("unterminated event (LF) is dropped", b"data:x\n", &[]),
    case("unterminated event (CR) is dropped", b"data:x\r", &[]),
    case("unterminated event (CRLF) is dropped", b"data:x\r\n", &[]),
    case(
        "only the final unterminated event is dropped",
        b"data:a\n\ndata:b\n\ndata:c\n",
        &[msg("a"), msg("b")],
    ),
    // --- BOM --------------------------------------------------------------------------------
    case("BOM stripped", b"\xEF\xBB\xBFdata:a\n\n", &[msg("a")]),
    case("BOM alone", b"\xEF\xBB\xBF", &[]),
    case(
        "BOM then blank line",
        b"\xEF\xBB\xBF\ndata:a\n\n",
        &[msg("a")],
    ),
    case(
        "BOM then comment",
        b"\xEF\xBB\xBF:hi\ndata:a\n\n",
        &[msg("a")],
    ),
    case(
        "BOM only at the start of the stream",
        b"data:a\n\n\xEF\xBB\xBFdata:b\n\ndata:c\n\n",
        &[msg("a"), msg("c")],
    ),
    case(
        "truncated BOM is not stripped",
        b"\xEF\xBBdata:a\n\ndata:b\n\n",
        &[msg("b")],
    ),
    case(
        "first BOM byte alone is not stripped",
        b"\xEFdata:a\n\ndata:b\n\n",
        &[msg("b")],
    ),
    case(
        "BOM bytes inside a value are kept",
        b"data:\xEF\xBB\xBFa\n\n",
        &[msg("\u{FEFF}a")],
    ),
    // --- UTF-8 --------------------------------------------------------------------------------
    case(
        "invalid byte becomes U+FFFD",
        b"data:a\xFFb\n\n",
        &[msg("a\u{FFFD}b")],
    ),
    case(
        "truncated sequence at line end, stream goes on",
        b"data:\xE2\x82\n\ndata:ok\n\n",
        &[msg("\u{FFFD}"), msg("ok")],
    ),
    case(
        "invalid sequences across data lines",
        b"data:\xE2\ndata:\x82\xAC\n\n",
        &[msg("\u{FFFD}\n\u{FFFD}\u{FFFD}")],
    ),
    case(
        "overlong encoding",
        b"data:\xC0\x80\n\n",
        &[msg("\u{FFFD}\u{FFFD}")],
    ),
    case(
        "surrogate encoding",
        b"data:\xED\xA0\x80\n\n",
        &[msg("\u{FFFD}\u{FFFD}\u{FFFD}")],
    ),
    case(
        "four-byte character",
        b"data:\xF0\x9F\x98\x80\n\n",
        &[msg("\u{1F600}")],
    ),
    case(
        "invalid UTF-8 in type and id",
        b"event:\xFF\nid:\xFE\ndata:x\n\n",
        &[msg("x").ty("\u{FFFD}").id("\u{FFFD}")],
    )
    .last_id("\u{FFFD}"),
    case(
        "non-ASCII field name is unknown",
        b"dat\xC3\xA1:x\ndat\xFF:y\ndata:ok\n\n",
        &[msg("ok")],
    ),
    case(
        "invalid UTF-8 does not end the stream",
        b"data:\xFF\n\n\xFF\xFE\n\ndata:after\n\n",
        &[msg("\u{FFFD}"), msg("after")],
    ),
];

#[test]
fn spec_cases_in_every_chunking() {
    for case in CASES {
        check_chunkings(case.name, case.input, &case.expected(), run);
    }
}

#[test]
fn spec_case_names_are_unique() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before);
}

#[test]
fn wpt_format_comments_full_length() {
    let long = "x".repeat(2048);
    let input =
        format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n");
    let expected = Outcome {
        events: vec![Got {
            event: None,
            data: "1\n2\n3\n4".into(),
            id: None,
        }],
        retry: None,
        last_id: String::new(),
    };
    // Every split point of a 4 KiB input, plus one shot and byte by byte.
    check_chunkings("wpt/format-comments", input.as_bytes(), &expected, run);
}

/// Feeds each chunk and returns how many events had been dispatched after each one.
fn events_after_each(chunks: &[&[u8]]) -> (Vec<usize>, Vec<String>) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut counts = Vec::new();
    let mut data = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(event) = decoder.decode(&mut buf).unwrap() {
            data.push(event.data().to_owned());
        }
        counts.push(data.len());
    }
    (counts, data)
}

#[test]
fn event_ending_in_cr_is_delivered_without_waiting_for_the_next_byte() {
    assert_eq!(
        events_after_each(&[b"data: x\r", b"\r"]),
        (vec![0, 1], vec!["x".to_owned()])
    );
    assert_eq!(
        events_after_each(&[b"data: x\n\r"]),
        (vec![1], vec!["x".to_owned()])
    );
    assert_eq!(
        events_after_each(&[b"data: x\r\n\r", b"\n", b"data: y\r\r", b"\n"]),
        (vec![1, 1, 2, 2], vec!["x".to_owned(), "y".to_owned()])
    );
}

#[test]
fn crlf_split_across_chunks_does_not_dispatch_early() {
    // If the LF after the chunk-final CR were taken as a blank line, "a" would go out alone.
    assert_eq!(
        events_after_each(&[b"data: a\r", b"\ndata: b\n\n"]),
        (vec![0, 1], vec!["a\nb".to_owned()])
    );
    assert_eq!(
        events_after_each(&[b"data: a\r", b"\n", b"data: b\r\n\r", b"\n", b"data: c\n\n"]),
        (vec![0, 0, 1, 1, 2], vec!["a\nb".to_owned(), "c".to_owned()])
    );
    // The swallowed LF is only the one right after the CR.
    assert_eq!(
        events_after_each(&[b"data: a\r", b"\n\n"]),
        (vec![0, 1], vec!["a".to_owned()])
    );
}

#[test]
fn bom_split_in_every_way_with_empty_chunks() {
    let chunks: [&[u8]; 7] = [b"", b"\xEF", b"", b"\xBB", b"", b"\xBF", b"data: a\n\n"];
    assert_eq!(events_after_each(&chunks).1, vec!["a".to_owned()]);
    let chunks: [&[u8]; 3] = [b"\xEF\xBB", b"\xBF\xEF\xBB\xBF", b"data: a\n\ndata: b\n\n"];
    assert_eq!(events_after_each(&chunks).1, vec!["b".to_owned()]);
}

#[test]
fn many_lines_in_one_chunk() {
    let mut input = String::new();
    let mut expected = String::new();
    for i in 0..20_000 {
        input.push_str(&format!("data: {i}\n"));
        expected.push_str(&format!("{i}\n"));
    }
    expected.pop();
    input.push('\n');
    for i in 0..20_000 {
        input.push_str(&format!("id: {i}\ndata: e{i}\n\n"));
    }
    let out = run(&[input.as_bytes()]);
    assert_eq!(out.events.len(), 20_001);
    assert_eq!(out.events[0].data, expected);
    assert_eq!(out.events[20_000].data, "e19999");
    assert_eq!(out.events[20_000].id.as_deref(), Some("19999"));
    assert_eq!(out.last_id, "19999");
    // The same input in 1000-byte chunks gives the same events.
    let chunks: Vec<&[u8]> = input.as_bytes().chunks(1000).collect();
    assert_eq!(run(&chunks), out);
}

#[test]
fn finish_readies_the_decoder_for_a_reconnection() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&b"retry: 300\nid: 5\ndata: a\n\nid: 6\ndata: partial"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "a");
    assert!(decoder.decode(&mut buf).unwrap().is_none());
    decoder.finish(&mut buf);
    assert!(buf.is_empty());
    assert_eq!(decoder.last_event_id(), "5");
    // A new stream: its BOM is stripped again; the last event ID and retry carry over.
    buf.extend_from_slice(b"\xEF\xBB\xBFdata: b\n\n");
    let event = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!((event.data(), event.id()), ("b", Some("5")));
    assert_eq!(decoder.retry().map(millis), Some(300));
}

#[test]
fn finish_forgets_a_pending_cr() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&b"data: a\r"[..]);
    assert!(decoder.decode(&mut buf).unwrap().is_none());
    decoder.finish(&mut buf);
    // An LF at the start of the next stream is a blank line of its own, not the end of a CRLF;
    // it must not swallow anything of "data: b".
    buf.extend_from_slice(b"\ndata: b\n\n");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "b");
}

// ---------------------------------------------------------------------------------------------
// Raw view (`Decoder::decode_frame`)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum F {
    Ev {
        event: Option<&'static str>,
        data: Option<&'static str>,
        id: Option<&'static str>,
    },
    Comment(&'static str),
    Retry(u64),
}

const fn ev(
    event: Option<&'static str>,
    data: Option<&'static str>,
    id: Option<&'static str>,
) -> F {
    F::Ev { event, data, id }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum GotFrame {
    Ev {
        event: Option<String>,
        data: Option<String>,
        id: Option<String>,
    },
    Comment(String),
    Retry(u64),
}

impl From<F> for GotFrame {
    fn from(f: F) -> Self {
        match f {
            F::Ev { event, data, id } => GotFrame::Ev {
                event: event.map(str::to_owned),
                data: data.map(str::to_owned),
                id: id.map(str::to_owned),
            },
            F::Comment(c) => GotFrame::Comment(c.to_owned()),
            F::Retry(ms) => GotFrame::Retry(ms),
        }
    }
}

fn got_frame(frame: Frame) -> GotFrame {
    match frame {
        Frame::Event(e) => {
            assert_eq!(e.retry(), None);
            assert_eq!(e.comment_text(), None);
            assert_eq!(e.has_data(), e.data_bytes().is_some());
            GotFrame::Ev {
                event: e.event().map(str::to_owned),
                data: e.has_data().then(|| e.data().to_owned()),
                id: e.id().map(str::to_owned),
            }
        }
        Frame::Comment(c) => GotFrame::Comment(c),
        Frame::Retry(d) => GotFrame::Retry(millis(d)),
        other => panic!("unexpected frame {other:?}"),
    }
}

fn run_frames(chunks: &[&[u8]]) -> (Vec<GotFrame>, Option<u64>, String) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode_frame(&mut buf).expect("no limit is hit") {
            frames.push(got_frame(frame));
        }
    }
    decoder.finish(&mut buf);
    (
        frames,
        decoder.retry().map(millis),
        decoder.last_event_id().to_owned(),
    )
}

struct FrameCase {
    name: &'static str,
    input: &'static [u8],
    frames: &'static [F],
    last_id: &'static str,
}

const FRAME_CASES: &[FrameCase] = &[
    FrameCase {
        name: "id-only block is an event without data",
        input: b"id: 7\n\n",
        frames: &[ev(None, None, Some("7"))],
        last_id: "7",
    },
    FrameCase {
        name: "bare id block is an event that empties the last event ID",
        input: b"id: 1\n\nid\n\n",
        frames: &[ev(None, None, Some("1")), ev(None, None, None)],
        last_id: "",
    },
    FrameCase {
        name: "retry-only block is a retry frame only",
        input: b"retry: 1500\n\n",
        frames: &[F::Retry(1500)],
        last_id: "",
    },
    FrameCase {
        name: "event-only block",
        input: b"event: e\n\n",
        frames: &[ev(Some("e"), None, None)],
        last_id: "",
    },
    FrameCase {
        name: "empty event field is the default type, as in decode",
        input: b"event\ndata\n\n",
        frames: &[ev(None, Some(""), None)],
        last_id: "",
    },
    FrameCase {
        name: "comments",
        input: b": keep-alive\n:\n:x\n:  two\n\n",
        frames: &[
            F::Comment("keep-alive"),
            F::Comment(""),
            F::Comment("x"),
            F::Comment(" two"),
        ],
        last_id: "",
    },
    FrameCase {
        name: "all fields, in wire order",
        input: b": c\nevent: e\nid: 1\nretry: 5\ndata: d\ndata: d2\n\n",
        frames: &[
            F::Comment("c"),
            F::Retry(5),
            ev(Some("e"), Some("d\nd2"), Some("1")),
        ],
        last_id: "1",
    },
    FrameCase {
        name: "the id is the last event ID at the blank line, as in decode",
        input: b"id: 1\ndata: a\n\ndata: b\n\n",
        frames: &[
            ev(None, Some("a"), Some("1")),
            ev(None, Some("b"), Some("1")),
        ],
        last_id: "1",
    },
    FrameCase {
        name: "blocks without valid fields yield nothing",
        input: b"id: \x00\n\nretry: x\n\nfoo: bar\n\n\n\n",
        frames: &[],
        last_id: "",
    },
    FrameCase {
        name: "unterminated block is dropped, its comment and retry already went out",
        input: b": c\nretry: 9\ndata: x\n",
        frames: &[F::Comment("c"), F::Retry(9)],
        last_id: "",
    },
    FrameCase {
        name: "invalid UTF-8 in a comment",
        input: b":\xFF\n",
        frames: &[F::Comment("\u{FFFD}")],
        last_id: "",
    },
    FrameCase {
        name: "comment ended by CR",
        input: b": a\r: b\r\n: c\n",
        frames: &[F::Comment("a"), F::Comment("b"), F::Comment("c")],
        last_id: "",
    },
];

#[test]
fn raw_view_cases_in_every_chunking() {
    for case in FRAME_CASES {
        let expected: Vec<GotFrame> = case.frames.iter().copied().map(GotFrame::from).collect();
        let retry = expected.iter().rev().find_map(|f| match f {
            GotFrame::Retry(ms) => Some(*ms),
            _ => None,
        });
        let expected = (expected, retry, case.last_id.to_owned());
        check_chunkings(case.name, case.input, &expected, run_frames);
    }
}

#[test]
fn raw_view_agrees_with_browser_view_on_every_spec_case() {
    // The browser view is the raw view's events with data, field for field: the names mean
    // the same in every view.
    for case in CASES {
        let (frames, retry, last_id) = run_frames(&[case.input]);
        let expected = case.expected();
        assert_eq!(retry, expected.retry, "{}", case.name);
        assert_eq!(last_id, expected.last_id, "{}", case.name);
        let with_data: Vec<Got> = frames
            .into_iter()
            .filter_map(|f| match f {
                GotFrame::Ev {
                    event,
                    data: Some(data),
                    id,
                } => Some(Got { event, data, id }),
                _ => None,
            })
            .collect();
        assert_eq!(with_data, expected.events, "{}", case.name);
    }
}

#[test]
fn comment_is_yielded_as_soon_as_its_line_ends() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&b"data: x\n: ping"[..]);
    assert_eq!(decoder.decode_frame(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"\r");
    assert_eq!(
        decoder.decode_frame(&mut buf).unwrap(),
        Some(Frame::Comment("ping".into()))
    );
    // The event around the comment is still being built.
    buf.extend_from_slice(b"\ndata: y\n\n");
    let Some(Frame::Event(event)) = decoder.decode_frame(&mut buf).unwrap() else {
        panic!("expected an event")
    };
    assert_eq!(event.data(), "x\ny");
}

#[test]
fn retry_frame_is_yielded_as_soon_as_its_line_ends() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&b"retry: 250"[..]);
    assert_eq!(decoder.decode_frame(&mut buf).unwrap(), None);
    assert_eq!(decoder.retry(), None);
    buf.extend_from_slice(b"\n");
    assert_eq!(
        decoder.decode_frame(&mut buf).unwrap(),
        Some(Frame::Retry(core::time::Duration::from_millis(250)))
    );
    assert_eq!(decoder.retry().map(millis), Some(250));
}

#[test]
fn browser_view_skips_comments_and_control_blocks() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&b": hi\n\nid: 3\n\nretry: 10\n\nevent: e\n\ndata: x\n\n"[..]);
    let event = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        (event.data(), event.id(), event.event()),
        ("x", Some("3"), None)
    );
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
}

/// `Decoder::in_event` after each input, through every view: a field line since the last blank
/// line (even without data) is inside an event; a comment is not.
#[test]
fn in_event_in_every_view() {
    let cases: &[(&[u8], bool)] = &[
        (b"", false),
        (b"data: 1\n\n", false),
        (b"id: 5\n", true),
        (b"event: x\r", true),
        (b"data: 1\n", true),
        (b"retry: 10\n", true),
        (b"foo\n", true),
        (b": ping\n", false),
        (b"data: 1\n\n: bye\n", false),
        (b"id: 5\n\n", false),
        (b"data: 1\n\nid: 5\n", true),
        (b"retry: 1\n\n", false),
    ];
    for &(input, expected) in cases {
        for chunking in [vec![input], input.chunks(1).collect::<Vec<_>>()] {
            let mut owned = Decoder::new();
            let mut frames = Decoder::new();
            let mut buf = BytesMut::new();
            let mut raw = BytesMut::new();
            for chunk in &chunking {
                buf.extend_from_slice(chunk);
                raw.extend_from_slice(chunk);
                while owned.decode(&mut buf).unwrap().is_some() {}
                while frames.decode_frame(&mut raw).unwrap().is_some() {}
            }
            let name = String::from_utf8_lossy(input);
            assert_eq!(owned.in_event(), expected, "decode {name:?}");
            assert_eq!(frames.in_event(), expected, "decode_frame {name:?}");
            for min in [usize::MAX, 0] {
                let mut each = Decoder::new().with_read_in_place_min(min);
                for chunk in &chunking {
                    each.decode_each(chunk, |_| {}).unwrap();
                }
                assert_eq!(each.in_event(), expected, "decode_each ({min}) {name:?}");
            }
        }
    }
}
