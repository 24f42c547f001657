//! [`RedisHub`]: the topics' hubs, the publish script, the reader and the resume rule.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, Script};
use ssewire::Event;
use ssewire_stream::{Hub, HubConfig, Subscription};

use crate::error::Error;
use crate::id::EntryId;

/// Publishing in one round trip. KEYS: the stream, the topic's counter. ARGV: `MAXLEN ~` bound,
/// age bound in ms (0: none), then the entry's field/value pairs. The entry id is
/// `<ms>-<n>`: `ms` never goes back (so ids grow even if the clock does), `n` is dense, and after
/// Redis lost its data `n` starts again at 1, which every reader sees as a jump.
const PUBLISH: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('HMGET', KEYS[2], 'ms', 'n')
local ms = tonumber(last[1]) or 0
local n = (tonumber(last[2]) or 0) + 1
if now > ms then ms = now end
redis.call('HSET', KEYS[2], 'ms', string.format('%d', ms), 'n', string.format('%d', n))
local id = string.format('%d-%d', ms, n)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], id, unpack(ARGV, 3))
local age = tonumber(ARGV[2])
if age > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', now - age))
end
return id
";

/// Settings of a [`RedisHub`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Each topic's hub: its ring (the local replay), backlog, slow policy and markers. Its
    /// `max_events` and `max_age` also bound the Redis stream (`MAXLEN ~`, `MINID ~`), and a
    /// client whose id is older than `max_age` (and not the newest) gets the reset.
    pub hub: HubConfig,
    /// Prefix of the Redis keys: topic `t` is the stream `<prefix>{t}` and the counter
    /// `<prefix>{t}:n` (one hash slot). Default `ssewire:`.
    pub key_prefix: String,
    /// How long one `XREAD BLOCK` waits (default 5 s); the reader's connection answers within
    /// this plus [`Config::timeout`], or is dropped and made again.
    pub block: Duration,
    /// Bound on connecting and on each answer to a publish or a replay (default 2 s): past it,
    /// the publish fails and the subscribe ends its stream.
    pub timeout: Duration,
    /// The reader's pause before it connects again after an error (default 250 ms).
    pub retry: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hub: HubConfig::default(),
            key_prefix: "ssewire:".into(),
            block: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            retry: Duration::from_millis(250),
        }
    }
}

/// One instance's view of topics that several instances share through Redis Streams: a local
/// [`Hub`] per topic, fed by this instance's reader. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// # smol::block_on(async {
/// use ssewire::Event;
/// use ssewire_redis::{Config, RedisHub};
///
/// let (hub, reader) = RedisHub::connect("redis+unix:///run/redis.sock", &["news"], Config::default()).await?;
/// smol::spawn(reader).detach();
/// hub.publish("news", &Event::new("x")).await?;
/// # Ok::<(), ssewire_redis::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct RedisHub {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: Config,
    script: Script,
    topics: HashMap<String, Topic>,
    /// The connection publishes and replays share (multiplexed, with [`Config::timeout`]);
    /// `None` until first used and after an error.
    conn: Mutex<Option<MultiplexedConnection>>,
}

struct Topic {
    hub: Hub,
    stream: String,
    counter: String,
}

impl fmt::Debug for RedisHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisHub")
            .field("topics", &self.inner.topics.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RedisHub {
    /// Connects to the Redis at `url` (`redis://host:port/db`, `redis+unix:///path`) for
    /// `topics`, and returns the hub and its reader: a future that runs until the last clone of
    /// the hub is dropped, for the caller to spawn on any executor. The reader starts after each
    /// topic's newest entry, which it also puts in the topic's ring (a client that has it resumes
    /// at once).
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] when `url` is not a Redis URL or Redis cannot be reached.
    pub async fn connect(
        url: &str,
        topics: &[&str],
        config: Config,
    ) -> Result<(RedisHub, impl Future<Output = ()> + Send + 'static), Error> {
        let client = Client::open(url)?;
        let topics: HashMap<String, Topic> = topics
            .iter()
            .map(|&name| {
                let topic = Topic {
                    hub: Hub::new(config.hub.clone()),
                    stream: format!("{}{{{name}}}", config.key_prefix),
                    counter: format!("{}{{{name}}}:n", config.key_prefix),
                };
                (name.to_string(), topic)
            })
            .collect();
        let inner = Arc::new(Inner {
            client,
            config,
            script: Script::new(PUBLISH),
            topics,
            conn: Mutex::new(None),
        });
        let mut conn = inner.connection().await?;
        let mut positions = Vec::new();
        for (name, topic) in &inner.topics {
            let newest: StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(&topic.stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await
                .map_err(|e| inner.failed(e))?;
            let mut position = Position::default();
            if let Some(entry) = newest.ids.first() {
                position.advance(&entry.id);
                if let Some(frame) = frame(entry) {
                    topic.hub.ingest(&entry.id, frame);
                }
            }
            positions.push((name.clone(), position));
        }
        let reader = read(Arc::downgrade(&inner), positions);
        Ok((RedisHub { inner }, reader))
    }

    /// The local hub of `topic` (its subscribers on this instance, its ring), `None` for a topic
    /// not given to [`RedisHub::connect`]. Publish through [`RedisHub::publish`], not through it.
    pub fn hub(&self, topic: &str) -> Option<&Hub> {
        self.inner.topics.get(topic).map(|t| &t.hub)
    }

    /// Publishes `event` to `topic` on every instance, in one round trip, and returns its id
    /// (`<ms>-<n>`; an id the event has is replaced). Delivered here too, by this instance's
    /// reader, in the stream's order.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTopic`]; [`Error::Redis`] when Redis cannot be reached or does not answer
    /// within [`Config::timeout`] (never waits longer).
    ///
    /// An error means "not known to be published", not "not published": the script may have
    /// reached Redis and run while the answer was lost or late (a Redis paused for 5 s took 3
    /// of the 9 publishes that failed meanwhile and delivered them once it resumed). A caller
    /// that retries may publish twice; one that must not, puts its own key in the event's data.
    pub async fn publish(&self, topic: &str, event: &Event) -> Result<String, Error> {
        let inner = &self.inner;
        let topic = inner.topics.get(topic).ok_or(Error::UnknownTopic)?;
        let mut invocation = inner.script.prepare_invoke();
        invocation
            .key(&topic.stream)
            .key(&topic.counter)
            .arg(inner.config.hub.max_events.max(1))
            .arg(
                inner
                    .config
                    .hub
                    .max_age
                    .map_or(0, |age| age.as_millis().max(1)),
            )
            .arg("d")
            .arg(event.data());
        if let Some(name) = event.event() {
            invocation.arg("e").arg(name);
        }
        if let Some(retry) = event.retry() {
            invocation.arg("r").arg(retry.as_millis().to_string());
        }
        let mut conn = inner.connection().await?;
        invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| Error::from(inner.failed(e)))
    }

    /// A subscription to `topic` for a client whose `Last-Event-ID` is `last_event_id`: every
    /// event after it, then live ones, with no gap and no duplicate.
    ///
    /// - `None`, or an id in this instance's ring: as [`Hub::subscribe`], with no Redis call.
    /// - Otherwise one `XRANGE <id> <newest>` (inclusive): if its first entry is the client's id,
    ///   the rest is replayed, else the client gets the reset event (trimmed, expired by age,
    ///   never issued, lost with Redis's data).
    /// - An id newer than any this instance has seen (the client came from a faster instance)
    ///   that Redis holds: nothing is replayed, and the live events up to it are skipped.
    /// - Redis unreachable: the stream ends at once, so that the browser retries with the same
    ///   id; never a reset it did not need.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTopic`] only.
    pub async fn subscribe(
        &self,
        topic: &str,
        last_event_id: Option<&str>,
    ) -> Result<Subscription, Error> {
        let inner = &self.inner;
        let topic = inner.topics.get(topic).ok_or(Error::UnknownTopic)?;
        let (held, newest) = match topic.hub.subscribe_or_hold(last_event_id) {
            Ok(subscription) => return Ok(subscription),
            Err(held) => held,
        };
        let last = last_event_id.unwrap_or_default();
        match inner.replay(topic, last, newest.as_deref()).await {
            Ok(Replay::Frames(frames, skip_through)) => {
                held.answer(frames, skip_through.as_deref())
            }
            Ok(Replay::Reset) => held.answer([inner.config.hub.reset.to_bytes()], None),
            Err(_) => held.end(),
        }
        Ok(held)
    }
}

/// What a held subscription gets.
enum Replay {
    /// Frames after the client's id, and the id through which live events are skipped.
    Frames(Vec<Bytes>, Option<String>),
    Reset,
}

impl Inner {
    /// The shared connection, made if there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, Error> {
        if let Some(conn) = crate::redis_hub::lock(&self.conn).clone() {
            return Ok(conn);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.timeout))
            .set_response_timeout(Some(self.config.timeout));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *lock(&self.conn) = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets the shared connection after `e`, so that the next call makes a new one (a
    /// multiplexed connection does not come back by itself once Redis went away).
    fn failed(&self, e: redis::RedisError) -> redis::RedisError {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_unrecoverable_error()
        {
            lock(&self.conn).take();
        }
        e
    }

    /// The resume rule for `last`, which this instance's ring does not hold (see
    /// [`RedisHub::subscribe`]); `newest` is the newest id the topic's hub had when the
    /// subscription was held.
    async fn replay(
        &self,
        topic: &Topic,
        last: &str,
        newest: Option<&str>,
    ) -> Result<Replay, Error> {
        let Some(client_id) = EntryId::parse(last) else {
            return Ok(Replay::Reset);
        };
        let mut conn = self.connection().await?;
        let newest_id = newest.and_then(EntryId::parse);
        if newest_id.is_some_and(|newest| client_id > newest) {
            // From a faster instance: does Redis know the id? Then this instance's reader will
            // deliver it, and everything up to it is skipped.
            let found: StreamRangeReply = redis::cmd("XRANGE")
                .arg(&topic.stream)
                .arg(last)
                .arg(last)
                .query_async(&mut conn)
                .await
                .map_err(|e| self.failed(e))?;
            return Ok(match found.ids.first() {
                Some(entry) if entry.id == last => {
                    Replay::Frames(Vec::new(), Some(last.to_string()))
                }
                _ => Replay::Reset,
            });
        }
        // Up to `newest` (inclusive): what came later reaches the held subscription live. With no
        // `newest`, the hub has ingested nothing since the reader started after an empty stream,
        // so everything Redis returns is still to come live: skip it there.
        let end = newest.unwrap_or("+");
        let range: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&topic.stream)
            .arg(last)
            .arg(end)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(e))?;
        let mut entries = range.ids.iter();
        match entries.next() {
            Some(first) if first.id == last => {}
            _ => return Ok(Replay::Reset),
        }
        let rest: Vec<&StreamId> = entries.collect();
        // Expired by age, as the hub's ring does it: unless nothing came after it.
        if let Some(max_age) = self.config.hub.max_age
            && !rest.is_empty()
            && now_ms().saturating_sub(client_id.ms)
                > u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX)
        {
            return Ok(Replay::Reset);
        }
        let skip_through = match newest {
            None => rest.last().map(|entry| entry.id.clone()),
            Some(_) => None,
        };
        let frames = rest.into_iter().filter_map(frame).collect();
        Ok(Replay::Frames(frames, skip_through))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The SSE frame of a stream entry, its id the entry's; `None` for an entry this crate did not
/// write (no data field, or an event type or retry it cannot carry), which the reader skips.
fn frame(entry: &StreamId) -> Option<Bytes> {
    let data: String = entry.get("d")?;
    let mut event = Event::new(data).with_id(entry.id.as_str()).ok()?;
    if let Some(name) = entry.get::<String>("e") {
        event = event.with_event(name).ok()?;
    }
    if let Some(retry) = entry.get::<String>("r") {
        event = event.with_retry(Duration::from_millis(retry.parse().ok()?));
    }
    Some(event.to_bytes())
}

/// Where the reader is in one topic's stream.
#[derive(Debug, Default)]
struct Position {
    /// The last entry read (`0-0` before the first).
    id: String,
    /// Its counter, `None` before the first.
    n: Option<u64>,
}

impl Position {
    /// Moves past `id`; returns whether the dense counter jumped (events were skipped).
    fn advance(&mut self, id: &str) -> bool {
        let parsed = EntryId::parse(id);
        let jumped = match (self.n, parsed) {
            (Some(n), Some(parsed)) => parsed.n != n.wrapping_add(1),
            _ => false,
        };
        self.n = parsed.map(|p| p.n);
        self.id = id.to_string();
        jumped
    }

    fn id(&self) -> &str {
        if self.id.is_empty() { "0-0" } else { &self.id }
    }
}

/// The reader: `XREAD BLOCK` over every topic, on a connection of its own whose response timeout
/// is the block time plus [`Config::timeout`]; each entry framed once and ingested by its topic's
/// hub. Runs until the hub is dropped.
async fn read(inner: Weak<Inner>, mut positions: Vec<(String, Position)>) {
    let mut conn: Option<MultiplexedConnection> = None;
    loop {
        let Some(hub) = inner.upgrade() else {
            return;
        };
        let config = &hub.config;
        if conn.is_none() {
            let settings = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(config.timeout))
                .set_response_timeout(Some(config.block + config.timeout));
            match hub
                .client
                .get_multiplexed_async_connection_with_config(&settings)
                .await
            {
                Ok(made) => conn = Some(made),
                Err(_) => {
                    let pause = config.retry;
                    drop(hub);
                    async_io::Timer::after(pause).await;
                    continue;
                }
            }
        }
        let Some(connection) = conn.as_mut() else {
            continue;
        };
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1024)
            .arg("BLOCK")
            .arg(u64::try_from(config.block.as_millis()).unwrap_or(u64::MAX))
            .arg("STREAMS");
        for (name, _) in &positions {
            cmd.arg(&hub.topics[name].stream);
        }
        for (_, position) in &positions {
            cmd.arg(position.id());
        }
        let weak_reply = {
            // The hub is not kept alive across the wait: dropping it ends the reader at the next
            // answer.
            let keys: Vec<String> = positions.iter().map(|(n, _)| n.clone()).collect();
            drop(hub);
            let reply: redis::RedisResult<Option<StreamReadReply>> =
                cmd.query_async(connection).await;
            (keys, reply)
        };
        let Some(hub) = inner.upgrade() else {
            return;
        };
        match weak_reply.1 {
            Ok(Some(reply)) => {
                for key in reply.keys {
                    let Some((name, position)) = positions
                        .iter_mut()
                        .find(|(name, _)| hub.topics[name].stream == key.key)
                    else {
                        continue;
                    };
                    let topic = &hub.topics[name.as_str()];
                    for entry in &key.ids {
                        if position.advance(&entry.id) {
                            // Skipped events: neither the ring nor an open stream is gapless any
                            // more. Browsers reconnect to a replay or a reset.
                            topic.hub.clear();
                        }
                        if let Some(frame) = frame(entry) {
                            topic.hub.ingest(&entry.id, frame);
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(_) => {
                conn = None;
                let pause = hub.config.retry;
                drop(hub);
                async_io::Timer::after(pause).await;
            }
        }
    }
}
