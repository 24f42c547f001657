//! The publisher every server runs: `count` events at `rate` per second on absolute deadlines
//! (no drift), each carrying its sequence number and send timestamp. A new plan (from
//! `/control`) supersedes the running one.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How many events to publish, how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Events per second; 0 (or less) publishes nothing.
    pub rate: f64,
    /// Events to publish; 0 means until superseded.
    pub count: u64,
}

impl Plan {
    /// Parses `rate=R&count=K` (both optional, defaults 0) from a query string.
    pub fn from_query(query: Option<&str>) -> Option<Plan> {
        let mut plan = Plan {
            rate: 0.0,
            count: 0,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=')?;
            match key {
                "rate" => plan.rate = value.parse().ok()?,
                "count" => plan.count = value.parse().ok()?,
                _ => return None,
            }
        }
        plan.rate.is_finite().then_some(plan)
    }
}

/// The publisher's state, shared by the control endpoint and the publishing task.
#[derive(Debug, Default)]
pub struct Publisher {
    generation: AtomicU64,
    seq: AtomicU64,
}

impl Publisher {
    /// Starts a new plan: any running loop stops at its next tick. Returns the plan's generation.
    pub fn supersede(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The next event's data: `"<seq> <now, ns since the epoch>"`, and its sequence number.
    pub fn next_payload(&self) -> (u64, String) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        (seq, format!("{seq} {}", crate::sys::now_ns()))
    }

    /// Runs `plan` (generation `generation`): `publish(seq, data)` at each tick.
    /// `sleep_until` is the runtime's timer.
    pub async fn run<P, S, F>(&self, generation: u64, plan: Plan, mut publish: P, sleep_until: S)
    where
        P: FnMut(u64, String),
        S: Fn(Instant) -> F,
        F: Future<Output = ()>,
    {
        if plan.rate <= 0.0 {
            return;
        }
        let period = Duration::from_secs_f64(1.0 / plan.rate);
        let start = Instant::now();
        let mut i: u64 = 0;
        while plan.count == 0 || i < plan.count {
            let offset = period.mul_f64(i as f64);
            sleep_until(start + offset).await;
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            let (seq, data) = self.next_payload();
            publish(seq, data);
            i += 1;
        }
    }
}
