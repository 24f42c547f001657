//! Fan-out tasks ("lanes") for hub subscriptions served on the lean HTTP/1.1 path.
//!
//! Waking a connection's task for every event of a broadcast costs more than the event's own
//! `send` outside the kernel: the executor's queue, the task's poll through the body, the
//! subscription's lock twice, the keep-alive timer. Once such a stream is idle (everything queued
//! written, the subscription polled to `Pending`), its task releases the socket to a lane: a
//! `publish` then wakes the few lanes instead of every subscriber's task, and each lane writes the
//! new frames to its subscribers' sockets in turn, with one non-blocking `send` each. Whatever a
//! lane cannot finish (a full socket, a gap marker, the end) goes back to the connection's task;
//! see [`DirectHandle`].
//!
//! One lane per core, each a task on the server's runtime, spawned when the first subscription
//! joins and ended when the server's last connection has closed.

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

use crate::hub::DirectHandle;

/// Subscriptions a lane serves per poll before it lets other tasks run.
const BUDGET: usize = 64;

/// Scratch space a lane stages small frames in (see `lean::FLAT_CHUNK`).
const SCRATCH: usize = 2048;

/// Spawns the lanes' tasks.
type Start = Box<dyn FnOnce(Vec<LaneTask>) + Send>;

/// The lanes of one server. Dropped with the server's last connection (and its accept loop): the
/// lanes' tasks then end.
pub(super) struct Lanes {
    lanes: Vec<Arc<Lane>>,
    next: AtomicUsize,
    /// The lanes' tasks and how to spawn them, until the first subscription joins.
    idle: Mutex<Option<(Vec<LaneTask>, Start)>>,
}

impl Lanes {
    /// `count` lanes (at least one), whose tasks `start` spawns when the first subscription
    /// joins (a server that serves none runs none).
    pub(super) fn new(count: usize, start: impl FnOnce(Vec<LaneTask>) + Send + 'static) -> Lanes {
        let lanes: Vec<Arc<Lane>> = (0..count.max(1))
            .map(|_| {
                Arc::new(Lane {
                    joining: Mutex::new(Vec::new()),
                    members: AtomicUsize::new(0),
                    woken: AtomicBool::new(false),
                    closed: AtomicBool::new(false),
                    task: Mutex::new(None),
                })
            })
            .collect();
        let tasks = lanes
            .iter()
            .map(|lane| LaneTask {
                lane: lane.clone(),
                subs: Vec::new(),
                cursor: 0,
                scratch: vec![0; SCRATCH],
                batch: Vec::new(),
            })
            .collect();
        Lanes {
            lanes,
            next: AtomicUsize::new(0),
            idle: Mutex::new(Some((tasks, Box::new(start)))),
        }
    }

    /// Adds a subscription to the next lane (in turn); returns the waker that wakes that lane.
    pub(super) fn join(&self, sub: DirectHandle) -> Waker {
        let idle = lock(&self.idle).take();
        if let Some((tasks, start)) = idle {
            start(tasks);
        }
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len();
        let lane = &self.lanes[at];
        lock(&lane.joining).push(sub);
        let waker = Waker::from(lane.clone());
        // Subscriptions that are gone leave at the lane's next pass; with streams coming and going
        // and no event to send, the lane is woken for a pass at each power of two (amortised
        // O(1); about as many gone as live ones are kept at most).
        let members = lane.members.fetch_add(1, Ordering::SeqCst) + 1;
        if members >= 64 && members.is_power_of_two() {
            waker.wake_by_ref();
        }
        waker
    }
}

impl Drop for Lanes {
    fn drop(&mut self) {
        for lane in &self.lanes {
            lane.closed.store(true, Ordering::SeqCst);
            Waker::from(lane.clone()).wake();
        }
    }
}

struct Lane {
    /// Subscriptions joined since the lane's last poll.
    joining: Mutex<Vec<DirectHandle>>,
    /// Subscriptions in the lane, gone ones included until a pass sweeps them.
    members: AtomicUsize,
    /// Set by a wake, cleared by the lane before a pass over its subscriptions.
    woken: AtomicBool,
    /// The server is gone: the lane's task ends.
    closed: AtomicBool,
    task: Mutex<Option<Waker>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Wake for Lane {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Already set: the lane has not begun its next pass yet, and will see the new frames.
        if !self.woken.swap(true, Ordering::SeqCst) {
            let task = lock(&self.task).take();
            if let Some(task) = task {
                task.wake();
            }
        }
    }
}

/// A lane's task: a pass over its subscriptions after each wake, `BUDGET` of them per poll.
pub(super) struct LaneTask {
    lane: Arc<Lane>,
    /// The lane's subscriptions (only this task touches them).
    subs: Vec<DirectHandle>,
    /// Where the pass in progress goes on; 0 between passes.
    cursor: usize,
    scratch: Vec<u8>,
    /// The frames of one subscription's turn.
    batch: Vec<Bytes>,
}

impl Future for LaneTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        {
            let mut task = lock(&this.lane.task);
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        if this.lane.closed.load(Ordering::SeqCst) {
            this.subs.clear();
            lock(&this.lane.joining).clear();
            return Poll::Ready(());
        }
        // A wake that comes after the waker is stored and before `woken` is cleared wakes the
        // task again: at worst an empty pass, never a lost one.
        if this.cursor == 0 && !this.lane.woken.swap(false, Ordering::SeqCst) {
            return Poll::Pending;
        }
        this.subs.append(&mut lock(&this.lane.joining));
        let now = Instant::now();
        let mut served = 0;
        while served < BUDGET {
            if this.cursor >= this.subs.len() {
                // A pass ends; another one if a publish came meanwhile.
                this.cursor = 0;
                if !this.lane.woken.swap(false, Ordering::SeqCst) {
                    return Poll::Pending;
                }
                this.subs.append(&mut lock(&this.lane.joining));
                if this.subs.is_empty() {
                    continue;
                }
            }
            served += 1;
            let sub = &this.subs[this.cursor];
            if sub.deliver(&mut this.scratch, &mut this.batch, now) {
                this.cursor += 1;
            } else {
                // Gone: the last one takes its place and is served next.
                this.subs.swap_remove(this.cursor);
                this.lane.members.fetch_sub(1, Ordering::SeqCst);
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
