//! SSE clients end to end over loopback, in events per second: ssewire's `EventSource` (on
//! smol) against reqwest-eventsource and LaunchDarkly's eventsource-client (on tokio, current
//! thread).
//!
//! One server of this file's own, on a thread, answers every connection with the same bytes:
//! an HTTP/1.1 `200 text/event-stream` response (`Connection: close`, no length) carrying
//! [`EVENTS`] OpenAI-style chunks (`data: {"choices":[{"delta":{"content":" token"}}]}`) and
//! `data: [DONE]`, written as fast as the socket takes them. Each iteration is one client
//! connecting, reading every event and stopping at `[DONE]` (reconnection off): the connection
//! set-up plus the parsing and delivery of 10 000 events, so the difference between clients is
//! their own cost per event.
//!
//! On the 2-core VM shared with other work (one run, 20 samples each, median and range):
//!
//! | client | time per 10 000 events | events per second |
//! |---|---:|---:|
//! | ssewire-smol `EventSource` | 4.32 ms (3.83–4.94) | 2.31 M |
//! | reqwest-eventsource 0.6 (tokio) | 8.71 ms (7.50–10.17) | 1.15 M |
//! | eventsource-client 0.18 (tokio) | 6.15 ms (4.90–7.00) | 1.63 M |
//!
//! Run with `cargo bench -p ssewire-benches --bench client`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_lite::StreamExt;

/// Events per response (plus `[DONE]`).
const EVENTS: usize = 10_000;

/// The response every connection gets.
fn response() -> Vec<u8> {
    let mut bytes = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n".to_vec();
    for index in 0..EVENTS {
        let chunk =
            serde_json::json!({"choices": [{"delta": {"content": format!(" token{index}")}}]});
        bytes.extend_from_slice(format!("data: {chunk}\n\n").as_bytes());
    }
    bytes.extend_from_slice(b"data: [DONE]\n\n");
    bytes
}

/// Starts the server; returns the URL.
fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr: SocketAddr = listener.local_addr().expect("an address");
    let body = Arc::new(response());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let _ = conn.set_nodelay(true);
                // The request head: read until the blank line.
                let mut head = Vec::new();
                let mut byte = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&byte[..n]),
                    }
                }
                let _ = conn.write_all(&body);
                let _ = conn.shutdown(std::net::Shutdown::Write);
                // Let the client close first (no reset of unread bytes).
                let _ = conn.read(&mut byte);
            });
        }
    });
    format!("http://{addr}/stream")
}

fn ssewire(url: &str) -> usize {
    use ssewire_smol::client::{Config, StopReason};
    use ssewire_smol::{ClientEvent, EventSource};
    smol::block_on(async {
        let mut events = EventSource::get(url)
            .expect("a URL")
            .with_config(Config {
                reconnect: false,
                ..Config::default()
            })
            .with_terminal(|event| event.data() == "[DONE]");
        let mut count = 0;
        while let Some(event) = events.next().await {
            match event {
                ClientEvent::Event(event) => {
                    std::hint::black_box(event.data());
                    count += 1;
                }
                ClientEvent::Closed(StopReason::Terminal(_)) => break,
                ClientEvent::Closed(other) => panic!("ssewire stopped: {other:?}"),
                _ => {}
            }
        }
        count
    })
}

fn reqwest_eventsource(
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    url: &str,
) -> usize {
    use reqwest_eventsource::{Event, EventSource};
    runtime.block_on(async {
        let mut events = EventSource::new(client.get(url)).expect("a request");
        let mut count = 0;
        while let Some(event) = events.next().await {
            match event {
                Ok(Event::Open) => {}
                Ok(Event::Message(message)) if message.data == "[DONE]" => {
                    events.close();
                    break;
                }
                Ok(Event::Message(message)) => {
                    std::hint::black_box(&message.data);
                    count += 1;
                }
                Err(e) => panic!("reqwest-eventsource: {e}"),
            }
        }
        count
    })
}

fn eventsource_client(runtime: &tokio::runtime::Runtime, url: &str) -> usize {
    use eventsource_client::{Client, ClientBuilder, ReconnectOptions, SSE};
    runtime.block_on(async {
        let transport = launchdarkly_sdk_transport::HyperTransport::builder()
            .build_http()
            .expect("a transport");
        let client = ClientBuilder::for_url(url)
            .expect("a URL")
            .reconnect(ReconnectOptions::reconnect(false).build())
            .build_with_transport(transport);
        let mut events = client.stream();
        let mut count = 0;
        while let Some(event) = events.next().await {
            match event {
                Ok(SSE::Event(event)) if event.data == "[DONE]" => break,
                Ok(SSE::Event(event)) => {
                    std::hint::black_box(&event.data);
                    count += 1;
                }
                Ok(_) => {}
                Err(e) => panic!("eventsource-client: {e:?}"),
            }
        }
        count
    })
}

fn clients(c: &mut Criterion) {
    let url = server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let reqwest = reqwest::Client::new();
    // Every client reads every event.
    assert_eq!(ssewire(&url), EVENTS);
    assert_eq!(reqwest_eventsource(&runtime, &reqwest, &url), EVENTS);
    assert_eq!(eventsource_client(&runtime, &url), EVENTS);

    let mut group = c.benchmark_group("client_loopback");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("ssewire-smol", |b| b.iter(|| ssewire(&url)));
    group.bench_function("reqwest-eventsource", |b| {
        b.iter(|| reqwest_eventsource(&runtime, &reqwest, &url))
    });
    group.bench_function("eventsource-client", |b| {
        b.iter(|| eventsource_client(&runtime, &url))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = ssewire_benches::criterion_config();
    targets = clients
}
criterion_main!(benches);
