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

/// Reads what the server sends until it closes the connection (or resets it).
async fn read_until_closed(conn: &mut async_io::Async<std::net::TcpStream>) -> String {
    let mut all = Vec::new();
    let _ = futures_lite::AsyncReadExt::read_to_end(conn, &mut all).await;
    String::from_utf8_lossy(&all).into_owned()
}

/// Sends `request` on a new connection and returns all the server sends until it closes.
async fn exchange<R: Runtime>(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut conn = connect(addr).await.expect("connect");
    conn.write_all(request).await.expect("request");
    within::<R, _>(STEP, "the server closing", read_until_closed(&mut conn)).await
}

/// A head of `fields` header fields of `value_len` bytes each after `request_line`.
fn head_with(request_line: &str, fields: usize, value_len: usize, close: bool) -> Vec<u8> {
    let mut head = format!("{request_line}\r\nHost: t\r\n");
    for i in 0..fields {
        head.push_str(&format!("X-Field-{i}: {}\r\n", "v".repeat(value_len)));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The header-read deadline runs from the connection's accept: a slowloris head is closed at
/// it on the lean path, and a head the lean path hands to hyper half-way (here: more fields
/// than it parses itself) keeps the deadline counted from the accept, not a new one from the
/// hand-off.
pub async fn header_deadline_spans_the_hand_off<R: Runtime>(runtime: R) {
    const DEADLINE: Duration = Duration::from_secs(1);
    // The hand-off comes late in the deadline, so a deadline restarted there would close at
    // 1.8 s or later: the bound below leaves 0.6 s for a loaded machine's scheduling.
    const HAND_OFF_AT: Duration = Duration::from_millis(800);
    let _turn = crate::shared_turn();
    within::<R, _>(TEST_LIMIT, "header_deadline_spans_the_hand_off", async {
        let config = Config {
            header_read_timeout: DEADLINE,
            // More than the lean path parses (100): such a head goes to hyper.
            max_headers: 200,
            ..Config::default()
        };
        let server = start(runtime, config, |_: Request| {
            std::future::ready(Response::text("served"))
        })
        .await;
        for hand_off in [false, true] {
            // Before the connect: the deadline runs from the accept, after it.
            let began = Instant::now();
            let conn = connect(server.local_addr()).await.expect("connect");
            let mut writer = &conn;
            writer
                .write_all(b"GET / HTTP/1.1\r\n")
                .await
                .expect("request line");
            R::sleep(HAND_OFF_AT).await;
            if hand_off {
                let fields: String = (0..101).map(|i| format!("X-{i}: x\r\n")).collect();
                writer.write_all(fields.as_bytes()).await.expect("fields");
            }
            // One more field every 100 ms, never a whole head, until the server closes.
            let trickle = async {
                for i in 0.. {
                    R::sleep(Duration::from_millis(100)).await;
                    let _ = writer.write_all(format!("Y-{i}: y\r\n").as_bytes()).await;
                }
                String::new()
            };
            let mut reader = &conn;
            let mut answer = Vec::new();
            let closed = async {
                let _ = futures_lite::AsyncReadExt::read_to_end(&mut reader, &mut answer).await;
                String::new()
            };
            within::<R, _>(
                STEP,
                "the server closing",
                futures_lite::future::or(closed, trickle),
            )
            .await;
            let closed = began.elapsed();
            eprintln!("slowloris head (hand-off {hand_off}): closed after {closed:?}");
            assert!(
                closed >= DEADLINE && closed < HAND_OFF_AT + DEADLINE,
                "hand-off {hand_off}: closed after {closed:?}, the deadline is {DEADLINE:?}"
            );
        }
        eventually::<R>(STEP, "two header timeouts counted", || {
            server.stats().closed_header_timeout == 2
        })
        .await;
        stop(&server).await;
    })
    .await;
}

/// The head limits are the same on the lean path (a bodyless `GET`) and hyper's (a `POST`):
/// past `max_head_size` or `max_headers` the answer is `431`; at them the request is served.
pub async fn head_limits_431<R: Runtime>(runtime: R) {
    const MAX_HEAD: usize = 8 * 1024;
    const MAX_HEADERS: usize = 20;
    let _turn = crate::shared_turn();
    within::<R, _>(TEST_LIMIT, "head_limits_431", async {
        let config = Config {
            max_head_size: MAX_HEAD,
            max_headers: MAX_HEADERS,
            ..Config::default()
        };
        let server = start(runtime, config, |_: Request| {
            std::future::ready(Response::text("served"))
        })
        .await;
        let addr = server.local_addr();
        for line in ["GET / HTTP/1.1", "POST / HTTP/1.1\r\nContent-Length: 0"] {
            // Host and Connection are two fields; the request line of the POST one more.
            let fields = MAX_HEADERS - 2 - usize::from(line.starts_with("POST"));
            let at_limit = exchange::<R>(addr, &head_with(line, fields, 8, true)).await;
            assert!(
                at_limit.starts_with("HTTP/1.1 200 "),
                "{line}: {at_limit:?}"
            );
            let too_many = exchange::<R>(addr, &head_with(line, fields + 1, 8, true)).await;
            assert!(
                too_many.starts_with("HTTP/1.1 431 "),
                "{line}: {too_many:?}"
            );
            let long = exchange::<R>(addr, &head_with(line, 4, MAX_HEAD / 4, true)).await;
            assert!(long.starts_with("HTTP/1.1 431 "), "{line}: {long:?}");
            let near = exchange::<R>(addr, &head_with(line, 4, MAX_HEAD / 4 - 200, true)).await;
            assert!(near.starts_with("HTTP/1.1 200 "), "{line}: {near:?}");
        }
        stop(&server).await;
    })
    .await;
}

/// A request body is read within `request_body_timeout` (a client trickling one is answered
/// `408` and closed) and up to `max_request_body` (a larger one is answered `413`).
pub async fn request_body_limits<R: Runtime>(runtime: R) {
    const DEADLINE: Duration = Duration::from_millis(500);
    let _turn = crate::shared_turn();
    within::<R, _>(TEST_LIMIT, "request_body_limits", async {
        let config = Config {
            request_body_timeout: DEADLINE,
            max_request_body: 1024,
            ..Config::default()
        };
        let server = start(runtime, config, |request: Request| {
            let len = request.body().len();
            std::future::ready(Response::text(format!("{len} bytes")))
        })
        .await;
        let addr = server.local_addr();
        let post = |len: usize| {
            let mut request = format!(
                "POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n"
            )
            .into_bytes();
            request.resize(request.len() + len, b'x');
            request
        };
        let fits = exchange::<R>(addr, &post(1024)).await;
        assert!(
            fits.starts_with("HTTP/1.1 200 ") && fits.ends_with("1024 bytes"),
            "{fits:?}"
        );
        let too_large = exchange::<R>(addr, &post(1025)).await;
        assert!(too_large.starts_with("HTTP/1.1 413 "), "{too_large:?}");
        // One byte every 100 ms of ten promised.
        let began = Instant::now();
        let conn = connect(addr).await.expect("connect");
        let mut writer = &conn;
        writer
            .write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n")
            .await
            .expect("head");
        let trickle = async {
            for _ in 0..10 {
                R::sleep(Duration::from_millis(100)).await;
                let _ = writer.write_all(b"x").await;
            }
            R::sleep(STEP).await;
            String::new()
        };
        let answer = within::<R, _>(
            STEP,
            "the server closing",
            futures_lite::future::or(read_until_closed_shared(&conn), trickle),
        )
        .await;
        let closed = began.elapsed();
        eprintln!(
            "trickled body: {:?} after {closed:?}",
            answer.lines().next()
        );
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
        assert!(closed >= DEADLINE && closed < DEADLINE * 2, "{closed:?}");
        assert_eq!(server.stats().closed_body_timeout, 1);
        stop(&server).await;
    })
    .await;
}

/// [`read_until_closed`] through a shared reference, beside a writer.
async fn read_until_closed_shared(conn: &async_io::Async<std::net::TcpStream>) -> String {
    let mut reader = conn;
    let mut all = Vec::new();
    let _ = futures_lite::AsyncReadExt::read_to_end(&mut reader, &mut all).await;
    String::from_utf8_lossy(&all).into_owned()
}

/// An HTTP/2 connection with no open stream is closed after `http2_idle_timeout` (a client that
/// sends the preface and nothing else); one whose client never answers a `PING` is closed after
/// `http2_keep_alive_interval` + `http2_keep_alive_timeout`, even with a stream open.
pub async fn http2_preface_only_closed<R: Runtime>(runtime: R) {
    const IDLE: Duration = Duration::from_millis(400);
    let _turn = crate::shared_turn();
    within::<R, _>(TEST_LIMIT, "http2_preface_only_closed", async {
        let config = Config {
            http2_idle_timeout: IDLE,
            http2_keep_alive_interval: Duration::from_millis(300),
            http2_keep_alive_timeout: Duration::from_millis(300),
            ..Config::default()
        };
        let server = start(runtime, config, |_: Request| {
            std::future::ready(Response::sse(|send| async move {
                send.send("open").await?;
                std::future::pending::<()>().await;
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }))
        })
        .await;
        let began = Instant::now();
        let mut conn = connect(server.local_addr()).await.expect("connect");
        conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            .await
            .expect("preface");
        // Whatever the server sends (its SETTINGS) is read and not answered.
        within::<R, _>(STEP, "the server closing", read_until_closed(&mut conn)).await;
        let closed = began.elapsed();
        eprintln!("HTTP/2 preface only: closed after {closed:?}");
        assert!(closed >= IDLE && closed < IDLE * 2, "{closed:?}");
        eventually::<R>(STEP, "an idle close counted", || {
            server.stats().closed_http2_idle == 1
        })
        .await;

        // A stream open (the keep-alive PINGs are what closes it, not the idle timeout).
        let began = Instant::now();
        let mut conn = connect(server.local_addr()).await.expect("connect");
        conn.write_all(&request_bytes(Path::Http2))
            .await
            .expect("request");
        within::<R, _>(STEP, "the server closing", read_until_closed(&mut conn)).await;
        let closed = began.elapsed();
        eprintln!("HTTP/2 stream, PINGs unanswered: closed after {closed:?}");
        assert!(closed >= Duration::from_millis(600), "{closed:?}");
        eventually::<R>(STEP, "the connections closed", || server.connections() == 0).await;
        stop(&server).await;
    })
    .await;
}

/// An HTTP/2 client opening 1 000 streams at once gets `http2_max_concurrent_streams` of them
/// served and the others refused (`RST_STREAM` with `REFUSED_STREAM`), while an ordinary client
/// on another connection gets its events at once.
pub async fn http2_thousand_streams<R: Runtime>(runtime: R) {
    const STREAMS: u32 = 1000;
    const MAX: u32 = 8;
    let _turn = crate::shared_turn();
    within::<R, _>(TEST_LIMIT, "http2_thousand_streams", async {
        let config = Config {
            http2_max_concurrent_streams: MAX,
            ..Config::default()
        };
        let server = start(runtime, config, |_: Request| {
            std::future::ready(Response::sse(|send| async move {
                send.send("open").await?;
                std::future::pending::<()>().await;
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }))
        })
        .await;
        let mut flood = request_bytes(Path::Http2);
        for i in 1..STREAMS {
            let id = 2 * i + 1;
            flood.extend_from_slice(&[0, 0, 6, 0x1, 0x5]);
            flood.extend_from_slice(&id.to_be_bytes());
            flood.extend_from_slice(&[0x82, 0x86, 0x84, 0x41, 0x01, b't']);
        }
        let mut conn = connect(server.local_addr()).await.expect("connect");
        conn.write_all(&flood).await.expect("the flood");
        // Frames: the responses' HEADERS and the refusals.
        let (mut served, mut refused) = (0, 0);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        while served < MAX || refused < STREAMS - MAX {
            let n = within::<R, _>(
                STEP,
                "the server's answers",
                futures_lite::AsyncReadExt::read(&mut conn, &mut chunk),
            )
            .await
            .expect("read");
            assert!(n > 0, "closed after {served} served, {refused} refused");
            buf.extend_from_slice(&chunk[..n]);
            while buf.len() >= 9 {
                let len =
                    usize::from(buf[0]) << 16 | usize::from(buf[1]) << 8 | usize::from(buf[2]);
                if buf.len() < 9 + len {
                    break;
                }
                match buf[3] {
                    0x1 => served += 1,
                    0x3 if buf[9..13] == [0, 0, 0, 7] => refused += 1,
                    _ => {}
                }
                buf.drain(..9 + len);
            }
        }
        assert_eq!((served, refused), (MAX, STREAMS - MAX));
        // Another client is served at once.
        let mut other = super::open_stream::<R>(server.local_addr(), "/", &[]).await;
        let event = super::next_event::<R>(&mut other, "an ordinary client's event").await;
        assert_eq!(event.data(), "open");
        let stats = server.stats();
        assert_eq!((stats.http1_connections, stats.http2_connections), (1, 1));
        eprintln!("HTTP/2, {STREAMS} streams opened at once: {served} served, {refused} refused");
        drop((conn, other));
        stop(&server).await;
    })
    .await;
}
