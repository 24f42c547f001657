//! A broadcast hub : publish an event once, fan it out to every subscriber, and
//! replay what a reconnecting client missed (`Last-Event-ID`).
//!
//! Runtime-free like the rest of the crate: `publish` is a plain call that never waits, a
//! [`Subscription`] is a `futures_core::Stream` of encoded frames.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;

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
    id: String,
    frame: Bytes,
    /// When it was published (kept only with [`HubConfig::max_age`]).
    at: Option<Instant>,
}

struct HubState {
    config: HubConfig,
    next_id: u64,
    ring: VecDeque<Retained>,
    ring_bytes: usize,
    subscribers: Vec<Arc<SubShared>>,
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
                config,
                next_id: 1,
                ring: VecDeque::new(),
                ring_bytes: 0,
                subscribers: Vec::new(),
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
        let now = state.expire();
        let HubState {
            config,
            ring,
            ring_bytes,
            subscribers,
            ..
        } = &mut *state;
        // Retention: bounded by count and by bytes (and by age, above).
        ring.push_back(Retained {
            id: id.clone(),
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
        // The fan-out tasks of direct subscribers that got the frame.
        let mut lanes: Vec<Waker> = Vec::new();
        subscribers.retain(|sub| {
            let mut sub = lock(&sub.0);
            if sub.closed {
                return false;
            }
            if sub.disconnected {
                return true;
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
                        if let Some(waker) = sub.waker.take() {
                            waker.wake();
                        }
                        return true;
                    }
                }
            }
            sub.queue.push_back(frame.clone());
            if let Some(lane) = &sub.direct.lane {
                // Woken once per publish, after the hub is unlocked.
                if !lanes.iter().any(|woken| woken.will_wake(lane)) {
                    lanes.push(lane.clone());
                }
                return true;
            }
            if let Some(waker) = sub.waker.take() {
                waker.wake();
            }
            true
        });
        drop(state);
        for lane in lanes {
            lane.wake();
        }
        id
    }

    /// A subscription: first every retained event after `last_event_id` (the request's
    /// `Last-Event-ID`), then live events, with no gap and no duplicate between the two. An id the
    /// hub does not hold gets the [`HubConfig::reset`] event first; `None` starts live.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let mut state = lock(&self.state);
        state.expire();
        let mut sub = SubState::default();
        if let Some(last) = last_event_id {
            match state.ring.iter().rposition(|r| r.id == last) {
                Some(pos) => {
                    for retained in state.ring.iter().skip(pos + 1) {
                        sub.queue.push_back(retained.frame.clone());
                    }
                }
                None => sub.queue.push_back(state.config.reset.to_bytes()),
            }
        }
        let shared = Arc::new(SubShared(Mutex::new(sub)));
        state.subscribers.retain(|s| !lock(&s.0).closed);
        state.subscribers.push(shared.clone());
        Subscription {
            shared,
            gap_type: state.config.gap_type.clone(),
        }
    }

    /// Ends every subscriber's stream (a deploy, a resync): browsers reconnect with
    /// `Last-Event-ID` and get what they missed replayed.
    pub fn disconnect_all(&self) {
        let state = lock(&self.state);
        for sub in &state.subscribers {
            let mut sub = lock(&sub.0);
            sub.disconnected = true;
            sub.queue.clear();
            if let Some(waker) = sub.waker.take() {
                waker.wake();
            }
        }
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        let state = lock(&self.state);
        state
            .subscribers
            .iter()
            .filter(|s| !lock(&s.0).closed)
            .count()
    }

    /// Events retained for replay, and their encoded size in bytes.
    pub fn retained(&self) -> (usize, usize) {
        let mut state = lock(&self.state);
        state.expire();
        (state.ring.len(), state.ring_bytes)
    }
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
    gap_type: EventType,
}

impl Subscription {
    /// Frames queued for this subscriber and not yet taken.
    pub fn queued(&self) -> usize {
        lock(&self.shared.0).queue.len()
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
        let mut sub = lock(&self.shared.0);
        if sub.disconnected {
            return Poll::Ready(None);
        }
        if sub.dropped > 0 {
            // The gap marker stands where the dropped events were: before what is queued.
            let mut marker = Event::new(sub.dropped.to_string());
            marker.set_event(self.gap_type.clone());
            sub.dropped = 0;
            return Poll::Ready(Some(marker.to_bytes()));
        }
        match sub.queue.pop_front() {
            Some(frame) => Poll::Ready(Some(frame)),
            None => {
                sub.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut sub = lock(&self.shared.0);
        sub.closed = true;
        sub.queue.clear();
        // Lets the socket handle go now, not at the fan-out task's next pass.
        {
            sub.direct = Direct::default();
        }
    }
}
