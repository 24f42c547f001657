//! The Nex `send` contract: what a producer may push, and the event each value becomes.

use alloc::borrow::Cow;
use alloc::string::String;

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
}

impl IntoEvent for &str {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self))
    }
}

impl IntoEvent for String {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self))
    }
}

impl IntoEvent for &String {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self.as_str()))
    }
}

impl IntoEvent for Cow<'_, str> {
    fn into_event(self) -> Result<Event, Error> {
        Ok(Event::new(self.into_owned()))
    }
}
