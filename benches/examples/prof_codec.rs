//! One codec operation run many times, for an instruction profile of ssewire and a peer on the
//! same work: `valgrind --tool=callgrind target/release/examples/prof_codec <case> [rounds]`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::pin::pin;

use bytes::{Bytes, BytesMut};
use futures_lite::StreamExt;
use futures_lite::future::block_on;
use ssewire_benches::*;

fn sse_stream_decode(pieces: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let s = futures_lite::stream::iter(pieces.iter().cloned().map(Ok::<_, std::io::Error>));
        let mut stream = pin!(sse_stream::SseByteStream::new(s));
        let (mut events, mut len) = (0, 0);
        while let Some(block) = stream.next().await {
            if let Some(data) = block.unwrap().data {
                events += 1;
                len += data.len();
            }
        }
        (events, len)
    })
}

#[inline(never)]
fn enc_event(input: Vec<Fields>, buf: &mut BytesMut) {
    for f in input {
        let mut event = ssewire::Event::new(f.data);
        if !f.event.is_empty() {
            event = event.with_event(f.event).unwrap();
        }
        if !f.id.is_empty() {
            event = event.with_id(f.id).unwrap();
        }
        ssewire::encode(&event, buf);
    }
}

#[inline(never)]
fn enc_ref(input: Vec<Fields>, buf: &mut BytesMut) {
    for f in input {
        let mut event = ssewire::EventRef::new(&f.data);
        if !f.event.is_empty() {
            event = event.with_event(&f.event).unwrap();
        }
        if !f.id.is_empty() {
            event = event.with_id(&f.id).unwrap();
        }
        ssewire::encode_ref(&event, buf);
    }
}

#[inline(never)]
fn enc_ssestream(input: Vec<Fields>) -> usize {
    let mut len = 0;
    for f in input {
        let mut sse = sse_stream::Sse::default().data(f.data);
        if !f.event.is_empty() {
            sse = sse.event(f.event);
        }
        if !f.id.is_empty() {
            sse = sse.id(f.id);
        }
        len += sse.encode().unwrap().len();
    }
    len
}

#[inline(never)]
fn enc_russe(input: Vec<Fields>, buf: &mut BytesMut) {
    use tokio_util::codec::Encoder as _;
    let mut encoder = russe::Encoder::default();
    for f in input {
        let message = russe::Message {
            data: f.data.into(),
            event: (!f.event.is_empty()).then(|| f.event.into()),
            retry: None,
            id: (!f.id.is_empty()).then(|| f.id.into()),
        };
        encoder.encode(russe::Event::Message(message), buf).unwrap();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("case");
    let rounds: usize = args.next().map_or(20, |r| r.parse().unwrap());
    let corpus_name = case.split('/').nth(1).unwrap_or("token");
    let size: usize = case
        .split('/')
        .nth(2)
        .map_or(16 * 1024, |s| s.parse().unwrap());
    let stream = corpora()
        .into_iter()
        .find(|c| c.0 == corpus_name)
        .unwrap()
        .1;
    let pieces = chunks(&stream, size);
    let op = case.split('/').next().unwrap();
    let mut total = 0usize;
    match op {
        "owned" => (0..rounds).for_each(|_| total += black_box(ssewire_decode_owned(&pieces)).0),
        "each" => (0..rounds).for_each(|_| total += black_box(ssewire_decode(&pieces)).0),
        "ssestream" => (0..rounds).for_each(|_| total += black_box(sse_stream_decode(&pieces)).0),
        "enc-event" | "enc-russe" | "enc-ref" | "enc-ssestream" | "enc-drop" => {
            let fields = corpus_fields(&stream, 1000);
            let mut buf = BytesMut::with_capacity(512 * 1024);
            for _ in 0..rounds {
                let input = fields.clone();
                buf.clear();
                match op {
                    "enc-event" => enc_event(input, &mut buf),
                    "enc-ref" => enc_ref(input, &mut buf),
                    "enc-ssestream" => total += enc_ssestream(input),
                    // The floor every encoder of owned values pays: dropping them.
                    "enc-drop" => drop(black_box(input)),
                    _ => enc_russe(input, &mut buf),
                }
                total += black_box(buf.len());
            }
        }
        // `encode_json` and bare `serde_json::to_writer` of the same 1 000 token chunks.
        "json" | "json-serde" => {
            let chunks = token_chunks(1000);
            let mut buf = BytesMut::with_capacity(256 * 1024);
            let mut out = Vec::with_capacity(256 * 1024);
            for _ in 0..rounds {
                buf.clear();
                out.clear();
                for chunk in &chunks {
                    if op == "json" {
                        ssewire::encode_json(black_box(chunk), &mut buf).unwrap();
                    } else {
                        serde_json::to_writer(&mut out, black_box(chunk)).unwrap();
                    }
                }
                total += black_box(buf.len() + out.len());
            }
        }
        _ => panic!("unknown case {case}"),
    }
    println!("{total}");
}
