//! The producer bridge (`ssewire_stream::stream`) in events per second: a producer sends 1000
//! events and the consumer drains the stream under `futures_lite`'s `block_on`.
//!
//! Two paths: `same-task`, the producer polled inside the stream's `poll_next` (what every SSE
//! response does), and `other-thread`, the sender moved into a second thread that sends from its
//! own `block_on` (a producer that hands its `Sender` to a task of its own). Each with text
//! (`send("token")`) and with a small serde struct (`send(Json(..))`).
//!
//! Run with `cargo bench -p ssewire-benches --bench bridge`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::pin::pin;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_lite::StreamExt;
use futures_lite::future::block_on;
use serde::Serialize;
use ssewire::Json;
use ssewire_stream::{SendError, Sender};

const EVENTS: usize = 1000;

/// A small JSON payload, about the size of a token chunk's delta.
#[derive(Serialize)]
struct Token {
    index: u32,
    text: &'static str,
}

/// Sends [`EVENTS`] text events.
async fn send_text(send: &Sender) -> Result<(), SendError> {
    for _ in 0..EVENTS {
        send.send("token").await?;
    }
    Ok(())
}

/// Sends [`EVENTS`] JSON events.
async fn send_json(send: &Sender) -> Result<(), SendError> {
    for index in 0..EVENTS as u32 {
        send.send(Json(Token {
            index,
            text: "token",
        }))
        .await?;
    }
    Ok(())
}

/// Drains `events`; returns the bytes it yielded.
fn drain(events: impl futures_lite::Stream<Item = bytes::Bytes>) -> usize {
    block_on(async {
        let mut events = pin!(events);
        let mut len = 0;
        while let Some(frame) = events.next().await {
            len += frame.len();
        }
        assert!(len > 0);
        len
    })
}

fn bridge(c: &mut Criterion) {
    let mut group = c.benchmark_group("bridge");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function(BenchmarkId::new("same-task", "text"), |b| {
        b.iter(|| {
            black_box(drain(ssewire_stream::stream(|send| async move {
                send_text(&send).await
            })))
        });
    });
    group.bench_function(BenchmarkId::new("same-task", "json"), |b| {
        b.iter(|| {
            black_box(drain(ssewire_stream::stream(|send| async move {
                send_json(&send).await
            })))
        });
    });
    // The thread is spawned inside the timed part: its start is a small share of 1000 hand-offs
    // and is the same for any bridge.
    group.bench_function(BenchmarkId::new("other-thread", "text"), |b| {
        b.iter(|| {
            black_box(drain(ssewire_stream::stream(|send| async move {
                std::thread::spawn(move || block_on(send_text(&send)));
            })))
        });
    });
    group.bench_function(BenchmarkId::new("other-thread", "json"), |b| {
        b.iter(|| {
            black_box(drain(ssewire_stream::stream(|send| async move {
                std::thread::spawn(move || block_on(send_json(&send)));
            })))
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = ssewire_benches::criterion_config();
    targets = bridge
}
criterion_main!(benches);
