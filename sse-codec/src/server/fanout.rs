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
//! One lane per core, each a task on the server's runtime, spawned when the first subscription
//! joins and ended when the server's last connection has closed. The lanes share one list of
//! subscriptions and take a pass over it in shares of `SHARE` from a common cursor, so a lane
//! whose thread shares its core with another process does not hold back a fixed part of the
//! subscribers: the other lanes take more shares. (With a fixed half per lane, the load
//! benchmark's per-subscriber latencies showed the two halves of a broadcast arriving 1.5–1.9×
//! apart in the bursts examined.)
//!
//! Two lanes may visit one subscriber at once when a pass begins while a share of the previous
//! one is still being written: the one that finds the socket out leaves the new frames to the
//! lane writing, whose [`DirectHandle::deliver`] takes another turn for them.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::task::Wake;
use std::time::Instant;

use bytes::Bytes;

use crate::hub::DirectHandle;

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
pub(super) struct Lanes {
    pool: Arc<Pool>,
    /// The lanes' tasks and how to spawn them, until the first subscription joins.
    idle: Mutex<Option<(Vec<LaneTask>, Start)>>,
}

impl Lanes {
    /// `count` lanes (at least one), whose tasks `start` spawns when the first subscription
    /// joins (a server that serves none runs none).
    pub(super) fn new(count: usize, start: impl FnOnce(Vec<LaneTask>) + Send + 'static) -> Lanes {
        let count = count.max(1);
        let pool = Arc::new(Pool {
            subs: RwLock::new(Vec::new()),
            cursor: AtomicUsize::new(0),
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
    pub(super) fn join(&self, sub: DirectHandle) -> Waker {
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
    /// The subscriptions. Read-locked by a lane while it serves a share, write-locked (when
    /// subscriptions joined or left) as a pass begins.
    subs: RwLock<Vec<DirectHandle>>,
    /// The first subscription of the pass in progress that no lane has taken yet; at or past the
    /// end when every share is taken.
    cursor: AtomicUsize,
    /// Subscriptions joined since the last pass began.
    joining: Mutex<Vec<DirectHandle>>,
    /// Where in `subs` the passes found subscriptions gone (removed as a pass begins).
    gone: Mutex<Vec<usize>>,
    /// Subscriptions in the list or joining, gone ones included until they are removed.
    members: AtomicUsize,
    /// Set by a wake; cleared by the lane that begins the next pass.
    woken: AtomicBool,
    /// The server is gone: the lanes' tasks end.
    closed: AtomicBool,
    /// Each lane task's waker.
    tasks: Mutex<Vec<Option<Waker>>>,
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

    /// Serves the next share of the pass in progress. `Some(n)`: served `n` (0 when every share
    /// is taken); `None` when a pass is beginning (the list is locked).
    fn serve_share(
        &self,
        scratch: &mut [u8],
        batch: &mut Vec<Bytes>,
        now: Instant,
    ) -> Option<usize> {
        let subs = self.subs.try_read().ok()?;
        let len = subs.len();
        if self.cursor.load(Ordering::SeqCst) >= len {
            return Some(0);
        }
        let at = self.cursor.fetch_add(SHARE, Ordering::SeqCst);
        if at >= len {
            return Some(0);
        }
        let end = (at + SHARE).min(len);
        for (i, sub) in subs[at..end].iter().enumerate() {
            if !sub.deliver(scratch, batch, now) {
                lock(&self.gone).push(at + i);
            }
        }
        Some(end - at)
    }

    /// Begins a pass: takes in the subscriptions that joined, drops those found gone, and sets
    /// the cursor to the start.
    fn begin_pass(&self) {
        let changed = !lock(&self.joining).is_empty() || !lock(&self.gone).is_empty();
        if changed {
            let mut subs = self
                .subs
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // No lane is serving now: the places recorded are places in this list.
            let mut gone = core::mem::take(&mut *lock(&self.gone));
            gone.sort_unstable();
            gone.dedup();
            for &at in gone.iter().rev() {
                if at < subs.len() {
                    subs.swap_remove(at);
                    self.members.fetch_sub(1, Ordering::SeqCst);
                }
            }
            subs.append(&mut lock(&self.joining));
        }
        self.cursor.store(0, Ordering::SeqCst);
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
pub(super) struct LaneTask {
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
            pool.subs
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clear();
            lock(&pool.joining).clear();
            return Poll::Ready(());
        }
        // A wake that comes after the waker is stored is seen below or wakes the task again: at
        // worst an empty pass, never a lost one.
        let now = Instant::now();
        let mut served = 0;
        while served < BUDGET {
            match pool.serve_share(&mut this.scratch, &mut this.batch, now) {
                Some(0) => {}
                Some(n) => {
                    served += n;
                    continue;
                }
                // A pass is beginning: the lane that begins it wakes every lane after (this
                // one's waker is registered above). Waking itself here instead would spin, and
                // take the CPU from the lane whose share the pass waits for.
                None => return Poll::Pending,
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
    use crate::Event;
    use crate::hub::{Hub, Sent, Sink, Subscription};
    use alloc::format;
    use alloc::string::String;
    use futures_core::Stream;
    use proptest::prelude::*;

    /// A socket that takes every frame whole and keeps it.
    struct Record(Arc<Mutex<Vec<Bytes>>>);

    impl Sink for Record {
        fn send(&mut self, frame: &Bytes, _scratch: &mut [u8]) -> Sent {
            lock(&self.0).push(frame.clone());
            Sent::All
        }
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

    fn run(ops: Vec<Op>, count: usize) -> Result<(), String> {
        let started: Arc<Mutex<Vec<LaneTask>>> = Arc::default();
        let lanes = Lanes::new(2, {
            let started = started.clone();
            move |tasks| lock(&started).extend(tasks)
        });
        let hub = Hub::default();
        let mut cx = Context::from_waker(Waker::noop());
        let mut subscribers: Vec<Subscriber> = (0..count)
            .map(|_| {
                let mut sub = hub.subscribe(None);
                let handle = sub.direct_handle();
                let got = Arc::default();
                handle.attach(Box::new(Record(Arc::clone(&got))));
                let lane = lanes.join(handle.clone());
                // As the server's task does: poll the subscription to `Pending`, then release.
                assert!(Pin::new(&mut sub).poll_next(&mut cx).is_pending());
                assert!(handle.release(&lane));
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
            let got: Vec<String> = lock(&subscriber.got)
                .iter()
                .map(|frame| String::from_utf8_lossy(frame).into_owned())
                .collect();
            let want: Vec<String> = (1..=published)
                .map(|n| format!("id: {n}\ndata: {n}\n\n"))
                .collect();
            prop_assert_or(got == want, || format!("subscriber {i} got {got:?}"))?;
        }
        let live = subscribers.iter().filter(|s| s.sub.is_some()).count();
        let listed = lanes.pool.subs.read().unwrap().len();
        prop_assert_or(listed == live, || format!("{listed} listed, {live} live"))?;
        prop_assert_or(lanes.pool.members.load(Ordering::SeqCst) == live, || {
            "members counted wrong".into()
        })
    }

    fn prop_assert_or(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
        if ok { Ok(()) } else { Err(message()) }
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
            if let Err(message) = run(ops, count) {
                return Err(TestCaseError::fail(message));
            }
        }
    }
}
