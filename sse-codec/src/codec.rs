//! The decoder and an encoder as framing codecs: tokio-util's (feature `tokio-util`) and
//! asynchronous-codec's (feature `asynchronous-codec`), so `FramedRead` and `FramedWrite` work on
//! either side of the tokio / futures divide. Both call the public API ([`Decoder::decode`],
//! [`encode`]); nothing here parses or writes SSE of its own.

use bytes::BytesMut;

use crate::{Decoder, Event, encode};

/// Writes [`Event`]s for a `FramedWrite` (tokio-util's or asynchronous-codec's): what [`encode`]
/// writes, which cannot fail.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tokio-util")] {
/// use tokio_util::codec::Encoder as _;
///
/// let mut buf = bytes::BytesMut::new();
/// ssewire::Encoder.encode(ssewire::Event::new("hi"), &mut buf)?;
/// assert_eq!(buf, "data: hi\n\n");
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Encoder;

/// [`Decoder::decode`], then at the end of the stream [`Decoder::finish`]: an unterminated event
/// is dropped, as the spec says, never reported as leftover bytes.
fn decode_eof(decoder: &mut Decoder, src: &mut BytesMut) -> Result<Option<Event>, crate::Error> {
    match decoder.decode(src)? {
        Some(event) => Ok(Some(event)),
        None => {
            decoder.finish(src);
            Ok(None)
        }
    }
}

#[cfg(feature = "tokio-util")]
impl tokio_util::codec::Decoder for Decoder {
    type Item = Event;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, std::io::Error> {
        Decoder::decode(self, src).map_err(Into::into)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, std::io::Error> {
        decode_eof(self, src).map_err(Into::into)
    }
}

#[cfg(feature = "tokio-util")]
impl tokio_util::codec::Encoder<Event> for Encoder {
    type Error = std::io::Error;

    fn encode(&mut self, event: Event, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        encode(&event, dst);
        Ok(())
    }
}

#[cfg(feature = "tokio-util")]
impl tokio_util::codec::Encoder<&Event> for Encoder {
    type Error = std::io::Error;

    fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        encode(event, dst);
        Ok(())
    }
}

#[cfg(feature = "asynchronous-codec")]
impl asynchronous_codec::Decoder for Decoder {
    type Item = Event;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, std::io::Error> {
        Decoder::decode(self, src).map_err(Into::into)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, std::io::Error> {
        decode_eof(self, src).map_err(Into::into)
    }
}

#[cfg(feature = "asynchronous-codec")]
impl asynchronous_codec::Encoder for Encoder {
    type Item<'a> = &'a Event;
    type Error = std::io::Error;

    fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        encode(event, dst);
        Ok(())
    }
}
