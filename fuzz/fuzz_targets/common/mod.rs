//! Helpers shared by the fuzz targets (each target includes this module).
#![allow(dead_code)]

use bytes::BytesMut;
use ssewire::{Decoder, Event, EventRef, Frame, Limits, Overflow};

/// Decoder limits chosen by the low five bits of one fuzz byte, so that small limits (and both
/// overflow policies) get exercised as often as the defaults.
pub fn limits(b: u8) -> Limits {
    const LINES: [usize; 4] = [0, 9, 300, 1024 * 1024];
    const EVENTS: [usize; 4] = [1, 17, 300, 8 * 1024 * 1024];
    Limits {
        max_line: LINES[usize::from(b & 3)],
        max_event: EVENTS[usize::from((b >> 2) & 3)],
        overflow: if b & 0x10 == 0 {
            Overflow::Error
        } else {
            Overflow::SkipEvent
        },
    }
}

/// One output of a decoder, in a comparable form.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    Event(Event),
    Frame(Frame),
    Err(String),
}

/// A browser-view event as (data, type, id): what `decode` and `decode_each` must agree on.
pub type Seen = (String, String, Option<String>);

/// A zero-copy event in the comparable form; its data never holds a CR.
fn seen_ref(event: &EventRef<'_>) -> Seen {
    assert!(!event.data().contains('\r'));
    (
        event.data().to_owned(),
        event.event_type().to_owned(),
        event.id().map(str::to_owned),
    )
}

/// The browser view through `decode_each` (each read decoded where it is, only an unfinished
/// event carried by the decoder), in the comparable form `(data, type, id)`, errors as their
/// message. After an error it calls again with an empty read, as a reader going on would.
/// Checks the memory bounds after every call: the data buffer within `max_event`, and what the
/// decoder carries within `max_line` once it returns `Ok(())`.
pub fn drain_each(decoder: &mut Decoder, read: &[u8], out: &mut Vec<Result<Seen, String>>) {
    let limits = *decoder.limits();
    let max_line = limits.max_line.max(8);
    let mut read = read;
    // Each error drops at least one line: bound the calls.
    for _ in 0..read.len() + decoder.buffered() + 2 {
        let result = decoder.decode_each(read, |event| out.push(Ok(seen_ref(&event))));
        read = &[];
        match result {
            Ok(()) => {
                assert!(
                    decoder.buffered() <= limits.max_event.saturating_add(max_line),
                    "decode_each: holds {} bytes after Ok(()), max_line {max_line}",
                    decoder.buffered(),
                );
                return;
            }
            Err(e) => out.push(Err(e.to_string())),
        }
    }
    panic!("decode_each keeps failing without consuming input");
}

/// The browser events of `items` in the form [`drain_each`] gives.
pub fn seen(items: &[Item]) -> Vec<Result<Seen, String>> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Event(e) => Some(Ok((
                e.data().to_owned(),
                e.event_type().to_owned(),
                e.id().map(str::to_owned),
            ))),
            Item::Err(e) => Some(Err(e.clone())),
            Item::Frame(_) => None,
        })
        .collect()
}

/// Calls the chosen view until it returns `Ok(None)`, collecting what it yields, and checks the
/// buffering contract after the final `Ok(None)`.
pub fn drain(decoder: &mut Decoder, buf: &mut BytesMut, frames: bool, out: &mut Vec<Item>) {
    let limits = *decoder.limits();
    let max_line = limits.max_line.max(8);
    loop {
        let before = buf.len();
        let item = if frames {
            match decoder.decode_frame(buf) {
                Ok(None) => None,
                Ok(Some(frame)) => {
                    check_frame(&frame, &limits);
                    Some(Item::Frame(frame))
                }
                Err(e) => Some(Item::Err(e.to_string())),
            }
        } else {
            match decoder.decode(buf) {
                Ok(None) => None,
                Ok(Some(event)) => {
                    check_browser_event(&event, &limits);
                    Some(Item::Event(event))
                }
                Err(e) => Some(Item::Err(e.to_string())),
            }
        };
        assert!(
            decoder.buffered() <= limits.max_event,
            "buffered {} > max_event {}",
            decoder.buffered(),
            limits.max_event
        );
        match item {
            None => {
                assert!(
                    buf.len() <= max_line,
                    "caller buffer holds {} bytes after Ok(None), max_line {}",
                    buf.len(),
                    max_line
                );
                return;
            }
            Some(item) => {
                // Every item consumes input: the loop cannot spin.
                assert!(
                    buf.len() < before,
                    "an item was yielded without consuming input"
                );
                out.push(item);
            }
        }
    }
}

fn check_fields(event: &Event, limits: &Limits) {
    assert!(!event.data().contains('\r'));
    // Invalid UTF-8 turns one byte into a 3-byte U+FFFD at most.
    assert!(event.data().len() <= limits.max_event.saturating_mul(3));
    if let Some(name) = event.event() {
        assert!(!name.contains(['\r', '\n']));
    }
    if let Some(id) = event.id() {
        assert!(!id.contains(['\r', '\n', '\0']));
    }
    assert!(event.retry().is_none());
    assert!(event.comment_text().is_none());
}

fn check_browser_event(event: &Event, limits: &Limits) {
    check_fields(event, limits);
    assert!(
        event.has_data(),
        "browser view dispatched an event without data"
    );
    assert_ne!(event.event(), Some(""));
    assert_ne!(event.id(), Some(""));
}

fn check_frame(frame: &Frame, limits: &Limits) {
    match frame {
        Frame::Event(event) => {
            check_fields(event, limits);
            // The fields mean what they mean in `decode`: a block whose only fields were an
            // empty `event` or an `id` that emptied the last event ID has neither.
            assert_ne!(event.event(), Some(""));
            assert_ne!(event.id(), Some(""));
        }
        Frame::Comment(text) => assert!(!text.contains(['\r', '\n'])),
        Frame::Retry(_) => {}
        _ => {}
    }
}
