//! The crate's one error type.

use core::fmt;

/// Everything that can go wrong in `ssewire`: an invalid value at construction, or a decoder
/// limit.
///
/// Input the spec says to ignore (unknown fields, a non-numeric `retry`, an `id` with NUL on the
/// wire) is ignored, never an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An event type contained CR or LF, which would end the `event:` line early and inject
    /// fields.
    InvalidEventType,
    /// An event id contained CR, LF or NUL. A line break would inject fields; browsers ignore an
    /// id that contains NUL.
    InvalidId,
    /// A decoded line was longer than [`Limits::max_line`](crate::Limits::max_line).
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A decoded event's data was larger than [`Limits::max_event`](crate::Limits::max_event).
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A JSON value could not become an event: a field of a custom-event object has the wrong
    /// type (`event`, `id` and `comment` must be strings, `id` may be a number, `retry` a
    /// non-negative integer).
    #[cfg(feature = "json")]
    JsonField {
        /// The offending key.
        field: &'static str,
    },
    /// Serializing a value to JSON failed (a `Serialize` impl returned an error, or a map had
    /// non-string keys).
    #[cfg(feature = "json")]
    Json(serde_json::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidEventType => f.write_str("event type contains a line break"),
            Error::InvalidId => f.write_str("event id contains a line break or NUL"),
            Error::LineTooLong { limit } => {
                write!(f, "line longer than the limit of {limit} bytes")
            }
            Error::EventTooLarge { limit } => {
                write!(f, "event data larger than the limit of {limit} bytes")
            }
            #[cfg(feature = "json")]
            Error::JsonField { field } => write!(f, "json field `{field}` has the wrong type"),
            #[cfg(feature = "json")]
            Error::Json(e) => write!(f, "json serialization failed: {e}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            #[cfg(feature = "json")]
            Error::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<core::convert::Infallible> for Error {
    fn from(never: core::convert::Infallible) -> Self {
        match never {}
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::LineTooLong { .. } | Error::EventTooLarge { .. } => {
                std::io::ErrorKind::InvalidData
            }
            _ => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, e)
    }
}
