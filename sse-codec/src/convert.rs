//! The Nex `send` contract: what a producer may push, and the event each value becomes.

use alloc::borrow::Cow;
use alloc::string::String;

use bytes::{Bytes, BytesMut};

use crate::{Error, Event};

/// A value a producer can push: it becomes one [`Event`].
///
/// | value | event |
/// |---|---|
/// | `&str`, `String`, `Cow<str>` | data (one `data:` line per line) |
/// | [`Event`] | itself |
/// | [`Json<T>`](crate::Json) with `T: Serialize` (feature `json`) | compact JSON data |
/// | `serde_json::Value` (feature `json`) | an object with an `"event"` key is a custom event, anything else JSON data |
///
/// # Errors
///
/// Text and events never fail; JSON conversions fail with [`Error::Json`] when serialization
/// fails and [`Error::JsonField`] (or [`Error::InvalidEventType`] / [`Error::InvalidId`]) when a
/// custom-event object has a bad field.
///
/// # Examples
///
/// ```
/// use ssewire::IntoEvent;
///
/// let event = "hello".into_event()?;
/// assert_eq!(event.to_bytes(), "data: hello\n\n");
/// # Ok::<(), ssewire::Error>(())
/// ```
pub trait IntoEvent {
    /// Converts the value into an event.
    ///
    /// # Errors
    ///
    /// See the trait documentation.
    fn into_event(self) -> Result<Event, Error>;

    /// The value's wire bytes: what a producer's `send` puts on the stream. The bytes of
    /// `into_event()?.to_bytes()`; text and [`Json`](crate::Json) values are written straight
    /// into one buffer of the right size, without building an [`Event`] on the way.
    ///
    /// # Errors
    ///
    /// As for [`into_event`](IntoEvent::into_event).
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire::IntoEvent;
    ///
    /// assert_eq!("one\ntwo".to_frame()?, "data: one\ndata: two\n\n");
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    fn to_frame(self) -> Result<Bytes, Error>
    where
        Self: Sized,
    {
        Ok(self.into_event()?.to_bytes())
    }
}

/// The frame of a text event, written from `text` (one `data:` line per line).
fn text_frame(text: &str) -> Bytes {
    // Exact for one line: `data: ` + text + LF + the blank line.
    let mut buf = BytesMut::with_capacity(text.len() + 8);
    crate::encode_data(text, &mut buf);
    buf.freeze()
}

impl IntoEvent for Event {
    fn into_event(self) -> Result<Event, Error> {
        Ok(self)
    }
}

impl IntoEvent for &Event {
    fn into_event(self) -> Result<Event, Error> {
        Ok(self.clone())
    }

    fn to_frame(self) -> Result<Bytes, Error> {
        Ok(self.to_bytes())
    }
}

impl IntoEvent for &str {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self))
    }

    fn to_frame(self) -> Result<Bytes, Error> {
        Ok(text_frame(self))
    }
}

impl IntoEvent for String {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self))
    }

    fn to_frame(self) -> Result<Bytes, Error> {
        Ok(text_frame(&self))
    }
}

impl IntoEvent for &String {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self.as_str()))
    }

    fn to_frame(self) -> Result<Bytes, Error> {
        Ok(text_frame(self))
    }
}

impl IntoEvent for Cow<'_, str> {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self.into_owned()))
    }

    fn to_frame(self) -> Result<Bytes, Error> {
        Ok(text_frame(&self))
    }
}
