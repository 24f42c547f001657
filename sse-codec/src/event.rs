//! `Event` and its checked parts: the values the encoder writes and the decoder yields.

use alloc::string::String;
use core::fmt;
use core::time::Duration;

use bytes::Bytes;

use crate::Error;
use crate::text::{Text, contains_any, normalize_newlines};

/// A checked event type (the `event:` field): any text without CR or LF.
///
/// # Examples
///
/// ```
/// use ssewire::EventType;
///
/// assert_eq!(EventType::new("chat").unwrap().as_str(), "chat");
/// assert!(EventType::new("chat\nevent: admin").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct EventType(Text);

impl EventType {
    /// Checks `name` and makes an event type of it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEventType`] if `name` contains CR or LF.
    pub fn new(name: impl AsRef<str>) -> Result<Self, Error> {
        let name = name.as_ref();
        EventType::check(name)?;
        Ok(EventType(Text::from(name)))
    }

    /// "No CR or LF".
    #[inline]
    fn check(name: &str) -> Result<(), Error> {
        if contains_any(name.as_bytes(), b'\r', b'\n', b'\n') {
            return Err(Error::InvalidEventType);
        }
        Ok(())
    }

    /// The event type for a `'static` name, without copying.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEventType`] if `name` contains CR or LF.
    pub fn from_static(name: &'static str) -> Result<Self, Error> {
        if contains_any(name.as_bytes(), b'\r', b'\n', b'\n') {
            return Err(Error::InvalidEventType);
        }
        Ok(EventType(Text::from_static(name)))
    }

    /// Decoded value: the line it came from cannot contain a line break.
    pub(crate) fn from_text(text: Text) -> Self {
        EventType(text)
    }

    /// The name as text (for the encoder: its bytes without a UTF-8 check).
    pub(crate) fn text(&self) -> &Text {
        &self.0
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A checked event id (the `id:` field): any text without CR, LF or NUL.
///
/// # Examples
///
/// ```
/// use ssewire::EventId;
///
/// assert_eq!(EventId::new("42").unwrap().as_str(), "42");
/// assert!(EventId::new("4\r2").is_err());
/// assert!(EventId::new("4\02").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct EventId(Text);

impl EventId {
    /// Checks `id` and makes an event id of it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidId`] if `id` contains CR, LF or NUL.
    pub fn new(id: impl AsRef<str>) -> Result<Self, Error> {
        let id = id.as_ref();
        EventId::check(id)?;
        Ok(EventId(Text::from(id)))
    }

    /// "No CR, LF or NUL".
    #[inline]
    fn check(id: &str) -> Result<(), Error> {
        if contains_any(id.as_bytes(), b'\r', b'\n', 0) {
            return Err(Error::InvalidId);
        }
        Ok(())
    }

    /// Decoded value: the decoder has already refused NUL, and a line holds no line break.
    pub(crate) fn from_text(text: Text) -> Self {
        EventId(text)
    }

    /// The id as text (for the encoder: its bytes without a UTF-8 check).
    pub(crate) fn text(&self) -> &Text {
        &self.0
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the id is the empty string (which resets a client's last event ID).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

macro_rules! checked_text_impls {
    ($ty:ident) => {
        impl TryFrom<&str> for $ty {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                $ty::new(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Error;
            /// Checks `s` and keeps its allocation (no copy).
            #[inline]
            fn try_from(s: String) -> Result<Self, Error> {
                $ty::check(&s)?;
                Ok($ty(Text::from(s)))
            }
        }

        impl TryFrom<&String> for $ty {
            type Error = Error;
            fn try_from(s: &String) -> Result<Self, Error> {
                $ty::new(s)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

checked_text_impls!(EventType);
checked_text_impls!(EventId);

/// One Server-Sent Event: data, and optionally an event type, an id, a reconnection time and a
/// comment.
///
/// Every `Event` is valid by construction, so [`encode`](crate::encode) cannot fail. Line breaks in
/// data and comments (LF, CRLF or a lone CR) are stored as LF, the only line break an SSE value can
/// carry, so `decode(encode(event)) == event` holds exactly.
///
/// The decoder yields `Event`s too, with the same meaning in every view: [`id`](Event::id) is the
/// last event ID in force at dispatch (as `MessageEvent.lastEventId`), and [`event`](Event::event)
/// is `None` for the default type. [`Decoder::decode`](crate::Decoder::decode) yields only events
/// with data; [`Decoder::decode_frame`](crate::Decoder::decode_frame) also those without.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ssewire::Event;
///
/// let event = Event::new("payload")
///     .with_event("my_event")?
///     .with_id("7")?
///     .with_retry(Duration::from_millis(1500));
/// assert_eq!(event.to_bytes(), "event: my_event\nid: 7\nretry: 1500\ndata: payload\n\n");
/// # Ok::<(), ssewire::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Event {
    /// `None`: no `data:` line at all (a control-only event).
    pub(crate) data: Option<Data>,
    pub(crate) event: Option<EventType>,
    pub(crate) id: Option<EventId>,
    /// Milliseconds.
    pub(crate) retry: Option<u64>,
    /// Never contains CR.
    pub(crate) comment: Option<Text>,
}

/// An event's data: its text (lines joined with LF, never a CR) and whether it is known to be one
/// line, found when it was set ([`Event::with_data`] searches it anyway; the decoder knows it
/// from the `data:` lines it read). [`encode`](crate::encode) then writes the most common data, a
/// single line, without searching it again. Equality and hashing look at the text only.
#[derive(Clone)]
pub(crate) struct Data {
    text: Text,
    one_line: bool,
}

impl Data {
    /// `text` (no CR); `one_line` only if it is known to hold no LF (otherwise it is searched).
    #[inline]
    pub(crate) fn new(text: Text, one_line: bool) -> Self {
        Data { text, one_line }
    }

    /// `data` with its line breaks normalized to LF, searched once: that one search tells whether
    /// it is one line (most data is), and so holds no CR to normalize either.
    #[inline]
    fn from_string(data: String) -> Self {
        let one_line = memchr::memchr2(b'\r', b'\n', data.as_bytes()).is_none();
        let text = if one_line {
            Text::from(data)
        } else {
            Text::from_lines(data)
        };
        Data::new(text, one_line)
    }

    /// The text.
    #[inline]
    pub(crate) fn text(&self) -> &Text {
        &self.text
    }

    /// The text is known to hold no LF.
    #[inline]
    pub(crate) fn is_one_line(&self) -> bool {
        self.one_line
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Data {}

impl core::hash::Hash for Data {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl Event {
    /// An event carrying `data` (a message of the default type `message`).
    ///
    /// Multi-line text becomes one `data:` line per line on the wire.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = ssewire::Event::new("hello\nworld");
    /// assert_eq!(event.to_bytes(), "data: hello\ndata: world\n\n");
    /// ```
    #[inline]
    pub fn new(data: impl Into<String>) -> Self {
        Event {
            data: Some(Data::from_string(data.into())),
            ..Event::default()
        }
    }

    /// An event whose data is a `'static` string, without copying it (unless it holds a CR).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ssewire::Event::from_static("hi").data(), "hi");
    /// ```
    pub fn from_static(data: &'static str) -> Self {
        let text = match normalize_newlines(data) {
            alloc::borrow::Cow::Borrowed(s) => Text::from_static(s),
            owned => Text::from(owned),
        };
        Event {
            data: Some(Data::new(text, false)),
            ..Event::default()
        }
    }

    /// A comment-only event (`: text`), which no client dispatches: a keep-alive, or a note for
    /// people reading the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ssewire::Event::comment("ping").to_bytes(), ": ping\n\n");
    /// ```
    pub fn comment(text: impl AsRef<str>) -> Self {
        Event::default().with_comment(text)
    }

    /// Sets the data, replacing any earlier data.
    #[inline]
    pub fn with_data(mut self, data: impl Into<String>) -> Self {
        self.data = Some(Data::from_string(data.into()));
        self
    }

    /// Sets the event type (the `event:` field).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEventType`] if the name contains CR or LF.
    #[inline]
    pub fn with_event<T>(mut self, name: T) -> Result<Self, Error>
    where
        T: TryInto<EventType>,
        Error: From<T::Error>,
    {
        self.event = Some(name.try_into()?);
        Ok(self)
    }

    /// Sets the event id (the `id:` field). An empty id resets the client's last event ID.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidId`] if the id contains CR, LF or NUL.
    #[inline]
    pub fn with_id<T>(mut self, id: T) -> Result<Self, Error>
    where
        T: TryInto<EventId>,
        Error: From<T::Error>,
    {
        self.id = Some(id.try_into()?);
        Ok(self)
    }

    /// Sets the event type from an already checked [`EventType`]; cannot fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire::{Event, EventType};
    ///
    /// let reset = EventType::from_static("reset")?;
    /// let mut event = Event::new("");
    /// event.set_event(reset.clone());
    /// assert_eq!(event.event(), Some("reset"));
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    pub fn set_event(&mut self, event_type: EventType) {
        self.event = Some(event_type);
    }

    /// Sets the id from an already checked [`EventId`]; cannot fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire::{Event, EventId};
    ///
    /// let mut event = Event::new("x");
    /// event.set_id(EventId::new("42")?);
    /// assert_eq!(event.id(), Some("42"));
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    pub fn set_id(&mut self, id: EventId) {
        self.id = Some(id);
    }

    /// Sets the reconnection time the client should wait before reconnecting, written in whole
    /// milliseconds (saturating at `u64::MAX`).
    pub fn with_retry(mut self, retry: Duration) -> Self {
        self.retry = Some(u64::try_from(retry.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Sets a comment; a multi-line comment becomes one `:` line per line.
    pub fn with_comment(mut self, text: impl AsRef<str>) -> Self {
        self.comment = Some(Text::from(normalize_newlines(text.as_ref())));
        self
    }

    /// The data, or `""` if the event has no data field.
    pub fn data(&self) -> &str {
        self.data.as_ref().map_or("", |data| data.text().as_str())
    }

    /// The data as bytes (UTF-8), or `None` if the event has no data field.
    pub fn data_bytes(&self) -> Option<&[u8]> {
        self.data.as_ref().map(|data| data.text().as_bytes())
    }

    /// Whether the event has a data field (possibly empty). Browsers dispatch only such events.
    pub fn has_data(&self) -> bool {
        self.data.is_some()
    }

    /// The `event:` field, if set.
    pub fn event(&self) -> Option<&str> {
        self.event.as_ref().map(EventType::as_str)
    }

    /// The type a browser dispatches this event as: the `event:` field, or `"message"` when it is
    /// absent or empty.
    pub fn event_type(&self) -> &str {
        match self.event() {
            Some(name) if !name.is_empty() => name,
            _ => "message",
        }
    }

    /// The `id:` field, if set.
    pub fn id(&self) -> Option<&str> {
        self.id.as_ref().map(EventId::as_str)
    }

    /// The reconnection time (`retry:` field, in milliseconds on the wire), if set.
    pub fn retry(&self) -> Option<Duration> {
        self.retry.map(Duration::from_millis)
    }

    /// The comment, if set (lines joined with LF).
    pub fn comment_text(&self) -> Option<&str> {
        self.comment.as_ref().map(Text::as_str)
    }

    /// The event encoded as SSE bytes. See [`encode`](crate::encode).
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = bytes::BytesMut::with_capacity(crate::encoded_len(self));
        crate::encode(self, &mut buf);
        buf.freeze()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Event");
        if let Some(event) = &self.event {
            s.field("event", event);
        }
        if let Some(id) = &self.id {
            s.field("id", id);
        }
        if let Some(retry) = self.retry {
            s.field("retry_ms", &retry);
        }
        if let Some(comment) = &self.comment {
            s.field("comment", comment);
        }
        if let Some(data) = &self.data {
            s.field("data", data);
        }
        s.finish()
    }
}

impl From<&str> for Event {
    fn from(data: &str) -> Self {
        Event::new(data)
    }
}

impl From<String> for Event {
    fn from(data: String) -> Self {
        Event::new(data)
    }
}

impl From<&String> for Event {
    fn from(data: &String) -> Self {
        Event::new(data.as_str())
    }
}

impl From<alloc::borrow::Cow<'_, str>> for Event {
    fn from(data: alloc::borrow::Cow<'_, str>) -> Self {
        Event::new(data.into_owned())
    }
}
