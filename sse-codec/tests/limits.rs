//! `Limits` and `Overflow`: what the decoder does at its memory bounds, in every chunking.

use bytes::BytesMut;
use ssewire::{Decoder, Error, Limits, Overflow};

/// One item a decode loop saw: an event's data (with its id), or a limit error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Data(String, Option<String>),
    LineTooLong(usize),
    EventTooLarge(usize),
}

/// The browser views: `decode`, and `decode_each` (each chunk a read of its own, read in place,
/// or appended to the carry-over as short reads are).
#[derive(Debug, Clone, Copy)]
enum View {
    Owned,
    Each,
    EachAppended,
}

/// [`run_view`] through every browser view; they must agree.
fn run(limits: Limits, chunks: &[&[u8]]) -> Vec<Item> {
    let owned = run_view(View::Owned, limits, chunks);
    for view in [View::Each, View::EachAppended] {
        assert_eq!(
            run_view(view, limits, chunks),
            owned,
            "{view:?} disagrees with decode"
        );
    }
    owned
}

/// Feeds `chunks`, decoding until `Ok(None)` after each (and going on after errors), checking the
/// memory bounds after every call; ends the stream.
fn run_view(view: View, limits: Limits, chunks: &[&[u8]]) -> Vec<Item> {
    let in_place_min = match view {
        View::EachAppended => usize::MAX,
        _ => 0,
    };
    let mut decoder = Decoder::with_limits(limits).with_read_in_place_min(in_place_min);
    assert_eq!(decoder.limits(), &limits);
    let max_line = limits.max_line.max(8);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in chunks {
        let mut read: &[u8] = chunk;
        if let View::Owned = view {
            buf.extend_from_slice(chunk);
        }
        loop {
            let result = match view {
                View::Owned => decoder
                    .decode(&mut buf)
                    .map(|e| e.map(|e| event(e.data(), e.id()))),
                // Every event of the read in one call; `Ok` means "need more bytes". After an
                // error, the decoder holds the rest of the read: go on with an empty read.
                View::Each | View::EachAppended => {
                    let result = decoder
                        .decode_each(read, |e| items.push(event(e.data(), e.id())))
                        .map(|()| None);
                    read = &[];
                    result
                }
            };
            // What `decode_each` carries over counts in `buffered`.
            let bound = match view {
                View::Owned => limits.max_event,
                _ => limits.max_event + max_line,
            };
            let ok = matches!(result, Ok(None));
            assert!(decoder.buffered() <= bound || (!ok && !matches!(view, View::Owned)));
            match result {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {
                    assert!(
                        buf.len() <= max_line,
                        "{} bytes left in the buffer, max_line {max_line}",
                        buf.len()
                    );
                    break;
                }
                Err(Error::LineTooLong { limit }) => items.push(Item::LineTooLong(limit)),
                Err(Error::EventTooLarge { limit }) => items.push(Item::EventTooLarge(limit)),
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
    }
    decoder.finish(&mut buf);
    items
}

/// Runs in one shot, byte by byte and at every split point; all must give `expected`.
fn check(limits: Limits, input: &[u8], expected: &[Item]) {
    assert_eq!(run(limits, &[input]), expected, "one shot");
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(limits, &bytes), expected, "byte by byte");
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run(limits, &[a, b]), expected, "split at {i}");
    }
}

/// An event as an item.
fn event(data: &str, id: Option<&str>) -> Item {
    Item::Data(data.to_owned(), id.map(str::to_owned))
}

fn data(d: &str) -> Item {
    Item::Data(d.to_owned(), None)
}

fn limits(max_line: usize, max_event: usize, overflow: Overflow) -> Limits {
    Limits {
        max_line,
        max_event,
        overflow,
    }
}

/// Found by `fuzz/decode_split`: a data line over the event limit that ends in CR, followed by
/// a CR at the very end, must fail in the zero-copy views too (the in-place reader once resumed
/// after the line it had refused, and the error was lost).
#[test]
fn over_limit_line_ending_in_cr_at_the_end() {
    let input =
        b"\x11\x02event: a\r\ndata: x\r\ndata: \x8by\r\n\r\nid\r\ndata\r\n\r\ndata: cr only\r\r";
    check(
        limits(1024 * 1024, 1, Overflow::Error),
        input,
        &[Item::EventTooLarge(1), data(""), Item::EventTooLarge(1)],
    );
}

/// The buffer contract is "only append between calls"; a caller that breaks it (here: clears
/// the buffer without `finish`) gets garbage at worst, never a panic. (`decode_each` keeps its
/// carry-over to itself.)
#[test]
fn a_caller_that_clears_the_buffer_gets_no_panic() {
    {
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::from(&b"data: a\n\ndata: b\ndata: cccccccccc"[..]);
        let mut seen = Vec::new();
        let mut drain = |decoder: &mut Decoder, buf: &mut BytesMut| {
            while let Some(e) = decoder.decode(buf).expect("no limit") {
                seen.push(e.data().to_owned());
            }
        };
        drain(&mut decoder, &mut buf);
        buf.clear();
        buf.extend_from_slice(b"data: new\n\n");
        drain(&mut decoder, &mut buf);
        decoder.finish(&mut buf);
        assert!(seen.len() <= 2, "{seen:?}");
    }
}

#[test]
fn defaults_are_finite() {
    let limits = Limits::default();
    assert_eq!(limits.max_line, 1024 * 1024);
    assert_eq!(limits.max_event, 8 * 1024 * 1024);
    assert_eq!(limits.overflow, Overflow::Error);
    assert_eq!(Overflow::default(), Overflow::Error);
    assert_eq!(Decoder::new().limits(), &limits);
}

#[test]
fn long_data_line_is_an_error_once_then_decoding_resumes_at_the_next_event() {
    let long = "x".repeat(100);
    let input = format!("data: a\n\ndata: {long}\ndata: more\n\ndata: b\n\n");
    check(
        limits(16, 1024, Overflow::Error),
        input.as_bytes(),
        &[data("a"), Item::LineTooLong(16), data("b")],
    );
}

#[test]
fn long_event_and_id_lines_hit_the_policy_too() {
    let long = "x".repeat(40);
    for field in ["event", "id"] {
        let input = format!("{field}: {long}\ndata: dropped\n\ndata: b\n\n");
        check(
            limits(16, 1024, Overflow::Error),
            input.as_bytes(),
            &[Item::LineTooLong(16), data("b")],
        );
        check(
            limits(16, 1024, Overflow::SkipEvent),
            input.as_bytes(),
            &[data("b")],
        );
    }
}

#[test]
fn skip_event_drops_only_the_offending_event() {
    let long = "x".repeat(100);
    let input = format!("data: a\n\ndata: before\ndata: {long}\ndata: more\n\ndata: b\n\n");
    check(
        limits(16, 1024, Overflow::SkipEvent),
        input.as_bytes(),
        &[data("a"), data("b")],
    );
}

#[test]
fn an_overflowed_event_does_not_set_the_last_event_id() {
    let long = "x".repeat(40);
    let input = format!("id: 1\ndata: a\n\nid: 2\ndata: {long}\n\ndata: b\n\n");
    for overflow in [Overflow::Error, Overflow::SkipEvent] {
        let items = run(limits(16, 1024, overflow), &[input.as_bytes()]);
        let with_id = |d: &str| Item::Data(d.to_owned(), Some("1".to_owned()));
        let expected = match overflow {
            Overflow::Error => vec![with_id("a"), Item::LineTooLong(16), with_id("b")],
            Overflow::SkipEvent => vec![with_id("a"), with_id("b")],
        };
        assert_eq!(items, expected, "{overflow:?}");
    }
}

#[test]
fn line_limit_boundary_in_every_chunking() {
    // `max_line` counts the line without its line break: 16 bytes pass, 17 do not.
    let fits = b"data:0123456789a\n\n";
    let over = b"data:0123456789ab\n\n";
    for eol in ["\n", "\r", "\r\n"] {
        let fits = String::from_utf8_lossy(fits).replace('\n', eol);
        let over = String::from_utf8_lossy(over).replace('\n', eol);
        let lim = limits(16, 1024, Overflow::Error);
        check(lim, fits.as_bytes(), &[data("0123456789a")]);
        check(lim, over.as_bytes(), &[Item::LineTooLong(16)]);
    }
}

#[test]
fn max_line_below_eight_counts_as_eight() {
    for max_line in [0, 1, 7, 8] {
        let lim = limits(max_line, 1024, Overflow::Error);
        check(lim, b"data:abc\n\n", &[data("abc")]);
        check(lim, b"data:abcd\n\n", &[Item::LineTooLong(8)]);
    }
}

#[test]
fn event_too_large_once_then_the_next_event() {
    // Each data line counts its value plus one: four lines of 10 bytes are 44 > 32.
    let line = "data: 0123456789\n";
    let input = format!("{}\ndata: next\n\n", line.repeat(4));
    check(
        limits(64, 32, Overflow::Error),
        input.as_bytes(),
        &[Item::EventTooLarge(32), data("next")],
    );
    check(
        limits(64, 32, Overflow::SkipEvent),
        input.as_bytes(),
        &[data("next")],
    );
}

#[test]
fn event_size_boundary() {
    // Two lines of 10 bytes: the data buffer holds 22 bytes ("0123456789\n" twice).
    let input = b"data: 0123456789\ndata: 0123456789\n\n";
    check(
        limits(64, 22, Overflow::Error),
        input,
        &[data("0123456789\n0123456789")],
    );
    check(
        limits(64, 21, Overflow::Error),
        input,
        &[Item::EventTooLarge(21)],
    );
    // A single empty data line still needs one byte.
    check(
        limits(64, 0, Overflow::Error),
        b"data\n\n",
        &[Item::EventTooLarge(0)],
    );
    check(limits(64, 1, Overflow::Error), b"data\n\n", &[data("")]);
}

#[test]
fn long_comment_unknown_and_retry_lines_are_dropped_silently() {
    let long = "x".repeat(100);
    let digits = "9".repeat(100);
    let input = format!(
        "data: a\n:{long}\n: {long}\nfoo: {long}\n{long}\nretry: {digits}\nretry:{long}\ndata: b\n\n"
    );
    for overflow in [Overflow::Error, Overflow::SkipEvent] {
        check(
            limits(16, 1024, overflow),
            input.as_bytes(),
            &[data("a\nb")],
        );
    }
}

#[test]
fn a_short_retry_still_counts_next_to_long_lines() {
    let long = "x".repeat(100);
    let input = format!(":{long}\nretry: 1234\n\n");
    let mut decoder = Decoder::with_limits(limits(16, 64, Overflow::Error));
    let mut buf = BytesMut::new();
    for chunk in input.as_bytes().chunks(7) {
        buf.extend_from_slice(chunk);
        while decoder.decode(&mut buf).unwrap().is_some() {}
    }
    assert_eq!(decoder.retry().map(|d| d.as_millis()), Some(1234));
}

#[test]
fn errors_convert_and_display() {
    let e = Error::LineTooLong { limit: 16 };
    assert_eq!(e.to_string(), "line longer than the limit of 16 bytes");
    let e = Error::EventTooLarge { limit: 32 };
    assert_eq!(
        e.to_string(),
        "event data larger than the limit of 32 bytes"
    );
    #[cfg(feature = "std")]
    {
        let io: std::io::Error = Error::LineTooLong { limit: 1 }.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
        let io: std::io::Error = Error::EventTooLarge { limit: 1 }.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
        let io: std::io::Error = Error::InvalidId.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
    }
}

const TEN_MB: usize = 10 * 1024 * 1024;

/// Feeds a line of `TEN_MB` bytes (after `prefix`) in 4 KiB chunks, then `suffix`, checking the
/// bounds after every `Ok(None)`.
fn feed_huge_line(limits: Limits, prefix: &[u8], suffix: &[u8]) -> Vec<Item> {
    let mut decoder = Decoder::with_limits(limits);
    let max_line = limits.max_line.max(8);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let chunk = [b'x'; 4096];
    let drive = |buf: &mut BytesMut, decoder: &mut Decoder, items: &mut Vec<Item>| loop {
        let result = decoder.decode(buf);
        assert!(decoder.buffered() <= limits.max_event);
        match result {
            Ok(Some(event)) => items.push(data(event.data())),
            Ok(None) => {
                assert!(buf.len() <= max_line, "buffer holds {} bytes", buf.len());
                break;
            }
            Err(Error::LineTooLong { limit }) => items.push(Item::LineTooLong(limit)),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    };
    buf.extend_from_slice(prefix);
    drive(&mut buf, &mut decoder, &mut items);
    for _ in 0..TEN_MB / chunk.len() {
        buf.extend_from_slice(&chunk);
        drive(&mut buf, &mut decoder, &mut items);
    }
    buf.extend_from_slice(suffix);
    drive(&mut buf, &mut decoder, &mut items);
    items
}

#[test]
fn huge_data_line_in_small_chunks_stays_bounded() {
    let items = feed_huge_line(
        Limits::default(),
        b"data: before\n\ndata: ",
        b"\ndata: rest of the dropped event\n\ndata: after\n\n",
    );
    assert_eq!(
        items,
        [
            data("before"),
            Item::LineTooLong(1024 * 1024),
            data("after")
        ]
    );
    let items = feed_huge_line(
        limits(1024, 4096, Overflow::SkipEvent),
        b"data: ",
        b"\n\ndata: after\n\n",
    );
    assert_eq!(items, [data("after")]);
}

/// A line far over `max_line` arriving in 64-byte reads through `decode_each` (whose short
/// reads are appended to the carry-over, long lines searched as they are appended): what it
/// carries stays within `max_line` after every call, and the line meets the policy once.
#[test]
fn huge_line_in_short_reads_through_decode_each_stays_bounded() {
    for (policy, want) in [
        (
            Overflow::Error,
            vec![data("before"), Item::LineTooLong(1024), data("after")],
        ),
        (Overflow::SkipEvent, vec![data("before"), data("after")]),
    ] {
        let lim = limits(1024, 4096, policy);
        let mut decoder = Decoder::with_limits(lim);
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        let mut input = b"data: before\n\ndata: ".to_vec();
        input.resize(input.len() + 1024 * 1024, b'x');
        input.extend_from_slice(b"\ndata: rest of the event\n\ndata: after\n\n");
        for read in input.chunks(64) {
            let mut read = read;
            loop {
                let result = decoder.decode_each(read, |e| items.push(data(e.data())));
                read = &[];
                match result {
                    Ok(()) => break,
                    Err(Error::LineTooLong { limit }) => items.push(Item::LineTooLong(limit)),
                    Err(e) => panic!("unexpected error {e:?}"),
                }
            }
            assert!(
                decoder.buffered() <= 1024 + lim.max_event,
                "{policy:?}: holds {} bytes",
                decoder.buffered()
            );
        }
        decoder.finish(&mut buf);
        assert_eq!(items, want, "{policy:?}");
    }
}

#[test]
fn huge_comment_line_in_small_chunks_keeps_the_event() {
    let items = feed_huge_line(
        Limits::default(),
        b"data: before\n:",
        b"\r\ndata: after\n\n",
    );
    assert_eq!(items, [data("before\nafter")]);
    let items = feed_huge_line(
        limits(100, 1000, Overflow::Error),
        b"data: before\nunknown",
        b"\rdata: after\r\r",
    );
    assert_eq!(items, [data("before\nafter")]);
}

#[test]
fn huge_multi_line_event_stays_under_max_event() {
    // 10 MB of short data lines in one event, 4 KiB chunks: the data buffer never exceeds the
    // limit, and the error comes exactly once.
    let lim = limits(1024, 64 * 1024, Overflow::Error);
    let mut decoder = Decoder::with_limits(lim);
    let mut buf = BytesMut::new();
    let mut errors = 0;
    let line = b"data: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n";
    let mut input = Vec::with_capacity(TEN_MB);
    while input.len() < TEN_MB {
        input.extend_from_slice(line);
    }
    input.extend_from_slice(b"\ndata: after\n\n");
    let mut events = Vec::new();
    for chunk in input.chunks(4096) {
        buf.extend_from_slice(chunk);
        loop {
            let result = decoder.decode(&mut buf);
            assert!(decoder.buffered() <= lim.max_event);
            match result {
                Ok(Some(event)) => events.push(event.data().to_owned()),
                Ok(None) => break,
                Err(Error::EventTooLarge { limit }) => {
                    assert_eq!(limit, 64 * 1024);
                    errors += 1;
                }
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
        assert!(buf.len() <= 1024);
    }
    assert_eq!(errors, 1);
    assert_eq!(events, ["after"]);
}
