//! The crate's error.

use core::fmt;

/// What went wrong talking to Redis, or asking for a topic the hub does not carry.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Redis could not be reached, answered late or answered with an error. After a publish it
    /// means "not known to be published": the event may still be in the stream.
    Redis(redis::RedisError),
    /// The topic is not one of those given to [`RedisHub::connect`](crate::RedisHub::connect).
    UnknownTopic,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Redis(e) => write!(f, "redis: {e}"),
            Error::UnknownTopic => f.write_str("unknown topic"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Redis(e) => Some(e),
            Error::UnknownTopic => None,
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        Error::Redis(e)
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::other(e)
    }
}
