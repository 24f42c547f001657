//! A broadcast hub : publish an event once, fan it out to every subscriber, and
//! replay what a reconnecting client missed (`Last-Event-ID`).
//!
//! Runtime-free like the rest of the crate: `publish` is a plain call that never waits, a
//! [`Subscription`] is a `futures_core::Stream` of encoded frames.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use slab::Slab;

use ssewire::{Event, EventId, EventType};

use crate::direct::Sink;

/// What the hub does when a subscriber's backlog is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SlowPolicy {
    /// Drop the oldest queued events and send a `gap` marker event in their place (its data is the
    /// number of events dropped). The subscriber stays connected.
    #[default]
    DropOldest,
    /// End the subscriber's stream. A browser reconnects with `Last-Event-ID` and gets what it
    /// missed replayed, as far as the hub still retains it.
    Disconnect,
}

/// Hub settings: retention, per-subscriber backlog, and the marker events.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Most events retained for replay.
    pub max_events: usize,
    /// Most bytes (encoded) retained for replay; the oldest events go first.
    pub max_bytes: usize,
    /// How long an event is retained for replay, if not forever (default). Older events are
    /// dropped when the hub is next used (a publish, a subscribe, [`Hub::retained`]), except the
    /// newest: a client that saw it missed nothing and resumes without a reset, however quiet the
    /// topic has been. A client whose `Last-Event-ID` was dropped gets the [`HubConfig::reset`]
    /// event.
    pub max_age: Option<Duration>,
    /// Most live events queued for one subscriber before [`HubConfig::slow`] applies.
    pub backlog: usize,
    /// The policy for a subscriber whose backlog is full.
    pub slow: SlowPolicy,
    /// Sent to a subscriber whose `Last-Event-ID` the hub no longer holds (or never issued), so it
    /// knows to resynchronise. Default: `event: reset` with empty data.
    pub reset: Event,
    /// The type of the gap marker event (see [`SlowPolicy::DropOldest`]). Default `gap`.
    pub gap_type: EventType,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_events: 1024,
            max_bytes: 1024 * 1024,
            max_age: None,
            backlog: 256,
            slow: SlowPolicy::DropOldest,
            reset: marker("reset", String::new()),
            gap_type: static_type("gap"),
        }
    }
}

/// An event type from a literal that holds no line break.
fn static_type(name: &'static str) -> EventType {
    EventType::from_static(name).unwrap_or_else(|_| unreachable!("{name:?} holds no line break"))
}

/// An event of type `name` (a literal with no line break) and `data`.
fn marker(name: &'static str, data: String) -> Event {
    let mut event = Event::new(data);
    event.set_event(static_type(name));
    event
}

struct Retained {
    /// Shared with [`HubState::newest`]: one allocation per event for both.
    id: Arc<str>,
    frame: Bytes,
    /// When it was published (kept only with [`HubConfig::max_age`]).
    at: Option<Instant>,
}

struct HubState {
    config: HubConfig,
    /// `config.reset`, encoded once: every subscriber whose id the hub does not hold shares it.
    reset: Bytes,
    next_id: u64,
    ring: VecDeque<Retained>,
    ring_bytes: usize,
    /// Every subscription not yet dropped, in the slot whose key it holds. A subscription's `Drop`
    /// vacates its own slot (and only it does), so neither a subscribe nor a publish ever scans
    /// for departed subscribers, and a key is never reused while its subscription lives.
    subscribers: Slab<Arc<SubShared>>,
    /// The id of the newest event published or ingested (retained or not), `None` before the
    /// first and after [`Hub::clear`].
    newest: Option<Arc<str>>,
    /// The wakers a publish or a disconnect collects, to wake once the hub is unlocked: kept here
    /// between calls so that waking 10 000 tasks does not grow a new buffer each time. Empty
    /// (but for its capacity) whenever the lock is free.
    wakeups: Wakeups,
}

/// Tasks to wake once the hub's lock is released: a waker is the consumer's code, and may take
/// as long as it likes without holding up the hub.
#[derive(Default)]
struct Wakeups {
    /// Subscribers' own tasks.
    tasks: Vec<Waker>,
    /// Fan-out tasks of direct subscribers, each once however many of its subscribers got the
    /// frame.
    lanes: Vec<Waker>,
}

impl Wakeups {
    fn capacity(&self) -> usize {
        self.tasks.capacity() + self.lanes.capacity()
    }

    /// Wakes everyone collected (the hub unlocked), keeping the buffers.
    fn wake(&mut self) {
        self.lanes.drain(..).for_each(Waker::wake);
        self.tasks.drain(..).for_each(Waker::wake);
    }
}

#[derive(Default)]
pub(crate) struct SubState {
    pub(crate) queue: Frames,
    /// Events dropped from the front since the subscriber last read.
    pub(crate) dropped: u64,
    pub(crate) disconnected: bool,
    pub(crate) closed: bool,
    pub(crate) waker: Option<Waker>,
    /// Direct delivery (see [`crate::direct`]).
    pub(crate) direct: Direct,
    /// While a source behind the hub works out the replay (see [`Hub::subscribe_or_hold`]): the
    /// live frames that arrived meanwhile, with their ids, not yet visible to the stream. `queue`
    /// is empty while this is `Some`.
    held: Option<VecDeque<(Arc<str>, Bytes)>>,
    /// Live frames are dropped until the one with this id has passed (a client that already has
    /// them; see [`Subscription::answer`]).
    skip_through: Option<Box<str>>,
}

/// A subscription's direct delivery: frames written to the client by another writer (a server's
/// fan-out task), without waking the subscriber's own task per event.
#[derive(Default)]
pub(crate) struct Direct {
    /// Writes a frame to the client without waiting; set once the server attaches it, and `None`
    /// again while the fan-out task has it out to write without the lock.
    pub(crate) sink: Option<Box<dyn Sink>>,
    /// Set while the fan-out task owns the socket: `publish` wakes it instead of `waker`.
    pub(crate) lane: Option<Waker>,
    /// The rest of a frame the fan-out task wrote in part, framed for the wire: the subscriber's
    /// task writes it before anything else.
    pub(crate) partial: Option<Bytes>,
    /// When the fan-out task last wrote (keep-alives count from it too).
    pub(crate) sent_at: Option<Instant>,
}

/// One subscriber's state, shared by its [`Subscription`], the hub and any
/// [`DirectHandle`](crate::direct::DirectHandle).
///
/// Lock order: the hub's lock, then a subscriber's (as `publish` takes them), never a
/// subscriber's and then the hub's. A subscriber's lock is held only for short in-memory work:
/// moving frames, setting flags, storing or taking a waker or the sink. Nothing slow happens
/// under it (a write to the socket, a waker's `wake`, dropping the sink or a waker that may be
/// the last reference to something), so `publish`, which takes every subscriber's lock in turn
/// under the hub's, never waits on anything a subscriber's consumer does.
pub(crate) struct SubShared(pub(crate) Mutex<SubState>);

/// A subscriber's queued frames. The first is held inline: one event outstanding is the common
/// case, and then the subscriber has no buffer of its own to allocate, or to touch per event.
#[derive(Default)]
pub(crate) struct Frames {
    /// The oldest frame; `None` only when there is none (then `rest` is empty too).
    first: Option<Bytes>,
    rest: VecDeque<Bytes>,
}

impl Frames {
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub(crate) fn push_back(&mut self, frame: Bytes) {
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.rest.push_back(frame);
        }
    }
    pub(crate) fn push_front(&mut self, frame: Bytes) {
        if let Some(old) = self.first.replace(frame) {
            self.rest.push_front(old);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<Bytes> {
        let frame = self.first.take()?;
        self.first = self.rest.pop_front();
        Some(frame)
    }

    pub(crate) fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }

    /// Moves every frame, oldest first, to the end of `out`.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<Bytes>) {
        if let Some(first) = self.first.take() {
            out.push(first);
            out.extend(self.rest.drain(..));
        }
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A broadcast hub. Cheap to clone (clones share the hub); one hub per topic.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use futures_lite::StreamExt;
/// use ssewire::Event;
/// use ssewire_stream::Hub;
///
/// let hub = Hub::default();
/// hub.publish(&Event::new("first"));              // id 1
/// let mut live = hub.subscribe(None);              // from now on
/// hub.publish(&Event::new("second"));             // id 2
/// let mut resumed = hub.subscribe(Some("1"));      // a browser that saw id 1
/// assert_eq!(live.next().await.unwrap(), "id: 2\ndata: second\n\n");
/// assert_eq!(resumed.next().await.unwrap(), "id: 2\ndata: second\n\n");
/// assert_eq!(hub.subscribers(), 2);
/// # });
/// ```
#[derive(Clone)]
pub struct Hub {
    state: Arc<Mutex<HubState>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(HubConfig::default())
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Hub")
            .field("retained", &state.ring.len())
            .field("retained_bytes", &state.ring_bytes)
            .field("subscribers", &state.subscribers.len())
            .finish()
    }
}

impl Hub {
    /// A hub with `config`.
    pub fn new(config: HubConfig) -> Self {
        Hub {
            state: Arc::new(Mutex::new(HubState {
                reset: config.reset.to_bytes(),
                config,
                next_id: 1,
                ring: VecDeque::new(),
                ring_bytes: 0,
                subscribers: Slab::new(),
                newest: None,
                wakeups: Wakeups::default(),
            })),
        }
    }

    /// Publishes `event` to every subscriber: encoded once, shared by reference count. An event
    /// without an id gets the hub's next number (`1`, `2`, …). Never waits; a slow subscriber
    /// meets the [`SlowPolicy`]. Returns the event's id.
    pub fn publish(&self, event: &Event) -> String {
        let mut state = lock(&self.state);
        let number = state.next_id;
        state.next_id += 1;
        let (id, frame) = match event.id() {
            Some(id) => (id.to_string(), event.to_bytes()),
            None => {
                let id = number.to_string();
                let mut numbered = event.clone();
                // Digits: never a line break or NUL.
                if let Ok(checked) = EventId::new(&id) {
                    numbered.set_id(checked);
                }
                (id, numbered.to_bytes())
            }
        };
        self.fan_out(state, &id, frame);
        id
    }

    /// Retains and delivers a frame that arrived with its id from an engine that numbers the
    /// events itself (a reader of Redis Streams, NATS JetStream or a database sequence), exactly
    /// as [`Hub::publish`] would, without touching the hub's own numbering. `frame` is the encoded
    /// event, its `id:` line (`id`) included; the engine delivers frames in its order, once each.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::StreamExt;
    /// use ssewire::Event;
    /// use ssewire_stream::Hub;
    ///
    /// let hub = Hub::default();
    /// let mut live = hub.subscribe(None);
    /// let event = Event::new("from another instance").with_id("1733-7")?;
    /// hub.ingest("1733-7", event.to_bytes());
    /// assert_eq!(live.next().await.unwrap(), "id: 1733-7\ndata: from another instance\n\n");
    /// let mut resumed = hub.subscribe(Some("1733-7"));   // held in the ring: nothing to replay
    /// assert_eq!(resumed.queued(), 0);
    /// # Ok::<(), ssewire::Error>(()) }).unwrap();
    /// ```
    pub fn ingest(&self, id: &str, frame: Bytes) {
        self.fan_out(lock(&self.state), id, frame);
    }

    /// Retains `frame` (id `id`) and offers it to every subscriber, then wakes them unlocked.
    fn fan_out(&self, mut state: MutexGuard<'_, HubState>, id: &str, frame: Bytes) {
        let now = state.expire();
        let HubState {
            config,
            ring,
            ring_bytes,
            subscribers,
            wakeups,
            newest,
            ..
        } = &mut *state;
        // Retention: bounded by count and by bytes (and by age, above).
        let id: Arc<str> = Arc::from(id);
        *newest = Some(Arc::clone(&id));
        ring.push_back(Retained {
            id: Arc::clone(&id),
            frame: frame.clone(),
            at: now,
        });
        *ring_bytes += frame.len();
        while ring.len() > config.max_events || (*ring_bytes > config.max_bytes && !ring.is_empty())
        {
            if let Some(old) = ring.pop_front() {
                *ring_bytes -= old.frame.len();
            }
        }
        // One visit per live subscriber, each a few in-memory steps under its lock (see
        // `SubShared`): the time under the hub's lock does not depend on how slow any subscriber
        // is. The slab also holds the vacant slots of departed subscribers, skipped without a lock.
        let mut woken = mem::take(wakeups);
        for (_, sub) in subscribers.iter() {
            offer(&mut lock(&sub.0), &id, &frame, config, &mut woken);
        }
        drop(state);
        self.wake(woken);
    }

    /// Wakes the tasks `woken` holds (the hub unlocked), then gives its buffers back to the hub
    /// for the next call, unless there is nothing to give.
    fn wake(&self, mut woken: Wakeups) {
        woken.wake();
        if woken.capacity() > 0 {
            let mut state = lock(&self.state);
            // Another call may have put its own back meanwhile: keep the larger.
            if state.wakeups.capacity() < woken.capacity() {
                state.wakeups = woken;
            }
        }
    }

    /// A subscription: first every retained event after `last_event_id` (the request's
    /// `Last-Event-ID`), then live events, with no gap and no duplicate between the two. An id the
    /// hub does not hold gets the [`HubConfig::reset`] event first; `None` starts live.
    ///
    /// Takes time in proportion to what it replays (the search for `last_event_id` runs from the
    /// newest event back), not to the number of subscribers.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        self.join(last_event_id, false).0
    }

    /// A subscription for a hub with a source of older events behind it (an engine such as Redis
    /// Streams that several instances share). As [`Hub::subscribe`] when `last_event_id` is
    /// `None` or retained here (`Ok`); otherwise, instead of a reset, `Err((held, newest))`: a
    /// held subscription that keeps the live frames from `newest` on (the newest id this hub has
    /// retained or ingested when it joined, `None` if none) and yields nothing until the source
    /// [answers](Subscription::answer) with what lies between the client's id and `newest`, or
    /// the stream is [ended](Subscription::end). Waiting for the source takes no lock and no task
    /// of the hub's; the answer may come at any time later.
    ///
    /// A held subscription whose live frames outgrow [`HubConfig::backlog`] ends: the client
    /// reconnects with the same id.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::StreamExt;
    /// use ssewire::Event;
    /// use ssewire_stream::Hub;
    ///
    /// let hub = Hub::default();
    /// hub.ingest("8", Event::new("h").with_id("8")?.to_bytes());
    /// // A browser that saw "7" on another instance: only the source knows what came after it.
    /// let Err((held, newest)) = hub.subscribe_or_hold(Some("7")) else { unreachable!() };
    /// assert_eq!(newest.as_deref(), Some("8"));
    /// hub.ingest("9", Event::new("i").with_id("9")?.to_bytes());   // live, held back
    /// // The source answers: "8" came after "7" (and nothing else up to `newest`).
    /// held.answer([Event::new("h").with_id("8")?.to_bytes()], None);
    /// let mut held = held;
    /// assert_eq!(held.next().await.unwrap(), "id: 8\ndata: h\n\n");
    /// assert_eq!(held.next().await.unwrap(), "id: 9\ndata: i\n\n");
    /// # Ok::<(), ssewire::Error>(()) }).unwrap();
    /// ```
    pub fn subscribe_or_hold(
        &self,
        last_event_id: Option<&str>,
    ) -> Result<Subscription, (Subscription, Option<String>)> {
        match self.join(last_event_id, true) {
            (subscription, Some(newest)) => Err((subscription, newest)),
            (subscription, None) => Ok(subscription),
        }
    }

    /// A new subscriber: the retained events after `last_event_id` queued, then live. An id the
    /// hub does not hold gets the reset event, or with `hold` a held subscription and the newest
    /// id this hub has (`Some(newest)`; see [`Hub::subscribe_or_hold`]).
    fn join(
        &self,
        last_event_id: Option<&str>,
        hold: bool,
    ) -> (Subscription, Option<Option<String>>) {
        // Allocated before the hub is locked; filled under it (nobody else has it yet, so its own
        // lock is free).
        let shared = Arc::new(SubShared(Mutex::new(SubState::default())));
        let mut state = lock(&self.state);
        state.expire();
        let mut newest = None;
        if let Some(last) = last_event_id {
            let mut sub = lock(&shared.0);
            match state.ring.iter().rposition(|r| *r.id == *last) {
                Some(pos) => {
                    for retained in state.ring.iter().skip(pos + 1) {
                        sub.queue.push_back(retained.frame.clone());
                    }
                }
                None if hold => {
                    sub.held = Some(VecDeque::new());
                    newest = Some(state.newest.as_deref().map(String::from));
                }
                None => sub.queue.push_back(state.reset.clone()),
            }
        }
        let key = state.subscribers.insert(Arc::clone(&shared));
        let subscription = Subscription {
            shared,
            key,
            hub: Arc::downgrade(&self.state),
            gap_type: state.config.gap_type.clone(),
        };
        (subscription, newest)
    }

    /// Ends every subscriber's stream (a deploy, a resync): browsers reconnect with
    /// `Last-Event-ID` and get what they missed replayed.
    pub fn disconnect_all(&self) {
        let state = lock(&self.state);
        self.end_all(state);
    }

    /// Forgets every retained event and ends every stream, held ones included: the source behind
    /// the hub skipped events (a reader that fell behind its retention, an engine that lost its
    /// data), so neither the ring nor an open stream can be trusted to be gapless. Browsers
    /// reconnect with `Last-Event-ID` and get the source's replay or a reset.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire::Event;
    /// use ssewire_stream::Hub;
    ///
    /// let hub = Hub::default();
    /// hub.publish(&Event::new("x"));
    /// hub.clear();
    /// assert_eq!(hub.retained(), (0, 0));
    /// ```
    pub fn clear(&self) {
        let mut state = lock(&self.state);
        state.ring.clear();
        state.ring_bytes = 0;
        state.newest = None;
        self.end_all(state);
    }

    fn end_all(&self, mut state: MutexGuard<'_, HubState>) {
        let mut woken = mem::take(&mut state.wakeups);
        for (_, sub) in state.subscribers.iter() {
            let mut sub = lock(&sub.0);
            sub.disconnected = true;
            sub.queue.clear();
            sub.held = None;
            woken.tasks.extend(sub.waker.take());
        }
        drop(state);
        self.wake(woken);
    }

    /// Subscriptions not yet dropped (one whose stream the hub ended counts until it is dropped).
    pub fn subscribers(&self) -> usize {
        lock(&self.state).subscribers.len()
    }

    /// Events retained for replay, and their encoded size in bytes.
    pub fn retained(&self) -> (usize, usize) {
        let mut state = lock(&self.state);
        state.expire();
        (state.ring.len(), state.ring_bytes)
    }
}

/// Queues `frame` for one subscriber (its lock held), applying the slow policy, and collects
/// the task to wake for it.
fn offer(
    sub: &mut SubState,
    id: &Arc<str>,
    frame: &Bytes,
    config: &HubConfig,
    woken: &mut Wakeups,
) {
    // A dropped subscription (whose `Drop` is about to vacate its slot) or an ended stream
    // takes nothing more.
    if sub.closed || sub.disconnected {
        return;
    }
    // The client has this one already, and those before it.
    if let Some(through) = &sub.skip_through {
        if **through == **id {
            sub.skip_through = None;
        }
        return;
    }
    if let Some(held) = &mut sub.held {
        if held.len() < config.backlog.max(1) {
            held.push_back((Arc::clone(id), frame.clone()));
            return;
        }
        // Neither a gap marker (it would stand before a replay still to come) nor waiting
        // longer: the client reconnects with the id it has.
        sub.held = None;
        sub.disconnected = true;
        woken.tasks.extend(sub.waker.take());
        return;
    }
    if sub.queue.len() >= config.backlog.max(1) {
        match config.slow {
            SlowPolicy::DropOldest => {
                sub.queue.pop_front();
                sub.dropped += 1;
            }
            SlowPolicy::Disconnect => {
                sub.disconnected = true;
                sub.queue.clear();
                woken.tasks.extend(sub.waker.take());
                return;
            }
        }
    }
    sub.queue.push_back(frame.clone());
    if let Some(lane) = &sub.direct.lane {
        // The fan-out task writes the frame: woken once per publish, not per subscriber.
        if !woken.lanes.iter().any(|known| known.will_wake(lane)) {
            woken.lanes.push(lane.clone());
        }
        return;
    }
    woken.tasks.extend(sub.waker.take());
}

impl HubState {
    /// Drops the retained events older than [`HubConfig::max_age`] but the newest; returns the
    /// time now if the hub keeps ages (one clock read per call, none without `max_age`).
    fn expire(&mut self) -> Option<Instant> {
        let max_age = self.config.max_age?;
        let now = Instant::now();
        while self.ring.len() > 1
            && let Some(oldest) = self.ring.front()
            && oldest
                .at
                .is_none_or(|at| now.saturating_duration_since(at) > max_age)
        {
            self.ring_bytes -= oldest.frame.len();
            self.ring.pop_front();
        }
        Some(now)
    }
}

/// One subscriber's stream of encoded frames; see [`Hub::subscribe`]. Use it as an SSE response
/// body. Dropping it unsubscribes.
///
/// A server may also write its frames to the client itself, without waking the task that polls
/// it: see [`direct`](crate::direct).
pub struct Subscription {
    pub(crate) shared: Arc<SubShared>,
    /// This subscription's slot in the hub's `subscribers`, vacated by `Drop`.
    key: usize,
    /// The hub, to leave it on `Drop`. Weak, so that subscriptions do not keep a dropped hub's
    /// retained events alive.
    hub: Weak<Mutex<HubState>>,
    gap_type: EventType,
}

impl Subscription {
    /// Frames queued for this subscriber and not yet taken.
    pub fn queued(&self) -> usize {
        lock(&self.shared.0).queue.len()
    }

    /// Whether this subscription waits for its source's answer (see [`Hub::subscribe_or_hold`]).
    pub fn is_held(&self) -> bool {
        lock(&self.shared.0).held.is_some()
    }

    /// The source's answer to a held subscription (see [`Hub::subscribe_or_hold`]): `replay`
    /// (the frames after the client's id, up to the `newest` the hold reported; or the reset
    /// event alone) goes out first, then the live frames held meanwhile. With `skip_through`, the
    /// live frames up to and including that id are dropped, those held and those still to come:
    /// the client already has them. It must be an id the hub has not yet seen when the
    /// subscription was held (newer than `newest`), or the stream would wait for it forever.
    ///
    /// No effect on a subscription that is not held (one the hub ended meanwhile, say).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::StreamExt;
    /// use ssewire::Event;
    /// use ssewire_stream::Hub;
    ///
    /// let hub = Hub::default();
    /// // A client that saw "3" on a faster instance; this one has seen nothing yet.
    /// let Err((mut held, None)) = hub.subscribe_or_hold(Some("3")) else { unreachable!() };
    /// hub.ingest("2", Event::new("b").with_id("2")?.to_bytes());
    /// held.answer([], Some("3"));
    /// hub.ingest("3", Event::new("c").with_id("3")?.to_bytes());
    /// hub.ingest("4", Event::new("d").with_id("4")?.to_bytes());
    /// assert_eq!(held.next().await.unwrap(), "id: 4\ndata: d\n\n");
    /// # Ok::<(), ssewire::Error>(()) }).unwrap();
    /// ```
    pub fn answer(&self, replay: impl IntoIterator<Item = Bytes>, skip_through: Option<&str>) {
        let replay: Vec<Bytes> = replay.into_iter().collect();
        let mut sub = lock(&self.shared.0);
        let Some(mut held) = sub.held.take() else {
            return;
        };
        if let Some(through) = skip_through {
            match held.iter().position(|(id, _)| **id == *through) {
                Some(pos) => drop(held.drain(..=pos)),
                None => {
                    held.clear();
                    sub.skip_through = Some(through.into());
                }
            }
        }
        for frame in replay {
            sub.queue.push_back(frame);
        }
        for (_, frame) in held {
            sub.queue.push_back(frame);
        }
        let woken = if sub.queue.is_empty() {
            None
        } else if let Some(lane) = &sub.direct.lane {
            Some(lane.clone())
        } else {
            sub.waker.take()
        };
        drop(sub);
        if let Some(waker) = woken {
            waker.wake();
        }
    }

    /// Ends this subscription's stream: a held one whose source could not answer (unreachable),
    /// so that the client reconnects with the same id and never gets a false reset.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use futures_lite::StreamExt;
    /// use ssewire_stream::Hub;
    ///
    /// let hub = Hub::default();
    /// let Err((mut held, _)) = hub.subscribe_or_hold(Some("7")) else { unreachable!() };
    /// held.end();
    /// assert_eq!(held.next().await, None);
    /// # });
    /// ```
    pub fn end(&self) {
        let mut sub = lock(&self.shared.0);
        sub.held = None;
        sub.disconnected = true;
        sub.queue.clear();
        let woken = sub.waker.take();
        drop(sub);
        if let Some(waker) = woken {
            waker.wake();
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("queued", &self.queued())
            .finish()
    }
}

impl Stream for Subscription {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let dropped = {
            let mut sub = lock(&self.shared.0);
            if sub.disconnected {
                return Poll::Ready(None);
            }
            if sub.dropped == 0 {
                // Held: nothing goes out before the source's answer (then `queue` is empty).
                if let Some(frame) = sub.queue.pop_front() {
                    return Poll::Ready(Some(frame));
                }
                let old = sub.waker.replace(cx.waker().clone());
                drop(sub);
                // Dropped unlocked (see `SubShared`).
                drop(old);
                return Poll::Pending;
            }
            mem::take(&mut sub.dropped)
        };
        // The gap marker stands where the dropped events were: before what is queued. Encoded
        // with the subscriber's lock released.
        let mut marker = Event::new(dropped.to_string());
        marker.set_event(self.gap_type.clone());
        Poll::Ready(Some(marker.to_bytes()))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The subscriber's lock, released before the hub's is taken (see `SubShared`): from here
        // on `publish` skips this subscriber until its slot is vacated below.
        let (queue, direct) = {
            let mut sub = lock(&self.shared.0);
            sub.closed = true;
            // The sink goes now, not at the fan-out task's next pass, so the socket is let go.
            (mem::take(&mut sub.queue), mem::take(&mut sub.direct))
        };
        // Dropped unlocked: letting the socket go may be a system call.
        drop((queue, direct));
        if let Some(hub) = self.hub.upgrade() {
            // The slot is this subscription's: only this `Drop` vacates it.
            lock(&hub).subscribers.try_remove(self.key);
        }
    }
}

/// The subscriber table and the locking rules, which the public tests (`tests/hub.rs`) cannot
/// see: departed subscribers leave no trace, and no lock is held while a waker runs.
#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::thread;

    /// The hub's subscriber slots, vacant ones included.
    fn slots(hub: &Hub) -> usize {
        lock(&hub.state).subscribers.capacity()
    }

    fn next(sub: &mut Subscription) -> Poll<Option<Bytes>> {
        Pin::new(sub).poll_next(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn departed_subscribers_leave_their_slot_for_the_next() {
        let hub = Hub::default();
        let mut stays = hub.subscribe(None);
        // Browsers reconnecting over and over: each departure frees the slot the next arrival
        // takes, so the table stays as large as the most subscribers ever connected at once.
        for _ in 0..1000 {
            let passing = hub.subscribe(None);
            assert_eq!(hub.subscribers(), 2);
            drop(passing);
            assert_eq!(hub.subscribers(), 1);
        }
        assert!(slots(&hub) <= 4, "{} slots for 2 subscribers", slots(&hub));
        // A subscription in a reused slot gets what is published, as does the one that stayed.
        let mut a = hub.subscribe(None);
        let mut b = hub.subscribe(None);
        drop(a);
        a = hub.subscribe(None);
        hub.publish(&Event::new("x"));
        for sub in [&mut stays, &mut a, &mut b] {
            assert_eq!(
                next(sub),
                Poll::Ready(Some(Bytes::from("id: 1\ndata: x\n\n")))
            );
        }
        drop((stays, a, b));
        assert_eq!(hub.subscribers(), 0);
        assert_eq!(lock(&hub.state).subscribers.len(), 0);
    }

    #[test]
    fn a_subscription_may_outlive_its_hub() {
        let hub = Hub::default();
        hub.publish(&Event::new("x"));
        hub.publish(&Event::new("y"));
        let mut sub = hub.subscribe(Some("1"));
        drop(hub);
        // What was queued is still there; then nothing more comes (and nothing ends the stream:
        // the hub did not disconnect it). Dropping it then finds no hub to leave.
        assert_eq!(
            next(&mut sub),
            Poll::Ready(Some(Bytes::from("id: 2\ndata: y\n\n")))
        );
        assert_eq!(next(&mut sub), Poll::Pending);
        drop(sub);
    }

    /// A waker that uses the hub and the subscriber's state: were either lock held while it runs,
    /// the thread would deadlock.
    struct Reentrant {
        hub: Hub,
        handle: crate::direct::DirectHandle,
        woken: AtomicUsize,
    }

    impl std::task::Wake for Reentrant {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            let _ = self.hub.subscribers();
            let _ = self.handle.sent_at();
            self.woken.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A sink that takes every frame.
    struct Discard;

    impl crate::direct::Sink for Discard {
        fn send(&mut self, _frame: &Bytes, _scratch: &mut [u8]) -> crate::direct::Sent {
            crate::direct::Sent::All
        }
    }

    #[test]
    fn no_lock_is_held_while_a_subscriber_is_woken() {
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            let hub = Hub::default();
            let mut sub = hub.subscribe(None);
            let reentrant = Arc::new(Reentrant {
                hub: hub.clone(),
                handle: sub.direct_handle(),
                woken: AtomicUsize::new(0),
            });
            let waker = Waker::from(reentrant.clone());
            let mut cx = Context::from_waker(&waker);
            // A publish wakes a waiting subscriber's task.
            assert!(Pin::new(&mut sub).poll_next(&mut cx).is_pending());
            hub.publish(&Event::new("1"));
            assert!(Pin::new(&mut sub).poll_next(&mut cx).is_ready());
            assert!(Pin::new(&mut sub).poll_next(&mut cx).is_pending());
            // And the fan-out task of a subscriber whose socket it has.
            let mut direct = hub.subscribe(None);
            let handle = direct.direct_handle();
            handle.attach(Box::new(Discard));
            assert!(Pin::new(&mut direct).poll_next(&mut cx).is_pending());
            assert!(handle.release(&waker));
            hub.publish(&Event::new("2"));
            // `disconnect_all` wakes the tasks still waiting (only the direct subscriber's: the
            // other one's waker was taken by the publish).
            hub.disconnect_all();
            done.send(reentrant.woken.load(Ordering::SeqCst)).unwrap();
        });
        // Generous: the thread needs microseconds, unless it is deadlocked.
        let woken = finished
            .recv_timeout(core::time::Duration::from_secs(30))
            .expect("a lock held while waking deadlocked the thread");
        assert_eq!(woken, 4);
    }

    /// Publishers, subscribers that come and go, and a disconnect, on several threads: the two
    /// locks are always taken in the same order, so nothing deadlocks, and every departure is
    /// counted.
    #[test]
    fn concurrent_subscribes_drops_and_publishes() {
        let hub = Hub::new(HubConfig {
            backlog: 4,
            ..HubConfig::default()
        });
        let (done, finished) = mpsc::channel();
        for t in 0..4 {
            let (hub, done) = (hub.clone(), done.clone());
            thread::spawn(move || {
                for i in 0..300 {
                    let mut sub = hub.subscribe(Some(&format!("{i}")));
                    hub.publish(&Event::new(format!("{t} {i}")));
                    let _ = next(&mut sub);
                    if i % 100 == 0 {
                        hub.disconnect_all();
                    }
                }
                done.send(()).unwrap();
            });
        }
        for _ in 0..4 {
            finished
                .recv_timeout(core::time::Duration::from_secs(60))
                .expect("deadlocked");
        }
        assert_eq!(hub.subscribers(), 0);
    }
}
