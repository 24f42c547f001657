//! Property tests against a naive oracle (memchr's `naive.rs` style).
//!
//! - Any input in any chunking gives the events of [`oracle`], a whole-input decoder written
//!   straight from the WHATWG text with no limits and no incremental state.
//! - `decode_frame(encode(event))` gives the event back; a sequence of events survives the
//!   browser view in any chunking.
//! - Under small limits, hostile input never grows the caller's buffer or the decoder past them,
//!   and nothing panics.

use core::time::Duration;

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::sample::Index;
use ssewire::{Decoder, Error, Event, Frame, Limits, Overflow, encode};

/// A browser event: (type, data, lastEventId), with `None` for the default type and an empty id.
type Dispatched = (Option<String>, String, Option<String>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<Dispatched>,
    retry: Option<u64>,
    last_id: String,
}

/// The spec, read literally, on the whole input at once.
fn oracle(input: &[u8]) -> Outcome {
    // "UTF-8 decode": invalid sequences become U+FFFD; one leading BOM is stripped.
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);

    // "Lines must be separated by either a CRLF pair, a single LF, or a single CR." The final
    // piece without a line break is not a line: "any pending data must be discarded".
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(core::mem::take(&mut line));
            }
            '\n' => lines.push(core::mem::take(&mut line)),
            c => line.push(c),
        }
    }

    let mut out = Outcome {
        events: Vec::new(),
        retry: None,
        last_id: String::new(),
    };
    let mut data = String::new();
    let mut event_type = String::new();
    let mut id_buffer = String::new();
    for line in lines {
        if line.is_empty() {
            // Dispatch.
            out.last_id = id_buffer.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            out.events.push((
                (!event_type.is_empty()).then(|| event_type.clone()),
                core::mem::take(&mut data),
                (!out.last_id.is_empty()).then(|| out.last_id.clone()),
            ));
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            // "If the field value does not contain U+0000 NULL, set the last event ID buffer."
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            // "If the field value consists of only ASCII digits" (at least one). A value beyond
            // u64 is ignored, as the decoder documents; the spec leaves integer size open.
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                out.retry = value.parse::<u64>().ok().or(out.retry);
            }
            _ => {}
        }
    }
    out
}

/// Splits `input` at the given cut points (any order, duplicates allowed).
fn chunks<'a>(input: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(&input[start..p]);
        start = p;
    }
    out.push(&input[start..]);
    out
}

fn decode_chunks(chunks: &[&[u8]]) -> Outcome {
    let owned = decode_chunks_owned(chunks);
    // `usize::MAX`: every read appended to the carry-over (as short reads are).
    for min in [usize::MAX, 0, 3] {
        assert_eq!(
            decode_chunks_each(chunks, min),
            owned,
            "decode_each (reads of {min}+ bytes in place) disagrees with decode"
        );
    }
    owned
}

/// [`decode_chunks`] through `Decoder::decode_each`, each chunk a read of its own; reads of
/// `min` bytes or more are read in place.
fn decode_chunks_each(chunks: &[&[u8]], min: usize) -> Outcome {
    let mut decoder = Decoder::new().with_read_in_place_min(min);
    let mut events = Vec::new();
    for chunk in chunks {
        decoder
            .decode_each(chunk, |e| events.push(dispatched(&e)))
            .expect("default limits are not hit");
    }
    decoder.finish(&mut BytesMut::new());
    Outcome {
        events,
        retry: decoder.retry().map(|d| d.as_millis() as u64),
        last_id: decoder.last_event_id().to_owned(),
    }
}

/// A zero-copy event as a comparable value.
fn dispatched(e: &ssewire::EventRef<'_>) -> Dispatched {
    let ty = e.to_event().event().map(str::to_owned);
    (ty, e.data().to_owned(), e.id().map(str::to_owned))
}

/// [`decode_chunks`] through the owned view, `Decoder::decode`.
fn decode_chunks_owned(chunks: &[&[u8]]) -> Outcome {
    decode_chunks_with(chunks, |decoder, buf, events| {
        while let Some(e) = decoder.decode(buf).expect("default limits are not hit") {
            events.push((
                e.event().map(str::to_owned),
                e.data().to_owned(),
                e.id().map(str::to_owned),
            ));
        }
    })
}

/// Feeds `chunks` one after another, taking every event `next` yields after each, then ends the
/// stream.
fn decode_chunks_with(
    chunks: &[&[u8]],
    mut drain: impl FnMut(&mut Decoder, &mut BytesMut, &mut Vec<Dispatched>),
) -> Outcome {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        drain(&mut decoder, &mut buf, &mut events);
    }
    decoder.finish(&mut buf);
    Outcome {
        events,
        retry: decoder.retry().map(|d| d.as_millis() as u64),
        last_id: decoder.last_event_id().to_owned(),
    }
}

/// SSE-like byte soup: field names, separators, every line break, BOM pieces, invalid UTF-8,
/// NUL, multi-byte characters, digits, and arbitrary bytes.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            &b"data"[..], b"data:", b"data: ", b"event", b"event:", b"id", b"id:", b"retry",
            b"retry:", b"Data", b"message",
        ])
        .prop_map(<[u8]>::to_vec),
        6 => prop::sample::select(vec![&b":"[..], b" ", b"\r", b"\n", b"\r\n", b"\n\n"])
            .prop_map(<[u8]>::to_vec),
        2 => prop::sample::select(vec![
            &b"\xEF\xBB\xBF"[..], b"\xEF\xBB", b"\xEF", b"\xBF", b"\xFF", b"\xC3", b"\xE2\x82",
            b"\x80", b"\0", b"\xC3\xA9", b"\xE2\x82\xAC", b"\xF0\x9F\x98\x80",
        ])
        .prop_map(<[u8]>::to_vec),
        3 => prop::sample::select(vec![&b"x"[..], b"a", b"0", b"15", b"+1", b"\t", b"-"])
            .prop_map(<[u8]>::to_vec),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ]
}

fn soup(max_tokens: usize) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::option::weighted(0.1, Just(b"\xEF\xBB\xBF".to_vec())),
        prop::collection::vec(token(), 0..max_tokens),
    )
        .prop_map(|(bom, tokens)| {
            let mut out = bom.unwrap_or_default();
            out.extend(tokens.concat());
            out
        })
}

/// Text for data and comments: anything, with line breaks and spaces common.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec!['\n', '\r', ' ', ':', 'a', '\u{FEFF}', '\0']),
            2 => any::<char>(),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Text with no CR or LF (and, for ids, no NUL): what `EventType` and `EventId` accept.
fn line_text(nul: bool) -> impl Strategy<Value = String> {
    text().prop_map(move |s| {
        s.chars()
            .filter(|&c| c != '\r' && c != '\n' && (nul || c != '\0'))
            .collect()
    })
}

/// Any valid event, built through the public constructors.
fn event() -> impl Strategy<Value = Event> {
    (
        prop::option::of(text()),
        prop::option::of(line_text(true)),
        prop::option::of(line_text(false)),
        prop::option::of(any::<u64>()),
        prop::option::of(text()),
    )
        .prop_map(|(data, name, id, retry, comment)| {
            let mut event = Event::default();
            if let Some(data) = data {
                event = event.with_data(data);
            }
            if let Some(name) = name {
                event = event.with_event(name).expect("no line break");
            }
            if let Some(id) = id {
                event = event.with_id(id).expect("no line break or NUL");
            }
            if let Some(ms) = retry {
                event = event.with_retry(Duration::from_millis(ms));
            }
            if let Some(comment) = comment {
                event = event.with_comment(comment);
            }
            event
        })
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        0usize..64,
        0usize..256,
        prop::sample::select(vec![Overflow::Error, Overflow::SkipEvent]),
    )
        .prop_map(|(max_line, max_event, overflow)| Limits {
            max_line,
            max_event,
            overflow,
        })
}

/// Runs of long filler, so that lines and events cross small limits.
fn hostile() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => token(),
            1 => (1usize..80, prop::sample::select(vec![b'x', b'9', b':', b' ', 0xFF]))
                .prop_map(|(n, b)| vec![b; n]),
        ],
        0..120,
    )
    .prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Any input in any chunking gives the oracle's events, retry and last event ID.
    #[test]
    fn decoder_matches_oracle(input in soup(48), cuts in prop::collection::vec(any::<Index>(), 0..6)) {
        let expected = oracle(&input);
        prop_assert_eq!(&decode_chunks(&[&input]), &expected);
        prop_assert_eq!(&decode_chunks(&chunks(&input, &cuts)), &expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same, byte by byte: every possible split at once.
    #[test]
    fn decoder_matches_oracle_byte_by_byte(input in soup(48)) {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(decode_chunks(&bytes), oracle(&input));
    }
}

/// Reassembles the raw view of one encoded event: comments (joined with LF), retry, and at most
/// one event frame.
fn reassemble(chunks: &[&[u8]]) -> Result<Event, TestCaseError> {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut comments: Vec<String> = Vec::new();
    let mut retry = None;
    let mut event: Option<Event> = None;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode_frame(&mut buf).expect("no limit is hit") {
            match frame {
                Frame::Comment(c) => {
                    prop_assert!(event.is_none(), "comment after the event frame");
                    comments.push(c);
                }
                Frame::Retry(d) => {
                    prop_assert!(event.is_none(), "retry after the event frame");
                    prop_assert!(retry.is_none(), "two retry frames");
                    retry = Some(d);
                }
                Frame::Event(e) => {
                    prop_assert!(event.is_none(), "two event frames");
                    prop_assert_eq!(e.retry(), None);
                    prop_assert_eq!(e.comment_text(), None);
                    event = Some(e);
                }
                other => prop_assert!(false, "unexpected frame {:?}", other),
            }
        }
    }
    prop_assert!(buf.is_empty(), "the encoding ends with a blank line");
    let mut event = event.unwrap_or_default();
    if !comments.is_empty() {
        event = event.with_comment(comments.join("\n"));
    }
    if let Some(d) = retry {
        event = event.with_retry(d);
    }
    Ok(event)
}

/// `event` as every view reports it: an empty type is the default type and an empty id is no
/// last event ID (`Event::event` and `Event::id` mean the same in every view).
fn as_decoded(event: &Event) -> Event {
    let mut out = Event::default();
    if event.has_data() {
        out = out.with_data(event.data());
    }
    if let Some(name) = event.event().filter(|t| !t.is_empty()) {
        out = out.with_event(name).expect("valid already");
    }
    if let Some(id) = event.id().filter(|id| !id.is_empty()) {
        out = out.with_id(id).expect("valid already");
    }
    if let Some(retry) = event.retry() {
        out = out.with_retry(retry);
    }
    if let Some(comment) = event.comment_text() {
        out = out.with_comment(comment);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `decode_frame(encode(e))` gives `e` back, in any chunking (an empty type or id as
    /// `None`, as every view reports them).
    #[test]
    fn raw_view_round_trips(event in event(), cuts in prop::collection::vec(any::<Index>(), 0..4)) {
        let mut wire = BytesMut::new();
        encode(&event, &mut wire);
        prop_assert_eq!(wire.len(), ssewire::encoded_len(&event));
        prop_assert!(!wire.contains(&b'\r'), "a CR reached the wire");
        let expected = as_decoded(&event);
        prop_assert_eq!(&reassemble(&[&wire])?, &expected);
        prop_assert_eq!(&reassemble(&chunks(&wire, &cuts))?, &expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A sequence of events, encoded back to back, reaches the browser view intact in any
    /// chunking: data, type, and the last event ID in force.
    #[test]
    fn browser_view_round_trips_sequences(
        events in prop::collection::vec(event(), 0..8),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
    ) {
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        let mut last_id = String::new();
        let mut retry = None;
        for event in &events {
            encode(event, &mut wire);
            if let Some(ms) = event.retry() {
                retry = Some(ms.as_millis() as u64);
            }
            if let Some(id) = event.id() {
                last_id = id.to_owned();
            }
            if event.has_data() {
                expected.push((
                    event.event().filter(|t| !t.is_empty()).map(str::to_owned),
                    event.data().to_owned(),
                    (!last_id.is_empty()).then(|| last_id.clone()),
                ));
            }
        }
        let expected = Outcome { events: expected, retry, last_id };
        prop_assert_eq!(&decode_chunks(&chunks(&wire, &cuts)), &expected);
        prop_assert_eq!(&oracle(&wire), &expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Under any limits and either policy, through every view: after every `Ok(None)` (or
    /// `decode_each`'s `Ok(())`) the caller's buffer holds at
    /// most `max(max_line, 8)` bytes, the decoder never buffers more than `max_event`, errors
    /// are only limit errors (and only under `Overflow::Error`), and nothing panics.
    #[test]
    fn limits_hold_on_hostile_input(
        input in hostile(),
        limits in limits(),
        sizes in prop::collection::vec(1usize..48, 1..8),
        view in 0u8..3,
    ) {
        let mut decoder = Decoder::with_limits(limits);
        let max_line = limits.max_line.max(8);
        let mut buf = BytesMut::new();
        let mut rest = &input[..];
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            // Bounded: each call consumes input or returns `Ok(None)`.
            for _ in 0..=input.len() + 1 {
                let result = match view {
                    0 => decoder.decode(&mut buf).map(|e| e.is_some()),
                    1 => decoder.decode_frame(&mut buf).map(|f| f.is_some()),
                    // One call takes every event of the read (the decoder carries the rest; the
                    // next call goes on with an empty read): `Ok` means "need more bytes".
                    _ => {
                        let read = buf.split();
                        decoder.decode_each(&read, |_| {}).map(|()| false)
                    }
                };
                // `decode_each` carries up to one line's worth itself once it returns `Ok` (after
                // an error, the rest of the read too).
                let bound = if view >= 2 { limits.max_event + max_line } else { limits.max_event };
                prop_assert!(decoder.buffered() <= bound || (view >= 2 && result.is_err()),
                    "buffered {} > {}", decoder.buffered(), bound);
                match result {
                    Ok(true) => {}
                    Ok(false) => {
                        prop_assert!(buf.len() <= max_line,
                            "buffer holds {} bytes, max_line {}", buf.len(), max_line);
                        break;
                    }
                    Err(Error::LineTooLong { limit }) => {
                        prop_assert_eq!(limits.overflow, Overflow::Error);
                        prop_assert_eq!(limit, max_line);
                    }
                    Err(Error::EventTooLarge { limit }) => {
                        prop_assert_eq!(limits.overflow, Overflow::Error);
                        prop_assert_eq!(limit, limits.max_event);
                    }
                    Err(e) => prop_assert!(false, "unexpected error {:?}", e),
                }
            }
        }
        decoder.finish(&mut buf);
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoder.buffered(), 0);
    }

    /// With limits above the input's size, small limits change nothing: the oracle still holds.
    #[test]
    fn roomy_limits_match_oracle(
        input in soup(48),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
        overflow in prop::sample::select(vec![Overflow::Error, Overflow::SkipEvent]),
    ) {
        let limits = Limits { max_line: input.len(), max_event: input.len() + 1, overflow };
        let mut decoder = Decoder::with_limits(limits);
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        for chunk in chunks(&input, &cuts) {
            buf.extend_from_slice(chunk);
            while let Some(e) = decoder.decode(&mut buf).expect("limits not hit") {
                events.push((e.event().map(str::to_owned), e.data().to_owned(), e.id().map(str::to_owned)));
            }
        }
        prop_assert_eq!(events, oracle(&input).events);
    }
}

#[test]
fn oracle_sanity() {
    // The oracle itself must be right for the property tests to mean anything.
    let out = oracle(b"\xEF\xBB\xBFid: 1\nevent: e\ndata: a\r\ndata\r\r: c\nretry: 7\ndata:b\n\n");
    assert_eq!(
        out.events,
        vec![
            (Some("e".into()), "a\n".into(), Some("1".into())),
            (None, "b".into(), Some("1".into())),
        ]
    );
    assert_eq!(out.retry, Some(7));
    assert_eq!(out.last_id, "1");
    assert!(oracle(b"data: x\n").events.is_empty());
    assert_eq!(oracle(b"data:\xFF\n\n").events[0].1, "\u{FFFD}");
    assert_eq!(oracle(b"id\ndata:x\n\n").events[0].2, None);
}

/// What a browser-view decode loop sees under limits: events and limit errors, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Event(Dispatched),
    LineTooLong,
    EventTooLarge,
}

fn decode_items(limits: Limits, chunks: &[&[u8]]) -> (Vec<Item>, Option<u64>, String) {
    let owned = decode_items_with(0, limits, chunks);
    assert_views_agree(&owned, &decode_items_with(3, limits, chunks), "decode_each");
    assert_views_agree(
        &owned,
        &decode_items_with(4, limits, chunks),
        "decode_each (reads appended)",
    );
    owned
}

fn assert_views_agree<T: PartialEq + core::fmt::Debug>(owned: &T, other: &T, view: &str) {
    assert_eq!(other, owned, "{view} disagrees with decode under limits");
}

/// [`decode_items`] through one view: 0 `decode`, 3 `decode_each` (every read in place; after an
/// error, called again with an empty read), 4 `decode_each` with every read appended to the
/// carry-over (as short reads are).
fn decode_items_with(
    view: u8,
    limits: Limits,
    chunks: &[&[u8]],
) -> (Vec<Item>, Option<u64>, String) {
    let in_place_min = if view == 4 { usize::MAX } else { 0 };
    let mut decoder = Decoder::with_limits(limits).with_read_in_place_min(in_place_min);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let item = |e: &ssewire::EventRef<'_>| Item::Event(dispatched(e));
    for chunk in chunks {
        let mut read: &[u8] = chunk;
        if view == 0 {
            buf.extend_from_slice(chunk);
        }
        loop {
            let result = match view {
                0 => decoder.decode(&mut buf).map(|e| {
                    e.map(|e| {
                        Item::Event((
                            e.event().map(str::to_owned),
                            e.data().to_owned(),
                            e.id().map(str::to_owned),
                        ))
                    })
                }),
                _ => {
                    let result = decoder
                        .decode_each(read, |e| items.push(item(&e)))
                        .map(|()| None);
                    read = &[];
                    result
                }
            };
            match result {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(Error::LineTooLong { .. }) => items.push(Item::LineTooLong),
                Err(Error::EventTooLarge { .. }) => items.push(Item::EventTooLarge),
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
    }
    decoder.finish(&mut buf);
    (
        items,
        decoder.retry().map(|d| d.as_millis() as u64),
        decoder.last_event_id().to_owned(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Limits are decided on the stream, not on the chunking: the same events and errors come
    /// out in the same order whatever the chunking, and the two policies drop the same events
    /// (`SkipEvent` gives `Error`'s events without the errors).
    #[test]
    fn limits_do_not_depend_on_chunking_or_policy(
        input in hostile(),
        limits in limits(),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let error = Limits { overflow: Overflow::Error, ..limits };
        let skip = Limits { overflow: Overflow::SkipEvent, ..limits };
        let whole = decode_items(error, &[&input]);
        prop_assert_eq!(&decode_items(error, &chunks(&input, &cuts)), &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&decode_items(error, &bytes), &whole);
        let (items, retry, last_id) = whole;
        let events: Vec<Item> = items.into_iter().filter(|i| matches!(i, Item::Event(_))).collect();
        prop_assert_eq!(decode_items(skip, &chunks(&input, &cuts)), (events, retry, last_id));
    }
}

/// `Decoder::in_event` after feeding `chunks` through one view (0 `decode`, 1 `decode_frame`,
/// 2 `decode_each` reading in place, 3 `decode_each` appending), going on after limit errors.
fn in_event_after(view: u8, limits: Limits, chunks: &[&[u8]]) -> bool {
    let min = if view == 3 { usize::MAX } else { 0 };
    let mut decoder = Decoder::with_limits(limits).with_read_in_place_min(min);
    let mut buf = BytesMut::new();
    for chunk in chunks {
        let mut read: &[u8] = chunk;
        if view < 2 {
            buf.extend_from_slice(chunk);
        }
        loop {
            let more = match view {
                0 => decoder.decode(&mut buf).map(|e| e.is_some()),
                1 => decoder.decode_frame(&mut buf).map(|f| f.is_some()),
                _ => decoder
                    .decode_each(core::mem::take(&mut read), |_| {})
                    .map(|()| false),
            };
            if let Ok(false) = more {
                break;
            }
        }
    }
    // What a caller sees at the end of the stream: a partial line, or an event begun.
    decoder.in_event() || !buf.is_empty()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Whether a stream ends inside an event does not depend on the chunking, the view or the
    /// policy (for `decode_each` the partial line is the decoder's to report).
    #[test]
    fn in_event_does_not_depend_on_chunking_or_view(
        input in soup(32),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
        limits in limits(),
    ) {
        let one_shot = in_event_after(0, limits, &[&input]);
        for view in 0..4 {
            prop_assert_eq!(in_event_after(view, limits, &chunks(&input, &cuts)), one_shot, "view {}", view);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// `encode_ref` of a borrowed event writes what `encode` writes for the `Event` with the
    /// same fields, and the browser views decode it back.
    #[test]
    fn encode_ref_writes_what_encode_writes(event in event()) {
        let data = event.data().to_owned();
        let name = event.event().unwrap_or("").to_owned();
        let id = event.id().unwrap_or("").to_owned();
        let borrowed = ssewire::EventRef::new(&data)
            .with_event(&name)
            .expect("checked already")
            .with_id(&id)
            .expect("checked already");
        let mut owned = Event::new(data.as_str());
        if !name.is_empty() {
            owned = owned.with_event(name.as_str()).expect("checked already");
        }
        if !id.is_empty() {
            owned = owned.with_id(id.as_str()).expect("checked already");
        }
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        ssewire::encode_ref(&borrowed, &mut a);
        encode(&owned, &mut b);
        prop_assert_eq!(&a, &b);
        let decoded = decode_chunks(&[&a]);
        prop_assert_eq!(
            decoded.events,
            vec![(owned.event().map(str::to_owned), data, owned.id().map(str::to_owned))]
        );
    }
}
