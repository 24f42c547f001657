//! The client over `https://` ([`EventSource`]) against our own TLS server (`serve_tls`) with a
//! self-signed rcgen certificate ([`TestCert`]), new for every test, that the client trusts
//! through `with_root_certificates`: HTTP/2 when ALPN gives `h2`, HTTP/1.1 when the server
//! offers only `http/1.1`, `Last-Event-ID` across a reconnection, an untrusted certificate, a
//! redirect from `http` to `https`, `close()` / drop ending the connection, a rustls config of
//! one's own, the idle and head timeouts, and the HTTP/2 keep-alive.

use std::future::Future;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_io::Async;
use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use ssewire::Event;
use ssewire_client_transport::rustls::RootCertStore;
use ssewire_client_transport::{
    ClientEvent, Config, Ended, EventSource, Jitter, Reason, StopReason,
};
use ssewire_demo::proxy::ProxyRuntime;
use ssewire_server::{HeaderValue, Request, Response, Server, StatusCode, header};

use crate::client::{TestCert, within};

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
async fn next<R: ProxyRuntime>(events: &mut EventSource<R>) -> Option<ClientEvent> {
    within::<R, _>(Duration::from_secs(5), "a client event", events.next()).await
}

/// Every item until the stream ends (within 5 s each).
async fn all<R: ProxyRuntime>(events: &mut EventSource<R>) -> Vec<ClientEvent> {
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
/// and `[DONE]`. `/silent` opens and sends nothing more. `/hold` sends `a`, then a number
/// every 5 ms until its client leaves, when it sets `gone`. Each `Last-Event-ID` seen goes to
/// `ids`.
async fn tls_server<R: ProxyRuntime>(
    runtime: &R,
    cert: &TestCert,
    http2: bool,
    ids: Arc<Mutex<Vec<Option<String>>>>,
    gone: Arc<AtomicBool>,
) -> Server<R> {
    let tls = cert.tls().with_http2(http2);
    ssewire_server::serve_tls(
        runtime.clone(),
        "127.0.0.1:0".parse().unwrap(),
        ssewire_server::Config::default(),
        tls,
        move |request: Request| {
            ids.lock()
                .unwrap()
                .push(request.last_event_id().map(str::to_owned));
            let resume = request.last_event_id() == Some("2");
            let hold = request.path() == "/hold";
            let silent = request.path() == "/silent";
            let gone = gone.clone();
            async move {
                Response::sse(move |send| async move {
                    if silent {
                        // Open (the server's first bytes go out), then nothing.
                        std::future::pending::<()>().await;
                    } else if hold {
                        let _gone = SetOnDrop(gone);
                        send.send("a").await?;
                        let mut n = 0u64;
                        while send.send(n.to_string()).await.is_ok() {
                            n += 1;
                            R::sleep(ms(5)).await;
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
async fn eventually<R: ProxyRuntime>(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(3), "never: {what}");
        R::sleep(ms(10)).await;
    }
}

/// A task spawned on the runtime that ends, dropping what it holds, when this is dropped or
/// [`stop`](Background::stop)ped.
struct Background {
    stop: async_channel::Sender<()>,
    done: async_channel::Receiver<()>,
}

impl Background {
    /// Runs `future` on `runtime` until it ends or the handle goes.
    fn spawn<R: ProxyRuntime>(
        runtime: &R,
        future: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let (finished, done) = async_channel::bounded::<()>(1);
        runtime.spawn(async move {
            let _finished = finished;
            futures_lite::future::or(future, async {
                let _ = stopped.recv().await;
            })
            .await;
        });
        Background { stop, done }
    }

    /// Ends the task and waits until it has dropped what it held.
    async fn stop(self) {
        drop(self.stop);
        let _ = self.done.recv().await;
    }
}

/// Over `h2` (ALPN): events, a clean end, a reconnection with `Last-Event-ID` on a new HTTP/2
/// connection, the terminal event. SNI and the certificate check use the URL's IP address.
pub async fn events_and_last_event_id_over_h2<R: ProxyRuntime>(runtime: R) {
    let cert = TestCert::new();
    let ids = Arc::new(Mutex::new(Vec::new()));
    let server = tls_server(&runtime, &cert, true, ids.clone(), Arc::default()).await;
    let url = format!("https://{}/events", server.local_addr());
    let mut events = EventSource::<R>::get(&url)
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
}

/// Reads `events` (on `/events` of [`tls_server`]) without reconnecting: `open`, then, with the
/// connection counted by `server` as `(http1, http2)` = `connections`, `a`, `b` and a clean end.
async fn events_once<R: ProxyRuntime>(
    server: &Server<R>,
    events: EventSource<R>,
    connections: (usize, usize),
) {
    let mut events = events.with_config(Config {
        reconnect: false,
        ..config()
    });
    assert_eq!(summary(&[next(&mut events).await.unwrap()]), ["open 200"]);
    let stats = server.stats();
    assert_eq!(
        (stats.http1_connections, stats.http2_connections),
        connections
    );
    assert_eq!(
        summary(&all(&mut events).await),
        ["event a", "event b", "closed Ended(Clean)"]
    );
}

/// A server that offers only `http/1.1`: the same events over HTTP/1.1 in TLS; the URL's host
/// is a name (`localhost`), which goes out as SNI.
pub async fn events_over_http1_when_the_server_offers_no_h2<R: ProxyRuntime>(runtime: R) {
    let cert = TestCert::new();
    let server = tls_server(&runtime, &cert, false, Arc::default(), Arc::default()).await;
    let url = format!("https://localhost:{}/events", server.local_addr().port());
    let events = EventSource::<R>::get(&url)
        .unwrap()
        .with_root_certificates(roots(&cert));
    events_once(&server, events, (1, 0)).await;
    server.shutdown(ms(100)).await;
}

/// A certificate the client does not trust (the default roots, which do not hold the test's
/// self-signed one; or roots that hold another certificate): no event, a transport error the
/// controller retries like any other, and a message that says what was wrong.
pub async fn untrusted_certificate_is_a_clear_error<R: ProxyRuntime>(runtime: R) {
    let cert = TestCert::new();
    let server = tls_server(&runtime, &cert, true, Arc::default(), Arc::default()).await;
    let url = format!("https://{}/events", server.local_addr());
    let other = TestCert::new();
    for trust in [None, Some(roots(&other))] {
        let mut events = EventSource::<R>::get(&url).unwrap().with_config(Config {
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
}

/// An `http://` URL that redirects to `https://`: followed, the stream opens over `h2`.
pub async fn redirect_from_http_to_https<R: ProxyRuntime>(runtime: R) {
    let cert = TestCert::new();
    let secure = tls_server(&runtime, &cert, true, Arc::default(), Arc::default()).await;
    let location = format!("https://{}/events", secure.local_addr());
    let plain = ssewire_server::serve(
        runtime,
        "127.0.0.1:0".parse().unwrap(),
        ssewire_server::Config::default(),
        move |_| {
            let location = HeaderValue::from_str(&location).unwrap();
            async move {
                Response::status(StatusCode::TEMPORARY_REDIRECT)
                    .with_header(header::LOCATION, location)
            }
        },
    )
    .await
    .unwrap();
    let mut events = EventSource::<R>::get(&format!("http://{}/", plain.local_addr()))
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
}

/// `open` and `event a` from `/hold`, over the server's one HTTP/2 connection.
async fn open_hold<R: ProxyRuntime>(server: &Server<R>, events: &mut EventSource<R>) {
    assert_eq!(
        summary(&[next(events).await.unwrap(), next(events).await.unwrap()]),
        ["open 200", "event a"]
    );
    assert_eq!(server.stats().http2_connections, 1);
}

/// `close()` and dropping the stream end the HTTP/2 connection at once: the server's producer
/// sees its client leave and the server's connection count falls to 0.
pub async fn close_and_drop_end_the_h2_connection<R: ProxyRuntime>(runtime: R) {
    let cert = TestCert::new();
    for close in [true, false] {
        let gone = Arc::new(AtomicBool::new(false));
        let server = tls_server(&runtime, &cert, true, Arc::default(), gone.clone()).await;
        let url = format!("https://{}/hold", server.local_addr());
        let mut events = EventSource::<R>::get(&url)
            .unwrap()
            .with_root_certificates(roots(&cert));
        open_hold(&server, &mut events).await;
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
        eventually::<R>("the server saw the client leave", || {
            gone.load(Ordering::SeqCst) && server.stats().http2_connections == 0
        })
        .await;
        server.shutdown(ms(100)).await;
    }
}

/// A whole rustls config of one's own decides ALPN: without `h2` in it the client speaks
/// HTTP/1.1 to a server that offers `h2`.
pub async fn a_config_of_ones_own_decides_alpn<R: ProxyRuntime>(runtime: R) {
    use ssewire_client_transport::rustls;
    let cert = TestCert::new();
    let server = tls_server(&runtime, &cert, true, Arc::default(), Arc::default()).await;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(&cert))
        .with_no_client_auth();
    let url = format!("https://{}/events", server.local_addr());
    let events = EventSource::<R>::get(&url)
        .unwrap()
        .with_tls_config(Arc::new(tls));
    events_once(&server, events, (1, 0)).await;
    server.shutdown(ms(100)).await;
}

/// What the HTTP/1.1 path bounds, HTTP/2 over TLS bounds too: a stream silent for
/// `idle_timeout` is dropped and retried; a server that accepts but never answers the TLS
/// handshake fails the attempt at `with_timeout`.
pub async fn idle_and_head_timeouts_over_tls<R: ProxyRuntime>(runtime: R) {
    let cert = TestCert::new();
    let server = tls_server(&runtime, &cert, true, Arc::default(), Arc::default()).await;
    let url = format!("https://{}/silent", server.local_addr());
    let mut events = EventSource::<R>::get(&url)
        .unwrap()
        .with_root_certificates(roots(&cert))
        .with_config(Config {
            idle_timeout: Some(ms(200)),
            max_retries: Some(0),
            ..config()
        });
    assert_eq!(
        summary(&all(&mut events).await),
        [
            "open 200",
            "closed Exhausted { attempts: 0, last: Ended(IdleTimeout) }"
        ]
        .map(str::to_owned)
    );
    server.shutdown(ms(100)).await;

    // Accepts, reads nothing, answers nothing.
    let mute = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let url = format!("https://{}/", mute.get_ref().local_addr().unwrap());
    let hold = Background::spawn(&runtime, async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = mute.accept().await {
            held.push(socket);
        }
    });
    let mut events = EventSource::<R>::get(&url)
        .unwrap()
        .with_root_certificates(roots(&cert))
        .with_timeout(ms(200))
        .with_config(Config {
            reconnect: false,
            ..config()
        });
    let items = all(&mut events).await;
    assert!(
        matches!(
            &items[..],
            [ClientEvent::Closed(StopReason::Ended(Ended::Error(
                ErrorKind::TimedOut
            )))]
        ),
        "{:?}",
        summary(&items)
    );
    let error = events.last_error().unwrap().to_string();
    assert!(error.contains("no response"), "{error}");
    hold.stop().await;
}

/// A TCP relay to `target` on `127.0.0.1:0` that, once `frozen` is set, holds every byte it
/// reads instead of passing it on (a path that died without a FIN or RST). Dropping the task
/// drops its connections.
async fn relay<R: ProxyRuntime>(
    runtime: &R,
    target: SocketAddr,
    frozen: Arc<AtomicBool>,
) -> (SocketAddr, Background) {
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let spawner = runtime.clone();
    let task = Background::spawn(runtime, async move {
        let mut pipes = Vec::new();
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = Async::<TcpStream>::connect(target).await else {
                continue;
            };
            let (client, server) = (Arc::new(client), Arc::new(server));
            for (from, to) in [(client.clone(), server.clone()), (server, client)] {
                let frozen = frozen.clone();
                pipes.push(Background::spawn(&spawner, async move {
                    let (mut from, mut to) = (&*from, &*to);
                    let mut buf = vec![0; 16 * 1024];
                    while let Ok(n @ 1..) = from.read(&mut buf).await {
                        while frozen.load(Ordering::SeqCst) {
                            R::sleep(ms(10)).await;
                        }
                        if to.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }));
            }
        }
    });
    (addr, task)
}

/// `with_http2_keep_alive`: when the path goes dead mid-stream (no FIN, no RST, nothing
/// more read), the unanswered `PING` fails the connection within about two intervals, a
/// transport error the controller handles like any other; without an idle timeout nothing
/// else would notice.
pub async fn http2_keep_alive_notices_a_dead_path<R: ProxyRuntime>(runtime: R) {
    let cert = TestCert::new();
    let gone = Arc::new(AtomicBool::new(false));
    let server = tls_server(&runtime, &cert, true, Arc::default(), gone.clone()).await;
    let frozen = Arc::new(AtomicBool::new(false));
    let (addr, relay) = relay(&runtime, server.local_addr(), frozen.clone()).await;
    let mut events = EventSource::<R>::get(&format!("https://{addr}/hold"))
        .unwrap()
        .with_root_certificates(roots(&cert))
        .with_http2_keep_alive(ms(200))
        .with_config(Config {
            max_retries: Some(0),
            ..config()
        });
    open_hold(&server, &mut events).await;
    frozen.store(true, Ordering::SeqCst);
    let rest = all(&mut events).await;
    let end = summary(&rest[rest.len() - 1..]);
    assert_eq!(
        end,
        ["closed Exhausted { attempts: 0, last: Ended(Error(TimedOut)) }"],
        "{:?}",
        summary(&rest)
    );
    let error = events.last_error().unwrap().to_string();
    assert!(error.contains("keep-alive"), "{error}");
    drop(relay);
    server.shutdown(ms(100)).await;
}
