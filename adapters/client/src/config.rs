//! The controller's settings: a plain `Default` struct.

use std::time::Duration;

use ssewire::Limits;

/// How the controller spreads a reconnection delay with the caller's random number, so that
/// many clients cut off by one server restart do not all come back at the same instant.
///
/// `d` is the backoff for the attempt (the reconnection time, doubled for each failure in a row,
/// at most [`Config::max_backoff`]); `r` is the caller's random `u64` scaled to `[0, 1)`.
///
/// # Examples
///
/// ```
/// use ssewire_client::{Config, Jitter};
///
/// // Browser-exact waits: the reconnection time, then the doubled backoff, never less.
/// let config = Config { jitter: Jitter::None, ..Config::default() };
/// # drop(config);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Jitter {
    /// Wait exactly `d` (what browsers do; the spec's "wait a delay equal to the reconnection
    /// time").
    None,
    /// Wait `d/2 + r·d/2`: between half and all of the backoff. Spreads the herd while keeping a
    /// floor. The default.
    #[default]
    Equal,
    /// Wait `r·d`: anywhere from 0 to the backoff. Spreads the herd the most; the wait may be
    /// shorter than the reconnection time the server asked for.
    Full,
}

/// Settings of a [`Controller`](crate::Controller). Every field has a documented default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ssewire_client::Config;
///
/// let config = Config {
///     idle_timeout: Some(Duration::from_secs(45)), // the server sends a keep-alive every 15 s
///     max_retries: Some(10),
///     ..Config::default()
/// };
/// assert_eq!(config.retry, Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The reconnection time until the stream sets one with a `retry:` field. The spec leaves
    /// it "implementation-defined … probably in the region of a few seconds"; the default is
    /// 3 s, what Chrome and Firefox use.
    pub retry: Duration,
    /// The longest backoff wait (the cap of the exponential growth), which also bounds a
    /// reconnection time the server sets (a `retry: 86400000` cannot park the client for a day).
    /// Default 30 s.
    pub max_backoff: Duration,
    /// How a wait is spread. Default [`Jitter::Equal`].
    pub jitter: Jitter,
    /// The most reconnections in a row without a healthy connection in between; when one more
    /// would be needed the controller stops with
    /// [`StopReason::Exhausted`](crate::StopReason::Exhausted). `Some(0)`: the first failure
    /// stops. Default `None` (no limit, like a browser).
    pub max_retries: Option<u32>,
    /// How long a stream must stay open to count as healthy when it delivered no event. A
    /// connection is healthy when the response opened the stream and either at least one event
    /// was delivered or it stayed open this long; the reconnection after a healthy connection
    /// waits the plain reconnection time again (the backoff starts over). Default 10 s.
    pub healthy_after: Duration,
    /// Reconnect when nothing at all (not even a comment) has arrived for this long: the
    /// connection may be half-open. Every received byte resets it. Default `None`: a server
    /// may be quiet for minutes (an LLM thinking, a feed with no news) and the spec has no
    /// such timer. Set it to two or three times the server's keep-alive interval
    /// (`ssewire-stream` sends one every 15 s by default, so 45 s).
    pub idle_timeout: Option<Duration>,
    /// Reconnect at all. `false` for a stream that cannot be resumed (a `POST` that starts a
    /// generation): the first end or error stops with
    /// [`StopReason::Ended`](crate::StopReason::Ended). Default `true`.
    pub reconnect: bool,
    /// Retry the statuses that usually pass (408, 429, 502, 503, 504) instead of failing the
    /// connection, waiting what `Retry-After` says when it is delta-seconds (a date, or anything
    /// unparsable, counts as absent: the backoff applies). 401 and 403 are never retried.
    /// Default `false`: like a browser, any status but 200 fails the connection.
    pub retry_status: bool,
    /// The longest wait a `Retry-After` header can impose. Default 5 minutes.
    pub max_retry_after: Duration,
    /// How many bytes of a rejected response's body are kept for
    /// [`Rejected::body`](crate::Rejected::body). Default 4 KiB.
    pub max_error_body: usize,
    /// The decoder's bounds on lines and events. An event over them is dropped and reported as
    /// [`Action::Dropped`](crate::Action::Dropped) (under [`Overflow::Error`](ssewire::Overflow)).
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retry: Duration::from_secs(3),
            max_backoff: Duration::from_secs(30),
            jitter: Jitter::Equal,
            max_retries: None,
            healthy_after: Duration::from_secs(10),
            idle_timeout: None,
            reconnect: true,
            retry_status: false,
            max_retry_after: Duration::from_secs(300),
            max_error_body: 4096,
            limits: Limits::default(),
        }
    }
}
