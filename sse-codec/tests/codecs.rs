//! The framing codecs (features `tokio-util` and `asynchronous-codec`): the decoder's events and
//! errors through the traits, the end of a stream dropping an unterminated event, and the encoder
//! writing what `encode` writes.
#![cfg(any(feature = "tokio-util", feature = "asynchronous-codec"))]

use bytes::BytesMut;
use ssewire::{Decoder, Encoder, Event, Limits, encode};

const WIRE: &[u8] = b"event: a\nid: 1\ndata: one\n\ndata: two\n\ndata: cut";

fn event(data: &str) -> Event {
    Event::new(data)
}

#[cfg(feature = "tokio-util")]
#[test]
fn tokio_util_decoder_and_encoder() {
    use tokio_util::codec::{Decoder as _, Encoder as _};
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(WIRE);
    let first = tokio_util::codec::Decoder::decode(&mut decoder, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.event(), first.id(), first.data()),
        (Some("a"), Some("1"), "one")
    );
    let second = tokio_util::codec::Decoder::decode(&mut decoder, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!((second.id(), second.data()), (Some("1"), "two"));
    assert!(
        decoder.decode_eof(&mut buf).unwrap().is_none(),
        "the cut event is dropped"
    );
    assert!(buf.is_empty());

    let mut small = Decoder::with_limits(Limits {
        max_line: 8,
        ..Limits::default()
    });
    let mut long = BytesMut::from(&b"data: 0123456789\n\n"[..]);
    let error = tokio_util::codec::Decoder::decode(&mut small, &mut long).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);

    let (mut ours, mut theirs) = (BytesMut::new(), BytesMut::new());
    Encoder.encode(event("x\ny"), &mut ours).unwrap();
    Encoder.encode(&event("z"), &mut ours).unwrap();
    encode(&event("x\ny"), &mut theirs);
    encode(&event("z"), &mut theirs);
    assert_eq!(ours, theirs);
}

#[cfg(feature = "asynchronous-codec")]
#[test]
fn asynchronous_codec_decoder_and_encoder() {
    use asynchronous_codec::{Decoder as _, Encoder as _};
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(WIRE);
    let first = asynchronous_codec::Decoder::decode(&mut decoder, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.event(), first.id(), first.data()),
        (Some("a"), Some("1"), "one")
    );
    let second = asynchronous_codec::Decoder::decode(&mut decoder, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!((second.id(), second.data()), (Some("1"), "two"));
    assert!(
        decoder.decode_eof(&mut buf).unwrap().is_none(),
        "the cut event is dropped"
    );
    assert!(buf.is_empty());

    let (mut ours, mut theirs) = (BytesMut::new(), BytesMut::new());
    Encoder.encode(&event("x\ny"), &mut ours).unwrap();
    encode(&event("x\ny"), &mut theirs);
    assert_eq!(ours, theirs);
}
