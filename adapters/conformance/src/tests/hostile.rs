//! Hostile and broken clients: each limit of [`Config`] shown over real TCP, with short limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_lite::AsyncWriteExt;
use ssewire::Event;
use ssewire_server::{Config, Request, Response, Runtime};
use ssewire_stream::{Hub, HubConfig, SlowPolicy};

use super::{OnDrop, STEP, TEST_LIMIT, eventually, hub_server, start, stop};
use crate::alone_turn;
use crate::client::{connect, within};

/// The send timeout the tests configure.
const SEND_TIMEOUT: Duration = Duration::from_millis(300);
/// Long enough for a client that never reads to fill the kernel's buffers, and the timeout.
const FILL_AND_TIME_OUT: Duration = Duration::from_secs(10);

/// How a send-timeout case asks for its stream.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// A bodyless `GET`: the lean HTTP/1.1 path.
    Lean,
    /// A `POST` with a body: hyper's HTTP/1.1.
    Hyper,
    /// HTTP/2 with prior knowledge, with flow-control windows opened wide so that the socket is
    /// what fills.
    Http2,
}

/// The raw bytes of a request for an event stream on `path`.
fn request_bytes(path: Path) -> Vec<u8> {
    match path {
        Path::Lean => b"GET / HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n".to_vec(),
        Path::Hyper => b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx".to_vec(),
        Path::Http2 => {
            let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            let frame = |out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]| {
                let len = u32::try_from(payload.len()).expect("a small frame");
                out.extend_from_slice(&len.to_be_bytes()[1..]);
                out.extend_from_slice(&[kind, flags]);
                out.extend_from_slice(&stream.to_be_bytes());
                out.extend_from_slice(payload);
            };
            // SETTINGS: INITIAL_WINDOW_SIZE = 2^31 - 1.
            let mut settings = vec![0, 4];
            settings.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
            frame(&mut out, 0x4, 0, 0, &settings);
            // WINDOW_UPDATE on the connection: its window to 2^31 - 1 too.
            frame(
                &mut out,
                0x8,
                0,
                0,
                &(0x7fff_ffffu32 - 65_535).to_be_bytes(),
            );
            // HEADERS, END_STREAM | END_HEADERS: :method GET, :scheme http, :path /,
            // :authority t (HPACK: three static-table indices and a literal).
            frame(&mut out, 0x1, 0x5, 1, &[0x82, 0x86, 0x84, 0x41, 0x01, b't']);
            out
        }
    }
}

/// A client that sends its request and never reads is closed after `send_timeout` once its
/// socket is full, on the lean path, on hyper's HTTP/1.1 and on HTTP/2: the producer is dropped
/// and the connection closed, while a stream whose client reads is untouched.
pub async fn send_timeout_closes_a_client_that_never_reads<R: Runtime>(runtime: R) {
    const EVENT: usize = 64 * 1024;
    let _turn = alone_turn();
    within::<R, _>(
        TEST_LIMIT,
        "send_timeout_closes_a_client_that_never_reads",
        async {
            for path in [Path::Lean, Path::Hyper, Path::Http2] {
                let dropped = Arc::new(AtomicUsize::new(0));
                let config = Config {
                    send_timeout: SEND_TIMEOUT,
                    ..Config::default()
                };
                let server = start(runtime.clone(), config, {
                    let dropped = dropped.clone();
                    move |_: Request| {
                        let dropped = dropped.clone();
                        std::future::ready(Response::sse(move |send| async move {
                            let _guard = OnDrop(move || {
                                dropped.fetch_add(1, Ordering::SeqCst);
                            });
                            let payload = "x".repeat(EVENT);
                            loop {
                                send.send(payload.as_str()).await?;
                            }
                            #[expect(unreachable_code, reason = "the type of the producer")]
                            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                        }))
                    }
                })
                .await;
                let mut conn = connect(server.local_addr()).await.expect("connect");
                conn.write_all(&request_bytes(path)).await.expect("request");
                let began = Instant::now();
                eventually::<R>(FILL_AND_TIME_OUT, "the stalled stream closed", || {
                    dropped.load(Ordering::SeqCst) == 1 && server.connections() == 0
                })
                .await;
                let took = began.elapsed();
                assert!(
                    took >= SEND_TIMEOUT,
                    "{path:?}: closed after {took:?}, before the send timeout"
                );
                eprintln!("{path:?}: a client that never reads closed after {took:?}");
                drop(conn);
                stop(&server).await;
            }
        },
    )
    .await;
}

/// A hub subscription whose socket stays full is closed after `send_timeout` (its lane hands
/// the full socket back to the connection's task, which times out) and its subscription leaves
/// the hub, with the lanes and without.
pub async fn send_timeout_ends_a_stalled_hub_subscription<R: Runtime>(runtime: R) {
    let _turn = alone_turn();
    within::<R, _>(
        TEST_LIMIT,
        "send_timeout_ends_a_stalled_hub_subscription",
        async {
            for fan_out_lanes in [true, false] {
                let hub = Hub::new(HubConfig {
                    backlog: 16,
                    ..HubConfig::default()
                });
                let config = Config {
                    send_timeout: SEND_TIMEOUT,
                    fan_out_lanes,
                    ..Config::default()
                };
                let server = hub_server(runtime.clone(), config, &hub).await;
                let mut conn = connect(server.local_addr()).await.expect("connect");
                conn.write_all(&request_bytes(Path::Lean))
                    .await
                    .expect("request");
                eventually::<R>(STEP, "the subscription", || hub.subscribers() == 1).await;
                // Publish until the subscription is gone (it never reads).
                let payload = "y".repeat(16 * 1024);
                let began = Instant::now();
                within::<R, _>(FILL_AND_TIME_OUT, "the stalled subscription gone", async {
                    while hub.subscribers() > 0 {
                        hub.publish(&Event::new(payload.as_str()));
                        R::sleep(Duration::from_millis(2)).await;
                    }
                })
                .await;
                eventually::<R>(STEP, "the connection closed", || server.connections() == 0).await;
                eprintln!(
                    "lanes {fan_out_lanes}: stalled subscription gone after {:?}",
                    began.elapsed()
                );
                drop(conn);
                stop(&server).await;
            }
        },
    )
    .await;
}

/// `SlowPolicy::Disconnect` ends a subscriber whose socket is full as soon as its backlog fills,
/// while its client still reads nothing (the send timeout is left at its 60 s default).
pub async fn slow_policy_disconnect_with_a_full_socket<R: Runtime>(runtime: R) {
    let _turn = alone_turn();
    within::<R, _>(
        TEST_LIMIT,
        "slow_policy_disconnect_with_a_full_socket",
        async {
            for fan_out_lanes in [true, false] {
                let hub = Hub::new(HubConfig {
                    backlog: 16,
                    slow: SlowPolicy::Disconnect,
                    ..HubConfig::default()
                });
                let config = Config {
                    fan_out_lanes,
                    ..Config::default()
                };
                let server = hub_server(runtime.clone(), config, &hub).await;
                let mut conn = connect(server.local_addr()).await.expect("connect");
                conn.write_all(&request_bytes(Path::Lean))
                    .await
                    .expect("request");
                eventually::<R>(STEP, "the subscription", || hub.subscribers() == 1).await;
                let payload = "z".repeat(16 * 1024);
                let began = Instant::now();
                within::<R, _>(FILL_AND_TIME_OUT, "the slow subscriber ended", async {
                    while hub.subscribers() > 0 || server.connections() > 0 {
                        hub.publish(&Event::new(payload.as_str()));
                        R::sleep(Duration::from_millis(2)).await;
                    }
                })
                .await;
                let took = began.elapsed();
                assert!(
                    took < Duration::from_secs(5),
                    "lanes {fan_out_lanes}: {took:?}"
                );
                eprintln!("lanes {fan_out_lanes}: slow subscriber ended after {took:?}");
                drop(conn);
                stop(&server).await;
            }
        },
    )
    .await;
}
