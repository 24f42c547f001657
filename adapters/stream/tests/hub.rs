//! The broadcast hub with no runtime: replay, live delivery, slow subscribers, bounds.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use futures_core::Stream;
use proptest::prelude::*;
use ssewire::{Decoder, Event, Frame};
use ssewire_stream::{Hub, HubConfig, SlowPolicy, Subscription};

/// What a subscriber has seen, decoded.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Message(u64),
    Gap(u64),
    Reset,
    End,
}

struct Reader {
    sub: Option<Subscription>,
    decoder: Decoder,
    buf: BytesMut,
    seen: Vec<Seen>,
}

impl Reader {
    fn new(sub: Subscription) -> Self {
        Reader {
            sub: Some(sub),
            decoder: Decoder::new(),
            buf: BytesMut::new(),
            seen: Vec::new(),
        }
    }

    /// Takes up to `n` frames that are ready.
    fn read(&mut self, n: usize) {
        for _ in 0..n {
            let Some(sub) = self.sub.as_mut() else { return };
            match Pin::new(sub).poll_next(&mut Context::from_waker(Waker::noop())) {
                Poll::Pending => return,
                Poll::Ready(None) => {
                    self.seen.push(Seen::End);
                    self.sub = None;
                    return;
                }
                Poll::Ready(Some(frame)) => {
                    self.buf.extend_from_slice(&frame);
                    while let Some(item) = self.decoder.decode_frame(&mut self.buf).unwrap() {
                        if let Frame::Event(event) = item {
                            self.seen.push(match event.event_type() {
                                "gap" => Seen::Gap(event.data().parse().unwrap()),
                                "reset" => Seen::Reset,
                                _ => Seen::Message(event.id().unwrap().parse().unwrap()),
                            });
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn replay_then_live_without_gap_or_duplicate() {
    let hub = Hub::default();
    for i in 1..=5 {
        assert_eq!(hub.publish(&Event::new(format!("m{i}"))), i.to_string());
    }
    let mut resumed = Reader::new(hub.subscribe(Some("3")));
    hub.publish(&Event::new("m6"));
    resumed.read(100);
    assert_eq!(
        resumed.seen,
        [Seen::Message(4), Seen::Message(5), Seen::Message(6)]
    );
}

#[test]
fn unknown_last_event_id_gets_reset_then_live() {
    let hub = Hub::default();
    hub.publish(&Event::new("m1"));
    let mut reader = Reader::new(hub.subscribe(Some("nope")));
    hub.publish(&Event::new("m2"));
    reader.read(10);
    assert_eq!(reader.seen, [Seen::Reset, Seen::Message(2)]);
}

#[test]
fn events_with_their_own_ids_keep_them_and_can_be_resumed_from() {
    let hub = Hub::default();
    let id = hub.publish(&Event::new("x").with_id("order-17").unwrap());
    assert_eq!(id, "order-17");
    hub.publish(&Event::new("y"));
    let mut sub = hub.subscribe(Some("order-17"));
    let frame = match Pin::new(&mut sub).poll_next(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Some(frame)) => frame,
        other => panic!("{other:?}"),
    };
    assert_eq!(frame, "id: 2\ndata: y\n\n");
}

#[test]
fn events_older_than_max_age_are_not_replayed() {
    // Ages far apart (events published together are well within 300 ms of each other; a sleep
    // of 500 ms puts them well past it), so a loaded machine does not change the outcome.
    let max_age = std::time::Duration::from_millis(300);
    let past_it = std::time::Duration::from_millis(500);
    let hub = Hub::new(HubConfig {
        max_age: Some(max_age),
        ..HubConfig::default()
    });
    hub.publish(&Event::new("old 1"));
    hub.publish(&Event::new("old 2"));
    assert_eq!(hub.retained().0, 2);
    std::thread::sleep(past_it);
    // Expired when the hub is next used (here by `retained`), but for the newest.
    assert_eq!(hub.retained().0, 1);
    // A client that saw the newest missed nothing, however quiet the topic was: no reset.
    let mut caught_up = Reader::new(hub.subscribe(Some("2")));
    hub.publish(&Event::new("new 3"));
    // Now 2 is dropped too. A browser last seen at 1 gets `reset` (it missed 2, which the hub no
    // longer holds); one last seen at 3 resumes with nothing missed.
    let mut away = Reader::new(hub.subscribe(Some("1")));
    let mut recent = Reader::new(hub.subscribe(Some("3")));
    hub.publish(&Event::new("new 4"));
    for reader in [&mut caught_up, &mut away, &mut recent] {
        reader.read(10);
    }
    assert_eq!(caught_up.seen, [Seen::Message(3), Seen::Message(4)]);
    assert_eq!(away.seen, [Seen::Reset, Seen::Message(4)]);
    assert_eq!(recent.seen, [Seen::Message(4)]);
    // Without `max_age`, time expires nothing.
    let forever = Hub::default();
    forever.publish(&Event::new("kept 1"));
    forever.publish(&Event::new("kept 2"));
    std::thread::sleep(past_it);
    assert_eq!(forever.retained().0, 2);
}

#[test]
fn slow_subscriber_drop_oldest_sends_a_gap_marker() {
    let hub = Hub::new(HubConfig {
        backlog: 3,
        ..HubConfig::default()
    });
    let mut slow = Reader::new(hub.subscribe(None));
    for i in 1..=10 {
        hub.publish(&Event::new(format!("m{i}")));
    }
    slow.read(100);
    assert_eq!(
        slow.seen,
        [
            Seen::Gap(7),
            Seen::Message(8),
            Seen::Message(9),
            Seen::Message(10)
        ]
    );
}

#[test]
fn slow_subscriber_disconnect_ends_its_stream_and_it_can_resume() {
    let hub = Hub::new(HubConfig {
        backlog: 2,
        slow: SlowPolicy::Disconnect,
        ..HubConfig::default()
    });
    let mut slow = Reader::new(hub.subscribe(None));
    let mut fast = Reader::new(hub.subscribe(None));
    hub.publish(&Event::new("m1"));
    fast.read(10);
    slow.read(1);
    for i in 2..=5 {
        hub.publish(&Event::new(format!("m{i}")));
        fast.read(10);
    }
    slow.read(10);
    assert_eq!(slow.seen, [Seen::Message(1), Seen::End]);
    assert_eq!(fast.seen, (1..=5).map(Seen::Message).collect::<Vec<_>>());
    // The browser reconnects with the last id it saw and catches up.
    let mut again = Reader::new(hub.subscribe(Some("1")));
    again.read(10);
    assert_eq!(again.seen, (2..=5).map(Seen::Message).collect::<Vec<_>>());
}

#[test]
fn dropped_subscriptions_are_unsubscribed() {
    let hub = Hub::default();
    let a = hub.subscribe(None);
    let _b = hub.subscribe(None);
    assert_eq!(hub.subscribers(), 2);
    drop(a);
    assert_eq!(hub.subscribers(), 1);
}

#[test]
fn publish_shares_one_buffer_between_subscribers() {
    let hub = Hub::default();
    let mut a = hub.subscribe(None);
    let mut b = hub.subscribe(None);
    hub.publish(&Event::new("shared"));
    let next = |s: &mut Subscription| match Pin::new(s)
        .poll_next(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Some(frame)) => frame,
        other => panic!("{other:?}"),
    };
    let (fa, fb) = (next(&mut a), next(&mut b));
    assert_eq!(fa, fb);
    assert_eq!(
        fa.as_ptr(),
        fb.as_ptr(),
        "the frame is encoded once and shared"
    );
}

#[derive(Debug, Clone)]
enum Op {
    Publish(usize),
    Subscribe(Option<u64>),
    Read(usize, usize),
    Unsubscribe(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..200).prop_map(Op::Publish),
        1 => proptest::option::of(0u64..40).prop_map(Op::Subscribe),
        4 => (0usize..8, 0usize..6).prop_map(|(s, n)| Op::Read(s, n)),
        1 => (0usize..8).prop_map(Op::Unsubscribe),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any interleaving of publish, subscribe (with or without a last id), slow reads and
    /// unsubscribes: every subscriber sees ids in order without duplicates, skipping only where a
    /// gap marker (or, under Disconnect, the end) says so; memory stays within the bounds.
    #[test]
    fn any_interleaving_keeps_order_and_bounds(
        ops in proptest::collection::vec(op(), 1..120),
        backlog in 1usize..6,
        max_events in 1usize..12,
        max_bytes in 40usize..2000,
        disconnect in any::<bool>(),
    ) {
        let config = HubConfig {
            backlog,
            max_events,
            max_bytes,
            slow: if disconnect { SlowPolicy::Disconnect } else { SlowPolicy::DropOldest },
            ..HubConfig::default()
        };
        let hub = Hub::new(config);
        let mut published = 0u64;
        // Each reader with the id after which it started.
        let mut readers: Vec<(Reader, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Publish(size) => {
                    published += 1;
                    hub.publish(&Event::new("x".repeat(size)));
                }
                Op::Subscribe(last) => {
                    let last = last.filter(|&l| l <= published);
                    let start = last.unwrap_or(published);
                    let id = last.map(|l| l.to_string());
                    readers.push((Reader::new(hub.subscribe(id.as_deref())), start));
                }
                Op::Read(i, n) => {
                    if let Some((reader, _)) = readers.get_mut(i) {
                        reader.read(n);
                    }
                }
                Op::Unsubscribe(i) => {
                    if i < readers.len() {
                        readers.remove(i);
                    }
                }
            }
            let (count, bytes) = hub.retained();
            prop_assert!(count <= max_events);
            prop_assert!(bytes <= max_bytes || count <= 1, "retained {bytes} bytes in {count} events");
            for (reader, _) in &readers {
                if let Some(sub) = &reader.sub {
                    prop_assert!(sub.queued() <= backlog.max(max_events + 1));
                }
            }
        }
        for (reader, start) in &mut readers {
            reader.read(usize::MAX);
            let mut previous = *start;
            let mut marker = false;
            for seen in &reader.seen {
                match *seen {
                    Seen::Message(id) => {
                        prop_assert!(id > previous, "out of order or duplicate in {:?}", reader.seen);
                        // A skip is allowed only where a gap marker or a reset says so.
                        prop_assert!(id == previous + 1 || marker, "silent skip in {:?}", reader.seen);
                        previous = id;
                        marker = false;
                    }
                    Seen::Gap(n) => {
                        prop_assert!(!disconnect && n > 0);
                        marker = true;
                    }
                    Seen::Reset => marker = true,
                    Seen::End => prop_assert!(disconnect),
                }
            }
            if !disconnect && reader.sub.is_some() && reader.seen.iter().any(|s| matches!(s, Seen::Message(_))) {
                prop_assert_eq!(previous, published, "a live subscriber missed the tail: {:?}", reader.seen);
            }
        }
    }
}
