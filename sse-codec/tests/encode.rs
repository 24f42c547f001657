//! Encoder rules: the exact bytes `encode` writes, `encoded_len`, checked construction, and
//! round trips through the decoder.
//!
//! The rules, so that whatever an `Event` holds is read back by the WHATWG HTML "Server-sent
//! events" parser as exactly that event:
//! - fields go out in the order comment, `event`, `id`, `retry`, `data`, each as `name: value`
//!   (one space, which the parser strips), ending with a blank line; an event with no field
//!   writes nothing;
//! - every line break in data (LF, CRLF or a lone CR) starts a new `data:` line, so no CR ever
//!   reaches the wire and data cannot inject a field or end the event early; comments split the
//!   same way into `:` lines;
//! - an event type or id with a line break (or an id with NUL, which the parser would ignore)
//!   is refused when it is built, so `encode` cannot fail; an empty `id` is written, since it
//!   resets the client's last event ID;
//! - `retry` is written in whole milliseconds;
//! - what `send` accepts: text becomes a `message` with that data, and with the `json` feature
//!   `Json(value)` is one `data:` line of compact JSON, while a JSON object with an `"event"` key
//!   is a custom event (`data`, `id`, `retry`), its fields of the wrong type refused.

use core::time::Duration;

use bytes::BytesMut;
use ssewire::{Decoder, Error, Event, EventId, EventType, Frame, IntoEvent, encode, encoded_len};

/// Encodes `event`, checks `encoded_len` and `to_bytes` against it, returns the bytes as text.
fn wire(event: &Event) -> String {
    let mut buf = BytesMut::new();
    encode(event, &mut buf);
    assert_eq!(encoded_len(event), buf.len(), "encoded_len of {event:?}");
    assert_eq!(event.to_bytes(), buf, "to_bytes of {event:?}");
    String::from_utf8(buf.to_vec()).expect("encoder writes UTF-8")
}

/// Decodes `bytes` with the browser view; ends the stream.
fn decode_all(bytes: &[u8]) -> Vec<Event> {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(bytes);
    let mut events = Vec::new();
    while let Some(event) = decoder.decode(&mut buf).unwrap() {
        events.push(event);
    }
    assert!(buf.is_empty(), "the encoder's output is complete");
    decoder.finish(&mut buf);
    events
}

#[test]
fn data_is_written_with_the_space() {
    assert_eq!(wire(&Event::new("hello")), "data: hello\n\n");
    assert_eq!(wire(&Event::new(" x")), "data:  x\n\n");
    assert_eq!(wire(&Event::new(":x")), "data: :x\n\n");
}

#[test]
fn every_line_break_in_data_becomes_its_own_data_line() {
    assert_eq!(wire(&Event::new("a\nb")), "data: a\ndata: b\n\n");
    assert_eq!(wire(&Event::new("a\r\nb")), "data: a\ndata: b\n\n");
    assert_eq!(wire(&Event::new("a\rb")), "data: a\ndata: b\n\n");
    assert_eq!(
        wire(&Event::new("a\r\r\n\n\rb")),
        "data: a\ndata: \ndata: \ndata: \ndata: b\n\n"
    );
    for event in [
        Event::new("x\ry\r\nz\r"),
        Event::from_static("x\ry\r\nz\r"),
        Event::default().with_data(String::from("x\ry\r\nz\r")),
        Event::from("x\ry\r\nz\r"),
    ] {
        let bytes = wire(&event);
        assert!(!bytes.contains('\r'), "a CR reached the wire: {bytes:?}");
        assert_eq!(bytes, "data: x\ndata: y\ndata: z\ndata: \n\n");
        assert_eq!(event.data(), "x\ny\nz\n");
    }
}

#[test]
fn data_replaced_or_decoded_is_split_by_what_it_holds_now() {
    // One line, then two: the second data is split, whatever the first was.
    assert_eq!(
        wire(&Event::new("one").with_data("a\nb")),
        "data: a\ndata: b\n\n"
    );
    assert_eq!(wire(&Event::new("a\nb").with_data("one")), "data: one\n\n");
    // Decoded events, from one data line and from several, write what they hold, and equal
    // (and hash as) the same event built by hand: by `new`, which searches the data for line
    // breaks, and by `from_static`, which does not say whether it is one line.
    use std::hash::BuildHasher;
    let hasher = std::collections::hash_map::RandomState::new();
    for (data, built) in ["one line", "two\nlines", ""]
        .into_iter()
        .flat_map(|data| [(data, Event::new(data)), (data, Event::from_static(data))])
    {
        let decoded = decode_all(&built.to_bytes()).pop().expect("one event");
        assert_eq!(decoded, built, "{data:?}");
        assert_eq!(
            hasher.hash_one(&decoded),
            hasher.hash_one(&built),
            "{data:?}"
        );
        assert_eq!(wire(&decoded), wire(&built), "{data:?}");
        assert_eq!(
            wire(&decoded.clone().with_data("x\ry")),
            "data: x\ndata: y\n\n"
        );
    }
}

#[test]
fn empty_data_and_trailing_newlines_round_trip() {
    assert_eq!(wire(&Event::new("")), "data: \n\n");
    for data in ["", "\n", "a\n", "a\n\n", "\na", "\n\n\n"] {
        let events = decode_all(&Event::new(data).to_bytes());
        assert_eq!(events.len(), 1, "{data:?}");
        assert_eq!(events[0].data(), data);
        assert!(events[0].has_data());
    }
}

#[test]
fn event_with_no_field_writes_nothing() {
    assert_eq!(wire(&Event::default()), "");
    assert_eq!(encoded_len(&Event::default()), 0);
}

#[test]
fn retry_is_written_in_milliseconds() {
    let retry = |d: Duration| wire(&Event::default().with_retry(d));
    assert_eq!(retry(Duration::from_millis(1500)), "retry: 1500\n\n");
    assert_eq!(retry(Duration::from_secs(3)), "retry: 3000\n\n");
    assert_eq!(retry(Duration::ZERO), "retry: 0\n\n");
    assert_eq!(retry(Duration::from_micros(2500)), "retry: 2\n\n");
    assert_eq!(
        retry(Duration::from_millis(u64::MAX)),
        "retry: 18446744073709551615\n\n"
    );
    // Saturates instead of overflowing.
    assert_eq!(retry(Duration::MAX), "retry: 18446744073709551615\n\n");
    assert_eq!(
        Event::default().with_retry(Duration::MAX).retry(),
        Some(Duration::from_millis(u64::MAX))
    );
}

#[test]
fn comments_may_span_lines() {
    assert_eq!(wire(&Event::comment("ping")), ": ping\n\n");
    assert_eq!(wire(&Event::comment("")), ": \n\n");
    assert_eq!(
        wire(&Event::comment("a\nb\r\nc\rd")),
        ": a\n: b\n: c\n: d\n\n"
    );
    assert_eq!(Event::comment("a\r\nb").comment_text(), Some("a\nb"));
    // A comment never dispatches an event.
    assert!(decode_all(&Event::comment("a\ndata: x").to_bytes()).is_empty());
}

#[test]
fn fields_go_out_in_order_comment_event_id_retry_data() {
    let event = Event::new("d1\nd2")
        .with_retry(Duration::from_millis(5))
        .with_id("7")
        .unwrap()
        .with_event("e")
        .unwrap()
        .with_comment("c1\nc2");
    assert_eq!(
        wire(&event),
        ": c1\n: c2\nevent: e\nid: 7\nretry: 5\ndata: d1\ndata: d2\n\n"
    );
    assert_eq!(event.data(), "d1\nd2");
    assert_eq!(event.event(), Some("e"));
    assert_eq!(event.event_type(), "e");
    assert_eq!(event.id(), Some("7"));
    assert_eq!(event.retry(), Some(Duration::from_millis(5)));
    assert_eq!(event.comment_text(), Some("c1\nc2"));
}

#[test]
fn control_only_events() {
    assert_eq!(
        wire(&Event::default().with_id("").unwrap()),
        "id: \n\n",
        "an empty id resets the client's last event ID"
    );
    assert_eq!(
        wire(&Event::default().with_event("x").unwrap()),
        "event: x\n\n"
    );
    let event = Event::default().with_id("1").unwrap();
    assert!(!event.has_data());
    assert_eq!(event.data(), "");
    assert_eq!(event.data_bytes(), None);
    assert_eq!(event.event_type(), "message");
}

#[test]
fn encoded_len_matches_for_many_shapes() {
    let events = [
        Event::new(""),
        Event::new("\n"),
        Event::new("h\u{e9}llo \u{1F600}\n\n\u{20AC}"),
        Event::comment("\n"),
        Event::default().with_retry(Duration::from_millis(9)),
        Event::new("x")
            .with_event("\u{e9}v\u{e9}nement")
            .unwrap()
            .with_id("\u{1F600}")
            .unwrap()
            .with_comment("a\nb")
            .with_retry(Duration::from_millis(1234567)),
    ];
    for event in &events {
        let mut buf = BytesMut::new();
        encode(event, &mut buf);
        assert_eq!(encoded_len(event), buf.len(), "{event:?}");
    }
    // Appends to what is already in the buffer.
    let mut buf = BytesMut::from(&b"prefix"[..]);
    encode(&Event::new("x"), &mut buf);
    assert_eq!(buf, "prefixdata: x\n\n");
}

#[test]
fn event_types_with_line_breaks_are_refused() {
    for bad in ["a\nb", "a\rb", "a\r\nb", "\n", "\r", "x\nevent: admin"] {
        assert!(
            matches!(EventType::new(bad), Err(Error::InvalidEventType)),
            "{bad:?}"
        );
        assert!(matches!(
            EventType::try_from(bad),
            Err(Error::InvalidEventType)
        ));
        assert!(matches!(
            EventType::try_from(bad.to_owned()),
            Err(Error::InvalidEventType)
        ));
        assert!(matches!(
            Event::new("x").with_event(bad),
            Err(Error::InvalidEventType)
        ));
    }
    assert!(matches!(
        EventType::from_static("a\nb"),
        Err(Error::InvalidEventType)
    ));
    // NUL, colons and spaces are fine in a type: they cannot end the line.
    for good in ["a\0b", "a: b", " x", ""] {
        assert_eq!(EventType::new(good).unwrap().as_str(), good);
    }
    assert_eq!(EventType::from_static("chat").unwrap(), "chat");
}

#[test]
fn ids_with_line_breaks_or_nul_are_refused() {
    for bad in ["a\nb", "a\rb", "a\r\nb", "a\0b", "\0", "1\nid: 2"] {
        assert!(
            matches!(EventId::new(bad), Err(Error::InvalidId)),
            "{bad:?}"
        );
        assert!(matches!(EventId::try_from(bad), Err(Error::InvalidId)));
        assert!(matches!(
            EventId::try_from(&bad.to_owned()),
            Err(Error::InvalidId)
        ));
        assert!(matches!(
            Event::new("x").with_id(bad),
            Err(Error::InvalidId)
        ));
    }
    let id = EventId::new("").unwrap();
    assert!(id.is_empty());
    assert!(!EventId::new("a: b").unwrap().is_empty());
    // Checked values can be passed in directly.
    let event = Event::new("x")
        .with_id(EventId::new("9").unwrap())
        .unwrap()
        .with_event(EventType::new("t").unwrap())
        .unwrap();
    assert_eq!(wire(&event), "event: t\nid: 9\ndata: x\n\n");
}

#[test]
fn error_messages_are_lowercase_without_period() {
    for e in [Error::InvalidEventType, Error::InvalidId] {
        let text = e.to_string();
        assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }
}

#[test]
fn hostile_data_decodes_back_to_itself_as_a_message() {
    for data in [
        "x\revent: admin",
        "x\nevent: admin",
        "x\r\nid: 666\rretry: 1",
        "\r\n",
        "\r",
        "  leading spaces",
        ": not a comment",
        "\n\ndata: fake",
    ] {
        let bytes = Event::new(data).to_bytes();
        assert!(!bytes.contains(&b'\r'), "{data:?}");
        let events = decode_all(&bytes);
        assert_eq!(events.len(), 1, "{data:?} injected an event");
        let expected = data.replace("\r\n", "\n").replace('\r', "\n");
        assert_eq!(events[0].data(), expected);
        assert_eq!(events[0].event_type(), "message");
        assert_eq!(events[0].id(), None);
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::from(&bytes[..]);
        while decoder.decode(&mut buf).unwrap().is_some() {}
        assert_eq!(decoder.retry(), None, "{data:?} injected a retry");
    }
}

#[test]
fn full_event_round_trips_through_the_raw_view() {
    let event = Event::new(" d\n\nx")
        .with_event("e")
        .unwrap()
        .with_id("1")
        .unwrap()
        .with_retry(Duration::from_millis(10))
        .with_comment(" c");
    let mut buf = BytesMut::from(&event.to_bytes()[..]);
    let mut decoder = Decoder::new();
    assert_eq!(
        decoder.decode_frame(&mut buf).unwrap(),
        Some(Frame::Comment(" c".into()))
    );
    assert_eq!(
        decoder.decode_frame(&mut buf).unwrap(),
        Some(Frame::Retry(Duration::from_millis(10)))
    );
    let Some(Frame::Event(raw)) = decoder.decode_frame(&mut buf).unwrap() else {
        panic!("expected an event frame")
    };
    assert_eq!(
        raw.with_comment(" c").with_retry(Duration::from_millis(10)),
        event
    );
}

#[test]
fn text_values_become_data_events() {
    let owned = String::from("a\nb");
    for event in [
        "a\nb".into_event().unwrap(),
        owned.clone().into_event().unwrap(),
        (&owned).into_event().unwrap(),
        std::borrow::Cow::Borrowed("a\nb").into_event().unwrap(),
        Event::new("a\nb").into_event().unwrap(),
        (&Event::new("a\nb")).into_event().unwrap(),
    ] {
        assert_eq!(wire(&event), "data: a\ndata: b\n\n");
    }
}

#[cfg(feature = "json")]
mod json {
    use super::*;
    use serde_json::json;
    use ssewire::Json;

    #[derive(serde::Serialize)]
    struct Status {
        id: u32,
        status: &'static str,
    }

    #[test]
    fn json_struct_is_compact_data() {
        let event = Json(Status {
            id: 1,
            status: "ok",
        })
        .into_event()
        .unwrap();
        assert_eq!(wire(&event), "data: {\"id\":1,\"status\":\"ok\"}\n\n");
        assert_eq!(wire(&Event::json(&[1, 2, 3]).unwrap()), "data: [1,2,3]\n\n");
        // Line breaks inside strings are escaped: one data line.
        assert_eq!(
            wire(&Json(json!({"t": "a\nb\rc"})).into_event().unwrap()),
            "data: {\"t\":\"a\\nb\\rc\"}\n\n"
        );
    }

    #[test]
    fn json_serialization_failure_is_an_error() {
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), 3);
        assert!(matches!(Json(map).into_event(), Err(Error::Json(_))));
    }

    #[test]
    fn object_with_event_key_is_a_custom_event() {
        let event = json!({"event": "my_event", "data": "payload"})
            .into_event()
            .unwrap();
        assert_eq!(wire(&event), "event: my_event\ndata: payload\n\n");

        let event = json!({"event": "e", "data": "line 1\nline 2"})
            .into_event()
            .unwrap();
        assert_eq!(wire(&event), "event: e\ndata: line 1\ndata: line 2\n\n");

        let event = json!({"event": "e", "data": {"a": [1, 2]}, "id": 7, "retry": 1500})
            .into_event()
            .unwrap();
        assert_eq!(
            wire(&event),
            "event: e\nid: 7\nretry: 1500\ndata: {\"a\":[1,2]}\n\n"
        );

        let event = json!({"event": "e", "data": 5, "id": "abc", "ignored": true})
            .into_event()
            .unwrap();
        assert_eq!(wire(&event), "event: e\nid: abc\ndata: 5\n\n");

        let event = json!({"event": "e"}).into_event().unwrap();
        assert_eq!(wire(&event), "event: e\ndata: \n\n");

        let value = json!({"event": "e", "data": "x", "comment": "hi"});
        assert_eq!(
            wire(&(&value).into_event().unwrap()),
            ": hi\nevent: e\ndata: x\n\n"
        );
        assert_eq!(
            Event::try_from(value).unwrap(),
            Event::new("x").with_event("e").unwrap().with_comment("hi")
        );
    }

    #[test]
    fn custom_event_fields_of_the_wrong_type_are_refused() {
        let field = |v: serde_json::Value| match v.into_event() {
            Err(Error::JsonField { field }) => field,
            other => panic!("expected a JsonField error, got {other:?}"),
        };
        assert_eq!(field(json!({"event": 5, "data": "x"})), "event");
        assert_eq!(field(json!({"event": null})), "event");
        assert_eq!(field(json!({"event": "e", "id": true})), "id");
        assert_eq!(field(json!({"event": "e", "id": ["1"]})), "id");
        assert_eq!(field(json!({"event": "e", "retry": -1})), "retry");
        assert_eq!(field(json!({"event": "e", "retry": 1.5})), "retry");
        assert_eq!(field(json!({"event": "e", "retry": "1500"})), "retry");
        assert_eq!(field(json!({"event": "e", "comment": 1})), "comment");
        assert!(matches!(
            json!({"event": "a\nb"}).into_event(),
            Err(Error::InvalidEventType)
        ));
        assert!(matches!(
            json!({"event": "e", "id": "1\n2"}).into_event(),
            Err(Error::InvalidId)
        ));
        assert!(matches!(
            json!({"event": "e", "id": "1\u{0}"}).into_event(),
            Err(Error::InvalidId)
        ));
        let text = Error::JsonField { field: "retry" }.to_string();
        assert!(text.starts_with(|c: char| c.is_ascii_lowercase()) && !text.ends_with('.'));
    }

    #[test]
    fn other_json_is_data() {
        for (value, bytes) in [
            (
                json!({"id": 1, "status": "ok"}),
                "data: {\"id\":1,\"status\":\"ok\"}\n\n",
            ),
            (json!([1, "two"]), "data: [1,\"two\"]\n\n"),
            (json!("text"), "data: \"text\"\n\n"),
            (json!(42), "data: 42\n\n"),
            (json!(null), "data: null\n\n"),
            (json!({"data": "x"}), "data: {\"data\":\"x\"}\n\n"),
        ] {
            assert_eq!(wire(&value.into_event().unwrap()), bytes);
        }
    }

    #[test]
    fn json_data_decodes_back_to_the_same_value() {
        let value = json!({"msg": "multi\nline\r\ntext", "n": [1, 2, {"k": null}]});
        let events = decode_all(&Json(&value).into_event().unwrap().to_bytes());
        let back: serde_json::Value = serde_json::from_str(events[0].data()).unwrap();
        assert_eq!(back, value);
    }
}

mod fast_paths {
    use bytes::BytesMut;
    use proptest::prelude::*;
    use ssewire::{Event, encode, encode_data};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// `encode_data` writes exactly what encoding an `Event` with that data writes.
        #[test]
        fn encode_data_matches_encode(data in "[a-z \r\n:é]{0,40}") {
            let (mut fast, mut slow) = (BytesMut::new(), BytesMut::new());
            encode_data(&data, &mut fast);
            encode(&Event::new(data.as_str()), &mut slow);
            prop_assert_eq!(fast, slow);
        }

        /// `IntoEvent::to_frame` (what `send` sends) is `into_event()?.to_bytes()` for every
        /// text form, an `Event`, and (with `json`) `Json` values.
        #[test]
        fn to_frame_matches_into_event(data in "[a-z \r\n:é\"]{0,40}") {
            use ssewire::IntoEvent;
            let want = Event::new(data.as_str()).to_bytes();
            prop_assert_eq!(data.as_str().to_frame().unwrap(), want.clone());
            prop_assert_eq!(data.clone().to_frame().unwrap(), want.clone());
            prop_assert_eq!((&data).to_frame().unwrap(), want.clone());
            prop_assert_eq!(std::borrow::Cow::from(data.as_str()).to_frame().unwrap(), want.clone());
            prop_assert_eq!((&Event::new(data.as_str())).to_frame().unwrap(), want);
            #[cfg(feature = "json")]
            {
                let value = serde_json::json!({"text": data, "n": [1, 2]});
                let json = ssewire::Json(&value);
                prop_assert_eq!(json.to_frame().unwrap(), json.into_event().unwrap().to_bytes());
            }
        }
    }

    #[cfg(feature = "json")]
    #[test]
    fn encode_json_matches_event_json_and_leaves_the_buffer_on_error() {
        let value = serde_json::json!({"id": 1, "text": "a\nb", "list": [1, 2]});
        let mut fast = BytesMut::from(&b"before"[..]);
        ssewire::encode_json(&value, &mut fast).unwrap();
        let mut slow = BytesMut::from(&b"before"[..]);
        encode(&Event::json(&value).unwrap(), &mut slow);
        assert_eq!(fast, slow);

        // A map with non-string keys cannot be JSON.
        let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let mut buf = BytesMut::from(&b"kept"[..]);
        assert!(matches!(
            ssewire::encode_json(&bad, &mut buf),
            Err(ssewire::Error::Json(_))
        ));
        assert_eq!(buf, "kept");
    }

    /// serde_json's `RawValue` (its `raw_value` feature, which any crate in a build can turn on)
    /// serializes its text verbatim, line breaks included: the only compact JSON with a raw
    /// line break. It must not cut the frame: one `data:` line per line, as `Event::json` does.
    #[cfg(feature = "json")]
    #[test]
    fn raw_json_with_line_breaks_goes_out_as_data_lines() {
        let text = "{\n  \"a\": 1,\r\n  \"event\": \"x\"\r}";
        let raw = serde_json::value::RawValue::from_string(text.to_string()).unwrap();
        let mut fast = BytesMut::from(&b"before"[..]);
        ssewire::encode_json(&raw, &mut fast).unwrap();
        assert_eq!(
            fast,
            "beforedata: {\ndata:   \"a\": 1,\ndata:   \"event\": \"x\"\ndata: }\n\n"
        );
        let mut slow = BytesMut::from(&b"before"[..]);
        encode(&Event::json(&raw).unwrap(), &mut slow);
        assert_eq!(fast, slow);
        assert_eq!(
            ssewire::IntoEvent::to_frame(ssewire::Json(&raw)).unwrap(),
            fast[6..]
        );

        let events = super::decode_all(&fast[6..]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type(), "message");
        let back: serde_json::Value = serde_json::from_str(events[0].data()).unwrap();
        assert_eq!(back, serde_json::json!({"a": 1, "event": "x"}));
    }

    /// A type may write a raw value in several fragments (serde_json's private `RawValue`
    /// token, as the review that found this did): a CR ending one and an LF starting the next
    /// are one line break, as in the text `Event::json` sees; two raw values apart are not.
    #[cfg(feature = "json")]
    #[test]
    fn raw_json_line_breaks_split_between_fragments_count_once() {
        use serde::ser::{SerializeStruct, Serializer};
        const TOKEN: &str = "$serde_json::private::RawValue";
        struct Fragments(&'static [&'static str]);
        impl serde::Serialize for Fragments {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut raw = s.serialize_struct(TOKEN, self.0.len())?;
                for fragment in self.0 {
                    raw.serialize_field(TOKEN, fragment)?;
                }
                raw.end()
            }
        }
        fn same<T: serde::Serialize>(value: &T) -> String {
            let mut fast = BytesMut::new();
            ssewire::encode_json(value, &mut fast).unwrap();
            let mut slow = BytesMut::new();
            encode(&Event::json(value).unwrap(), &mut slow);
            assert_eq!(fast, slow);
            assert!(!fast.contains(&b'\r'));
            String::from_utf8(fast.to_vec()).unwrap()
        }
        assert_eq!(
            same(&Fragments(&["[1,\r", "\n2]"])),
            "data: [1,\ndata: 2]\n\n"
        );
        assert_eq!(
            same(&Fragments(&["[1,\r", "", "\n2]"])),
            "data: [1,\ndata: 2]\n\n"
        );
        assert_eq!(
            same(&Fragments(&["[1,\r", "\r\n2]"])),
            "data: [1,\ndata: \ndata: 2]\n\n"
        );
        let apart = [Fragments(&["1\r"]), Fragments(&["\n2"])];
        assert_eq!(same(&apart), "data: [1\ndata: ,\ndata: 2]\n\n");
    }
}
