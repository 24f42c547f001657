//! Fan-out tasks ("lanes") for hub subscriptions served on the lean HTTP/1.1 path.
//!
//! Waking a connection's task for every event of a broadcast costs more than the event's own
//! `send` outside the kernel: the executor's queue, the task's poll through the body, the
//! subscription's lock twice, the keep-alive timer. Once such a stream is idle (everything queued
//! written, the subscription polled to `Pending`), its task releases the socket to a lane: a
//! `publish` then wakes the few lanes instead of every subscriber's task, and the lanes write the
//! new frames to the subscribers' sockets, with one non-blocking `send` each. Whatever a lane
//! cannot finish (a full socket, a gap marker, the end) goes back to the connection's task; see
//! [`DirectHandle`].
//!
//! Measured (`benches/load`, server and client pinned to cores of their own, 5 000 streams at
//! 10 events/s, medians of three rounds): against each connection's task writing its own events,
//! the lanes cut server CPU per event by 17% on smol and 11% on async-std, and p99 latency by 15%
//! and 10%.
//!
//! One lane per core, each a task on the server's runtime, spawned when the first subscription
//! joins and ended when the server's last connection has closed. The lanes share one list of
//! subscriptions and take a pass over it in shares of `SHARE`, the next share to whichever lane
//! asks, so a lane whose thread shares its core with another process does not hold back a fixed
//! part of the subscribers: the other lanes take more shares.
//!
//! Two lanes may visit one subscriber at once when a pass begins while a share of the previous
//! one is still being written: the one that finds the socket out leaves the new frames to the
//! lane writing, whose [`DirectHandle::deliver`] takes another turn for them.
//!
//! No lock is held across a write: a lane takes its share (the list's `Arc` and a range of it)
//! under the pass's lock and writes without it, and a pass that must add or drop subscriptions
//! copies the list if a lane is still writing a share of the old one. So a lane whose thread is
//! descheduled in the middle of a share holds back only the rest of that share.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use std::sync::{Mutex, MutexGuard};
use std::task::Wake;
use std::time::Instant;

use bytes::Bytes;

use ssewire_stream::direct::DirectHandle;

/// Subscriptions a lane serves per poll before it lets other tasks run.
const BUDGET: usize = 64;

/// Subscriptions a lane takes from the pass at a time.
const SHARE: usize = 16;

/// Scratch space a lane stages small frames in (see `lean::FLAT_CHUNK`).
const SCRATCH: usize = 2048;

/// Spawns the lanes' tasks.
type Start = Box<dyn FnOnce(Vec<LaneTask>) + Send>;

/// The lanes of one server. Dropped with the server's last connection (and its accept loop): the
/// lanes' tasks then end.
pub(crate) struct Lanes {
    pool: Arc<Pool>,
    /// The lanes' tasks and how to spawn them, until the first subscription joins.
    idle: Mutex<Option<(Vec<LaneTask>, Start)>>,
}

impl Lanes {
    /// `count` lanes (at least one), whose tasks `start` spawns when the first subscription
    /// joins (a server that serves none runs none).
    pub(crate) fn new(count: usize, start: impl FnOnce(Vec<LaneTask>) + Send + 'static) -> Lanes {
        let count = count.max(1);
        let pool = Arc::new(Pool {
            pass: Mutex::new(Pass {
                subs: Arc::new(Vec::new()),
                next: 0,
            }),
            joining: Mutex::new(Vec::new()),
            gone: Mutex::new(Vec::new()),
            members: AtomicUsize::new(0),
            woken: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            tasks: Mutex::new(vec![None; count]),
        });
        let tasks = (0..count)
            .map(|index| LaneTask {
                pool: pool.clone(),
                index,
                scratch: vec![0; SCRATCH],
                batch: Vec::new(),
            })
            .collect();
        Lanes {
            pool,
            idle: Mutex::new(Some((tasks, Box::new(start)))),
        }
    }

    /// Adds a subscription to the lanes' list (at their next pass); returns the waker that wakes
    /// the lanes.
    pub(crate) fn join(&self, sub: DirectHandle) -> Waker {
        let idle = lock(&self.idle).take();
        if let Some((tasks, start)) = idle {
            start(tasks);
        }
        lock(&self.pool.joining).push(sub);
        let waker = Waker::from(self.pool.clone());
        // Subscriptions that are gone leave at a pass after the one that finds them; with streams
        // coming and going and no event to send, the lanes are woken for a pass at each power of
        // two (amortised O(1); about as many gone as live ones are kept at most).
        let members = self.pool.members.fetch_add(1, Ordering::SeqCst) + 1;
        if members >= 64 && members.is_power_of_two() {
            waker.wake_by_ref();
        }
        waker
    }
}

impl Drop for Lanes {
    fn drop(&mut self) {
        self.pool.closed.store(true, Ordering::SeqCst);
        self.pool.wake_tasks();
    }
}

/// What the lanes of a server share.
struct Pool {
    /// The pass in progress. Locked only to take a share or to begin a pass, never across a
    /// write.
    pass: Mutex<Pass>,
    /// Subscriptions joined since the last pass began.
    joining: Mutex<Vec<DirectHandle>>,
    /// Subscriptions the passes found gone (dropped from the list as a pass begins).
    gone: Mutex<Vec<DirectHandle>>,
    /// Subscriptions in the list or joining, gone ones included until they are dropped.
    members: AtomicUsize,
    /// Set by a wake; cleared by the lane that begins the next pass.
    woken: AtomicBool,
    /// The server is gone: the lanes' tasks end.
    closed: AtomicBool,
    /// Each lane task's waker.
    tasks: Mutex<Vec<Option<Waker>>>,
}

/// A pass over the subscriptions.
struct Pass {
    /// The subscriptions. Shared with the lanes writing a share of it; copied on change if any
    /// still is.
    subs: Arc<Vec<DirectHandle>>,
    /// The first subscription no lane has taken yet; the list's length when every share is
    /// taken.
    next: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pool {
    fn wake_tasks(&self) {
        let tasks: Vec<Waker> = lock(&self.tasks)
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for task in tasks {
            task.wake();
        }
    }

    /// Serves the next share of the pass in progress; returns how many subscriptions it had (0
    /// when every share is taken).
    fn serve_share(&self, scratch: &mut [u8], batch: &mut Vec<Bytes>, now: Instant) -> usize {
        let (subs, share) = {
            let mut pass = lock(&self.pass);
            let at = pass.next;
            let end = (at + SHARE).min(pass.subs.len());
            if at >= end {
                return 0;
            }
            pass.next = end;
            (Arc::clone(&pass.subs), at..end)
        };
        let served = share.len();
        for sub in &subs[share] {
            if !sub.deliver(scratch, batch, now) {
                lock(&self.gone).push(sub.clone());
            }
        }
        served
    }

    /// Begins a pass: takes in the subscriptions that joined, drops those found gone, and sets
    /// the pass to its start.
    fn begin_pass(&self) {
        let mut joining = core::mem::take(&mut *lock(&self.joining));
        let mut gone = core::mem::take(&mut *lock(&self.gone));
        gone.sort_unstable_by_key(DirectHandle::key);
        let mut pass = lock(&self.pass);
        if !joining.is_empty() || !gone.is_empty() {
            // In place unless a lane is still writing a share of the old list.
            // (A copy is O(n) reference counts under the lock: tens of microseconds for
            // thousands of subscriptions, once per pass that has joiners or departures.)
            let subs = Arc::make_mut(&mut pass.subs);
            if !gone.is_empty() {
                let before = subs.len();
                // A subscription may have been found gone twice (by two lanes in overlapping
                // passes, or again after it was dropped): each is dropped once, and counted once.
                subs.retain(|sub| {
                    gone.binary_search_by_key(&sub.key(), DirectHandle::key)
                        .is_err()
                });
                self.members
                    .fetch_sub(before - subs.len(), Ordering::SeqCst);
            }
            subs.append(&mut joining);
        }
        pass.next = 0;
        // The pass's lock is released before the last handles of gone subscriptions (and their
        // sockets) are dropped.
        drop(pass);
    }
}

impl Wake for Pool {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Already set: no lane has begun the next pass yet, and the one that does sees the new
        // frames.
        if !self.woken.swap(true, Ordering::SeqCst) {
            self.wake_tasks();
        }
    }
}

/// A lane's task: shares of the pass in progress, a new pass after each wake, `BUDGET`
/// subscriptions per poll.
pub(crate) struct LaneTask {
    pool: Arc<Pool>,
    /// This lane's place in `Pool::tasks`.
    index: usize,
    scratch: Vec<u8>,
    /// The frames of one subscription's turn.
    batch: Vec<Bytes>,
}

impl Future for LaneTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let pool = &*this.pool;
        {
            let mut tasks = lock(&pool.tasks);
            let task = &mut tasks[this.index];
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        if pool.closed.load(Ordering::SeqCst) {
            let subs = core::mem::take(&mut lock(&pool.pass).subs);
            drop(subs);
            lock(&pool.joining).clear();
            lock(&pool.gone).clear();
            return Poll::Ready(());
        }
        // A wake that comes after the waker is stored is seen below or wakes the task again: at
        // worst an empty pass, never a lost one.
        let now = Instant::now();
        let mut served = 0;
        while served < BUDGET {
            let n = pool.serve_share(&mut this.scratch, &mut this.batch, now);
            if n > 0 {
                served += n;
                continue;
            }
            // Every share is taken: another pass if a publish came since this one began.
            if !pool.woken.swap(false, Ordering::SeqCst) {
                return Poll::Pending;
            }
            pool.begin_pass();
            // The other lanes take shares too.
            pool.wake_tasks();
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The lanes with no runtime: subscribers whose sinks record what they get, two lanes polled in
/// any order between publishes and departures.
#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use futures_core::Stream;
    use proptest::prelude::*;
    use ssewire::Event;
    use ssewire_stream::direct::{Sent, Sink};
    use ssewire_stream::{Hub, Subscription};

    /// A socket that takes every frame whole and keeps it.
    struct Record(Arc<Mutex<Vec<Bytes>>>);

    impl Sink for Record {
        fn send(&mut self, frame: &Bytes, _scratch: &mut [u8]) -> Sent {
            lock(&self.0).push(frame.clone());
            Sent::All
        }
    }

    /// `count` lanes whose tasks the test runs itself: they land in the vector once the first
    /// subscription joins.
    fn lanes_by_hand(count: usize) -> (Lanes, Arc<Mutex<Vec<LaneTask>>>) {
        let started: Arc<Mutex<Vec<LaneTask>>> = Arc::default();
        let lanes = Lanes::new(count, {
            let started = started.clone();
            move |tasks| lock(&started).extend(tasks)
        });
        (lanes, started)
    }

    /// A subscription handed to the lanes as the server's task does it: the socket attached,
    /// joined, polled to `Pending`, released.
    fn subscribe_released(hub: &Hub, lanes: &Lanes, sink: Box<dyn Sink>) -> Subscription {
        let mut sub = hub.subscribe(None);
        let handle = sub.direct_handle();
        handle.attach(sink);
        let lane = lanes.join(handle.clone());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut sub).poll_next(&mut cx).is_pending());
        assert!(handle.release(&lane));
        sub
    }

    /// The frames a sink kept, as text.
    fn texts(got: &Mutex<Vec<Bytes>>) -> Vec<String> {
        lock(got)
            .iter()
            .map(|frame| String::from_utf8_lossy(frame).into_owned())
            .collect()
    }

    /// The frames of events `1..=last`, each published as `Event::new("<n>")`.
    fn frames_up_to(last: usize) -> Vec<String> {
        (1..=last)
            .map(|n| format!("id: {n}\ndata: {n}\n\n"))
            .collect()
    }

    #[derive(Debug, Clone)]
    enum Op {
        Publish,
        Poll(usize),
        /// A subscriber leaves (its stream ends).
        Leave(usize),
    }

    struct Subscriber {
        sub: Option<Subscription>,
        got: Arc<Mutex<Vec<Bytes>>>,
    }

    fn run(ops: Vec<Op>, count: usize) -> Result<(), TestCaseError> {
        let (lanes, started) = lanes_by_hand(2);
        let hub = Hub::default();
        let mut cx = Context::from_waker(Waker::noop());
        let mut subscribers: Vec<Subscriber> = (0..count)
            .map(|_| {
                let got = Arc::default();
                let sub = subscribe_released(&hub, &lanes, Box::new(Record(Arc::clone(&got))));
                Subscriber {
                    sub: Some(sub),
                    got,
                }
            })
            .collect();
        let mut tasks = core::mem::take(&mut *lock(&started));
        let mut published = 0;
        let mut poll = |tasks: &mut Vec<LaneTask>, k: usize| {
            let _ = Pin::new(&mut tasks[k % 2]).poll(&mut cx);
        };
        for op in ops {
            match op {
                Op::Publish => {
                    published += 1;
                    hub.publish(&Event::new(format!("{published}")));
                }
                Op::Poll(k) => poll(&mut tasks, k),
                Op::Leave(i) => subscribers[i % count].sub = None,
            }
        }
        // Two passes more (the second drops what the first found gone), each polled out.
        for _ in 0..2 {
            Waker::from(lanes.pool.clone()).wake();
            for k in 0..200 {
                poll(&mut tasks, k);
            }
        }
        for (i, subscriber) in subscribers.iter().enumerate() {
            if subscriber.sub.is_none() {
                continue;
            }
            let got = texts(&subscriber.got);
            prop_assert!(got == frames_up_to(published), "subscriber {i} got {got:?}");
        }
        let live = subscribers.iter().filter(|s| s.sub.is_some()).count();
        let listed = lock(&lanes.pool.pass).subs.len();
        prop_assert!(listed == live, "{listed} listed, {live} live");
        prop_assert!(
            lanes.pool.members.load(Ordering::SeqCst) == live,
            "members counted wrong"
        );
        Ok(())
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => Just(Op::Publish),
            6 => (0usize..2).prop_map(Op::Poll),
            1 => any::<usize>().prop_map(Op::Leave),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every live subscriber gets every frame once, in order, whichever lane serves it; the
        /// ones that left are dropped from the list. (Two lanes writing to one subscriber at
        /// once is the hub's model test's part: here each poll serves whole shares.)
        #[test]
        fn two_lanes_deliver_each_frame_once_and_drop_the_gone(
            ops in proptest::collection::vec(op(), 1..120),
            count in 1usize..150,
        ) {
            run(ops, count)?;
        }
    }

    /// The lanes on threads of their own, as on a multi-threaded runtime.
    mod threaded {
        use super::*;
        use std::sync::mpsc::{self, Receiver, Sender};
        use std::thread::{self, JoinHandle, Thread};
        use std::time::Duration;

        /// How long a step may take before the test calls it stuck.
        const STUCK: Duration = Duration::from_secs(10);

        /// A lane thread's waker: sets its flag and unparks it.
        struct Flag(AtomicBool, Thread);

        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.wake_by_ref();
            }

            fn wake_by_ref(self: &Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
                self.1.unpark();
            }
        }

        /// Runs each lane on a thread of its own, polling it when woken; stops and joins them
        /// when dropped (a failed assertion included).
        struct LaneThreads {
            stop: Arc<AtomicBool>,
            threads: Vec<JoinHandle<()>>,
        }

        impl LaneThreads {
            fn start(tasks: Vec<LaneTask>) -> LaneThreads {
                let stop = Arc::new(AtomicBool::new(false));
                let threads = tasks
                    .into_iter()
                    .map(|mut task| {
                        let stop = stop.clone();
                        thread::spawn(move || {
                            let flag = Arc::new(Flag(AtomicBool::new(true), thread::current()));
                            let waker = Waker::from(flag.clone());
                            let mut cx = Context::from_waker(&waker);
                            while !stop.load(Ordering::SeqCst) {
                                if !flag.0.swap(false, Ordering::SeqCst) {
                                    thread::park_timeout(Duration::from_millis(1));
                                } else if Pin::new(&mut task).poll(&mut cx).is_ready() {
                                    return;
                                }
                            }
                        })
                    })
                    .collect();
                LaneThreads { stop, threads }
            }
        }

        impl Drop for LaneThreads {
            fn drop(&mut self) {
                self.stop.store(true, Ordering::SeqCst);
                for thread in self.threads.drain(..) {
                    thread.thread().unpark();
                    let _ = thread.join();
                }
            }
        }

        /// A socket whose write, once armed, says so and then blocks until the test lets it go
        /// (or is gone): a lane's thread descheduled in the middle of a share.
        struct Stall {
            got: Arc<Mutex<Vec<Bytes>>>,
            armed: Arc<AtomicBool>,
            entered: Sender<()>,
            go: Receiver<()>,
        }

        impl Sink for Stall {
            fn send(&mut self, frame: &Bytes, _scratch: &mut [u8]) -> Sent {
                if self.armed.swap(false, Ordering::SeqCst) {
                    let _ = self.entered.send(());
                    let _ = self.go.recv();
                }
                lock(&self.got).push(frame.clone());
                Sent::All
            }
        }

        /// Waits until every one of `gots` holds `n` frames; `false` if that takes `STUCK`.
        fn wait_for(gots: &[Arc<Mutex<Vec<Bytes>>>], n: usize) -> bool {
            let start = Instant::now();
            while gots.iter().any(|got| lock(got).len() < n) {
                if start.elapsed() > STUCK {
                    return false;
                }
                thread::sleep(Duration::from_micros(200));
            }
            true
        }

        /// One subscriber's write stalls in the middle of a share while a stream joins and
        /// another leaves: the next event still reaches every other subscriber, and the stalled
        /// one gets everything once its write goes on.
        #[test]
        fn a_stalled_write_holds_back_only_its_share_when_streams_come_and_go() {
            let (lanes, started) = lanes_by_hand(2);
            let hub = Hub::default();
            let armed = Arc::new(AtomicBool::new(false));
            let (entered_tx, entered) = mpsc::channel();
            let (go, go_rx) = mpsc::channel();
            let mut stall = Some(Stall {
                got: Arc::default(),
                armed: armed.clone(),
                entered: entered_tx,
                go: go_rx,
            });
            let subscribe = |stall: Option<Stall>| {
                let (got, sink): (_, Box<dyn Sink>) = match stall {
                    Some(stall) => (stall.got.clone(), Box::new(stall)),
                    None => {
                        let got: Arc<Mutex<Vec<Bytes>>> = Arc::default();
                        (got.clone(), Box::new(Record(got)))
                    }
                };
                (subscribe_released(&hub, &lanes, sink), got)
            };
            // The first subscriber's socket stalls; it is first in the first share.
            let (stalled, stalled_got) = subscribe(stall.take());
            let mut others: Vec<_> = (1..40).map(|_| subscribe(None)).collect();
            let lane_threads = LaneThreads::start(core::mem::take(&mut *lock(&started)));
            // Dropped before the lane threads are joined, a failed assertion included: the
            // stalled write goes on, and its lane can stop.
            let go = go;

            hub.publish(&Event::new("1"));
            let gots = |subs: &[(Subscription, Arc<Mutex<Vec<Bytes>>>)]| {
                subs.iter().map(|(_, got)| got.clone()).collect::<Vec<_>>()
            };
            assert!(
                wait_for(&gots(&others), 1),
                "event 1 never reached everyone"
            );
            assert!(wait_for(core::slice::from_ref(&stalled_got), 1));

            armed.store(true, Ordering::SeqCst);
            hub.publish(&Event::new("2"));
            entered
                .recv_timeout(STUCK)
                .expect("the armed write never began");
            // While that write stalls, a stream joins and another leaves.
            let joined = subscribe(None);
            drop(others.pop());
            hub.publish(&Event::new("3"));
            assert!(
                wait_for(&gots(&others), 3),
                "event 3 held back by the stalled share: {:?} of 3 frames",
                gots(&others)
                    .iter()
                    .map(|got| lock(got).len())
                    .collect::<Vec<_>>()
            );
            assert!(wait_for(core::slice::from_ref(&joined.1), 1));
            // Another pass (the one that drops the stream that left) goes through as well.
            hub.publish(&Event::new("4"));
            assert!(wait_for(&gots(&others), 4), "event 4 held back");
            // 38 others, the stalled one and the one that joined: the one that left is dropped.
            let start = Instant::now();
            while lock(&lanes.pool.pass).subs.len() != 40
                || lanes.pool.members.load(Ordering::SeqCst) != 40
            {
                assert!(
                    start.elapsed() < STUCK,
                    "the stream that left is still listed"
                );
                Waker::from(lanes.pool.clone()).wake();
                thread::sleep(Duration::from_millis(1));
            }

            drop(go);
            assert!(
                wait_for(core::slice::from_ref(&stalled_got), 4),
                "the stalled subscriber never got the rest"
            );
            for got in gots(&others).iter().chain([&stalled_got]) {
                assert_eq!(texts(got), frames_up_to(4));
            }
            assert_eq!(lock(&joined.1).len(), 2);
            drop(lane_threads);
            drop(stalled);
        }

        /// A socket that now and then takes nothing (full) or yields its thread mid-write.
        struct Flaky {
            got: Arc<Mutex<Vec<Bytes>>>,
            state: u64,
        }

        impl Sink for Flaky {
            fn send(&mut self, frame: &Bytes, _scratch: &mut [u8]) -> Sent {
                // xorshift64: each socket its own fixed sequence.
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                match self.state % 100 {
                    0..3 => return Sent::Nothing,
                    3..10 => thread::yield_now(),
                    _ => {}
                }
                lock(&self.got).push(frame.clone());
                Sent::All
            }
        }

        /// A connection's task, run by hand: what the lean path does with a subscription.
        struct Conn {
            sub: Option<Subscription>,
            handle: DirectHandle,
            lane: Waker,
            /// Released to the lanes (else this task writes).
            released: bool,
            got: Arc<Mutex<Vec<Bytes>>>,
            woken: Arc<Flag>,
            /// Events counted as published before it subscribed, and after (the count is
            /// taken before each publish: its first event is one of `before..=after + 1`).
            before: u64,
            after: u64,
        }

        impl Conn {
            fn new(hub: &Hub, lanes: &Lanes, published: &AtomicUsize, seed: u64) -> Conn {
                let before = published.load(Ordering::SeqCst) as u64;
                let sub = hub.subscribe(None);
                let after = published.load(Ordering::SeqCst) as u64;
                let handle = sub.direct_handle();
                let got: Arc<Mutex<Vec<Bytes>>> = Arc::default();
                handle.attach(Box::new(Flaky {
                    got: got.clone(),
                    state: seed | 1,
                }));
                let lane = lanes.join(handle.clone());
                Conn {
                    sub: Some(sub),
                    handle,
                    lane,
                    released: false,
                    got,
                    woken: Arc::new(Flag(AtomicBool::new(true), thread::current())),
                    before,
                    after,
                }
            }

            /// Takes the socket back if released, writes what the subscription has, releases.
            fn run(&mut self) {
                let Some(sub) = self.sub.as_mut() else { return };
                if !self.woken.0.swap(false, Ordering::SeqCst) {
                    return;
                }
                let waker = Waker::from(self.woken.clone());
                if self.released {
                    match self.handle.claim(&waker) {
                        Poll::Pending => return,
                        Poll::Ready(rest) => assert!(rest.is_none(), "a part-written frame"),
                    }
                    self.released = false;
                }
                let mut cx = Context::from_waker(&waker);
                loop {
                    match Pin::new(&mut *sub).poll_next(&mut cx) {
                        Poll::Ready(Some(frame)) => lock(&self.got).push(frame),
                        Poll::Ready(None) => panic!("a subscription ended"),
                        Poll::Pending => break,
                    }
                }
                self.released = self.handle.release(&self.lane);
            }

            /// The ids of the frames it got.
            fn ids(&self) -> Vec<u64> {
                texts(&self.got)
                    .iter()
                    .map(|text| {
                        let id = text.strip_prefix("id: ").and_then(|t| t.split('\n').next());
                        id.and_then(|id| id.parse().ok()).unwrap_or(u64::MAX)
                    })
                    .collect()
            }
        }

        /// Lanes on threads, connections' tasks on another, the publisher on a third, streams
        /// joining and leaving, sockets that fill up or stall: every live stream gets every
        /// event from its first one on, once and in order, and the list ends holding exactly
        /// the live streams.
        #[test]
        fn lanes_on_threads_deliver_each_event_once_in_order_while_streams_come_and_go() {
            for (lane_count, streams, events) in [(2, 40, 3000), (3, 70, 3000)] {
                run_threaded(lane_count, streams, events);
            }
        }

        fn run_threaded(lane_count: usize, streams: usize, events: usize) {
            let (lanes, started) = lanes_by_hand(lane_count);
            let lanes = Arc::new(lanes);
            // Room for every event: a frame dropped for a slow stream is the hub's test's part.
            let hub = Hub::new(ssewire_stream::HubConfig {
                backlog: events + 1,
                ..Default::default()
            });
            let published = Arc::new(AtomicUsize::new(0));
            let done = Arc::new(AtomicBool::new(false));
            let (ready_tx, ready) = mpsc::channel();
            let conns = thread::spawn({
                let (hub, lanes, published, done) =
                    (hub.clone(), lanes.clone(), published.clone(), done.clone());
                move || {
                    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
                    let mut next_seed = || {
                        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
                        seed
                    };
                    let mut conns: Vec<Conn> = (0..streams)
                        .map(|_| Conn::new(&hub, &lanes, &published, next_seed()))
                        .collect();
                    let _ = ready_tx.send(());
                    // `STUCK` bounds each stretch with no progress (no event published and no
                    // frame received), not the whole run.
                    let mut start = Instant::now();
                    let mut progress = 0;
                    let mut round = 0u64;
                    loop {
                        conns.iter_mut().for_each(Conn::run);
                        let now_at = published.load(Ordering::SeqCst)
                            + conns.iter().map(|c| lock(&c.got).len()).sum::<usize>();
                        if now_at != progress {
                            progress = now_at;
                            start = Instant::now();
                        }
                        round += 1;
                        let finished = done.load(Ordering::SeqCst);
                        if !finished && round.is_multiple_of(20) {
                            // One stream leaves, another joins.
                            let leaving = (next_seed() % conns.len() as u64) as usize;
                            conns[leaving].sub = None;
                            conns.push(Conn::new(&hub, &lanes, &published, next_seed()));
                        }
                        let last = published.load(Ordering::SeqCst) as u64;
                        if finished
                            && conns
                                .iter()
                                .filter(|c| c.sub.is_some())
                                .all(|c| c.ids().last().copied().unwrap_or(c.after) == last)
                        {
                            return conns;
                        }
                        assert!(
                            start.elapsed() < STUCK,
                            "no progress: {:?} of {last}",
                            conns
                                .iter()
                                .filter(|c| c.sub.is_some())
                                .map(|c| c.ids().last().copied())
                                .collect::<Vec<_>>()
                        );
                        thread::park_timeout(Duration::from_micros(200));
                    }
                }
            });
            ready
                .recv_timeout(STUCK)
                .expect("the connections never started");
            let lane_threads = LaneThreads::start(core::mem::take(&mut *lock(&started)));
            for n in 1..=events {
                // Counted first: a stream that sees `n` subscribed after `n - 1` was published.
                published.store(n, Ordering::SeqCst);
                hub.publish(&Event::new(format!("{n}")));
                // Now and then a pause, for the lanes to deliver while events come.
                if n % 16 == 0 {
                    thread::sleep(Duration::from_micros(50));
                } else {
                    thread::yield_now();
                }
            }
            done.store(true, Ordering::SeqCst);
            let conns = match conns.join() {
                Ok(conns) => conns,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            for conn in conns.iter().filter(|c| c.sub.is_some()) {
                let ids = conn.ids();
                let first = ids.first().copied().unwrap_or(conn.after + 1);
                assert!(
                    (conn.before..=conn.after + 1).contains(&first),
                    "first event {first}, subscribed between {} and {}",
                    conn.before,
                    conn.after
                );
                let want: Vec<u64> = (first..=events as u64).collect();
                assert_eq!(ids, want, "a stream's events, out of order or twice");
            }
            // A pass drops what the one before found gone: the list ends holding exactly the
            // live ones.
            let mut live: Vec<usize> = conns
                .iter()
                .filter(|c| c.sub.is_some())
                .map(|c| c.handle.key())
                .collect();
            live.sort_unstable();
            let start = Instant::now();
            loop {
                Waker::from(lanes.pool.clone()).wake();
                thread::sleep(Duration::from_millis(2));
                let mut listed: Vec<usize> = lock(&lanes.pool.pass)
                    .subs
                    .iter()
                    .map(DirectHandle::key)
                    .collect();
                listed.sort_unstable();
                if listed == live && lanes.pool.members.load(Ordering::SeqCst) == live.len() {
                    break;
                }
                assert!(
                    start.elapsed() < STUCK,
                    "{} listed, {} live, members {}",
                    listed.len(),
                    live.len(),
                    lanes.pool.members.load(Ordering::SeqCst)
                );
            }
            drop(lane_threads);
        }
    }
}
