//! Arbitrary events through the public constructors → encode → decode_frame → the same event.
//!
//! Invalid names and ids must be refused with an error (never a panic, never sanitised),
//! `encoded_len` must be exact, and `encode_data` must write what the `Event` path writes.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ssewire::{Decoder, Event, Frame, encode, encode_data, encoded_len};

#[derive(Debug, Arbitrary)]
struct Spec {
    data: Option<String>,
    event: Option<String>,
    id: Option<String>,
    /// Seconds and nanoseconds (reduced below one second).
    retry: Option<(u64, u32)>,
    comment: Option<String>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    events: Vec<Spec>,
    /// Chunk size for a second, chunked decode (0: skip it).
    chunk: u8,
}

/// What the decoder must give back for one event.
#[derive(Debug, Default, PartialEq, Eq)]
struct Fields {
    data: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    comment: Option<String>,
}

fn lf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Builds the event through the public API; returns `None` when a constructor refused a value
/// (after checking that it had to).
fn build(spec: &Spec) -> Option<(Event, Fields)> {
    let mut event = match &spec.data {
        Some(data) => Event::new(data.as_str()),
        None => Event::default(),
    };
    let mut want = Fields {
        data: spec.data.as_deref().map(lf),
        ..Fields::default()
    };
    if let Some(name) = &spec.event {
        let bad = name.contains(['\r', '\n']);
        match event.with_event(name.as_str()) {
            Ok(e) => {
                assert!(!bad, "event type {name:?} accepted");
                event = e;
                want.event = Some(name.clone());
            }
            Err(_) => {
                assert!(bad, "event type {name:?} refused");
                return None;
            }
        }
    }
    if let Some(id) = &spec.id {
        let bad = id.contains(['\r', '\n', '\0']);
        match event.with_id(id.clone()) {
            Ok(e) => {
                assert!(!bad, "id {id:?} accepted");
                event = e;
                want.id = Some(id.clone());
            }
            Err(_) => {
                assert!(bad, "id {id:?} refused");
                return None;
            }
        }
    }
    if let Some((secs, nanos)) = spec.retry {
        let retry = Duration::new(secs, nanos % 1_000_000_000);
        event = event.with_retry(retry);
        let ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
        want.retry = Some(Duration::from_millis(ms));
    }
    if let Some(comment) = &spec.comment {
        event = event.with_comment(comment);
        want.comment = Some(lf(comment));
    }
    // The accessors show what was stored.
    assert_eq!(event.data(), want.data.as_deref().unwrap_or(""));
    assert_eq!(event.has_data(), want.data.is_some());
    assert_eq!(event.event(), want.event.as_deref());
    assert_eq!(event.id(), want.id.as_deref());
    assert_eq!(event.retry(), want.retry);
    assert_eq!(event.comment_text(), want.comment.as_deref());
    Some((event, want))
}

/// Reassembles one event from the raw frames its bytes produced: comment lines and the retry
/// frame come as their lines end, then the block's `Event` frame (if it had data, event or id).
fn reassemble(frames: &[Frame]) -> Fields {
    let mut got = Fields::default();
    for frame in frames {
        match frame {
            Frame::Comment(line) => {
                got.comment = Some(match got.comment.take() {
                    Some(c) => c + "\n" + line,
                    None => line.clone(),
                });
            }
            Frame::Retry(r) => {
                assert!(got.retry.replace(*r).is_none(), "two retry frames");
            }
            Frame::Event(e) => {
                assert!(got.data.is_none() && got.event.is_none() && got.id.is_none());
                got.data = e.has_data().then(|| e.data().to_owned());
                got.event = e.event().map(str::to_owned);
                got.id = e.id().map(str::to_owned);
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    got
}

fuzz_target!(|input: Input| {
    let mut wire = BytesMut::new();
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut all = Vec::new();
    let mut last_id = String::new();
    for spec in input.events.iter().take(64) {
        let Some((event, mut want)) = build(spec) else {
            continue;
        };
        // Every view reports the last event ID at the blank line (absent if empty) and no type
        // for an empty one; a block without data, event or id yields no event frame.
        let block = want.data.is_some() || want.event.is_some() || want.id.is_some();
        if let Some(id) = &want.id {
            last_id.clone_from(id);
        }
        want.event = want.event.filter(|t| !t.is_empty());
        want.id = (block && !last_id.is_empty()).then(|| last_id.clone());
        let before = wire.len();
        encode(&event, &mut wire);
        let bytes = &wire[before..];
        assert_eq!(bytes.len(), encoded_len(&event), "encoded_len of {event:?}");
        assert_eq!(event.to_bytes(), bytes);
        // `encode_data` writes exactly what `encode(&Event::new(data))` writes.
        if let Some(data) = &spec.data {
            let mut direct = BytesMut::new();
            encode_data(data, &mut direct);
            assert_eq!(
                direct,
                Event::new(data.as_str()).to_bytes(),
                "encode_data({data:?})"
            );
        }
        // Each encoded event ends in a blank line: once its bytes are in, all its frames are out.
        buf.extend_from_slice(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = decoder.decode_frame(&mut buf).expect("default limits") {
            frames.push(frame);
        }
        assert!(
            buf.is_empty(),
            "encoder output left a partial line: {bytes:?}"
        );
        assert_eq!(
            reassemble(&frames),
            want,
            "wire: {:?}",
            String::from_utf8_lossy(bytes)
        );
        all.extend(frames);
    }
    // The whole stream in chunks gives the same frames.
    if input.chunk != 0 {
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for piece in wire.chunks(usize::from(input.chunk)) {
            buf.extend_from_slice(piece);
            while let Some(frame) = decoder.decode_frame(&mut buf).expect("default limits") {
                frames.push(frame);
            }
        }
        assert_eq!(frames, all);
    }
});
