//! `DecodeStream`: a stream of byte chunks (a response body) in, events out.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_lite::future::block_on;
use futures_lite::{StreamExt, stream};
use proptest::prelude::*;
use ssewire::{Decoder, Error, Event, Limits, Overflow, encode};
use ssewire_stream::{DecodeError, DecodeStream, Ended, IntoChunk};

/// An event as the tests compare it: (type, data, id).
type Seen = (String, String, Option<String>);

fn seen(event: &Event) -> Seen {
    (
        event.event_type().to_owned(),
        event.data().to_owned(),
        event.id().map(str::to_owned),
    )
}

fn ev(event_type: &str, data: &str, id: Option<&str>) -> Seen {
    (event_type.into(), data.into(), id.map(Into::into))
}

/// What a whole run of a `DecodeStream` gave.
#[derive(Debug, PartialEq)]
struct Run {
    events: Vec<Seen>,
    /// Limit hits, by their message.
    errors: Vec<String>,
    ended: Option<Ended>,
    last_event_id: String,
    retry: Option<Duration>,
}

fn run_with(chunks: Vec<Vec<u8>>, limits: Limits) -> Run {
    let mut decoded = DecodeStream::with_limits(stream::iter(chunks), limits);
    let mut run = Run {
        events: Vec::new(),
        errors: Vec::new(),
        ended: None,
        last_event_id: String::new(),
        retry: None,
    };
    block_on(async {
        while let Some(item) = decoded.next().await {
            match item {
                Ok(event) => run.events.push(seen(&event)),
                Err(DecodeError::Decode(e)) => run.errors.push(e.to_string()),
                Err(DecodeError::Transport(never)) => match never {},
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
    });
    assert!(decoded.is_terminated());
    run.ended = decoded.ended();
    run.last_event_id = decoded.last_event_id().to_owned();
    run.retry = decoded.retry();
    run
}

fn run(chunks: Vec<Vec<u8>>) -> Run {
    run_with(chunks, Limits::default())
}

/// The chunkings a spec case runs in: one shot, one byte at a time, and split in two at every
/// position.
fn chunkings(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut all = vec![
        vec![input.to_vec()],
        input.iter().map(|&b| vec![b]).collect(),
    ];
    for at in 0..=input.len() {
        all.push(vec![input[..at].to_vec(), input[at..].to_vec()]);
    }
    all
}

struct Case {
    name: &'static str,
    input: &'static [u8],
    events: Vec<Seen>,
    ended: Ended,
    last_event_id: &'static str,
    retry: Option<u64>,
}

fn spec_cases() -> Vec<Case> {
    vec![
        Case {
            name: "CRLF line ends (split between CR and LF at some split point)",
            input: b"data: a\r\ndata: b\r\n\r\nevent: t\r\ndata: c\r\n\r\n",
            events: vec![ev("message", "a\nb", None), ev("t", "c", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "CR-only line ends, a lone CR at the very end",
            input: b"data: a\rdata: b\r\r",
            events: vec![ev("message", "a\nb", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "one leading BOM is stripped, even split",
            input: b"\xEF\xBB\xBFdata: x\n\n",
            events: vec![ev("message", "x", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "a second BOM is part of the field name (unknown field)",
            input: b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n",
            events: vec![ev("message", "y", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "id persists until changed; an empty id resets it; an id with NUL is ignored",
            input: b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x00\ndata: c\n\nid\ndata: d\n\nid: 3\n\n",
            events: vec![
                ev("message", "a", Some("1")),
                ev("message", "b", Some("1")),
                ev("message", "c", Some("1")),
                ev("message", "d", None),
            ],
            ended: Ended::Clean,
            last_event_id: "3",
            retry: None,
        },
        Case {
            name: "retry counts only when all ASCII digits",
            input: b"retry: 1500\n\nretry: 15x\n\nretry: -1\nretry:  20\nretry\ndata: a\n\n",
            events: vec![ev("message", "a", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: Some(1500),
        },
        Case {
            name: "comments and unknown fields are ignored",
            input: b": hello\n:\ndata: a\nfoo: bar\n: mid-event\ndata: b\n\n",
            events: vec![ev("message", "a\nb", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "field syntax: no colon, no space, two spaces, empty data",
            input: b"data\n\ndata:x\n\ndata:  y\n\ndata\ndata\n\n",
            events: vec![
                ev("message", "", None),
                ev("message", "x", None),
                ev("message", " y", None),
                ev("message", "\n", None),
            ],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "a block without data dispatches nothing; event applies to one block",
            input: b"event: lone\n\ndata: a\n\n",
            events: vec![ev("message", "a", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "invalid UTF-8 becomes U+FFFD",
            input: b"data: a\xFFb\xC3\n\nevent: \xE2\x82\ndata: c\n\n",
            events: vec![
                ev("message", "a\u{FFFD}b\u{FFFD}", None),
                ev("\u{FFFD}", "c", None),
            ],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "unterminated event at the end: dropped, truncated",
            input: b"data: a\n\ndata: b",
            events: vec![ev("message", "a", None)],
            ended: Ended::Truncated,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "complete data line without its blank line: dropped, truncated",
            input: b"data: a\n\ndata: b\n",
            events: vec![ev("message", "a", None)],
            ended: Ended::Truncated,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "an unterminated id-only block: its id does not count, truncated",
            input: b"id: 1\ndata: a\n\nid: 2\n",
            events: vec![ev("message", "a", Some("1"))],
            ended: Ended::Truncated,
            last_event_id: "1",
            retry: None,
        },
        Case {
            name: "an unterminated event-only block (CR ended): truncated",
            input: b"data: a\n\nevent: x\r",
            events: vec![ev("message", "a", None)],
            ended: Ended::Truncated,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "a partial comment line at the end: truncated",
            input: b"data: a\n\n: keep",
            events: vec![ev("message", "a", None)],
            ended: Ended::Truncated,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "a comment after the last event: clean",
            input: b"data: a\r\n\r\n: bye\n",
            events: vec![ev("message", "a", None)],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
        Case {
            name: "empty stream: clean",
            input: b"",
            events: vec![],
            ended: Ended::Clean,
            last_event_id: "",
            retry: None,
        },
    ]
}

#[test]
fn spec_cases_in_every_chunking() {
    for case in spec_cases() {
        let expected = Run {
            events: case.events.clone(),
            errors: vec![],
            ended: Some(case.ended),
            last_event_id: case.last_event_id.into(),
            retry: case.retry.map(Duration::from_millis),
        };
        for chunks in chunkings(case.input) {
            let got = run(chunks.clone());
            assert_eq!(got, expected, "{}: chunks {chunks:?}", case.name);
        }
    }
}

/// A sample with a bit of everything, for the chunking tests.
const SAMPLE: &[u8] = b"\xEF\xBB\xBF: open\r\nretry: 2000\r\n\r\nid: 1\r\nevent: add\r\ndata: one\r\ndata: two\r\n\r\n\
data: caf\xC3\xA9 \xFF\rid\r\r:ping\n\nid: 9\ndata: last\n\ndata: cut";

#[test]
fn every_chunking_of_a_sample_gives_the_same_events() {
    let one_shot = run(vec![SAMPLE.to_vec()]);
    assert_eq!(
        one_shot.events,
        [
            ev("add", "one\ntwo", Some("1")),
            ev("message", "caf\u{e9} \u{FFFD}", None),
            ev("message", "last", Some("9")),
        ]
    );
    assert_eq!(one_shot.ended, Some(Ended::Truncated));
    assert_eq!(one_shot.last_event_id, "9");
    assert_eq!(one_shot.retry, Some(Duration::from_secs(2)));
    let mut runs = 0;
    // Every split into three chunks (which includes every split into two, and empty chunks).
    for i in 0..=SAMPLE.len() {
        for j in i..=SAMPLE.len() {
            let chunks = vec![
                SAMPLE[..i].to_vec(),
                SAMPLE[i..j].to_vec(),
                SAMPLE[j..].to_vec(),
            ];
            assert_eq!(run(chunks), one_shot, "split at {i} and {j}");
            runs += 1;
        }
    }
    assert_eq!(run(SAMPLE.iter().map(|&b| vec![b]).collect()), one_shot);
    assert!(runs > 5000);
}

/// Polls once with a no-op waker.
fn poll_once<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn every_event_of_a_chunk_comes_before_the_inner_stream_is_polled_again() {
    // A body that sends one chunk and then waits forever: each event must come out at once.
    let polls = std::cell::Cell::new(0);
    let body = stream::once("data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4")
        .chain(stream::pending())
        .inspect(|_| polls.set(polls.get() + 1));
    let mut events = DecodeStream::new(body);
    for expected in ["1", "2", "3"] {
        match poll_once(&mut events) {
            Poll::Ready(Some(Ok(event))) => assert_eq!(event.data(), expected),
            other => panic!("expected event {expected}, got {other:?}"),
        }
        assert_eq!(polls.get(), 1);
    }
    assert!(poll_once(&mut events).is_pending());
    assert_eq!(events.ended(), None);
    assert!(!events.is_terminated());
}

#[test]
fn a_transport_error_is_passed_through_and_ends_the_stream() {
    let polled_after = std::cell::Cell::new(false);
    let body = stream::iter([
        Ok(Bytes::from("id: 1\ndata: a\n\ndata: b")),
        Err(std::io::Error::other("connection reset")),
    ])
    .chain(stream::once_future(async {
        polled_after.set(true);
        Ok(Bytes::from("\n\ndata: c\n\n"))
    }));
    // `Box::pin`: the `async` block makes the body `!Unpin`.
    let mut events = Box::pin(DecodeStream::new(body));
    block_on(async {
        assert_eq!(events.next().await.unwrap().unwrap().data(), "a");
        assert_eq!(events.ended(), None);
        let error = events.next().await.unwrap().unwrap_err();
        let DecodeError::Transport(io) = &error else {
            panic!("expected a transport error, got {error:?}");
        };
        assert_eq!(io.to_string(), "connection reset");
        assert_eq!(error.to_string(), "transport error: connection reset");
        assert!(std::error::Error::source(&error).is_some());
        // Ended: the partial "data: b" was dropped, and nothing after the error is read.
        assert_eq!(events.ended(), Some(Ended::Truncated));
        assert!(events.next().await.is_none());
        assert!(events.next().await.is_none());
    });
    assert!(!polled_after.get());
    assert_eq!(events.last_event_id(), "1");
}

#[test]
fn a_transport_error_between_events_ends_clean() {
    let body = stream::iter([Ok("data: a\n\n"), Err("gone"), Ok("data: b\n\n")]);
    let mut events = DecodeStream::new(body);
    let items: Vec<_> = block_on((&mut events).collect());
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().data(), "a");
    assert!(matches!(items[1], Err(DecodeError::Transport("gone"))));
    assert_eq!(events.ended(), Some(Ended::Clean));
}

#[test]
fn a_limit_hit_is_the_codec_error_and_decoding_goes_on() {
    let big = format!("data: {}\n\ndata: ok\n\n", "x".repeat(100));
    let limits = Limits {
        max_line: 64,
        max_event: 32,
        overflow: Overflow::Error,
    };
    let expected = Run {
        events: vec![ev("message", "ok", None)],
        errors: vec![Error::LineTooLong { limit: 64 }.to_string()],
        ended: Some(Ended::Clean),
        last_event_id: String::new(),
        retry: None,
    };
    for chunks in chunkings(big.as_bytes()) {
        assert_eq!(run_with(chunks, limits), expected);
    }

    // Data lines under `max_line` that add up to more than `max_event`.
    let many = "data: 0123456789\n".repeat(4) + "\ndata: ok\n\n";
    let mut events = DecodeStream::with_limits(stream::iter([many.as_str()]), limits);
    block_on(async {
        let error = events.next().await.unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                DecodeError::Decode(Error::EventTooLarge { limit: 32 })
            ),
            "{error:?}"
        );
        assert!(error.to_string().starts_with("invalid event stream: "));
        assert_eq!(events.next().await.unwrap().unwrap().data(), "ok");
        assert!(events.next().await.is_none());
    });

    // Under `SkipEvent` the event is dropped silently.
    let skip = Limits {
        overflow: Overflow::SkipEvent,
        ..limits
    };
    let run = run_with(vec![big.into_bytes()], skip);
    assert_eq!(run.events, [ev("message", "ok", None)]);
    assert!(run.errors.is_empty());
}

#[test]
fn a_partial_line_is_bounded_by_the_limits() {
    // A peer that never ends its line: the stream errors once, keeps nothing, and goes on.
    let limits = Limits {
        max_line: 16,
        ..Limits::default()
    };
    let chunks = std::iter::once(b"data: ".to_vec())
        .chain(std::iter::repeat_n(vec![b'x'; 10], 1000))
        .chain(std::iter::once(b"\n\ndata: after\n\n".to_vec()));
    let run = run_with(chunks.collect(), limits);
    assert_eq!(run.errors, [Error::LineTooLong { limit: 16 }.to_string()]);
    assert_eq!(run.events, [ev("message", "after", None)]);
}

fn round_trip(events: &[Event], chunk: usize) -> Vec<Event> {
    let mut wire = BytesMut::new();
    for event in events {
        encode(event, &mut wire);
    }
    let chunks: Vec<Bytes> = wire
        .freeze()
        .chunks(chunk.max(1))
        .map(Bytes::copy_from_slice)
        .collect();
    let decoded = DecodeStream::new(stream::iter(chunks));
    block_on(decoded.try_collect::<_, DecodeError<Infallible>, Vec<_>>()).unwrap()
}

#[test]
fn decode_of_encode_is_the_identity() -> Result<(), Error> {
    let events = vec![
        Event::new("hello").with_id("1")?,
        Event::new("line one\nline two\n")
            .with_event("note")?
            .with_id("2")?,
        Event::new("").with_id("3")?,
        Event::new(" leading space, : colons, caf\u{e9} \u{1F600}")
            .with_event("x")?
            .with_id("4")?,
    ];
    for chunk in [1, 2, 3, 7, 1000] {
        assert_eq!(round_trip(&events, chunk), events, "chunk size {chunk}");
    }
    // `retry` and comments are not event fields on the browser view: retry is the stream's.
    let wire = {
        let mut wire = BytesMut::new();
        encode(
            &Event::new("a").with_retry(Duration::from_millis(1234)),
            &mut wire,
        );
        encode(&Event::comment("keep-alive"), &mut wire);
        wire.freeze()
    };
    let mut decoded = DecodeStream::new(stream::iter([wire]));
    block_on(async {
        assert_eq!(decoded.next().await.unwrap().unwrap(), Event::new("a"));
        assert!(decoded.next().await.is_none());
    });
    assert_eq!(decoded.retry(), Some(Duration::from_millis(1234)));
    assert_eq!(decoded.ended(), Some(Ended::Clean));
    Ok(())
}

#[test]
fn chunk_types() {
    fn first_data<S>(body: S) -> String
    where
        S: Stream + Unpin,
        S::Item: IntoChunk,
        <S::Item as IntoChunk>::Error: std::fmt::Debug,
    {
        let mut events = DecodeStream::new(body);
        block_on(events.next()).unwrap().unwrap().data().to_owned()
    }
    const WIRE: &str = "data: x\n\n";
    assert_eq!(first_data(stream::iter([WIRE])), "x");
    assert_eq!(first_data(stream::iter([WIRE.as_bytes()])), "x");
    assert_eq!(first_data(stream::iter([WIRE.to_owned()])), "x");
    assert_eq!(first_data(stream::iter([WIRE.as_bytes().to_vec()])), "x");
    assert_eq!(first_data(stream::iter([Bytes::from(WIRE)])), "x");
    assert_eq!(first_data(stream::iter([BytesMut::from(WIRE)])), "x");
    assert_eq!(
        first_data(stream::iter([Ok::<_, std::io::Error>(Bytes::from(WIRE))])),
        "x"
    );
    // An http-body stream of frames (hyper's `Incoming` through `BodyStream`): trailers are
    // no bytes.
    let frames = stream::iter([
        Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from("data: "))),
        Ok(http_body::Frame::trailers(http::HeaderMap::new())),
        Ok(http_body::Frame::data(Bytes::from("x\n\n"))),
    ]);
    assert_eq!(first_data(frames), "x");
}

#[test]
fn the_public_types_are_send_sync_unpin_and_debug() {
    fn assert_auto<T: Send + Sync + Unpin + std::fmt::Debug>(_: &T) {}
    let events = DecodeStream::new(stream::iter([Bytes::new()]));
    assert_auto(&events);
    assert_auto(&DecodeError::<std::io::Error>::Decode(Error::InvalidId));
    assert_auto(&Ended::Clean);
    let debug = format!("{events:?}");
    assert!(debug.starts_with("DecodeStream {"), "{debug}");
}

/// Bytes that look like SSE more often than random ones do.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event: e".to_vec()),
        Just(b"id: 7".to_vec()),
        Just(b"id".to_vec()),
        Just(b"retry: 12".to_vec()),
        Just(b":".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xFF".to_vec()),
        Just(b"\x00".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..4),
        "[a-z ]{0,6}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// The codec in one shot: the oracle for any chunking.
fn oracle(input: &[u8], limits: Limits) -> (Vec<Seen>, usize) {
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::from(input);
    let (mut events, mut errors) = (Vec::new(), 0);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(event)) => events.push(seen(&event)),
            Ok(None) => break,
            Err(_) => errors += 1,
        }
    }
    (events, errors)
}

/// Splits `input` at the given positions (taken modulo its length, in any order).
fn split(input: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for cut in cuts {
        chunks.push(input[from..cut].to_vec());
        from = cut;
    }
    chunks.push(input[from..].to_vec());
    chunks
}

proptest! {
    #[test]
    fn any_chunking_gives_the_one_shot_events(
        input in prop_oneof![sse_bytes(), proptest::collection::vec(any::<u8>(), 0..200)],
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        small_limits in any::<bool>(),
    ) {
        let limits = if small_limits {
            Limits { max_line: 12, max_event: 16, overflow: Overflow::Error }
        } else {
            Limits::default()
        };
        let one_shot = run_with(vec![input.clone()], limits);
        let (events, errors) = oracle(&input, limits);
        prop_assert_eq!(&one_shot.events, &events);
        prop_assert_eq!(one_shot.errors.len(), errors);
        prop_assert_eq!(run_with(split(&input, &cuts), limits), one_shot);
    }

    #[test]
    fn decode_of_encode_is_the_identity_for_any_events(
        events in proptest::collection::vec(
            ("[a-z\n :\u{e9}]{0,12}", proptest::option::of("[a-z]{1,6}"), "[a-z0-9]{1,4}"),
            0..8,
        ),
        chunk in 1usize..40,
    ) {
        let events: Vec<Event> = events
            .into_iter()
            .map(|(data, event_type, id)| {
                let event = Event::new(data).with_id(id).unwrap();
                match event_type {
                    Some(t) => event.with_event(t).unwrap(),
                    None => event,
                }
            })
            .collect();
        prop_assert_eq!(round_trip(&events, chunk), events);
    }
}

#[test]
fn last_event_id_is_that_of_the_last_event_returned() {
    // One chunk: each event's id is the last event ID when it is returned, even though the
    // chunk holds the blocks after it; the id-only block counts once the stream has read it.
    let wire = "id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\nid: 4\n\n";
    let mut events = DecodeStream::new(stream::iter([wire]));
    block_on(async {
        let mut seen_ids = Vec::new();
        while let Some(event) = events.next().await {
            let event = event.unwrap();
            seen_ids.push((event.data().to_owned(), events.last_event_id().to_owned()));
        }
        assert_eq!(
            seen_ids,
            [
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("c".into(), "2".into())
            ] as [(String, String); 3]
        );
    });
    assert_eq!(events.last_event_id(), "4");
}

#[test]
fn one_long_chunk_gives_the_one_shot_events() {
    // Thousands of events of every shape in one chunk of more than 64 KiB, with limits small
    // enough that some lines and events go over them: every event and every limit hit comes out,
    // in order, and the last event ID and retry are those of the whole input.
    let mut wire = Vec::new();
    for i in 0..4000 {
        let line = match i % 7 {
            0 => format!("id: {i}\r\ndata: {i}\r\n\r\n"),
            1 => format!("event: e{i}\ndata: a\ndata: {}\n\n", "é".repeat(i % 50)),
            2 => format!(": comment {i}\n\nretry: {i}\n\n"),
            3 => format!("data: {}\n\n", "x".repeat(i % 300)),
            4 => "data:\n\n".to_owned(),
            5 => format!("id: {i}\n\n"),
            _ => format!("data: {}\rdata: y\r\r", "z".repeat(i % 90)),
        };
        wire.extend_from_slice(line.as_bytes());
    }
    assert!(wire.len() > 4 * 16 * 1024);
    for limits in [
        Limits::default(),
        Limits {
            max_line: 200,
            max_event: 250,
            overflow: Overflow::Error,
        },
    ] {
        let (events, errors) = oracle(&wire, limits);
        let one_chunk = run_with(vec![wire.clone()], limits);
        assert_eq!(one_chunk.events.len(), events.len());
        assert_eq!(one_chunk.events, events);
        assert_eq!(one_chunk.errors.len(), errors);
        let mut decoder = Decoder::with_limits(limits);
        let mut buf = BytesMut::from(&wire[..]);
        while !matches!(decoder.decode(&mut buf), Ok(None)) {}
        assert_eq!(one_chunk.last_event_id, decoder.last_event_id());
        assert_eq!(one_chunk.retry, decoder.retry());
    }
}
