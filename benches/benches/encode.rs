//! Encoding throughput in events per second: ssewire against the other Rust SSE encoders and a
//! naive `format!`, on the token corpus, from text payloads and from serde structs (JSON).
//!
//! Each encoder builds its own event value from the payload (an owned `String` in the text case,
//! a borrowed `&str` in the borrowed-text case, a serde struct in the JSON case) and produces wire
//! bytes: ssewire and russe into a reused `BytesMut`, sse-stream one `Bytes` per event, axum and actix-web-lab
//! through their response bodies (the only public way to get their bytes; one body per 1000
//! events, so the per-body cost is amortised).
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::pin;

use bytes::BytesMut;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_lite::StreamExt;
use futures_lite::future::block_on;
use ssewire::IntoEvent;
use ssewire_benches::{
    Fields, TokenChunk, chat_stream, corpus_fields, multiline_stream, token_chunks, token_payloads,
};

const EVENTS: usize = 1000;

/// Polls an axum `Sse` response body to the end; returns the bytes it produced.
fn axum_body<S>(events: S) -> usize
where
    S: futures_lite::Stream<Item = Result<axum::response::sse::Event, Infallible>> + Send + 'static,
{
    use axum::response::IntoResponse as _;
    let body = axum::response::Sse::new(events).into_response().into_body();
    block_on(async {
        let mut data = pin!(body.into_data_stream());
        let mut len = 0;
        while let Some(frame) = data.next().await {
            len += frame.expect("infallible").len();
        }
        len
    })
}

/// Polls an actix-web-lab `Sse` body to the end; returns the bytes it produced.
fn actix_body<S>(events: S) -> usize
where
    S: futures_lite::Stream<Item = actix_web_lab::sse::Event> + 'static,
{
    use actix_web::body::MessageBody as _;
    let mut body = pin!(actix_web_lab::sse::Sse::from_infallible_stream(events));
    block_on(async {
        let mut len = 0;
        while let Some(chunk) =
            futures_lite::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await
        {
            len += chunk.expect("valid events").len();
        }
        len
    })
}

/// One russe data event (`Message` with only `data`) into `buf`.
fn russe_data(encoder: &mut russe::Encoder, data: bytestring::ByteString, buf: &mut BytesMut) {
    use tokio_util::codec::Encoder as _;
    let message = russe::Message {
        data,
        event: None,
        retry: None,
        id: None,
    };
    encoder
        .encode(russe::Event::Message(message), buf)
        .expect("valid event");
}

fn encode_text(c: &mut Criterion) {
    // Token text arrives as owned `String`s (from the model, say): each encoder takes ownership
    // of one per event, so none has to copy the payload into its event value. The clones are
    // made outside the timed part (`iter_batched`).
    let payloads = token_payloads(EVENTS);
    let input = || payloads.clone();
    let mut group = c.benchmark_group("encode_token");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let mut buf = BytesMut::with_capacity(256 * 1024);
    // `encode_data`: a text event written straight from the payload.
    group.bench_function(BenchmarkId::from_parameter("ssewire"), |b| {
        b.iter_batched(
            input,
            |payloads| {
                buf.clear();
                for p in payloads {
                    ssewire::encode_data(&p, &mut buf);
                }
                black_box(buf.len())
            },
            BatchSize::SmallInput,
        );
    });
    // Through a checked `Event` (what `send` does).
    group.bench_function(BenchmarkId::from_parameter("ssewire-event"), |b| {
        b.iter_batched(
            input,
            |payloads| {
                buf.clear();
                for p in payloads {
                    ssewire::encode(&ssewire::Event::new(p), &mut buf);
                }
                black_box(buf.len())
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function(BenchmarkId::from_parameter("russe"), |b| {
        let mut encoder = russe::Encoder::default();
        b.iter_batched(
            input,
            |payloads| {
                buf.clear();
                for p in payloads {
                    russe_data(&mut encoder, p.into(), &mut buf);
                }
                black_box(buf.len())
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function(BenchmarkId::from_parameter("sse-stream"), |b| {
        b.iter_batched(
            input,
            |payloads| {
                let mut len = 0;
                for p in payloads {
                    len += sse_stream::Sse::default()
                        .data(p)
                        .encode()
                        .expect("valid event")
                        .len();
                }
                black_box(len)
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function(BenchmarkId::from_parameter("axum"), |b| {
        b.iter_batched(
            input,
            |payloads| {
                // axum's `Event::data` copies from `&str`; there is no owned variant.
                let events = futures_lite::stream::iter(payloads)
                    .map(|p| Ok(axum::response::sse::Event::default().data(p)));
                black_box(axum_body(events))
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function(BenchmarkId::from_parameter("actix-web-lab"), |b| {
        b.iter_batched(
            input,
            |payloads| {
                let events = futures_lite::stream::iter(payloads)
                    .map(|p| actix_web_lab::sse::Data::new(p).into());
                black_box(actix_body(events))
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function(BenchmarkId::from_parameter("format"), |b| {
        b.iter_batched(
            input,
            |payloads| {
                buf.clear();
                for p in payloads {
                    buf.extend_from_slice(format!("data: {p}\n\n").as_bytes());
                }
                black_box(buf.len())
            },
            BatchSize::SmallInput,
        );
    });
    input_drop(&mut group, input);
    group.finish();
}

/// Not an encoder: the owned input dropped unread, the floor every row of the group pays (each
/// frees the same `String`s). The report gives the ratio no encoder can pass from it.
fn input_drop<T>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    input: impl Fn() -> T,
) {
    group.bench_function(BenchmarkId::from_parameter("input-drop"), |b| {
        b.iter_batched(&input, drop, BatchSize::SmallInput);
    });
}

fn encode_borrowed(c: &mut Criterion) {
    // The same token texts, borrowed (a producer that reuses one buffer per token, or slices of
    // a decoded model output): each encoder takes them the cheapest way its API allows. ssewire
    // writes from the `&str`; the others copy it into an owned value first (their event types
    // own their data), so this case measures what that API difference costs per event.
    let payloads: &'static [String] = Box::leak(token_payloads(EVENTS).into_boxed_slice());
    let mut group = c.benchmark_group("encode_token_borrowed");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let mut buf = BytesMut::with_capacity(256 * 1024);
    group.bench_function(BenchmarkId::from_parameter("ssewire"), |b| {
        b.iter(|| {
            buf.clear();
            for p in payloads {
                ssewire::encode_data(p, &mut buf);
            }
            black_box(buf.len())
        });
    });
    group.bench_function(BenchmarkId::from_parameter("ssewire-event"), |b| {
        b.iter(|| {
            buf.clear();
            for p in payloads {
                ssewire::encode(&ssewire::Event::new(p.as_str()), &mut buf);
            }
            black_box(buf.len())
        });
    });
    group.bench_function(BenchmarkId::from_parameter("russe"), |b| {
        let mut encoder = russe::Encoder::default();
        b.iter(|| {
            buf.clear();
            for p in payloads {
                russe_data(&mut encoder, p.as_str().into(), &mut buf);
            }
            black_box(buf.len())
        });
    });
    group.bench_function(BenchmarkId::from_parameter("sse-stream"), |b| {
        b.iter(|| {
            let mut len = 0;
            for p in payloads {
                len += sse_stream::Sse::default()
                    .data(p.as_str())
                    .encode()
                    .expect("valid event")
                    .len();
            }
            black_box(len)
        });
    });
    group.bench_function(BenchmarkId::from_parameter("axum"), |b| {
        b.iter(|| {
            let events = futures_lite::stream::iter(payloads)
                .map(|p| Ok(axum::response::sse::Event::default().data(p)));
            black_box(axum_body(events))
        });
    });
    group.bench_function(BenchmarkId::from_parameter("actix-web-lab"), |b| {
        b.iter(|| {
            let events = futures_lite::stream::iter(payloads)
                .map(|p| actix_web_lab::sse::Data::new(p.as_str()).into());
            black_box(actix_body(events))
        });
    });
    group.bench_function(BenchmarkId::from_parameter("format"), |b| {
        b.iter(|| {
            buf.clear();
            for p in payloads {
                buf.extend_from_slice(format!("data: {p}\n\n").as_bytes());
            }
            black_box(buf.len())
        });
    });
    group.finish();
}

/// Events with a type and an id (chat) or several data lines (multiline), from owned `String`s
/// (each encoder takes ownership; ssewire through a checked `Event`, `ssewire-event`) and from
/// borrowed `&str`s (ssewire writes an `EventRef` with `encode_ref`, `ssewire`; the peers copy
/// into their owned event values).
fn encode_fields(c: &mut Criterion) {
    for (corpus, stream) in [("chat", chat_stream()), ("multiline", multiline_stream())] {
        let fields = corpus_fields(&stream, EVENTS);
        let input = || fields.clone();
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let events = fields.len() as u64;
        let mut group = c.benchmark_group(format!("encode_{corpus}"));
        group.throughput(Throughput::Elements(events));
        let mut buf = BytesMut::with_capacity(512 * 1024);
        group.bench_function(BenchmarkId::from_parameter("ssewire-event"), |b| {
            b.iter_batched(
                input,
                |fields| {
                    buf.clear();
                    for f in fields {
                        let mut event = ssewire::Event::new(f.data);
                        if !f.event.is_empty() {
                            event = event.with_event(f.event).expect("valid");
                        }
                        if !f.id.is_empty() {
                            event = event.with_id(f.id).expect("valid");
                        }
                        ssewire::encode(&event, &mut buf);
                    }
                    black_box(buf.len())
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::from_parameter("russe"), |b| {
            use tokio_util::codec::Encoder as _;
            let mut encoder = russe::Encoder::default();
            b.iter_batched(
                input,
                |fields| {
                    buf.clear();
                    for f in fields {
                        let message = russe::Message {
                            data: f.data.into(),
                            event: (!f.event.is_empty()).then(|| f.event.into()),
                            retry: None,
                            id: (!f.id.is_empty()).then(|| f.id.into()),
                        };
                        encoder
                            .encode(russe::Event::Message(message), &mut buf)
                            .expect("valid event");
                    }
                    black_box(buf.len())
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::from_parameter("sse-stream"), |b| {
            b.iter_batched(
                input,
                |fields| {
                    let mut len = 0;
                    for f in fields {
                        let mut sse = sse_stream::Sse::default().data(f.data);
                        if !f.event.is_empty() {
                            sse = sse.event(f.event);
                        }
                        if !f.id.is_empty() {
                            sse = sse.id(f.id);
                        }
                        len += sse.encode().expect("valid event").len();
                    }
                    black_box(len)
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::from_parameter("axum"), |b| {
            b.iter_batched(
                input,
                |fields| {
                    let events = futures_lite::stream::iter(fields).map(|f| {
                        let mut event = axum::response::sse::Event::default().data(f.data);
                        if !f.event.is_empty() {
                            event = event.event(f.event);
                        }
                        if !f.id.is_empty() {
                            event = event.id(f.id);
                        }
                        Ok(event)
                    });
                    black_box(axum_body(events))
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::from_parameter("actix-web-lab"), |b| {
            b.iter_batched(
                input,
                |fields| {
                    let events = futures_lite::stream::iter(fields).map(|f| {
                        let mut data = actix_web_lab::sse::Data::new(f.data);
                        if !f.event.is_empty() {
                            data = data.event(f.event);
                        }
                        if !f.id.is_empty() {
                            data = data.id(f.id);
                        }
                        data.into()
                    });
                    black_box(actix_body(events))
                },
                BatchSize::SmallInput,
            );
        });
        input_drop(&mut group, input);
        group.finish();

        let fields: &'static [Fields] = Box::leak(fields.into_boxed_slice());
        let mut group = c.benchmark_group(format!("encode_{corpus}_borrowed"));
        group.throughput(Throughput::Elements(events));
        group.bench_function(BenchmarkId::from_parameter("ssewire"), |b| {
            b.iter(|| {
                buf.clear();
                for f in fields {
                    let event = ssewire::EventRef::new(&f.data)
                        .with_event(&f.event)
                        .expect("valid")
                        .with_id(&f.id)
                        .expect("valid");
                    ssewire::encode_ref(&event, &mut buf);
                }
                black_box(buf.len())
            });
        });
        group.bench_function(BenchmarkId::from_parameter("russe"), |b| {
            use tokio_util::codec::Encoder as _;
            let mut encoder = russe::Encoder::default();
            b.iter(|| {
                buf.clear();
                for f in fields {
                    let message = russe::Message {
                        data: f.data.as_str().into(),
                        event: opt(&f.event).map(Into::into),
                        retry: None,
                        id: opt(&f.id).map(Into::into),
                    };
                    encoder
                        .encode(russe::Event::Message(message), &mut buf)
                        .expect("valid event");
                }
                black_box(buf.len())
            });
        });
        group.bench_function(BenchmarkId::from_parameter("sse-stream"), |b| {
            b.iter(|| {
                let mut len = 0;
                for f in fields {
                    let mut sse = sse_stream::Sse::default().data(f.data.as_str());
                    if !f.event.is_empty() {
                        sse = sse.event(f.event.as_str());
                    }
                    if !f.id.is_empty() {
                        sse = sse.id(f.id.as_str());
                    }
                    len += sse.encode().expect("valid event").len();
                }
                black_box(len)
            });
        });
        group.bench_function(BenchmarkId::from_parameter("axum"), |b| {
            b.iter(|| {
                let events = futures_lite::stream::iter(fields).map(|f| {
                    let mut event = axum::response::sse::Event::default().data(f.data.as_str());
                    if !f.event.is_empty() {
                        event = event.event(f.event.as_str());
                    }
                    if !f.id.is_empty() {
                        event = event.id(f.id.as_str());
                    }
                    Ok(event)
                });
                black_box(axum_body(events))
            });
        });
        group.bench_function(BenchmarkId::from_parameter("actix-web-lab"), |b| {
            b.iter(|| {
                let events = futures_lite::stream::iter(fields).map(|f| {
                    let mut data = actix_web_lab::sse::Data::new(f.data.as_str());
                    if !f.event.is_empty() {
                        data = data.event(f.event.as_str());
                    }
                    if !f.id.is_empty() {
                        data = data.id(f.id.as_str());
                    }
                    data.into()
                });
                black_box(actix_body(events))
            });
        });
        group.finish();
    }
}

fn encode_json(c: &mut Criterion) {
    let chunks: &'static [TokenChunk] = Box::leak(token_chunks(EVENTS).into_boxed_slice());
    let mut group = c.benchmark_group("encode_token_json");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let mut buf = BytesMut::with_capacity(256 * 1024);
    // `encode_json`: serialized straight into the output buffer.
    group.bench_function(BenchmarkId::from_parameter("ssewire"), |b| {
        b.iter(|| {
            buf.clear();
            for chunk in chunks {
                ssewire::encode_json(chunk, &mut buf).expect("serializes");
            }
            black_box(buf.len())
        });
    });
    // Through a checked `Event` (what `send(Json(..))` does).
    group.bench_function(BenchmarkId::from_parameter("ssewire-event"), |b| {
        b.iter(|| {
            buf.clear();
            for chunk in chunks {
                let event = ssewire::Json(chunk).into_event().expect("serializes");
                ssewire::encode(&event, &mut buf);
            }
            black_box(buf.len())
        });
    });
    group.bench_function(BenchmarkId::from_parameter("russe"), |b| {
        let mut encoder = russe::Encoder::default();
        b.iter(|| {
            buf.clear();
            for chunk in chunks {
                russe_data(
                    &mut encoder,
                    serde_json::to_string(chunk).expect("serializes").into(),
                    &mut buf,
                );
            }
            black_box(buf.len())
        });
    });
    group.bench_function(BenchmarkId::from_parameter("sse-stream"), |b| {
        b.iter(|| {
            let mut len = 0;
            for chunk in chunks {
                len += sse_stream::Sse::default()
                    .data(serde_json::to_string(chunk).expect("serializes"))
                    .encode()
                    .expect("valid event")
                    .len();
            }
            black_box(len)
        });
    });
    group.bench_function(BenchmarkId::from_parameter("axum"), |b| {
        b.iter(|| {
            let events = futures_lite::stream::iter(chunks).map(|chunk| {
                Ok(axum::response::sse::Event::default()
                    .json_data(chunk)
                    .expect("serializes"))
            });
            black_box(axum_body(events))
        });
    });
    group.bench_function(BenchmarkId::from_parameter("actix-web-lab"), |b| {
        b.iter(|| {
            let events = futures_lite::stream::iter(chunks).map(|chunk| {
                actix_web_lab::sse::Data::new_json(chunk)
                    .expect("serializes")
                    .into()
            });
            black_box(actix_body(events))
        });
    });
    group.bench_function(BenchmarkId::from_parameter("format"), |b| {
        b.iter(|| {
            buf.clear();
            for chunk in chunks {
                let json = serde_json::to_string(chunk).expect("serializes");
                buf.extend_from_slice(format!("data: {json}\n\n").as_bytes());
            }
            black_box(buf.len())
        });
    });
    // Bare serialization, no SSE framing: the JSON target is ssewire within 1.10× of this.
    group.bench_function(BenchmarkId::from_parameter("serde_json"), |b| {
        let mut out = Vec::with_capacity(256 * 1024);
        b.iter(|| {
            out.clear();
            for chunk in chunks {
                serde_json::to_writer(&mut out, chunk).expect("serializes");
            }
            black_box(out.len())
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = ssewire_benches::criterion_config();
    targets = encode_text, encode_borrowed, encode_fields, encode_json
}
criterion_main!(benches);
