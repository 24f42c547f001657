//! Allocation counts, which do not depend on the machine: at most one allocation per value of a
//! decoded owned event (an `Event` owns its text), none per event of the borrowed view, and none
//! per encoded single-line event into a buffer with room.
//!
//! `allocation-counter` installs a counting global allocator and counts per thread, so the test
//! harness's own threads do not disturb the numbers.

use bytes::{Bytes, BytesMut};
use ssewire::{Decoder, Event, encode, encoded_len};
use ssewire_benches::{chat_stream, chunks, token_payloads, token_stream};

/// Decodes `pieces` (events dropped as they come) and returns (events, values, allocations) for
/// the part after a warm-up of `warm` pieces; values: data, type and id, those the events have.
fn decode_allocations(pieces: &[Bytes], warm: usize) -> (usize, u64, u64) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut feed = |pieces: &[Bytes], events: &mut usize, values: &mut u64| {
        for piece in pieces {
            buf.extend_from_slice(piece);
            while let Some(event) = decoder.decode(&mut buf).expect("within limits") {
                assert!(event.has_data());
                *events += 1;
                *values += 1 + u64::from(event.event().is_some()) + u64::from(event.id().is_some());
            }
        }
    };
    let (mut events, mut values) = (0, 0);
    feed(&pieces[..warm], &mut events, &mut values);
    let (mut events, mut values) = (0, 0);
    let info = allocation_counter::measure(|| feed(&pieces[warm..], &mut events, &mut values));
    (events, values, info.count_total)
}

#[test]
fn at_most_one_allocation_per_value_of_a_decoded_event() {
    for (name, stream) in [("token", token_stream()), ("chat", chat_stream())] {
        let pieces = chunks(&stream, 16 * 1024);
        let (events, values, allocations) = decode_allocations(&pieces, 2);
        println!(
            "decode {name} (16 KiB reads): {allocations} allocations for {events} events, \
             {values} values ({:.4} per value)",
            allocations as f64 / values as f64
        );
        assert!(events > 1000, "{name}: {events} events");
        assert!(
            allocations <= values,
            "{name}: {allocations} allocations for {values} values of {events} events"
        );
    }
}

#[test]
fn no_allocation_per_encoded_single_line_event() {
    let events: Vec<Event> = token_payloads(1000).into_iter().map(Event::new).collect();
    let needed: usize = events.iter().map(encoded_len).sum();
    let mut buf = BytesMut::with_capacity(needed);
    let info = allocation_counter::measure(|| {
        for event in &events {
            encode(event, &mut buf);
        }
    });
    println!(
        "encode: {} allocations for {} single-line events ({} bytes)",
        info.count_total,
        events.len(),
        buf.len()
    );
    assert_eq!(buf.len(), needed);
    assert_eq!(info.count_total, 0);
}

#[test]
fn decode_each_allocates_nothing_per_event() {
    // Reads decoded where they are; the carry-over for events split between reads is reused
    // once it has grown.
    for (name, stream) in [("token", token_stream()), ("chat", chat_stream())] {
        for size in [16 * 1024, 64] {
            let pieces = chunks(&stream, size);
            let mut decoder = Decoder::new();
            let mut feed = |pieces: &[Bytes], events: &mut usize| {
                for piece in pieces {
                    decoder
                        .decode_each(piece, |event| {
                            assert!(!event.data().is_empty());
                            *events += 1;
                        })
                        .expect("within limits");
                }
            };
            let warm = 2 * 16 * 1024 / size;
            let mut events = 0;
            feed(&pieces[..warm], &mut events);
            let mut events = 0;
            let info = allocation_counter::measure(|| feed(&pieces[warm..], &mut events));
            println!(
                "decode_each {name} ({size}-byte reads): {} allocations for {events} events",
                info.count_total
            );
            assert!(events > 1000, "{name}: {events} events");
            assert_eq!(
                info.count_total, 0,
                "decode_each {name} {size}: {events} events"
            );
        }
    }
}

#[test]
fn decode_each_reads_the_first_event_in_place_too() {
    // From a fresh decoder, the first read included: the first event of a stream is read in
    // place like the others (were it split off a buffer by the owned path, that buffer would be
    // shared, and later reads would reallocate it).
    let stream = token_stream();
    let pieces = chunks(&stream, 16 * 1024);
    let mut decoder = Decoder::new();
    let mut events = 0;
    let info = allocation_counter::measure(|| {
        for piece in &pieces {
            decoder
                .decode_each(piece, |_| events += 1)
                .expect("within limits");
        }
    });
    assert!(events > 1000, "{events} events");
    // Two: the carry-over's box and its first buffer, both reused from then on.
    assert_eq!(info.count_total, 2, "{events} events");
}
