//! Decoding throughput: ssewire against the other Rust SSE decoders and a `memchr` line scan,
//! on every corpus, fed in 16 KiB and in 64-byte reads.
//!
//! Run with `cargo bench -p ssewire-benches --bench decode`; `cargo run -p ssewire-benches --bin
//! report` turns the results into `benches/README.md`'s table and `benches/ratios.svg`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::io;
use std::pin::pin;

use bytes::{Bytes, BytesMut};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures_lite::StreamExt;
use futures_lite::future::block_on;
use futures_util::TryStreamExt;
use ssewire_benches::{CHUNK_SIZES, chunks, corpora, ssewire_decode, ssewire_decode_owned};

/// The least work any spec-conformant line decoder does: find every CR and LF. Counts lines and
/// their total length across reads.
fn memchr_lines(pieces: &[Bytes]) -> (usize, usize) {
    let (mut lines, mut len, mut partial) = (0, 0, 0);
    for piece in pieces {
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\r', b'\n', piece) {
            len += partial + end - start;
            partial = 0;
            start = end + 1;
            lines += 1;
        }
        partial += piece.len() - start;
    }
    (lines, len)
}

fn byte_stream(
    pieces: &[Bytes],
) -> impl futures_lite::Stream<Item = Result<Bytes, io::Error>> + Unpin + '_ {
    futures_lite::stream::iter(pieces.iter().cloned().map(Ok))
}

/// sse-stream 0.3 (`SseByteStream` over a stream of byte buffers); counts blocks with data.
fn sse_stream(pieces: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let mut stream = pin!(sse_stream::SseByteStream::new(byte_stream(pieces)));
        let (mut events, mut len) = (0, 0);
        while let Some(block) = stream.next().await {
            if let Some(data) = block.expect("sse-stream decodes the corpus").data {
                events += 1;
                len += data.len();
            }
        }
        (events, len)
    })
}

/// ssewire's owned events from a stream of byte buffers (`ssewire_stream::DecodeStream`, the
/// same shape as sse-stream's `SseByteStream`).
fn ssewire_stream(pieces: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let mut stream = pin!(ssewire_stream::DecodeStream::new(byte_stream(pieces)));
        let (mut events, mut len) = (0, 0);
        while let Some(event) = stream.next().await {
            events += 1;
            len += event.expect("within the default limits").data().len();
        }
        (events, len)
    })
}

/// sse-codec 0.3 (a synchronous `futures_codec::Decoder`).
fn sse_codec(pieces: &[Bytes]) -> (usize, usize) {
    use futures_codec::Decoder as _;
    let mut codec = sse_codec::SSECodec::default();
    let mut buf = BytesMut::new();
    let (mut events, mut len) = (0, 0);
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(event) = codec
            .decode(&mut buf)
            .expect("sse-codec decodes the corpus")
        {
            if let sse_codec::Event::Message { data, .. } = event {
                events += 1;
                len += data.len();
            }
        }
    }
    (events, len)
}

/// async-sse 5 (a `Stream` over an `AsyncBufRead`).
fn async_sse(pieces: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let reader = byte_stream(pieces).into_async_read();
        let mut stream = pin!(async_sse::decode(reader));
        let (mut events, mut len) = (0, 0);
        while let Some(event) = stream.next().await {
            if let async_sse::Event::Message(message) = event.expect("async-sse decodes the corpus")
            {
                events += 1;
                len += message.data().len();
            }
        }
        (events, len)
    })
}

/// eventsource-stream 0.2 (a `Stream` adapter over byte buffers).
fn eventsource_stream(pieces: &[Bytes]) -> (usize, usize) {
    use eventsource_stream::Eventsource as _;
    block_on(async {
        let mut stream = pin!(byte_stream(pieces).eventsource());
        let (mut events, mut len) = (0, 0);
        while let Some(event) = stream.next().await {
            events += 1;
            len += event
                .expect("eventsource-stream decodes the corpus")
                .data
                .len();
        }
        (events, len)
    })
}

/// russe 0.3 (a synchronous `tokio_util::codec::Decoder`).
fn russe(pieces: &[Bytes]) -> (usize, usize) {
    use tokio_util::codec::Decoder as _;
    let mut decoder = russe::Decoder::default();
    let mut buf = BytesMut::new();
    let (mut events, mut len) = (0, 0);
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(event) = decoder.decode(&mut buf).expect("russe decodes the corpus") {
            if let russe::Event::Message(message) = event {
                events += 1;
                len += message.data.len();
            }
        }
    }
    (events, len)
}

type Decode = fn(&[Bytes]) -> (usize, usize);

/// Every decoder, ours first. The name is the criterion function id the report reads.
const DECODERS: [(&str, Decode); 9] = [
    ("ssewire", ssewire_decode),
    ("ssewire-owned", ssewire_decode_owned),
    ("ssewire-stream", ssewire_stream),
    ("memchr", memchr_lines),
    ("sse-stream", sse_stream),
    ("sse-codec", sse_codec),
    ("async-sse", async_sse),
    ("eventsource-stream", eventsource_stream),
    ("russe", russe),
];

fn decode(c: &mut Criterion) {
    for (corpus, stream) in corpora() {
        let expected = ssewire_decode(&chunks(&stream, stream.len()));
        for (size, label) in CHUNK_SIZES {
            let pieces = chunks(&stream, size);
            let mut group = c.benchmark_group(format!("decode_{corpus}_{label}"));
            group.throughput(Throughput::Bytes(stream.len() as u64));
            group.sampling_mode(SamplingMode::Flat);
            for (name, decode) in DECODERS {
                let got = decode(&pieces);
                if name != "memchr" && got != expected {
                    // Not an error: some peers deviate from the spec (see the benches README);
                    // the numbers are still comparable work on the same bytes.
                    eprintln!(
                        "note: {name} on {corpus}/{label}: {got:?} (events, data bytes), ssewire {expected:?}"
                    );
                }
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter(|| black_box(decode(black_box(&pieces))));
                });
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = ssewire_benches::criterion_config();
    targets = decode
}
criterion_main!(benches);
