//! The broadcast hub at scale: what 10 000 subscribers cost the hub, in subscribes (as after a
//! deploy, when every browser reconnects at once), in publishes, and in unsubscribes.
//!
//! Every case works on 10 000 subscriptions that no task serves (the bench reads their queues
//! itself, untimed, where a case needs it), so the times are the hub's own bookkeeping:
//!
//! - `subscribe`: a fresh hub, 10 000 `subscribe(None)`, the subscriptions kept until the end of
//!   the iteration (dropping them is not timed).
//! - `subscribe_replay`: the same, each with a `Last-Event-ID` 100 events back in a hub holding
//!   1 000 retained events (so each subscriber starts with 100 frames queued).
//! - `publish`: one event to 10 000 live subscribers that have never been polled (no waker to
//!   wake). The queues are read between batches of publishes, untimed, so the backlog limit never
//!   applies.
//! - `publish_waiting`: the same, but every subscriber was polled until it had nothing left, so
//!   each publish also wakes 10 000 (no-op) wakers, as it does for tasks waiting on a socket.
//! - `unsubscribe`: 10 000 subscriptions dropped (the hub and the subscriptions are built
//!   untimed).
//! - `unsubscribe_publish`: the same, then one publish, so that any work a hub leaves from the
//!   unsubscribes to its next publish is counted too.
//!
//! `cargo bench -p ssewire-benches --bench hub` (about a minute).
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use futures_lite::Stream;
use ssewire::Event;
use ssewire_stream::{Hub, HubConfig, Subscription};

/// Subscribers per case.
const SUBSCRIBERS: usize = 10_000;
/// Events the replay case's hub retains.
const RETAINED: usize = 1_000;
/// How far back the replay case's subscribers resume.
const REPLAYED: usize = 100;
/// Publishes between two untimed reads of every queue (under the default backlog of 256).
const BATCH: u64 = 100;

fn subscribe_all(hub: &Hub, last_event_id: Option<&str>, subs: &mut Vec<Subscription>) {
    for _ in 0..SUBSCRIBERS {
        subs.push(hub.subscribe(last_event_id));
    }
}

/// Takes every frame queued for `sub` without polling it to `Pending`: the poll that finds
/// nothing would leave a waker, which the `publish` case must not have.
fn read_queued(sub: &mut Subscription) {
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..sub.queued() {
        match Pin::new(&mut *sub).poll_next(&mut cx) {
            Poll::Ready(Some(frame)) => {
                black_box(frame);
            }
            other => panic!("a queued frame, not {other:?}"),
        }
    }
}

/// Reads `sub` until it has nothing left, so it waits with a waker.
fn read_all(sub: &mut Subscription) {
    let mut cx = Context::from_waker(Waker::noop());
    while let Poll::Ready(frame) = Pin::new(&mut *sub).poll_next(&mut cx) {
        assert!(frame.is_some(), "the stream ended");
    }
}

/// Times `iters` publishes to `subs`, in batches, reading the queues (with `read`) between
/// batches untimed.
fn publish_batches(
    hub: &Hub,
    subs: &mut [Subscription],
    iters: u64,
    read: fn(&mut Subscription),
) -> Duration {
    let event = Event::new(r#"{"choices":[{"delta":{"content":"hello"}}]}"#);
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let batch = left.min(BATCH);
        let start = Instant::now();
        for _ in 0..batch {
            black_box(hub.publish(&event));
        }
        total += start.elapsed();
        left -= batch;
        subs.iter_mut().for_each(read);
    }
    total
}

fn hub(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub");
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    // Each iteration of the subscribe and unsubscribe cases builds 10 000 subscriptions, which
    // would take seconds a sample were subscribing linear in the subscribers (quadratic in all):
    // flat sampling with criterion's fewest samples keeps every case to seconds in any event.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);

    group.bench_function("subscribe", |b| {
        b.iter_batched(
            || (Hub::default(), Vec::with_capacity(SUBSCRIBERS)),
            |(hub, mut subs)| {
                subscribe_all(&hub, None, &mut subs);
                // Dropped after the timed part.
                (hub, subs)
            },
            BatchSize::PerIteration,
        );
    });

    let resume = (RETAINED - REPLAYED).to_string();
    group.bench_function("subscribe_replay", |b| {
        b.iter_batched(
            || {
                let hub = Hub::new(HubConfig {
                    max_events: RETAINED,
                    max_bytes: usize::MAX,
                    ..HubConfig::default()
                });
                for i in 0..RETAINED {
                    hub.publish(&Event::new(format!("event {i}")));
                }
                (hub, Vec::with_capacity(SUBSCRIBERS))
            },
            |(hub, mut subs)| {
                subscribe_all(&hub, Some(&resume), &mut subs);
                (hub, subs)
            },
            BatchSize::PerIteration,
        );
        // Checked once, outside the timing: each subscriber starts with what it missed.
        let hub = Hub::default();
        for i in 0..RETAINED {
            hub.publish(&Event::new(format!("event {i}")));
        }
        assert_eq!(hub.subscribe(Some(&resume)).queued(), REPLAYED);
    });

    {
        let hub = Hub::default();
        let mut subs = Vec::with_capacity(SUBSCRIBERS);
        subscribe_all(&hub, None, &mut subs);
        group.bench_function("publish", |b| {
            b.iter_custom(|iters| publish_batches(&hub, &mut subs, iters, read_queued));
        });
        assert!(subs.iter().all(|sub| sub.queued() == 0));
    }

    {
        let hub = Hub::default();
        let mut subs = Vec::with_capacity(SUBSCRIBERS);
        subscribe_all(&hub, None, &mut subs);
        subs.iter_mut().for_each(read_all);
        group.bench_function("publish_waiting", |b| {
            b.iter_custom(|iters| publish_batches(&hub, &mut subs, iters, read_all));
        });
    }

    let subscribed = || {
        let hub = Hub::default();
        let mut subs = Vec::with_capacity(SUBSCRIBERS);
        subscribe_all(&hub, None, &mut subs);
        (hub, subs)
    };
    group.bench_function("unsubscribe", |b| {
        b.iter_batched(
            subscribed,
            |(hub, subs)| {
                drop(subs);
                hub
            },
            BatchSize::PerIteration,
        );
    });
    let event = Event::new("after");
    group.bench_function("unsubscribe_publish", |b| {
        b.iter_batched(
            subscribed,
            |(hub, subs)| {
                drop(subs);
                black_box(hub.publish(&event));
                hub
            },
            BatchSize::PerIteration,
        );
    });

    group.finish();
}

criterion_group! {
    name = benches;
    config = ssewire_benches::criterion_config();
    targets = hub
}
criterion_main!(benches);
