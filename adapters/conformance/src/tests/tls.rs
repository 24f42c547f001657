//! What only HTTPS has (the ALPN choices, the handshake timeout, the cap closing at accept,
//! certificate reload, Chromium over h2), and the main behaviours once more on both protocols at
//! once through hyper's clients: HTTP/1.1 (ALPN `http/1.1`, served by the lean path) and HTTP/2
//! (ALPN `h2`) over a futures-rustls client that trusts only the test's own self-signed
//! certificate (made with rcgen, new for every test). The rest of the suite runs over TLS too
//! (`over_tls::*`, see [`suite!`](crate::suite)).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_io::Async;
use futures_lite::AsyncReadExt;
use ssewire::{Event, Frame};
use ssewire_server::{Config, Request, Response, Runtime, Server, TlsConfig};
use ssewire_stream::{Hub, KeepAlive};

use super::{OnDrop, STEP, TEST_LIMIT, eventually, idle, serve_local, stop};
use crate::client::{Empty, Sse, TestCert, TlsStream, connect_tls, http2_handshake, within};
use crate::shared_turn;

/// hyper's client over one TLS connection, HTTP/1.1 or HTTP/2 as ALPN agreed.
#[derive(Debug)]
pub enum HttpsClient {
    /// ALPN `http/1.1` (or none).
    Http1(hyper::client::conn::http1::SendRequest<Empty>),
    /// ALPN `h2`.
    Http2(hyper::client::conn::http2::SendRequest<Empty>),
}

impl HttpsClient {
    /// Connects, offering `alpn`; the connection's task runs on `runtime`.
    pub async fn connect<R: Runtime>(
        runtime: &R,
        addr: SocketAddr,
        cert: &TestCert,
        alpn: &[&[u8]],
    ) -> std::io::Result<HttpsClient> {
        let (stream, agreed) = connect_tls(addr, cert, alpn).await?;
        if agreed.as_deref() == Some(b"h2") {
            Ok(HttpsClient::Http2(http2_handshake(runtime, stream).await?))
        } else {
            Ok(HttpsClient::Http1(http1_handshake(runtime, stream).await?))
        }
    }

    /// Sends `GET path` with `headers`.
    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<http::Response<hyper::body::Incoming>> {
        let mut request = http::Request::get(format!("https://localhost{path}"));
        if let HttpsClient::Http1(_) = self {
            request = http::Request::get(path).header("host", "localhost");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty).map_err(std::io::Error::other)?;
        match self {
            HttpsClient::Http1(send) => {
                send.ready().await.map_err(std::io::Error::other)?;
                send.send_request(request).await
            }
            HttpsClient::Http2(send) => {
                send.ready().await.map_err(std::io::Error::other)?;
                send.send_request(request).await
            }
        }
        .map_err(std::io::Error::other)
    }
}

/// hyper's HTTP/1.1 client handshake over `stream`; the connection's task runs on `runtime`.
async fn http1_handshake<R: Runtime>(
    runtime: &R,
    stream: TlsStream,
) -> std::io::Result<hyper::client::conn::http1::SendRequest<Empty>> {
    let (send, connection) =
        hyper::client::conn::http1::handshake(smol_hyper::rt::FuturesIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    runtime.spawn(async move {
        let _ = connection.await;
    });
    Ok(send)
}

/// The two ways a browser speaks to an HTTPS origin, by what the client offers in ALPN.
const PROTOCOLS: [(&str, &[&[u8]], http::Version); 2] = [
    ("http/1.1", &[b"http/1.1"], http::Version::HTTP_11),
    ("h2", &[b"h2", b"http/1.1"], http::Version::HTTP_2),
];

/// A stream that sends `hi` and stays open until the client leaves.
fn hi_then_wait() -> Response {
    Response::sse(|send| async move {
        send.send("hi").await?;
        send.closed().await;
        Ok::<(), ssewire_stream::SendError>(())
    })
}

async fn start_tls<R, H, F>(runtime: R, config: Config, tls: TlsConfig, handler: H) -> Server<R>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: std::future::Future<Output = Response> + Send + 'static,
{
    serve_local(runtime, config, Some(tls), handler).await
}

/// Opens `path` as an event stream on a new TLS connection and checks the response head.
async fn open<R: Runtime>(
    runtime: &R,
    addr: SocketAddr,
    cert: &TestCert,
    alpn: &[&[u8]],
    version: http::Version,
    path: &str,
    headers: &[(&str, &str)],
) -> Sse<hyper::body::Incoming> {
    let mut client = within::<R, _>(
        STEP,
        "TLS handshake",
        HttpsClient::connect(runtime, addr, cert, alpn),
    )
    .await
    .expect("TLS connection");
    let response = within::<R, _>(STEP, "response head", client.get(path, headers))
        .await
        .expect("GET over TLS");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), version, "ALPN {alpn:?}");
    let head = response.headers();
    assert_eq!(head["content-type"], "text/event-stream");
    assert!(head["cache-control"].to_str().unwrap().contains("no-cache"));
    if version == http::Version::HTTP_11 {
        assert_eq!(head["transfer-encoding"], "chunked");
    }
    // The client's connection lives in its task; the request sender may go.
    drop(client);
    Sse::new(response.into_body())
}

/// ALPN picks the protocol: `h2` gets HTTP/2, `http/1.1` (or no ALPN) the lean HTTP/1.1 path,
/// and a server told not to offer `h2` serves HTTP/1.1 to a client that offers both. Each gets
/// the SSE headers, the opening frame and every event as it is sent (the producer waits for the
/// client to have read the previous one), and `Last-Event-ID` reaches the producer.
pub async fn tls_alpn_headers_incremental_last_event_id<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(
        TEST_LIMIT,
        "tls_alpn_headers_incremental_last_event_id",
        async {
            let cert = TestCert::new();
            let (step_tx, step_rx) = async_channel::unbounded::<()>();
            let handler = move |request: Request| {
                let step_rx = step_rx.clone();
                let last = request.last_event_id().unwrap_or("none").to_owned();
                async move {
                    Response::sse(move |send| async move {
                        send.send(format!("last {last}")).await?;
                        for n in 1..=3 {
                            let _ = step_rx.recv().await;
                            send.send(Event::new(format!("event {n}")).with_id(n.to_string())?)
                                .await?;
                        }
                        send.closed().await;
                        Ok::<(), ssewire_stream::SendError>(())
                    })
                }
            };
            let server = start_tls(runtime.clone(), Config::default(), cert.tls(), handler).await;
            let addr = server.local_addr();
            for (name, alpn, version) in PROTOCOLS {
                let mut sse = open(
                    &runtime,
                    addr,
                    &cert,
                    alpn,
                    version,
                    "/events",
                    &[("last-event-id", "41")],
                )
                .await;
                let opening = within::<R, _>(STEP, "the opening frame", sse.frame()).await;
                assert_eq!(opening, Some(Frame::Comment(String::new())), "{name}");
                let first = within::<R, _>(STEP, "the first event", sse.event()).await;
                assert_eq!(first.unwrap().data(), "last 41", "{name}");
                for n in 1..=3 {
                    step_tx.send(()).await.unwrap();
                    let event = within::<R, _>(STEP, "the next event", sse.event())
                        .await
                        .unwrap();
                    assert_eq!(event.data(), format!("event {n}"), "{name}");
                    assert_eq!(event.id(), Some(n.to_string().as_str()), "{name}");
                }
            }
            // No ALPN at all: the first bytes decide (HTTP/1.1 here).
            let (stream, agreed) = connect_tls(addr, &cert, &[]).await.expect("TLS");
            assert_eq!(agreed, None);
            let mut send = http1_handshake(&runtime, stream).await.expect("HTTP/1.1");
            let request = http::Request::get("/x")
                .header("host", "localhost")
                .body(Empty)
                .unwrap();
            let response = within::<R, _>(STEP, "no-ALPN response", send.send_request(request))
                .await
                .expect("GET without ALPN");
            assert_eq!(response.version(), http::Version::HTTP_11);
            stop(&server).await;

            // A server that offers HTTP/1.1 only.
            let server = start_tls(
                runtime.clone(),
                Config::default(),
                cert.tls().with_http2(false),
                |_: Request| async { idle() },
            )
            .await;
            let (_, agreed) = connect_tls(server.local_addr(), &cert, &[b"h2", b"http/1.1"])
                .await
                .expect("TLS");
            assert_eq!(agreed.as_deref(), Some(&b"http/1.1"[..]));
            stop(&server).await;
        },
    )
    .await;
}

/// Keep-alive comments go out over TLS while a stream is idle (the bytes TLS holds are flushed,
/// not left in its buffer until the next event), on both protocols.
pub async fn tls_keep_alive_when_idle<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "tls_keep_alive_when_idle", async {
        let cert = TestCert::new();
        let config = Config {
            keep_alive: KeepAlive {
                interval: Some(Duration::from_millis(100)),
                ..KeepAlive::default()
            },
            ..Config::default()
        };
        let server = start_tls(runtime.clone(), config, cert.tls(), |_: Request| async {
            idle()
        })
        .await;
        for (name, alpn, version) in PROTOCOLS {
            let mut sse = open(
                &runtime,
                server.local_addr(),
                &cert,
                alpn,
                version,
                "/",
                &[],
            )
            .await;
            let opening = within::<R, _>(STEP, "the opening frame", sse.frame()).await;
            assert_eq!(opening, Some(Frame::Comment(String::new())), "{name}");
            for _ in 0..3 {
                let frame = within::<R, _>(STEP, "a keep-alive", sse.frame()).await;
                assert!(
                    matches!(frame, Some(Frame::Comment(_))),
                    "{name}: {frame:?}"
                );
            }
        }
        stop(&server).await;
    })
    .await;
}

/// A client that goes away while its stream is idle is noticed at once over TLS (the producer
/// is dropped), on both protocols, and its connection closes.
pub async fn tls_disconnect_noticed_while_idle<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "tls_disconnect_noticed_while_idle", async {
        let cert = TestCert::new();
        let (dropped_tx, dropped_rx) = async_channel::unbounded::<Instant>();
        let server = start_tls(
            runtime.clone(),
            Config::default(),
            cert.tls(),
            move |_: Request| {
                let dropped_tx = dropped_tx.clone();
                async move {
                    Response::sse(move |send| async move {
                        let _on_drop = OnDrop(move || {
                            let _ = dropped_tx.try_send(Instant::now());
                        });
                        send.send("ready").await?;
                        std::future::pending::<()>().await;
                        Ok::<(), ssewire_stream::SendError>(())
                    })
                }
            },
        )
        .await;
        for (name, alpn, version) in PROTOCOLS {
            let mut sse = open(
                &runtime,
                server.local_addr(),
                &cert,
                alpn,
                version,
                "/",
                &[],
            )
            .await;
            let ready = within::<R, _>(STEP, "the first event", sse.event()).await;
            assert_eq!(ready.unwrap().data(), "ready", "{name}");
            R::sleep(Duration::from_millis(50)).await;
            assert!(
                dropped_rx.is_empty(),
                "{name}: dropped before the client left"
            );
            let left = Instant::now();
            drop(sse);
            let dropped = within::<R, _>(STEP, "the producer dropped", dropped_rx.recv())
                .await
                .unwrap();
            let after = dropped.saturating_duration_since(left);
            eprintln!("{name} over TLS: client disconnect noticed after {after:?}");
            assert!(after < Duration::from_millis(500), "{name}: {after:?}");
            eventually::<R>(STEP, "the connection closed", || server.connections() == 0).await;
        }
        stop(&server).await;
    })
    .await;
}

/// A client that connects and never finishes its handshake is closed after
/// `tls_handshake_timeout`; it held no one else up meanwhile.
pub async fn tls_handshake_timeout<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "tls_handshake_timeout", async {
        let cert = TestCert::new();
        let config = Config {
            tls_handshake_timeout: Duration::from_millis(300),
            ..Config::default()
        };
        let server = start_tls(runtime.clone(), config, cert.tls(), |_: Request| async {
            hi_then_wait()
        })
        .await;
        let addr = server.local_addr();
        let started = Instant::now();
        let mut silent = Async::<std::net::TcpStream>::connect(addr).await.unwrap();
        // Another client is served meanwhile.
        let mut sse = open(
            &runtime,
            addr,
            &cert,
            &[b"h2"],
            http::Version::HTTP_2,
            "/",
            &[],
        )
        .await;
        let hi = within::<R, _>(STEP, "the event", sse.event()).await;
        assert_eq!(hi.unwrap().data(), "hi");
        let mut buf = [0u8; 16];
        let read = within::<R, _>(STEP, "the silent client closed", silent.read(&mut buf)).await;
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        let after = started.elapsed();
        assert!(
            after >= Duration::from_millis(250),
            "closed after {after:?}"
        );
        drop(sse);
        eventually::<R>(STEP, "connections closed", || server.connections() == 0).await;
        stop(&server).await;
    })
    .await;
}

/// Past `max_connections` a TLS server closes the newcomer at accept: no handshake, and no
/// cleartext `503` written onto a TLS socket. The open stream goes on, and once it ends a new
/// client is served.
pub async fn tls_over_cap_closed_at_accept<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "tls_over_cap_closed_at_accept", async {
        let cert = TestCert::new();
        let config = Config {
            max_connections: 1,
            ..Config::default()
        };
        let server = start_tls(runtime.clone(), config, cert.tls(), |_: Request| async {
            hi_then_wait()
        })
        .await;
        let addr = server.local_addr();
        let (_, alpn, version) = PROTOCOLS[1];
        let mut sse = open(&runtime, addr, &cert, alpn, version, "/", &[]).await;
        let hi = within::<R, _>(STEP, "the event", sse.event()).await;
        assert_eq!(hi.unwrap().data(), "hi");
        eventually::<R>(STEP, "one connection open", || server.connections() == 1).await;

        // A raw client over the cap reads the end of the connection and not one byte.
        let mut raw = Async::<std::net::TcpStream>::connect(addr).await.unwrap();
        let mut buf = [0u8; 64];
        let read = within::<R, _>(STEP, "the newcomer closed", raw.read(&mut buf)).await;
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}: {:?}", &buf[..]);
        // A TLS client over the cap fails its handshake.
        let refused =
            within::<R, _>(STEP, "TLS over the cap", connect_tls(addr, &cert, alpn)).await;
        assert!(refused.is_err(), "a handshake past the cap");

        // The stream that was open is untouched.
        let next = futures_lite::future::or(async { Some(sse.event().await) }, async {
            R::sleep(Duration::from_millis(100)).await;
            None
        })
        .await;
        assert!(next.is_none(), "the open stream ended: {next:?}");
        drop(sse);
        eventually::<R>(STEP, "connections closed", || server.connections() == 0).await;
        let mut again = open(&runtime, addr, &cert, alpn, version, "/", &[]).await;
        let hi = within::<R, _>(STEP, "the event after the cap", again.event()).await;
        assert_eq!(hi.unwrap().data(), "hi");
        drop(again);
        stop(&server).await;
    })
    .await;
}

/// A reloaded certificate is what new connections get; a stream open before goes on with the
/// old one, and a bad reload changes nothing.
pub async fn tls_reload_certificate<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "tls_reload_certificate", async {
        let (old, new) = (TestCert::new(), TestCert::new());
        let tls = old.tls();
        let server = start_tls(
            runtime.clone(),
            Config::default(),
            tls.clone(),
            |_: Request| async {
                Response::sse(|send| async move {
                    loop {
                        R::sleep(Duration::from_millis(50)).await;
                        if send.send("tick").await.is_err() {
                            return;
                        }
                    }
                })
            },
        )
        .await;
        let addr = server.local_addr();
        let mut before = open(
            &runtime,
            addr,
            &old,
            &[b"http/1.1"],
            http::Version::HTTP_11,
            "/",
            &[],
        )
        .await;
        assert!(
            tls.reload_pem(new.cert_pem.as_bytes(), old.key_pem.as_bytes())
                .is_err()
        );
        assert!(connect_tls(addr, &old, &[b"h2"]).await.is_ok());
        tls.reload_pem(new.cert_pem.as_bytes(), new.key_pem.as_bytes())
            .expect("reload");
        assert!(
            connect_tls(addr, &old, &[b"h2"]).await.is_err(),
            "the old certificate after the reload"
        );
        let mut after = open(
            &runtime,
            addr,
            &new,
            &[b"h2"],
            http::Version::HTTP_2,
            "/",
            &[],
        )
        .await;
        for sse in [&mut before, &mut after] {
            let tick = within::<R, _>(STEP, "a tick", sse.event()).await;
            assert_eq!(tick.unwrap().data(), "tick");
        }
        stop(&server).await;
    })
    .await;
}

/// A hub's streams over TLS (no fan-out lanes: one TLS state per connection) get every event,
/// in order, on both protocols, and a stream resumes after `Last-Event-ID`.
pub async fn tls_hub_streams<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "tls_hub_streams", async {
        let cert = TestCert::new();
        let hub = Hub::default();
        let server = start_tls(runtime.clone(), Config::default(), cert.tls(), {
            let hub = hub.clone();
            move |request: Request| {
                let subscription = hub.subscribe(request.last_event_id());
                async move { Response::sse_stream(subscription) }
            }
        })
        .await;
        let mut streams = Vec::new();
        for (name, alpn, version) in PROTOCOLS {
            let mut sse = open(
                &runtime,
                server.local_addr(),
                &cert,
                alpn,
                version,
                "/",
                &[],
            )
            .await;
            let opening = within::<R, _>(STEP, "the opening frame", sse.frame()).await;
            assert_eq!(opening, Some(Frame::Comment(String::new())), "{name}");
            streams.push((name, sse));
        }
        eventually::<R>(STEP, "subscribed", || hub.subscribers() == 2).await;
        let ids: Vec<String> = (0..200)
            .map(|n| hub.publish(&Event::new(format!("message {n} {}", "x".repeat(n)))))
            .collect();
        for (name, sse) in &mut streams {
            for n in 0..200 {
                let event = within::<R, _>(STEP, "a hub event", sse.event())
                    .await
                    .unwrap();
                assert_eq!(
                    event.data(),
                    format!("message {n} {}", "x".repeat(n)),
                    "{name}"
                );
            }
        }
        drop(streams);
        // Resume after the 100th event.
        let mut resumed = open(
            &runtime,
            server.local_addr(),
            &cert,
            &[b"http/1.1"],
            http::Version::HTTP_11,
            "/",
            &[("last-event-id", ids[99].as_str())],
        )
        .await;
        // `event` skips comments; `None` is the end of the body, a failure here.
        let first = within::<R, _>(STEP, "the replay", resumed.event())
            .await
            .expect("the replayed stream ended before its first event");
        assert_eq!(first.data(), format!("message 100 {}", "x".repeat(100)));
        stop(&server).await;
    })
    .await;
}

/// Shutdown over TLS: an open stream on either protocol ends after the grace period and every
/// connection closes.
pub async fn tls_graceful_shutdown<R: Runtime>(runtime: R) {
    let _turn = shared_turn();
    within::<R, _>(TEST_LIMIT, "tls_graceful_shutdown", async {
        let cert = TestCert::new();
        let server = start_tls(
            runtime.clone(),
            Config::default(),
            cert.tls(),
            |_: Request| async { idle() },
        )
        .await;
        let mut streams = Vec::new();
        for (_, alpn, version) in PROTOCOLS {
            let mut sse = open(
                &runtime,
                server.local_addr(),
                &cert,
                alpn,
                version,
                "/",
                &[],
            )
            .await;
            let _ = within::<R, _>(STEP, "the opening frame", sse.frame()).await;
            streams.push(sse);
        }
        // A connection mid-handshake (nothing sent) is closed too.
        let _silent = Async::<std::net::TcpStream>::connect(server.local_addr())
            .await
            .unwrap();
        eventually::<R>(STEP, "three connections", || server.connections() == 3).await;
        stop(&server).await;
        assert_eq!(server.connections(), 0);
        for sse in &mut streams {
            let end = within::<R, _>(STEP, "the stream's end", sse.try_event()).await;
            assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
        }
    })
    .await;
}

/// The page of [`tls_browser`]: 10 `EventSource`s to its own origin, each noted in `window.got`
/// at its first event.
const STREAMS_PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>ten streams</title>
<script>
window.got = [];
for (let i = 0; i < 10; i++) {
  const source = new EventSource('/events?n=' + i);
  source.onmessage = () => { if (!window.got.includes(i)) window.got.push(i); };
}
</script>"#;

fn streams_page(request: Request) -> impl std::future::Future<Output = Response> {
    let path = request.path().to_owned();
    async move {
        match path.as_str() {
            "/" => Response::html(STREAMS_PAGE),
            "/events" => Response::sse(|send| async move {
                if send.send("hello").await.is_ok() {
                    send.closed().await;
                }
            }),
            _ => Response::not_found(),
        }
    }
}

/// HTTPS in headless Chromium (`browser/tls.mjs`), with a new self-signed certificate that the
/// browser context is told to accept: one page holds 10 event streams over HTTP/2 (all get
/// their first event, `nextHopProtocol` is `h2`); against a server offering only `http/1.1`
/// exactly 6 do; the room demo over HTTPS carries a message from one page to another.
pub async fn tls_browser<R: Runtime>(runtime: R) {
    let _turn = crate::alone_turn();
    if let Err(reason) = crate::browser::prepare::<R>().await {
        panic!("browser test cannot run: {reason}");
    }
    let cert = TestCert::new();
    let h2 = start_tls(runtime.clone(), Config::default(), cert.tls(), streams_page).await;
    let h1 = start_tls(
        runtime.clone(),
        Config::default(),
        cert.tls().with_http2(false),
        streams_page,
    )
    .await;
    let hub = Hub::default();
    let room = start_tls(
        runtime.clone(),
        Config::default(),
        cert.tls(),
        move |request| ssewire_demo::room::handle(hub.clone(), request),
    )
    .await;
    let bases: Vec<String> = [&h2, &h1, &room]
        .iter()
        .map(|s| format!("https://{}", s.local_addr()))
        .collect();
    let script = crate::browser::script("tls.mjs");
    let mut command = std::process::Command::new("node");
    command
        .arg(&script)
        .args(&bases)
        .env("SSEWIRE_NODE_MODULES", crate::browser::node_modules())
        .env("SSEWIRE_CHROMIUM", crate::browser::chromium());
    // node on a thread of its own (its watchdog ends it after 90 s); the servers go on here.
    let (done_tx, done_rx) = async_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = done_tx.send_blocking(command.output());
    });
    let output = within::<R, _>(Duration::from_secs(150), "node tls.mjs", done_rx.recv())
        .await
        .expect("the node thread")
        .expect("starting node");
    eprintln!(
        "--- node {} {} (stdout)\n{}",
        script.display(),
        bases.join(" "),
        String::from_utf8_lossy(&output.stdout)
    );
    if !output.stderr.is_empty() {
        eprintln!("--- (stderr)\n{}", String::from_utf8_lossy(&output.stderr));
    }
    for server in [&h2, &h1, &room] {
        stop(server).await;
    }
    assert!(
        output.status.success(),
        "browser test failed ({}); see the output above",
        output.status
    );
}
