//! The conformance tests, each an `async fn(runtime)` or `async fn(runtime, transport)` that
//! [`suite!`](crate::suite) turns into a `#[test]` (those with a [`Transport`] into two: in clear
//! and over TLS). Each starts its own server on `127.0.0.1:0`, talks to it over real TCP (under
//! TLS when the transport says so), bounds its own run time and shuts the server down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ssewire::{Event, Frame};
use ssewire_server::{Config, Request, Response, Runtime, Server};
use ssewire_stream::{Hub, HubConfig, KeepAlive, SlowPolicy};

use crate::client::{Sse, Transport, connect, within};
use crate::{Counting, alone_turn, shared_turn};
use ssewire_demo::chat as chat_app;

mod hostile;
pub use hostile::*;

/// The longest any one test may run.
const TEST_LIMIT: Duration = Duration::from_secs(30);
/// How long a single step (a response head, the next event) may take.
const STEP: Duration = Duration::from_secs(3);
/// The grace period given to `Server::shutdown` at the end of each test.
const GRACE: Duration = Duration::from_millis(200);
/// The longest a client disconnect may stay unnoticed by the producer.
const DISCONNECT_BOUND: Duration = Duration::from_millis(100);

/// Starts a cleartext server on `127.0.0.1:0`.
async fn start<R, H, F>(runtime: R, config: Config, handler: H) -> Server<R>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    start_with(&Transport::Tcp, runtime, config, handler).await
}

/// The demo's chat app (`ssewire_demo::chat`) with the default config.
async fn start_demo<R: Runtime>(transport: &Transport, runtime: R) -> Server<R> {
    start_with(transport, runtime, Config::default(), chat_app::handle::<R>).await
}

/// Starts a server on `127.0.0.1:0`: `serve`, or `serve_tls` with the transport's certificate.
async fn start_with<R, H, F>(
    transport: &Transport,
    runtime: R,
    config: Config,
    handler: H,
) -> Server<R>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    serve_local(runtime, config, transport.server_tls(), handler).await
}

/// Starts a server on `127.0.0.1:0`: `serve`, or `serve_tls` with `tls`.
async fn serve_local<R, H, F>(
    runtime: R,
    config: Config,
    tls: Option<ssewire_server::TlsConfig>,
    handler: H,
) -> Server<R>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    match tls {
        None => ssewire_server::serve(runtime, addr, config, handler).await,
        Some(tls) => ssewire_server::serve_tls(runtime, addr, config, tls, handler).await,
    }
    .expect("binding 127.0.0.1:0")
}

async fn stop<R: Runtime>(server: &Server<R>) {
    within::<R, _>(GRACE * 2 + STEP, "Server::shutdown", server.shutdown(GRACE)).await;
}

/// Waits until `condition` holds, checking every few milliseconds.
async fn eventually<R: Runtime>(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    within::<R, _>(limit, what, async {
        while !condition() {
            R::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Opens an event stream (`GET path` with `headers`) and reads its opening comment.
async fn open_stream<R: Runtime>(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Sse<crate::client::Body> {
    open_stream_with::<R>(&Transport::Tcp, addr, path, headers).await
}

/// Sends `GET path` with `headers` over `transport` asking for an event stream, and checks the
/// answer is one (its head within [`STEP`]).
async fn get_sse<R: Runtime>(
    transport: &Transport,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Sse<crate::client::Body> {
    within::<R, _>(
        STEP,
        "response head",
        transport.get_sse(addr, path, headers),
    )
    .await
    .expect("GET")
}

/// Reads what the server sends on `conn` until it closes the connection (within [`STEP`]).
async fn read_until_closed<R: Runtime>(conn: &mut crate::client::Conn, what: &str) -> Vec<u8> {
    let mut answer = Vec::new();
    within::<R, _>(STEP, what, conn.read_until_closed(&mut answer))
        .await
        .expect("read");
    answer
}

/// Opens an event stream (`GET path` with `headers`) over `transport` and reads its opening
/// comment.
async fn open_stream_with<R: Runtime>(
    transport: &Transport,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Sse<crate::client::Body> {
    let mut sse = get_sse::<R>(transport, addr, path, headers).await;
    let opening = within::<R, _>(STEP, "the opening frame", sse.frame()).await;
    assert_eq!(opening, Some(Frame::Comment(String::new())));
    sse
}

/// Runs a closure when dropped (a producer holds one to tell when it is dropped).
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// Adds one to `counter` when dropped.
fn counts_drop(counter: Arc<AtomicUsize>) -> OnDrop<impl FnMut()> {
    OnDrop(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
}

fn config_with(keep_alive: KeepAlive) -> Config {
    Config {
        keep_alive,
        ..Config::default()
    }
}

/// A producer that sends nothing and waits for the client to leave.
fn idle() -> Response {
    Response::sse(|send| async move { send.closed().await })
}

/// SSE responses carry `Content-Type: text/event-stream`, `Cache-Control: no-cache,
/// no-transform`, `X-Accel-Buffering: no`, identity encoding, HTTP/1.1 chunked transfer coding, and
/// never a `Connection` header.
pub async fn response_headers<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "response_headers", async {
        let server = start_with(&transport, runtime, Config::default(), |_: Request| async {
            Response::sse(|send| async move {
                if send.send("hello").await.is_ok() {
                    send.closed().await;
                }
            })
        })
        .await;
        let response = within::<R, _>(
            STEP,
            "response head",
            transport.get(
                server.local_addr(),
                "/events",
                &[("Accept", "text/event-stream")],
            ),
        )
        .await
        .expect("GET /events");
        assert_eq!(response.version, "HTTP/1.1");
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("text/event-stream"));
        let cache_control: Vec<&str> = response
            .header("cache-control")
            .expect("a Cache-Control header")
            .split(',')
            .map(str::trim)
            .collect();
        assert!(
            cache_control.contains(&"no-cache") && cache_control.contains(&"no-transform"),
            "Cache-Control: {cache_control:?}"
        );
        assert_eq!(response.header("x-accel-buffering"), Some("no"));
        assert_eq!(response.header("transfer-encoding"), Some("chunked"));
        assert_eq!(response.header("content-length"), None);
        assert!(
            matches!(response.header("content-encoding"), None | Some("identity")),
            "{:?}",
            response.headers
        );
        assert_eq!(
            response.header("connection"),
            None,
            "an SSE response must not carry `Connection` (forbidden in HTTP/2): {:?}",
            response.headers
        );
        let mut sse = response.into_sse();
        let event = within::<R, _>(STEP, "the first event", sse.event())
            .await
            .expect("an event");
        assert_eq!(event.data(), "hello");
        drop(sse);
        stop(&server).await;
    })
    .await;
}

/// The opening frame (a comment, and `retry:` when set per response or in the server's config)
/// arrives as soon as the stream opens, while the producer has sent nothing.
pub async fn opening_frame_at_once<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "opening_frame_at_once", async {
        let server = start_with(
            &transport,
            runtime.clone(),
            Config::default(),
            |request: Request| async move {
                match request.path() {
                    "/retry" => idle().with_keep_alive(KeepAlive {
                        retry: Some(Duration::from_millis(1500)),
                        ..KeepAlive::default()
                    }),
                    _ => idle(),
                }
            },
        )
        .await;
        let configured = start_with(
            &transport,
            runtime,
            config_with(KeepAlive {
                retry: Some(Duration::from_millis(2500)),
                ..KeepAlive::default()
            }),
            |_: Request| async { idle() },
        )
        .await;
        let cases = [
            (server.local_addr(), "/plain", None, &b":\n\n"[..]),
            (
                server.local_addr(),
                "/retry",
                Some(1500),
                &b":\nretry: 1500\n\n"[..],
            ),
            (
                configured.local_addr(),
                "/plain",
                Some(2500),
                &b":\nretry: 2500\n\n"[..],
            ),
        ];
        for (addr, path, retry, wire) in cases {
            let started = Instant::now();
            let mut sse = get_sse::<R>(&transport, addr, path, &[]).await;
            let first = within::<R, _>(STEP, "the opening frame", sse.frame()).await;
            let elapsed = started.elapsed();
            assert_eq!(first, Some(Frame::Comment(String::new())), "{path}");
            if let Some(ms) = retry {
                let second = within::<R, _>(STEP, "the retry field", sse.frame()).await;
                assert_eq!(second, Some(Frame::Retry(Duration::from_millis(ms))));
            }
            assert_eq!(
                sse.wire,
                wire,
                "opening frame of {path}: {:?}",
                String::from_utf8_lossy(&sse.wire)
            );
            eprintln!("opening frame of {path} (retry {retry:?}) after {elapsed:?}");
            assert!(
                elapsed < Duration::from_millis(500),
                "the opening frame took {elapsed:?}"
            );
        }
        stop(&server).await;
        stop(&configured).await;
    })
    .await;
}

/// Event N reaches the client before event N+1 is produced: the producer waits, after sending N,
/// for the client to acknowledge it.
pub async fn incremental_delivery<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "incremental_delivery", async {
        let (ack_tx, ack_rx) = async_channel::unbounded::<u32>();
        let produced = Arc::new(Mutex::new(Vec::new()));
        let server = start_with(&transport, runtime, Config::default(), {
            let produced = produced.clone();
            move |_: Request| {
                let produced = produced.clone();
                let ack_rx = ack_rx.clone();
                async move {
                    Response::sse(move |send| async move {
                        for n in 1..=5u32 {
                            produced.lock().unwrap().push(n);
                            send.send(Event::new(n.to_string()).with_id(n.to_string())?)
                                .await?;
                            if ack_rx.recv().await != Ok(n) {
                                break;
                            }
                        }
                        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                    })
                }
            }
        })
        .await;
        let mut sse = get_sse::<R>(&transport, server.local_addr(), "/", &[]).await;
        for n in 1..=5u32 {
            let event = within::<R, _>(STEP, "event N before event N+1 is produced", sse.event())
                .await
                .expect("an event");
            assert_eq!(event.data(), n.to_string());
            assert_eq!(event.id(), Some(n.to_string().as_str()));
            assert_eq!(
                *produced.lock().unwrap(),
                (1..=n).collect::<Vec<_>>(),
                "event {n} arrived while the producer had gone further"
            );
            ack_tx.send(n).await.expect("the producer listens");
        }
        let end = within::<R, _>(STEP, "the end of the stream", sse.event()).await;
        assert!(end.is_none(), "{end:?}");
        assert!(sse.body().is_done(), "the body ends cleanly");
        stop(&server).await;
    })
    .await;
}

/// The request's `Last-Event-ID` reaches the handler and the producer, raw and parsed.
pub async fn last_event_id_reaches_producer<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "last_event_id_reaches_producer", async {
        let server = start_with(
            &transport,
            runtime,
            Config::default(),
            |request: Request| async move {
                let raw = request.last_event_id().map(str::to_owned);
                let parsed = request.last_event_id_as::<u64>();
                Response::sse(move |send| async move {
                    let _ = send
                        .send(serde_json::json!({ "raw": raw, "parsed": parsed }))
                        .await;
                })
            },
        )
        .await;
        let cases: [(Option<&str>, serde_json::Value); 5] = [
            (Some("41"), serde_json::json!({"raw": "41", "parsed": 41})),
            (
                Some("18446744073709551615"),
                serde_json::json!({"raw": "18446744073709551615", "parsed": u64::MAX}),
            ),
            (
                Some("chat-7"),
                serde_json::json!({"raw": "chat-7", "parsed": null}),
            ),
            (Some(""), serde_json::json!({"raw": null, "parsed": null})),
            (None, serde_json::json!({"raw": null, "parsed": null})),
        ];
        for (header, expected) in cases {
            let headers: Vec<(&str, &str)> =
                header.map(|id| ("Last-Event-ID", id)).into_iter().collect();
            let mut sse = get_sse::<R>(&transport, server.local_addr(), "/", &headers).await;
            let events = within::<R, _>(STEP, "the events", sse.events_to_end()).await;
            assert_eq!(events.len(), 1, "{events:?}");
            let seen: serde_json::Value =
                serde_json::from_str(events[0].data()).expect("JSON data");
            assert_eq!(seen, expected, "Last-Event-ID {header:?}");
        }
        stop(&server).await;
    })
    .await;
}

/// An idle stream gets keep-alive comment frames (`:\n\n`) at the configured interval.
pub async fn keep_alive_when_idle<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "keep_alive_when_idle", async {
        let interval = Duration::from_millis(100);
        let config = config_with(KeepAlive {
            interval: Some(interval),
            retry: None,
        });
        let server = start_with(&transport, runtime, config, |_: Request| async {
            Response::sse(|send| async move {
                if send.send("start").await.is_ok() {
                    send.closed().await;
                }
            })
        })
        .await;
        let mut sse = open_stream_with::<R>(&transport, server.local_addr(), "/", &[]).await;
        let start = within::<R, _>(STEP, "the first event", sse.frame()).await;
        assert!(
            matches!(&start, Some(Frame::Event(e)) if e.data() == "start"),
            "{start:?}"
        );
        let mut last = Instant::now();
        let mut gaps = Vec::new();
        for _ in 0..5 {
            let frame = within::<R, _>(STEP, "a keep-alive", sse.frame()).await;
            assert_eq!(frame, Some(Frame::Comment(String::new())));
            gaps.push(last.elapsed());
            last = Instant::now();
        }
        eprintln!("keep-alive gaps with a {interval:?} interval: {gaps:?}");
        for gap in &gaps {
            assert!(
                *gap >= interval * 6 / 10 && *gap <= interval * 4,
                "keep-alive gaps {gaps:?} for an interval of {interval:?}"
            );
        }
        assert!(
            sse.wire
                .ends_with(&b"data: start\n\n:\n\n:\n\n:\n\n:\n\n:\n\n"[..]),
            "{:?}",
            String::from_utf8_lossy(&sse.wire)
        );
        drop(sse);
        stop(&server).await;
    })
    .await;
}

/// Every event resets the keep-alive timer (events closer together than the interval get no
/// keep-alive between them), and a keep-alive never lands inside an event.
pub async fn keep_alive_reset_by_events<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "keep_alive_reset_by_events", async {
        let interval = Duration::from_millis(150);
        let spacing = Duration::from_millis(40);
        let config = config_with(KeepAlive {
            interval: Some(interval),
            retry: None,
        });
        let server = start_with(&transport, runtime, config, move |_: Request| async move {
            Response::sse(move |send| async move {
                for n in 0..10 {
                    let data = format!("event {n}\nsecond line\nthird line");
                    send.send(Event::new(data).with_id(n.to_string())?).await?;
                    R::sleep(spacing).await;
                }
                send.send("end").await?;
                send.closed().await;
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .await;
        let mut sse = open_stream_with::<R>(&transport, server.local_addr(), "/", &[]).await;
        for n in 0..10 {
            let frame = within::<R, _>(STEP, "an event", sse.frame()).await;
            match frame {
                Some(Frame::Event(event)) => {
                    assert_eq!(
                        event.data(),
                        format!("event {n}\nsecond line\nthird line")
                    );
                }
                other => panic!(
                    "expected event {n} ({spacing:?} apart, keep-alive interval {interval:?}), got {other:?}"
                ),
            }
        }
        let end = within::<R, _>(STEP, "the last event", sse.frame()).await;
        assert!(
            matches!(&end, Some(Frame::Event(e)) if e.data() == "end"),
            "{end:?}"
        );
        let end_at = Instant::now();
        let keep_alive = within::<R, _>(STEP, "a keep-alive after the events", sse.frame()).await;
        let idle = end_at.elapsed();
        assert_eq!(keep_alive, Some(Frame::Comment(String::new())));
        eprintln!("first keep-alive {idle:?} after the last event (interval {interval:?})");
        assert!(
            idle >= interval / 2 && idle <= interval * 4,
            "keep-alive {idle:?} after the last event, interval {interval:?}"
        );
        // On the wire, each block (up to a blank line) is all comments or all fields.
        let wire = String::from_utf8(sse.wire.clone()).expect("UTF-8");
        for block in wire.split("\n\n").filter(|b| !b.is_empty()) {
            let comments = block.lines().filter(|l| l.starts_with(':')).count();
            assert!(
                comments == 0 || comments == block.lines().count(),
                "a keep-alive inside an event: {block:?}"
            );
        }
        drop(sse);
        stop(&server).await;
    })
    .await;
}

/// A handler whose producer sends `ready`, then idles, reporting on `tx` when it is dropped
/// (`"producer dropped"`) and when `Sender::closed` resolves in a task spawned on the runtime
/// (`"Sender::closed"`).
fn disconnect_probe<R: Runtime>(
    runtime: R,
    tx: async_channel::Sender<(&'static str, Instant)>,
) -> impl Fn(Request) -> std::future::Ready<Response> + Send + Sync + 'static {
    move |_: Request| {
        let tx = tx.clone();
        let runtime = runtime.clone();
        std::future::ready(Response::sse(move |send| async move {
            let dropped = tx.clone();
            let _guard = OnDrop(move || {
                let _ = dropped.try_send(("producer dropped", Instant::now()));
            });
            let watcher = send.clone();
            runtime.spawn(async move {
                watcher.closed().await;
                let _ = tx.try_send(("Sender::closed", Instant::now()));
            });
            if send.send("ready").await.is_ok() {
                std::future::pending::<()>().await;
            }
        }))
    }
}

async fn disconnect_latencies<R: Runtime>(
    rx: &async_channel::Receiver<(&'static str, Instant)>,
    left_at: Instant,
) -> Vec<(&'static str, Duration)> {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (what, at) = within::<R, _>(STEP, "the producer noticing the disconnect", rx.recv())
            .await
            .expect("a report");
        seen.push((what, at.saturating_duration_since(left_at)));
    }
    seen
}

/// A client that disconnects while the stream is idle is noticed at once: the producer is
/// dropped, and `Sender::closed` resolves in a task holding a clone, within 100 ms.
pub async fn disconnect_noticed_while_idle<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "disconnect_noticed_while_idle", async {
        let (tx, rx) = async_channel::unbounded();
        let server = start_with(
            &transport,
            runtime.clone(),
            Config::default(),
            disconnect_probe(runtime, tx),
        )
        .await;
        let mut sse = get_sse::<R>(&transport, server.local_addr(), "/", &[]).await;
        let ready = within::<R, _>(STEP, "the first event", sse.event()).await;
        assert_eq!(ready.map(|e| e.data().to_owned()).as_deref(), Some("ready"));
        // Idle for a while (keep-alives every 15 s: nothing is written).
        R::sleep(Duration::from_millis(200)).await;
        assert!(rx.is_empty(), "the producer stopped before the client left");
        let left_at = Instant::now();
        drop(sse);
        let seen = disconnect_latencies::<R>(&rx, left_at).await;
        eprintln!("HTTP/1.1 client disconnect noticed after: {seen:?}");
        for (what, latency) in &seen {
            assert!(
                *latency < DISCONNECT_BOUND,
                "{what} {latency:?} after the client left: {seen:?}"
            );
        }
        eventually::<R>(STEP, "the connection closed", || server.connections() == 0).await;
        stop(&server).await;
    })
    .await;
}

/// An HTTP/2 client that cancels an idle stream (RST_STREAM, the connection stays open) is
/// noticed at once, as is the connection closing.
pub async fn http2_stream_reset_drops_producer<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "http2_stream_reset_drops_producer", async {
        let (tx, rx) = async_channel::unbounded();
        let server = start_with(
            &transport,
            runtime.clone(),
            Config::default(),
            disconnect_probe(runtime.clone(), tx),
        )
        .await;
        let mut h2 = within::<R, _>(
            STEP,
            "HTTP/2 handshake",
            transport.http2(&runtime, server.local_addr()),
        )
        .await
        .expect("HTTP/2 connection");
        let response = within::<R, _>(STEP, "response head", h2.get("/", &[]))
            .await
            .expect("GET over HTTP/2");
        assert_eq!(response.status(), 200);
        let mut sse = Sse::new(response.into_body());
        let ready = within::<R, _>(STEP, "the first event", sse.event()).await;
        assert_eq!(ready.map(|e| e.data().to_owned()).as_deref(), Some("ready"));
        R::sleep(Duration::from_millis(200)).await;
        assert!(rx.is_empty(), "the producer stopped before the client left");
        let left_at = Instant::now();
        drop(sse);
        let seen = disconnect_latencies::<R>(&rx, left_at).await;
        eprintln!("HTTP/2 stream reset noticed after: {seen:?}");
        for (what, latency) in &seen {
            assert!(
                *latency < DISCONNECT_BOUND,
                "{what} {latency:?} after the stream was reset: {seen:?}"
            );
        }
        assert_eq!(server.connections(), 1, "the HTTP/2 connection stays open");
        // A second stream on the same connection, then the whole connection goes.
        let response = within::<R, _>(STEP, "response head", h2.get("/", &[]))
            .await
            .expect("GET over HTTP/2");
        let mut sse = Sse::new(response.into_body());
        let ready = within::<R, _>(STEP, "the first event", sse.event()).await;
        assert!(ready.is_some());
        R::sleep(Duration::from_millis(100)).await;
        let left_at = Instant::now();
        drop(h2);
        drop(sse);
        let seen = disconnect_latencies::<R>(&rx, left_at).await;
        eprintln!("HTTP/2 connection close noticed after: {seen:?}");
        for (what, latency) in &seen {
            assert!(
                *latency < DISCONNECT_BOUND,
                "{what} {latency:?} after the connection closed: {seen:?}"
            );
        }
        eventually::<R>(STEP, "the connection closed", || server.connections() == 0).await;
        stop(&server).await;
    })
    .await;
}

/// After 1,000 connect/disconnect cycles no connection, producer or task is left: the server's
/// connection count is back to 0, every producer started was dropped, and the only task alive
/// is the accept loop (none after shutdown).
pub async fn no_task_left_behind<R: Runtime>(runtime: R, transport: Transport) {
    const CYCLES: usize = 1000;
    const CLIENTS: usize = 4;
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "no_task_left_behind", async {
        let runtime = Counting::new(runtime);
        let started = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let server = start_with(&transport, runtime.clone(), Config::default(), {
            let started = started.clone();
            let dropped = dropped.clone();
            move |_: Request| {
                started.fetch_add(1, Ordering::SeqCst);
                let dropped = dropped.clone();
                let guard = counts_drop(dropped);
                std::future::ready(Response::sse(move |send| async move {
                    let _guard = guard;
                    if send.send("hi").await.is_ok() {
                        std::future::pending::<()>().await;
                    }
                }))
            }
        })
        .await;
        let addr = server.local_addr();
        let began = Instant::now();
        let transport = &transport;
        let client = |_: usize| async move {
            for _ in 0..CYCLES / CLIENTS {
                let mut sse = get_sse::<R>(transport, addr, "/", &[]).await;
                let hi = within::<R, _>(STEP, "the first event", sse.event()).await;
                assert!(hi.is_some());
            }
        };
        futures_lite::future::zip(
            futures_lite::future::zip(client(0), client(1)),
            futures_lite::future::zip(client(2), client(3)),
        )
        .await;
        let cycles_took = began.elapsed();
        eventually::<R>(Duration::from_secs(10), "everything released", || {
            server.connections() == 0
                && dropped.load(Ordering::SeqCst) == CYCLES
                && runtime.live_tasks() == 1
        })
        .await;
        eprintln!(
            "{CYCLES} connect/disconnect cycles in {cycles_took:?}, all released after {:?}",
            began.elapsed()
        );
        assert_eq!(started.load(Ordering::SeqCst), CYCLES);
        stop(&server).await;
        eventually::<R>(STEP, "the accept loop ended", || runtime.live_tasks() == 0).await;
    })
    .await;
}

/// An HTTP/2 client (prior knowledge in clear, ALPN `h2` over TLS) gets the SSE headers (no
/// `Connection`) and the events, and can use the same connection for another request while a
/// stream is open.
pub async fn http2_prior_knowledge<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "http2_prior_knowledge", async {
        let (go_tx, go_rx) = async_channel::unbounded::<()>();
        let server = start_with(
            &transport,
            runtime.clone(),
            Config::default(),
            move |request: Request| {
                let go_rx = go_rx.clone();
                async move {
                    match request.path() {
                        "/events" => Response::sse(move |send| async move {
                            send.send("one").await?;
                            send.send(serde_json::json!({"n": 2})).await?;
                            let _ = go_rx.recv().await;
                            send.send(serde_json::json!({"event": "done", "data": ""}))
                                .await
                        }),
                        "/" => Response::html("<p>hello over HTTP/2</p>"),
                        _ => Response::not_found(),
                    }
                }
            },
        )
        .await;
        let mut h2 = within::<R, _>(
            STEP,
            "HTTP/2 handshake",
            transport.http2(&runtime, server.local_addr()),
        )
        .await
        .expect("HTTP/2 connection");
        let response = within::<R, _>(
            STEP,
            "response head",
            h2.get("/events", &[("accept", "text/event-stream")]),
        )
        .await
        .expect("GET over HTTP/2");
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        let cache_control = headers["cache-control"].to_str().expect("text");
        assert!(
            cache_control.contains("no-cache") && cache_control.contains("no-transform"),
            "{cache_control}"
        );
        assert_eq!(headers["x-accel-buffering"], "no");
        assert!(!headers.contains_key("connection"), "{headers:?}");
        assert!(!headers.contains_key("transfer-encoding"), "{headers:?}");
        let mut sse = Sse::new(response.into_body());
        let one = within::<R, _>(STEP, "the first event", sse.event())
            .await
            .expect("an event");
        assert_eq!(one.data(), "one");
        let two = within::<R, _>(STEP, "the second event", sse.event())
            .await
            .expect("an event");
        let two: serde_json::Value = serde_json::from_str(two.data()).expect("JSON");
        assert_eq!(two, serde_json::json!({"n": 2}));
        // The stream is open; the same connection serves another request.
        let page = within::<R, _>(STEP, "a page on the same connection", h2.get("/", &[]))
            .await
            .expect("GET / over HTTP/2");
        assert_eq!(page.status(), 200);
        let mut page = Sse::new(page.into_body());
        while within::<R, _>(STEP, "the page", page.event())
            .await
            .is_some()
        {}
        assert_eq!(page.wire, b"<p>hello over HTTP/2</p>");
        go_tx.send(()).await.expect("the producer listens");
        let done = within::<R, _>(STEP, "the done event", sse.event())
            .await
            .expect("an event");
        assert_eq!((done.event_type(), done.data()), ("done", ""));
        let end = within::<R, _>(STEP, "the end of the stream", sse.event()).await;
        assert!(end.is_none());
        assert!(sse.wire.starts_with(b":\n\n"), "opening frame first");
        drop(h2);
        stop(&server).await;
    })
    .await;
}

/// A producer that never waits (its client reads as fast as it sends) does not keep the
/// executor to itself: another client is served meanwhile, on an executor of one thread too.
pub async fn busy_producer_does_not_starve_others<R: Runtime>(runtime: R, transport: Transport) {
    busy_producer_case(runtime, transport, false).await;
}

/// The same over HTTP/2 (served by hyper, whose stream task writes at most a flow-control window
/// per poll): another client's stream still opens at once.
pub async fn busy_http2_producer_does_not_starve_others<R: Runtime>(
    runtime: R,
    transport: Transport,
) {
    busy_producer_case(runtime, transport, true).await;
}

async fn busy_producer_case<R: Runtime>(runtime: R, transport: Transport, http2: bool) {
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "busy_producer_does_not_starve_others", async {
        let server = start_with(&transport, runtime.clone(), Config::default(), |request: Request| {
            let busy = request.path() == "/busy";
            std::future::ready(Response::sse(move |send| async move {
                send.send("first").await?;
                if busy {
                    loop {
                        send.send("x".repeat(50)).await?;
                    }
                }
                Ok::<(), ssewire_stream::SendError>(())
            }))
        })
        .await;
        let addr = server.local_addr();
        let (events, took) = if http2 {
            let mut h2 = within::<R, _>(STEP, "HTTP/2 handshake", transport.http2(&runtime, addr))
                .await
                .expect("HTTP/2 connection");
            let response = within::<R, _>(STEP, "the busy stream", h2.get("/busy", &[]))
                .await
                .expect("GET /busy over HTTP/2");
            assert_eq!(response.status(), 200);
            beside_a_busy_stream::<R, _>(&transport, addr, Sse::new(response.into_body())).await
        } else {
            let busy = within::<R, _>(STEP, "the busy stream", transport.get_sse(addr, "/busy", &[]))
                .await
                .expect("GET /busy");
            beside_a_busy_stream::<R, _>(&transport, addr, busy).await
        };
        eprintln!(
            "another stream opened in {took:?} while the busy one (HTTP/2: {http2}) sent {events} events"
        );
        assert!(events > 100, "the busy stream sent only {events} events");
        // A turn of the executor away (under 1 ms here); before streams yielded, 94–476 ms.
        assert!(
            took < Duration::from_millis(50),
            "another stream took {took:?} to open beside a producer that never waits"
        );
    })
    .await;
}

/// Reads the busy stream while another client opens a stream: how many busy events were read,
/// and how long the other stream took to open and bring its first event.
async fn beside_a_busy_stream<R: Runtime, B: crate::client::BodySource>(
    transport: &Transport,
    addr: SocketAddr,
    mut busy: Sse<B>,
) -> (u64, Duration) {
    let done = std::cell::Cell::new(false);
    let read = async {
        let mut events = 0u64;
        while !done.get() {
            assert!(busy.event().await.is_some(), "the busy stream ended");
            events += 1;
            // Let the other future of this test run too.
            futures_lite::future::yield_now().await;
        }
        events
    };
    let other = async {
        // Give the busy connection time to take the executor, if it can.
        R::sleep(Duration::from_millis(200)).await;
        let began = Instant::now();
        let mut other = within::<R, _>(
            STEP,
            "another stream while a producer never waits",
            transport.get_sse(addr, "/other", &[]),
        )
        .await
        .expect("GET /other");
        assert!(
            within::<R, _>(STEP, "its first event", other.event())
                .await
                .is_some()
        );
        done.set(true);
        began.elapsed()
    };
    futures_lite::future::zip(read, other).await
}

/// A client that stops reading does not make the server buffer without bound: a producer pushing
/// 64 KiB events as fast as it can is held back by the socket (backpressure), and the bytes it
/// produced stop growing well under a few MiB.
pub async fn slow_reader_memory_bounded<R: Runtime>(runtime: R, transport: Transport) {
    const EVENT: usize = 64 * 1024;
    // What may be in flight is the socket buffers (the kernel grows a send buffer up to
    // `tcp_wmem`'s maximum, 4 MiB by default) plus hyper's write buffer and the one slot.
    let bound = (8 << 20).max(max_send_buffer() + (4 << 20));
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "slow_reader_memory_bounded", async {
        let produced = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let server = start_with(&transport, runtime, Config::default(), {
            let produced = produced.clone();
            let dropped = dropped.clone();
            move |_: Request| {
                let produced = produced.clone();
                let dropped = dropped.clone();
                std::future::ready(Response::sse(move |send| async move {
                    let _guard = counts_drop(dropped);
                    let payload = "x".repeat(EVENT);
                    for n in 0u64.. {
                        let event = Event::new(payload.clone()).with_id(n.to_string())?;
                        send.send(event).await?;
                        produced.fetch_add(EVENT, Ordering::SeqCst);
                    }
                    Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                }))
            }
        })
        .await;
        let mut conn = transport.connect(server.local_addr()).await.expect("connect");
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            server.local_addr()
        );
        futures_lite::AsyncWriteExt::write_all(&mut conn, request.as_bytes())
            .await
            .expect("send the request");
        // Never read. Wait until production stops growing for a second.
        let began = Instant::now();
        let mut last = usize::MAX;
        let mut stable_since = Instant::now();
        let stable = within::<R, _>(Duration::from_secs(15), "production to stop", async {
            loop {
                R::sleep(Duration::from_millis(50)).await;
                let now = produced.load(Ordering::SeqCst);
                assert!(
                    now < bound,
                    "a client that does not read made the producer push {now} bytes"
                );
                if now != last {
                    last = now;
                    stable_since = Instant::now();
                } else if now > 0 && stable_since.elapsed() >= Duration::from_secs(1) {
                    return now;
                }
            }
        })
        .await;
        eprintln!(
            "client not reading: the producer stopped at {stable} bytes ({} events of 64 KiB, {:.2} MiB; bound {:.1} MiB) after {:?}",
            stable / EVENT,
            stable as f64 / f64::from(1 << 20),
            bound as f64 / f64::from(1 << 20),
            began.elapsed()
        );
        R::sleep(Duration::from_millis(300)).await;
        assert_eq!(produced.load(Ordering::SeqCst), stable, "production went on");
        // The stuck client leaves: the blocked producer is dropped.
        drop(conn);
        eventually::<R>(STEP, "the blocked producer dropped", || {
            dropped.load(Ordering::SeqCst) == 1 && server.connections() == 0
        })
        .await;
        stop(&server).await;
    })
    .await;
}

/// A server whose every `GET` subscribes to `hub` (resuming after `Last-Event-ID`), over
/// `transport`.
async fn hub_server_with<R: Runtime>(
    transport: &Transport,
    runtime: R,
    config: Config,
    hub: &Hub,
) -> Server<R> {
    let hub = hub.clone();
    start_with(transport, runtime, config, move |request: Request| {
        std::future::ready(Response::sse_stream(hub.subscribe(request.last_event_id())))
    })
    .await
}

/// The next frame, which must be an event.
async fn next_event<R: Runtime>(sse: &mut Sse<crate::client::Body>, what: &str) -> Event {
    match within::<R, _>(STEP, what, sse.frame()).await {
        Some(Frame::Event(event)) => event,
        other => panic!("{what}: expected an event, got {other:?}"),
    }
}

/// Hub subscriptions over HTTP/1.1 in clear are written by the server's fan-out lanes while
/// idle, and handed back to the connection's task for everything else (over TLS the connection's
/// task writes them all: the lanes cannot share its TLS state, and are not started). Seen by a
/// client: events in order and intact through a socket that fills up (writes cut anywhere in a
/// chunk) and empties again; no keep-alive while events come more often than the interval (the
/// lanes' writes count), one when idle; a clean end on `disconnect_all`; the lanes run once a
/// subscription is served and end with the server.
pub async fn hub_streams_in_order_through_full_sockets<R: Runtime>(
    runtime: R,
    transport: Transport,
) {
    const BIG: usize = 32 * 1024;
    const BURST: usize = 600;
    let _turn = alone_turn();
    within::<R, _>(
        TEST_LIMIT,
        "hub_streams_in_order_through_full_sockets",
        async {
            let runtime = Counting::new(runtime);
            let hub = Hub::new(HubConfig {
                max_events: 10_000,
                max_bytes: 64 << 20,
                backlog: 100_000,
                ..HubConfig::default()
            });
            let interval = Duration::from_millis(200);
            let config = config_with(KeepAlive {
                interval: Some(interval),
                retry: None,
            });
            let server = hub_server_with(&transport, runtime.clone(), config, &hub).await;
            let mut sse = open_stream_with::<R>(&transport, server.local_addr(), "/", &[]).await;
            let lanes = if transport.is_tls() {
                0
            } else {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            };
            eventually::<R>(
                STEP,
                "the accept loop, the connection and the lanes",
                || runtime.live_tasks() == 2 + lanes,
            )
            .await;
            // Events 50 ms apart for a second: no keep-alive (interval 200 ms) between them.
            let spacing = Duration::from_millis(50);
            let publisher = async {
                for n in 0..20 {
                    hub.publish(&Event::new(format!("tick {n}")));
                    R::sleep(spacing).await;
                }
            };
            let reader = async {
                for n in 0..20 {
                    let event = next_event::<R>(&mut sse, "a tick").await;
                    assert_eq!(event.data(), format!("tick {n}"));
                    assert_eq!(event.id(), Some((n + 1).to_string().as_str()));
                }
            };
            futures_lite::future::zip(publisher, reader).await;
            let idle_from = Instant::now();
            let keep_alive = within::<R, _>(STEP, "a keep-alive when idle", sse.frame()).await;
            let idle = idle_from.elapsed();
            assert_eq!(keep_alive, Some(Frame::Comment(String::new())));
            assert!(
                idle >= interval / 2 && idle <= interval * 4,
                "keep-alive {idle:?} after the last event, interval {interval:?}"
            );
            // The client stops reading; far more than the socket buffers hold is published.
            let big = |n: usize| format!("{n}:{}", "x".repeat(BIG - 8));
            for n in 0..BURST {
                hub.publish(&Event::new(big(n)));
            }
            for n in 0..BURST {
                let event = next_event::<R>(&mut sse, "a big event").await;
                assert!(
                    event.data() == big(n),
                    "big event {n} damaged or out of order"
                );
                assert_eq!(event.id(), Some((21 + n).to_string().as_str()));
            }
            // The socket has emptied: small events flow again.
            for n in 0..5 {
                hub.publish(&Event::new(format!("after {n}")));
                let event = next_event::<R>(&mut sse, "an event after the burst").await;
                assert_eq!(event.data(), format!("after {n}"));
            }
            hub.disconnect_all();
            let rest = within::<R, _>(STEP, "the end of the stream", sse.events_to_end()).await;
            assert!(rest.is_empty(), "{rest:?}");
            assert!(
                sse.body().is_done(),
                "the body ended without its last chunk"
            );
            eventually::<R>(STEP, "the subscription dropped", || hub.subscribers() == 0).await;
            drop(sse);
            stop(&server).await;
            eventually::<R>(STEP, "the lanes ended", || runtime.live_tasks() == 0).await;
        },
    )
    .await;
}

/// A subscriber that does not read meets the hub's slow policy the same with direct delivery:
/// `DropOldest` gives gap markers that stand exactly where events were dropped and count them,
/// with everything else in order and intact; `Disconnect` ends the stream cleanly and `Last-Event-ID` resumes it.
pub async fn hub_slow_subscriber_policies<R: Runtime>(runtime: R, transport: Transport) {
    const SIZE: usize = 16 * 1024;
    const FLOOD: usize = 1000;
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "hub_slow_subscriber_policies", async {
        let payload = |n: usize| format!("{n}:{}", "y".repeat(SIZE - 8));
        for policy in [SlowPolicy::DropOldest, SlowPolicy::Disconnect] {
            let hub = Hub::new(HubConfig {
                max_events: 10_000,
                max_bytes: 64 << 20,
                backlog: 16,
                slow: policy,
                ..HubConfig::default()
            });
            let server =
                hub_server_with(&transport, runtime.clone(), Config::default(), &hub).await;
            let addr = server.local_addr();
            let mut sse = open_stream_with::<R>(&transport, addr, "/", &[]).await;
            hub.publish(&Event::new(payload(0)));
            let first = next_event::<R>(&mut sse, "the first event").await;
            assert!(first.data() == payload(0));
            // Let the stream go idle (and over to a lane), then flood it without reading.
            R::sleep(Duration::from_millis(20)).await;
            for n in 1..=FLOOD {
                hub.publish(&Event::new(payload(n)));
            }
            let mut received = 0;
            let mut dropped = 0;
            let mut last = 0;
            // A loaded machine may cut the stream before any event of the flood reaches it: the
            // browser then resumes after the first event.
            let mut last_id = first.id().expect("an id").to_owned();
            // Dropped since the last event: the events in between are exactly those.
            let mut gap_since = 0;
            let ended = loop {
                // Under `Disconnect` a subscriber whose socket is full is cut at once, which
                // may be in the middle of a chunk.
                let frame = match within::<R, _>(STEP, "the next frame", sse.try_frame()).await {
                    Ok(frame) => frame,
                    Err(_) if policy == SlowPolicy::Disconnect => None,
                    Err(e) => panic!("reading the event stream: {e}"),
                };
                let Some(frame) = frame else { break true };
                let Frame::Event(event) = frame else { continue };
                if event.event() == Some("gap") {
                    let gap: usize = event.data().parse().expect("a count");
                    assert!(gap > 0);
                    dropped += gap;
                    gap_since += gap;
                    continue;
                }
                let n: usize = event.data().split(':').next().unwrap().parse().unwrap();
                assert_eq!(
                    n,
                    last + gap_since + 1,
                    "event {n} after {last} and gap markers for {gap_since}"
                );
                gap_since = 0;
                assert!(event.data() == payload(n), "event {n} damaged");
                last_id = event.id().expect("an id").to_owned();
                received += 1;
                last = n;
                if policy == SlowPolicy::DropOldest && received + dropped == FLOOD {
                    break false;
                }
            };
            match policy {
                SlowPolicy::DropOldest => {
                    assert!(!ended);
                    assert!(dropped > 0, "nothing was dropped: the flood did not fill");
                    assert_eq!(last, FLOOD, "the newest event arrives");
                }
                SlowPolicy::Disconnect => {
                    assert!(ended, "the stream ended");
                    assert!(last < FLOOD, "nothing was cut off");
                    // The browser comes back: everything after its last id is replayed.
                    let mut resumed = open_stream_with::<R>(
                        &transport,
                        addr,
                        "/",
                        &[("Last-Event-ID", &last_id)],
                    )
                    .await;
                    for n in last + 1..=FLOOD {
                        let event = next_event::<R>(&mut resumed, "a replayed event").await;
                        assert!(event.data() == payload(n), "replayed event {n}");
                    }
                    drop(resumed);
                }
            }
            eprintln!("{policy:?}: {received} events after the first, {dropped} dropped");
            drop(sse);
            stop(&server).await;
        }
    })
    .await;
}

/// The most the kernel lets a TCP send buffer grow to (Linux's `tcp_wmem` maximum), if known.
fn max_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(0)
}

/// `Server::shutdown` ends open streams (HTTP/1.1 and HTTP/2) once the grace period is over (not
/// before), resolves, `stopped()` resolves, producers are dropped and no new connection is accepted.
pub async fn graceful_shutdown<R: Runtime>(runtime: R, transport: Transport) {
    let grace = Duration::from_millis(300);
    let _turn = alone_turn();
    within::<R, _>(TEST_LIMIT, "graceful_shutdown", async {
        let dropped = Arc::new(AtomicUsize::new(0));
        let server = start_with(&transport, runtime.clone(), Config::default(), {
            let dropped = dropped.clone();
            move |_: Request| {
                let dropped = dropped.clone();
                std::future::ready(Response::sse(move |send| async move {
                    let _guard = counts_drop(dropped);
                    if send.send("ready").await.is_ok() {
                        std::future::pending::<()>().await;
                    }
                }))
            }
        })
        .await;
        let addr = server.local_addr();
        let mut h1 = get_sse::<R>(&transport, addr, "/", &[]).await;
        assert!(within::<R, _>(STEP, "the first event", h1.event()).await.is_some());
        let mut h2 = within::<R, _>(STEP, "HTTP/2 handshake", transport.http2(&runtime, addr))
            .await
            .expect("HTTP/2 connection");
        let response = within::<R, _>(STEP, "response head", h2.get("/", &[]))
            .await
            .expect("GET over HTTP/2");
        let mut h2_sse = Sse::new(response.into_body());
        assert!(within::<R, _>(STEP, "the first event", h2_sse.event()).await.is_some());
        // A client that connected and has sent nothing yet: no request in flight, so shutdown
        // closes it at once (not after the header-read timeout).
        let mut silent = within::<R, _>(STEP, "connect", transport.connect(addr))
            .await
            .expect("connect");
        eventually::<R>(STEP, "the silent connection counted", || {
            server.connections() == 3
        })
        .await;

        let began = Instant::now();
        let shutdown = async {
            server.shutdown(grace).await;
            began.elapsed()
        };
        // After the grace period the server ends what is left: an HTTP/1.1 stream ends cleanly
        // (the chunked body's last chunk), an HTTP/2 stream with its connection or cleanly;
        // either way not before the grace period.
        let h1_end = async {
            let rest = h1.try_event().await;
            assert!(matches!(rest, Ok(None)), "HTTP/1.1 stream not ended cleanly: {rest:?}");
            (began.elapsed(), "clean end")
        };
        let h2_end = async {
            let rest = h2_sse.try_event().await;
            assert!(matches!(rest, Ok(None) | Err(_)), "{rest:?}");
            let how = if rest.is_ok() { "clean end" } else { "stream closed" };
            (began.elapsed(), how)
        };
        let (shutdown_took, (h1_end, h2_end)) = within::<R, _>(
            grace * 2 + STEP,
            "shutdown ending the streams",
            futures_lite::future::zip(shutdown, futures_lite::future::zip(h1_end, h2_end)),
        )
        .await;
        eprintln!(
            "shutdown with a {grace:?} grace: HTTP/1.1 stream ended after {h1_end:?}, HTTP/2 after {h2_end:?}, shutdown() resolved after {shutdown_took:?}"
        );
        for (took, _) in [h1_end, h2_end] {
            assert!(
                took >= grace * 8 / 10 && took <= grace + Duration::from_secs(1),
                "a stream ended {took:?} into a {grace:?} grace period"
            );
        }
        assert!(shutdown_took <= grace * 2 + Duration::from_secs(1));
        within::<R, _>(STEP, "stopped()", server.stopped()).await;
        assert_eq!(server.connections(), 0);
        let mut rest = Vec::new();
        let read = within::<R, _>(STEP, "the silent connection closed", async {
            futures_lite::AsyncReadExt::read_to_end(&mut silent, &mut rest).await
        })
        .await;
        assert!(read.is_err() || rest.is_empty(), "{read:?} {rest:?}");
        eventually::<R>(STEP, "both producers dropped", || {
            dropped.load(Ordering::SeqCst) == 2
        })
        .await;
        drop(h2);
        // The listener is closed: new connections are refused.
        within::<R, _>(STEP, "new connections refused", async {
            while let Ok(conn) = connect(addr).await {
                drop(conn);
                R::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    })
    .await;
}

/// Handlers answer ordinary responses too: the demo's HTML pages (200, with a length), 404 for an
/// unknown path, and 204 (which stops an `EventSource`) from the counter once it is done.
pub async fn ordinary_responses<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "ordinary_responses", async {
        let server = start_demo(&transport, runtime).await;
        let addr = server.local_addr();

        for (path, needle) in [("/", "id=\"message\""), ("/counter", "new EventSource")] {
            let mut page = within::<R, _>(STEP, "response head", transport.get(addr, path, &[]))
                .await
                .expect("GET");
            assert_eq!(page.status, 200, "{path}");
            assert_eq!(
                page.header("content-type"),
                Some("text/html; charset=utf-8")
            );
            let length: usize = page
                .header("content-length")
                .and_then(|l| l.parse().ok())
                .expect("a Content-Length");
            let body = within::<R, _>(STEP, "the page", page.read_to_end())
                .await
                .expect("the body");
            assert_eq!(body.len(), length);
            let body = String::from_utf8(body).expect("UTF-8");
            assert!(body.contains(needle), "{path} lacks {needle}");
        }

        let mut missing = within::<R, _>(
            STEP,
            "response head",
            transport.get(addr, "/no-such-page", &[]),
        )
        .await
        .expect("GET");
        assert_eq!(missing.status, 404);
        let body = within::<R, _>(STEP, "the body", missing.read_to_end())
            .await
            .expect("the body");
        assert_eq!(body, b"not found\n");

        let mut stop_reconnecting = within::<R, _>(
            STEP,
            "response head",
            transport.get(addr, "/api/counter", &[("Last-Event-ID", "9")]),
        )
        .await
        .expect("GET");
        assert_eq!(stop_reconnecting.status, 204);
        assert_eq!(stop_reconnecting.header("content-type"), None);
        let body = within::<R, _>(STEP, "the body", stop_reconnecting.read_to_end())
            .await
            .expect("the body");
        assert!(body.is_empty());
        stop(&server).await;
    })
    .await;
}

/// One connection, many requests, pipelined in one write: ordinary responses and an event
/// stream on the lean HTTP/1.1 path, a request with a body that goes to hyper, and the
/// requests after it; answered in order, `Connection: close` honoured (over TLS without
/// `close_notify`, see [`Conn::read_until_closed`](crate::client::Conn::read_until_closed)).
pub async fn one_connection_many_requests<R: Runtime>(runtime: R, transport: Transport) {
    use futures_lite::AsyncWriteExt;
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "one_connection_many_requests", async {
        let server = start_demo(&transport, runtime).await;
        let addr = server.local_addr();
        let transport = &transport;
        let exchange = |requests: String| async move {
            let mut conn = transport.connect(addr).await.expect("connect");
            conn.write_all(requests.as_bytes()).await.expect("write");
            let answer = read_until_closed::<R>(&mut conn, "reading to the end").await;
            String::from_utf8_lossy(&answer).into_owned()
        };
        let status_lines = |answer: &str| -> Vec<String> {
            answer
                .match_indices("HTTP/1.1 ")
                .map(|(at, _)| answer[at..at + 12].to_owned())
                .collect()
        };

        // Lean path only: a page, an event stream that ends (`/api/json`), a 404, a 204.
        let answer = exchange(
            "GET / HTTP/1.1\r\nHost: t\r\n\r\n\
             GET /api/json HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n\
             GET /no-such-page HTTP/1.1\r\nHost: t\r\n\r\n\
             GET /api/counter HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 9\r\nConnection: close\r\n\r\n"
                .to_owned(),
        )
        .await;
        assert_eq!(
            status_lines(&answer),
            [
                "HTTP/1.1 200",
                "HTTP/1.1 200",
                "HTTP/1.1 404",
                "HTTP/1.1 204"
            ],
            "{answer}"
        );
        let stream_end = answer
            .find("\r\n0\r\n\r\n")
            .expect("the stream's last chunk");
        assert!(answer[..stream_end].contains("event: done"), "{answer}");
        assert!(answer[stream_end..].contains("not found"), "{answer}");
        assert!(answer.ends_with("connection: close\r\n\r\n"), "{answer}");

        // A request with a body (not a route: 404) hands the connection to hyper, which
        // answers it and the requests after it.
        let answer = exchange(
            "GET /no-such-page HTTP/1.1\r\nHost: t\r\n\r\n\
             POST /no-such-page HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello\
             GET /api/counter HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 9\r\n\r\n\
             GET /no-such-page HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                .to_owned(),
        )
        .await;
        assert_eq!(
            status_lines(&answer),
            [
                "HTTP/1.1 404",
                "HTTP/1.1 404",
                "HTTP/1.1 204",
                "HTTP/1.1 404"
            ],
            "{answer}"
        );
        stop(&server).await;
    })
    .await;
}

/// An idle keep-alive connection is closed once the header-read timeout passes without a new
/// request (as hyper does), so silent clients cannot pile up connections. (Over TLS the server
/// closes without `close_notify`; see [`Conn::read_until_closed`](crate::client::Conn::read_until_closed).)
pub async fn idle_keep_alive_connection_closes<R: Runtime>(runtime: R, transport: Transport) {
    use futures_lite::AsyncWriteExt;
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "idle_keep_alive_connection_closes", async {
        let config = Config {
            header_read_timeout: Duration::from_millis(300),
            ..Config::default()
        };
        let server = start_with(&transport, runtime, config, chat_app::handle::<R>).await;
        let mut conn = transport
            .connect(server.local_addr())
            .await
            .expect("connect");
        conn.write_all(b"GET /no-such-page HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .expect("write");
        // The answer, then the end of the stream: the server closes the idle connection.
        let answer = read_until_closed::<R>(&mut conn, "the server closing").await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        assert!(answer.ends_with("not found\n"), "{answer}");
        // A client that connects and never sends a head is closed too.
        let mut silent = transport
            .connect(server.local_addr())
            .await
            .expect("connect");
        let nothing = read_until_closed::<R>(&mut silent, "the server closing").await;
        assert!(nothing.is_empty());
        stop(&server).await;
    })
    .await;
}

/// The demo's `/api/json`: JSON pushes (a `Serialize` struct, a `serde_json` value) and a custom
/// event with an id, then `done`.
pub async fn demo_json_and_custom_event<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "demo_json_and_custom_event", async {
        let server = start_demo(&transport, runtime).await;
        let mut sse = get_sse::<R>(&transport, server.local_addr(), "/api/json", &[]).await;
        let events = within::<R, _>(STEP, "the events", sse.events_to_end()).await;
        assert!(sse.body().is_done());
        assert!(sse.wire.starts_with(b":\n\n"), "opening frame first");
        let summary: Vec<(&str, &str, Option<&str>)> = events
            .iter()
            .map(|e| (e.event_type(), e.data(), e.id()))
            .collect();
        assert_eq!(summary.len(), 4, "{summary:?}");
        assert_eq!(summary[0], ("message", r#"{"id":1,"status":"ok"}"#, None));
        let second: serde_json::Value = serde_json::from_str(summary[1].1).expect("JSON");
        assert_eq!(summary[1].0, "message");
        assert_eq!(
            second,
            serde_json::json!({"id": 2, "status": "ok", "items": [1, 2, 3]})
        );
        assert!(
            !summary[1].1.contains(' '),
            "compact JSON: {}",
            summary[1].1
        );
        assert_eq!(summary[2], ("my_event", "payload", Some("custom-1")));
        assert_eq!(summary[3], ("done", "", Some("custom-1")));
        stop(&server).await;
    })
    .await;
}

/// The demo's chat stream: `thinking`, the reply one character per event with ids `1..=n`, then
/// `done`; a reconnect with `Last-Event-ID: 5` resumes at character 6.
pub async fn demo_chat_stream_and_resume<R: Runtime>(runtime: R, transport: Transport) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "demo_chat_stream_and_resume", async {
        let server = start_demo(&transport, runtime).await;
        let addr = server.local_addr();
        let reply = chat_app::reply_to("hi");
        assert_eq!(reply, "This is a streaming response to: hi.");
        let chars: Vec<String> = reply.chars().map(String::from).collect();

        let mut sse = get_sse::<R>(&transport, addr, "/api/chat_stream?message=hi", &[]).await;
        let thinking = within::<R, _>(STEP, "thinking", sse.event())
            .await
            .expect("an event");
        assert_eq!(
            (thinking.event_type(), thinking.data(), thinking.id()),
            ("thinking", "AI is thinking...", None)
        );
        let mut first_at = None;
        for (index, ch) in chars.iter().enumerate() {
            let event = within::<R, _>(STEP, "a reply character", sse.event())
                .await
                .expect("an event");
            first_at.get_or_insert_with(Instant::now);
            let id = (index + 1).to_string();
            assert_eq!(
                (event.event_type(), event.data(), event.id()),
                ("message", ch.as_str(), Some(id.as_str()))
            );
        }
        let streamed_for = first_at.expect("characters").elapsed();
        let done = within::<R, _>(STEP, "done", sse.event())
            .await
            .expect("an event");
        let last_id = chars.len().to_string();
        assert_eq!(
            (done.event_type(), done.data(), done.id()),
            ("done", "", Some(last_id.as_str()))
        );
        assert!(within::<R, _>(STEP, "the end", sse.event()).await.is_none());
        assert!(sse.body().is_done());
        assert!(
            sse.wire.starts_with(b":\nretry: 500\n\n"),
            "opening frame with retry: {:?}",
            String::from_utf8_lossy(&sse.wire[..20.min(sse.wire.len())])
        );
        // One character every 50 ms: the reply was streamed, not sent at once.
        assert!(
            streamed_for >= Duration::from_millis(50) * (chars.len() as u32 - 1) * 8 / 10,
            "{} characters in {streamed_for:?}",
            chars.len()
        );

        let mut resumed = get_sse::<R>(
            &transport,
            addr,
            "/api/chat_stream?message=hi",
            &[("Last-Event-ID", "5")],
        )
        .await;
        let events = within::<R, _>(
            Duration::from_secs(10),
            "the resumed stream",
            resumed.events_to_end(),
        )
        .await;
        let (done, characters) = events.split_last().expect("events");
        assert_eq!(done.event_type(), "done");
        assert_eq!(characters.len(), chars.len() - 5);
        for (offset, event) in characters.iter().enumerate() {
            let index = offset + 5;
            let id = (index + 1).to_string();
            assert_eq!(
                (event.event_type(), event.data(), event.id()),
                ("message", chars[index].as_str(), Some(id.as_str()))
            );
        }
        assert_eq!(characters[0].id(), Some("6"));
        stop(&server).await;
    })
    .await;
}

/// The demo in headless Chromium (see [`crate::browser`]).
pub async fn browser_demo<R: Runtime>(runtime: R) {
    let _turn = alone_turn();
    crate::browser::run::<R>(runtime).await;
}

/// The live-room demo in headless Chromium: two pages, a dropped connection, replay.
pub async fn browser_room<R: Runtime>(runtime: R) {
    let _turn = alone_turn();
    crate::browser::run_room::<R>(runtime).await;
}

/// The chat demo's AI-proxy mode in headless Chromium: the upstream's answer renders; cut
/// mid-answer, the page shows the error.
pub async fn browser_proxy<R: ssewire_demo::proxy::ProxyRuntime>(runtime: R) {
    let _turn = alone_turn();
    crate::browser::run_proxy::<R>(runtime).await;
}

mod tls;
pub use tls::*;
