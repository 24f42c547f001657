//! The client over `https://` on async-std (`ssewire_async_std::EventSource`): the core of the
//! smol shell's `tests/client_https.rs` (which covers the rest of the transport over TLS)
//! through async-std's sockets and timer, against our own TLS server (`serve_tls`) with a
//! self-signed rcgen certificate, new for every test, trusted through `with_root_certificates`.

use ssewire_conformance::client::TestCert;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_std::stream::StreamExt;
use ssewire_async_std::client::rustls::RootCertStore;
use ssewire_async_std::client::{Config, Ended, Jitter, Reason, StopReason};
use ssewire_async_std::{
    ClientEvent, Event, EventSource, HeaderValue, Request, Response, Server, StatusCode, header,
    serve, serve_tls,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Short, exact waits.
fn config() -> Config {
    Config {
        retry: ms(20),
        jitter: Jitter::None,
        ..Config::default()
    }
}

/// Trusts the test's certificate only.
fn roots(cert: &TestCert) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert.der.clone())
        .expect("the test certificate is a root");
    roots
}

/// The next item, within 5 s.
async fn next(events: &mut EventSource) -> Option<ClientEvent> {
    async_std::future::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("a client event within 5 s")
}

/// Every item until the stream ends (within 5 s each).
async fn all(events: &mut EventSource) -> Vec<ClientEvent> {
    let mut out = Vec::new();
    while let Some(event) = next(events).await {
        out.push(event);
    }
    out
}

/// `open`, `event DATA`, `retry REASON`, `closed REASON`.
fn summary(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event {
            ClientEvent::Open { status, .. } => format!("open {}", status.as_u16()),
            ClientEvent::Event(event) => format!("event {}", event.data()),
            ClientEvent::Retry(wait) => format!("retry {:?}", wait.reason),
            ClientEvent::Closed(reason) => format!("closed {reason:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Our TLS server on `127.0.0.1:0` (`h2` offered unless `http2` is false): `/events` sends `a`
/// (id 1) and `b` (id 2) and ends; asked again with `Last-Event-ID: 2` it sends `c` (id 3)
/// and `[DONE]`. `/hold` sends `a`, then a number every 5 ms until its client leaves, when
/// it sets `gone`. Each `Last-Event-ID` seen goes to `ids`.
async fn tls_server(
    cert: &TestCert,
    http2: bool,
    ids: Arc<Mutex<Vec<Option<String>>>>,
    gone: Arc<AtomicBool>,
) -> Server {
    let tls = cert.tls().with_http2(http2);
    serve_tls(
        "127.0.0.1:0".parse().unwrap(),
        tls,
        move |request: Request| {
            ids.lock()
                .unwrap()
                .push(request.last_event_id().map(str::to_owned));
            let resume = request.last_event_id() == Some("2");
            let hold = request.path() == "/hold";
            let gone = gone.clone();
            async move {
                Response::sse(move |send| async move {
                    if hold {
                        let _gone = SetOnDrop(gone);
                        send.send("a").await?;
                        let mut n = 0u64;
                        while send.send(n.to_string()).await.is_ok() {
                            n += 1;
                            async_std::task::sleep(ms(5)).await;
                        }
                    } else if resume {
                        send.send(Event::new("c").with_id("3")?).await?;
                        send.send("[DONE]").await?;
                    } else {
                        send.send(Event::new("a").with_id("1")?).await?;
                        send.send(Event::new("b").with_id("2")?).await?;
                    }
                    Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                })
            }
        },
    )
    .await
    .expect("binding 127.0.0.1:0")
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Waits (up to 3 s) for `done`.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(3), "never: {what}");
        async_std::task::sleep(ms(10)).await;
    }
}

/// Over `h2` (ALPN): events, a clean end, a reconnection with `Last-Event-ID` on a new HTTP/2
/// connection, the terminal event. SNI and the certificate check use the URL's IP address.
#[test]
fn events_and_last_event_id_over_h2() {
    async_std::task::block_on(async {
        let cert = TestCert::new();
        let ids = Arc::new(Mutex::new(Vec::new()));
        let server = tls_server(&cert, true, ids.clone(), Arc::default()).await;
        let url = format!("https://{}/events", server.local_addr());
        let mut events = EventSource::get(&url)
            .unwrap()
            .with_root_certificates(roots(&cert))
            .with_config(config())
            .with_terminal(|event| event.data() == "[DONE]");
        assert_eq!(summary(&[next(&mut events).await.unwrap()]), ["open 200"]);
        // The stream is open: its connection is the server's one HTTP/2 connection.
        let stats = server.stats();
        assert_eq!((stats.http2_connections, stats.http1_connections), (1, 0));
        let items = all(&mut events).await;
        assert_eq!(
            summary(&items[..5]),
            [
                "event a",
                "event b",
                "retry Ended(Clean)",
                "open 200",
                "event c"
            ]
        );
        assert!(
            matches!(&items[5..], [ClientEvent::Closed(StopReason::Terminal(done))] if done.data() == "[DONE]"),
            "{:?}",
            summary(&items)
        );
        assert_eq!(*ids.lock().unwrap(), [None, Some("2".to_owned())]);
        assert!(events.last_error().is_none());
        server.shutdown(ms(100)).await;
    });
}
/// A certificate the client does not trust (the default roots, which do not hold the test's
/// self-signed one; or roots that hold another certificate): no event, a transport error the
/// controller retries like any other, and a message that says what was wrong.
#[test]
fn untrusted_certificate_is_a_clear_error() {
    async_std::task::block_on(async {
        let cert = TestCert::new();
        let server = tls_server(&cert, true, Arc::default(), Arc::default()).await;
        let url = format!("https://{}/events", server.local_addr());
        let other = TestCert::new();
        for trust in [None, Some(roots(&other))] {
            let mut events = EventSource::get(&url).unwrap().with_config(Config {
                max_retries: Some(1),
                ..config()
            });
            if let Some(roots) = trust {
                events = events.with_root_certificates(roots);
            }
            let items = all(&mut events).await;
            assert_eq!(items.len(), 2, "{:?}", summary(&items));
            assert!(
                matches!(&items[0], ClientEvent::Retry(wait)
                    if wait.reason == Reason::Ended(Ended::Error(ErrorKind::InvalidData))),
                "{:?}",
                summary(&items)
            );
            assert!(
                matches!(&items[1], ClientEvent::Closed(StopReason::Exhausted { .. })),
                "{:?}",
                summary(&items)
            );
            let error = events
                .last_error()
                .expect("the transport error")
                .to_string();
            assert!(
                error.contains("certificate") && error.contains("127.0.0.1"),
                "{error}"
            );
        }
        assert_eq!(server.stats().http2_connections, 0);
        server.shutdown(ms(100)).await;
    });
}

/// An `http://` URL that redirects to `https://`: followed, the stream opens over `h2`.
#[test]
fn redirect_from_http_to_https() {
    async_std::task::block_on(async {
        let cert = TestCert::new();
        let secure = tls_server(&cert, true, Arc::default(), Arc::default()).await;
        let location = format!("https://{}/events", secure.local_addr());
        let plain = serve("127.0.0.1:0".parse().unwrap(), move |_| {
            let location = HeaderValue::from_str(&location).unwrap();
            async move {
                Response::status(StatusCode::TEMPORARY_REDIRECT)
                    .with_header(header::LOCATION, location)
            }
        })
        .await
        .unwrap();
        let mut events = EventSource::get(&format!("http://{}/", plain.local_addr()))
            .unwrap()
            .with_root_certificates(roots(&cert))
            .with_config(Config {
                reconnect: false,
                ..config()
            });
        assert_eq!(summary(&[next(&mut events).await.unwrap()]), ["open 200"]);
        assert_eq!(secure.stats().http2_connections, 1);
        assert_eq!(
            summary(&all(&mut events).await),
            ["event a", "event b", "closed Ended(Clean)"]
        );
        plain.shutdown(ms(100)).await;
        secure.shutdown(ms(100)).await;
    });
}

/// `close()` and dropping the stream end the HTTP/2 connection at once: the server's producer
/// sees its client leave and the server's connection count falls to 0.
#[test]
fn close_and_drop_end_the_h2_connection() {
    async_std::task::block_on(async {
        let cert = TestCert::new();
        for close in [true, false] {
            let gone = Arc::new(AtomicBool::new(false));
            let server = tls_server(&cert, true, Arc::default(), gone.clone()).await;
            let url = format!("https://{}/hold", server.local_addr());
            let mut events = EventSource::get(&url)
                .unwrap()
                .with_root_certificates(roots(&cert));
            assert_eq!(
                summary(&[
                    next(&mut events).await.unwrap(),
                    next(&mut events).await.unwrap()
                ]),
                ["open 200", "event a"]
            );
            assert_eq!(server.stats().http2_connections, 1);
            if close {
                events.close();
                assert_eq!(
                    summary(&[next(&mut events).await.unwrap()]),
                    ["closed Closed"]
                );
                assert!(next(&mut events).await.is_none());
            } else {
                drop(events);
            }
            eventually("the server saw the client leave", || {
                gone.load(Ordering::SeqCst) && server.stats().http2_connections == 0
            })
            .await;
            server.shutdown(ms(100)).await;
        }
    });
}
