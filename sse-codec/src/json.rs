//! JSON pushes (feature `json`): `Json<T: Serialize>` and `serde_json::Value` become events.

use alloc::string::{String, ToString};
use core::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Error, Event, IntoEvent};

/// Marks a value to be sent as compact JSON data: `data: {"id":1,"status":"ok"}`.
///
/// Compact JSON holds no raw line break (serde_json escapes them inside strings), so the value
/// travels as one `data:` line; only a serde_json `RawValue` is written as it is, and each of its
/// line breaks (whitespace between tokens) starts a new `data:` line: the client gets the same JSON.
///
/// # Examples
///
/// ```
/// use ssewire::{IntoEvent, Json};
///
/// #[derive(serde::Serialize)]
/// struct Status { id: u32, status: &'static str }
///
/// let event = Json(Status { id: 1, status: "ok" }).into_event()?;
/// assert_eq!(event.to_bytes(), "data: {\"id\":1,\"status\":\"ok\"}\n\n");
/// # Ok::<(), ssewire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoEvent for Json<T> {
    fn into_event(self) -> Result<Event, Error> {
        Event::json(&self.0)
    }

    /// Serialized straight into the frame's buffer ([`encode_json`](crate::encode_json)).
    fn to_frame(self) -> Result<bytes::Bytes, Error> {
        let mut buf = bytes::BytesMut::with_capacity(128);
        crate::encode_json(&self.0, &mut buf)?;
        Ok(buf.freeze())
    }
}

impl Event {
    /// An event whose data is `value` serialized as compact JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] if serialization fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = ssewire::Event::json(&[1, 2, 3])?;
    /// assert_eq!(event.data(), "[1,2,3]");
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Event, Error> {
        let json = serde_json::to_string(value).map_err(Error::Json)?;
        Ok(Event::new(json))
    }
}

/// Nex's custom-event form: an object with an `"event"` key, such as
/// `{"event": "my_event", "data": "payload", "id": "7", "retry": 1500}`.
///
/// - `event` (string): the event type.
/// - `data`: a string is sent as-is, any other value as compact JSON; absent means empty data.
/// - `id` (string or number) and `retry` (milliseconds) are honoured; `comment` (string) too.
/// - Other keys are ignored.
///
/// Any other JSON value (an object without `"event"`, an array, a number…) is sent as JSON data.
///
/// # Examples
///
/// ```
/// use ssewire::IntoEvent;
///
/// let custom = serde_json::json!({"event": "my_event", "data": "payload"}).into_event()?;
/// assert_eq!(custom.to_bytes(), "event: my_event\ndata: payload\n\n");
///
/// let plain = serde_json::json!({"id": 1, "status": "ok"}).into_event()?;
/// assert_eq!(plain.to_bytes(), "data: {\"id\":1,\"status\":\"ok\"}\n\n");
/// # Ok::<(), ssewire::Error>(())
/// ```
impl IntoEvent for Value {
    fn into_event(self) -> Result<Event, Error> {
        match self {
            Value::Object(map) if map.contains_key("event") => custom_event(map),
            other => Event::json(&other),
        }
    }
}

impl IntoEvent for &Value {
    fn into_event(self) -> Result<Event, Error> {
        match self {
            Value::Object(map) if map.contains_key("event") => custom_event(map.clone()),
            other => Event::json(other),
        }
    }
}

impl TryFrom<Value> for Event {
    type Error = Error;

    fn try_from(value: Value) -> Result<Event, Error> {
        value.into_event()
    }
}

fn custom_event(mut map: Map<String, Value>) -> Result<Event, Error> {
    let mut event = match map.remove("data") {
        None => Event::new(""),
        Some(Value::String(data)) => Event::new(data),
        Some(other) => Event::json(&other)?,
    };
    match map.remove("event") {
        Some(Value::String(name)) => event = event.with_event(name)?,
        _ => return Err(Error::JsonField { field: "event" }),
    }
    match map.remove("id") {
        None => {}
        Some(Value::String(id)) => event = event.with_id(id)?,
        Some(Value::Number(n)) => event = event.with_id(n.to_string())?,
        Some(_) => return Err(Error::JsonField { field: "id" }),
    }
    match map.remove("retry") {
        None => {}
        Some(Value::Number(n)) => match n.as_u64() {
            Some(ms) => event = event.with_retry(Duration::from_millis(ms)),
            None => return Err(Error::JsonField { field: "retry" }),
        },
        Some(_) => return Err(Error::JsonField { field: "retry" }),
    }
    match map.remove("comment") {
        None => {}
        Some(Value::String(text)) => event = event.with_comment(text),
        Some(_) => return Err(Error::JsonField { field: "comment" }),
    }
    Ok(event)
}

/// serde_json's compact output, except that a line break in a raw fragment (`RawValue`) starts a
/// new `data:` line.
#[cfg(feature = "std")]
#[derive(Default)]
pub(crate) struct DataLines {
    /// The last raw fragment ended in CR and nothing was written since: an LF that starts the
    /// next one belongs to that line break. (serde_json writes one fragment per `RawValue`, but
    /// a type may serialize several, with nothing in between.)
    after_cr: bool,
}

#[cfg(feature = "std")]
impl serde_json::ser::Formatter for DataLines {
    fn write_raw_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
    {
        let mut text = fragment.as_bytes();
        if text.is_empty() {
            return Ok(());
        }
        if core::mem::take(&mut self.after_cr) && text[0] == b'\n' {
            text = &text[1..];
        }
        self.after_cr = text.last() == Some(&b'\r');
        while let Some((line, rest)) = split_line(text) {
            writer.write_all(line)?;
            writer.write_all(b"\ndata: ")?;
            text = rest;
        }
        writer.write_all(text)
    }

    // serde_json ends every array element and object value with one of these two (and writes
    // nothing for them): what follows is not part of the same raw text.
    fn end_array_value<W>(&mut self, _writer: &mut W) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
    {
        self.after_cr = false;
        Ok(())
    }

    fn end_object_value<W>(&mut self, _writer: &mut W) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
    {
        self.after_cr = false;
        Ok(())
    }
}

/// The text before the first line break (LF, CRLF or a lone CR) and the text after it.
pub(crate) fn split_line(text: &[u8]) -> Option<(&[u8], &[u8])> {
    // Raw JSON fragments only: a plain loop is enough.
    let i = text.iter().position(|&b| b == b'\r' || b == b'\n')?;
    // A CR followed by LF is one line break.
    let skip = if text[i] == b'\r' && text.get(i + 1) == Some(&b'\n') {
        2
    } else {
        1
    };
    Some((&text[..i], &text[i + skip..]))
}
