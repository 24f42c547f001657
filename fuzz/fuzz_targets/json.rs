//! Arbitrary JSON values through the Nex conversions (`IntoEvent` for `serde_json::Value`,
//! `Json<T>`) → encode → decode: the data parses back to the same value, and a custom-event
//! object (one with an `"event"` key) gives back its fields. `encode_json` and
//! `IntoEvent::to_frame` (what `send` sends) write what the `Event` path writes. A `RawValue`
//! holding line breaks (pretty JSON) cannot cut the frame.
#![no_main]

use std::time::Duration;

use arbitrary::{Result, Unstructured};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};
use ssewire::{Decoder, Event, Frame, IntoEvent, Json, encode, encode_json};

const KEYS: [&str; 7] = ["event", "data", "id", "retry", "comment", "choices", "x"];

/// serde_json's own marker for a `RawValue` (with its `raw_value` feature): an object with this
/// key does not parse back into a `Value` ("invalid type: map, expected raw value"), whatever
/// carried it.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

fn key(u: &mut Unstructured<'_>) -> Result<String> {
    // Mostly the keys the conversion looks at, sometimes anything but serde_json's marker.
    if u.ratio(3, 4)? {
        Ok(u.choose(&KEYS)?.to_string())
    } else {
        let key: String = u.arbitrary()?;
        Ok(if key == RAW_VALUE_TOKEN { "x".into() } else { key })
    }
}

fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let max = if depth >= 4 { 5 } else { 7 };
    Ok(match u.int_in_range(0..=max)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Number(Number::from(u.arbitrary::<i64>()?)),
        3 => Value::Number(Number::from(u.arbitrary::<u64>()?)),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| value(u, depth + 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=5)?;
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(key(u)?, value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

/// Encodes `event`, decodes it with both views, and returns (browser event, raw frames).
fn wire_roundtrip(event: &Event) -> (Option<Event>, Vec<Frame>) {
    let mut wire = BytesMut::new();
    encode(event, &mut wire);
    let mut buf = wire.clone();
    let browser = Decoder::new().decode(&mut buf).expect("default limits");
    let mut buf = wire;
    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode_frame(&mut buf).expect("default limits") {
        frames.push(frame);
    }
    assert!(buf.is_empty());
    (browser, frames)
}

fn lf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn check_custom(map: &Map<String, Value>, event: &Event) {
    let (_, frames) = wire_roundtrip(event);
    let mut got_event = None;
    let mut comment: Option<String> = None;
    let mut retry = None;
    for frame in frames {
        match frame {
            Frame::Event(e) => got_event = Some(e),
            Frame::Comment(line) => {
                comment = Some(match comment {
                    Some(c) => c + "\n" + &line,
                    None => line,
                })
            }
            Frame::Retry(r) => retry = Some(r),
            other => panic!("unexpected frame {other:?}"),
        }
    }
    let e = got_event.expect("a custom event always has an event field");
    let Some(Value::String(name)) = map.get("event") else {
        panic!("accepted a custom event whose `event` is not a string: {map:?}")
    };
    // An empty type is the default type, in every view.
    assert_eq!(e.event(), Some(name.as_str()).filter(|t| !t.is_empty()));
    match map.get("data") {
        None => assert_eq!(e.data(), ""),
        Some(Value::String(s)) => assert_eq!(e.data(), lf(s)),
        Some(other) => {
            let back: Value = serde_json::from_str(e.data()).expect("data is JSON");
            assert_eq!(&back, other);
        }
    }
    assert!(e.has_data());
    match map.get("id") {
        None => assert_eq!(e.id(), None),
        // The last event ID: absent when empty, in every view.
        Some(Value::String(s)) => assert_eq!(e.id(), Some(s.as_str()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => assert_eq!(e.id(), Some(n.to_string().as_str())),
        Some(other) => panic!("accepted id {other:?}"),
    }
    match map.get("retry") {
        None => assert_eq!(retry, None),
        Some(Value::Number(n)) => {
            assert_eq!(
                retry,
                Some(Duration::from_millis(n.as_u64().expect("u64 retry")))
            )
        }
        Some(other) => panic!("accepted retry {other:?}"),
    }
    match map.get("comment") {
        None => assert_eq!(comment, None),
        Some(Value::String(s)) => assert_eq!(comment, Some(lf(s))),
        Some(other) => panic!("accepted comment {other:?}"),
    }
}

/// A `RawValue` is written verbatim: `v` as pretty JSON (line breaks between tokens, as LF, CRLF
/// or CR) goes out one `data:` line per line and comes back as `v`, alone and inside an array,
/// the same bytes through every path.
fn check_raw(v: &Value, line_break: u8) {
    let pretty = serde_json::to_string_pretty(v).expect("serializes");
    let text = match line_break % 3 {
        0 => pretty,
        1 => pretty.replace('\n', "\r\n"),
        _ => pretty.replace('\n', "\r"),
    };
    let raw = serde_json::value::RawValue::from_string(text).expect("valid JSON");
    let event = Event::json(&raw).expect("serializes");
    assert_eq!(Json(&raw).to_frame().expect("serializes"), event.to_bytes());
    let mut direct = BytesMut::from(&b"x"[..]);
    encode_json(&raw, &mut direct).expect("serializes");
    assert_eq!(&direct[1..], &event.to_bytes()[..]);
    let (browser, frames) = wire_roundtrip(&event);
    let back: Value = serde_json::from_str(browser.expect("data").data()).expect("data is JSON");
    assert_eq!(&back, v);
    assert_eq!(frames, vec![Frame::Event(event)]);
    let pair = [&raw, &raw];
    let mut direct = BytesMut::new();
    encode_json(&pair, &mut direct).expect("serializes");
    let browser = Decoder::new().decode(&mut direct).expect("default limits");
    let back: Value = serde_json::from_str(browser.expect("data").data()).expect("data is JSON");
    assert_eq!(back, Value::Array(vec![v.clone(), v.clone()]));
    assert!(direct.is_empty(), "one event");
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(v) = value(&mut u, 0) else {
        return;
    };
    if let Ok(line_break) = u.arbitrary::<u8>() {
        check_raw(&v, line_break);
    }
    let by_ref = (&v).into_event();
    let by_value = v.clone().into_event();
    // What `send` sends is what encoding the event writes, or the same refusal.
    match (v.clone().to_frame(), &by_value) {
        (Ok(frame), Ok(event)) => assert_eq!(frame, event.to_bytes()),
        (Err(_), Err(_)) => {}
        (frame, event) => panic!("to_frame and into_event differ: {frame:?} vs {event:?}"),
    }
    match (&by_ref, &by_value) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("&Value and Value convert differently: {by_ref:?} vs {by_value:?}"),
    }
    match &v {
        Value::Object(map) if map.contains_key("event") => match by_value {
            Ok(event) => check_custom(map, &event),
            // Refusals must be for a reason the contract names.
            Err(e) => {
                let bad_event = !matches!(map.get("event"), Some(Value::String(s)) if !s.contains(['\r', '\n']));
                let bad_id = match map.get("id") {
                    None | Some(Value::Number(_)) => false,
                    Some(Value::String(s)) => s.contains(['\r', '\n', '\0']),
                    Some(_) => true,
                };
                let bad_retry = match map.get("retry") {
                    None => false,
                    Some(Value::Number(n)) => n.as_u64().is_none(),
                    Some(_) => true,
                };
                let bad_comment = !matches!(map.get("comment"), None | Some(Value::String(_)));
                assert!(
                    bad_event || bad_id || bad_retry || bad_comment,
                    "refused a valid custom event {map:?}: {e}"
                );
            }
        },
        _ => {
            let event = by_value.expect("plain JSON values always convert");
            // `Json<T>` and `Event::json` agree with the `Value` conversion.
            assert_eq!(Json(&v).into_event().expect("serializes"), event);
            assert_eq!(Json(&v).to_frame().expect("serializes"), event.to_bytes());
            assert_eq!(Event::json(&v).expect("serializes"), event);
            // `encode_json` writes the same bytes straight into the buffer, after what it holds.
            let mut direct = BytesMut::from(&b"x"[..]);
            encode_json(&v, &mut direct).expect("serializes");
            assert_eq!(&direct[1..], &event.to_bytes()[..]);
            assert!(!event.data().contains('\n'), "compact JSON is one line");
            let (browser, frames) = wire_roundtrip(&event);
            let browser = browser.expect("a JSON event has data");
            let back: Value = serde_json::from_str(browser.data()).expect("data is JSON");
            assert_eq!(back, v);
            assert_eq!(frames, vec![Frame::Event(event)]);
        }
    }
});
