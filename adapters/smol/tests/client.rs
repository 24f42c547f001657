//! The client (`ssewire_smol::EventSource`) end to end: against our own server, and against a
//! scripted server of this file's own that misbehaves on purpose (raw TCP, one scripted reply
//! per connection). Every rule of the controller, through real sockets.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::TcpListener;
use smol::stream::StreamExt;
use ssewire_smol::client::{Config, Ended, Jitter, Reason, StopReason};
use ssewire_smol::{ClientEvent, Event, EventSource, Response, StatusCode, serve};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Short, exact waits.
fn config() -> Config {
    Config {
        retry: ms(20),
        max_backoff: ms(2000),
        jitter: Jitter::None,
        ..Config::default()
    }
}

/// The next item, within 5 s.
async fn next(events: &mut EventSource) -> Option<ClientEvent> {
    smol::future::or(events.next(), async {
        smol::Timer::after(Duration::from_secs(5)).await;
        panic!("no client event within 5 s");
    })
    .await
}

/// Every item until the stream ends.
async fn all(mut events: EventSource) -> Vec<ClientEvent> {
    let mut out = Vec::new();
    while let Some(event) = next(&mut events).await {
        out.push(event);
    }
    out
}

/// A compact view of the items: `open`, `event:DATA`, `retry:MS:REASON`, `closed:REASON`.
fn summary(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event {
            ClientEvent::Open { status, .. } => format!("open {}", status.as_u16()),
            ClientEvent::Event(event) => format!("event {}", event.data()),
            ClientEvent::Dropped(error) => format!("dropped {error}"),
            ClientEvent::Retry(wait) => format!(
                "retry {} {}",
                wait.delay.as_millis(),
                match wait.reason {
                    Reason::Ended(Ended::Clean) => "clean".to_owned(),
                    Reason::Ended(Ended::Truncated) => "truncated".to_owned(),
                    Reason::Ended(Ended::Error(_)) => "error".to_owned(),
                    Reason::Ended(Ended::IdleTimeout) => "idle".to_owned(),
                    Reason::Status { status, .. } => format!("status {}", status.as_u16()),
                    other => format!("{other:?}"),
                }
            ),
            ClientEvent::Closed(reason) => format!(
                "closed {}",
                match reason {
                    StopReason::NoContent => "no content".to_owned(),
                    StopReason::Rejected(r) => format!("rejected {}", r.status.as_u16()),
                    StopReason::Terminal(_) => "terminal".to_owned(),
                    StopReason::Exhausted { attempts, .. } => format!("exhausted {attempts}"),
                    StopReason::Ended(Ended::Clean) => "ended clean".to_owned(),
                    StopReason::Closed => "closed".to_owned(),
                    other => format!("{other:?}"),
                }
            ),
            other => format!("{other:?}"),
        })
        .collect()
}

/// One request as the scripted server read it.
#[derive(Debug, Clone)]
struct Seen {
    /// `METHOD /target`.
    line: String,
    /// Lowercase names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the scripted server does on one connection.
struct Reply {
    bytes: Vec<u8>,
    /// Keep the connection open and silent afterwards (a half-open peer).
    hold: bool,
}

fn stream(body: &str) -> Reply {
    raw(&format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n{body}"
    ))
}

fn raw(text: &str) -> Reply {
    Reply {
        bytes: text.as_bytes().to_vec(),
        hold: false,
    }
}

fn status(code: u16, headers: &str, body: &str) -> Reply {
    raw(&format!(
        "HTTP/1.1 {code} X\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    ))
}

fn hold(mut reply: Reply) -> Reply {
    reply.hold = true;
    reply
}

/// A server that answers connection `n` with `replies[n]` (and `204` after the last), and
/// records every request.
async fn scripted(replies: Vec<Reply>) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    smol::spawn(async move {
        let mut replies = replies.into_iter();
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let reply = replies.next().unwrap_or_else(|| status(204, "", ""));
            let record = record.clone();
            smol::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let mut lines = head.split("\r\n");
                let line = lines.next().unwrap_or_default();
                let line = line.rsplit_once(' ').map_or(line, |(l, _)| l).to_owned();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = buf[head_end + 4..].to_vec();
                while body.len() < length {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&chunk[..n]),
                    }
                }
                record.lock().unwrap().push(Seen {
                    line,
                    headers,
                    body,
                });
                let _ = socket.write_all(&reply.bytes).await;
                let _ = socket.flush().await;
                if reply.hold {
                    smol::Timer::after(Duration::from_secs(30)).await;
                }
            })
            .detach();
        }
    })
    .detach();
    (addr, seen)
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

#[test]
fn public_types_are_send_sync_unpin() {
    fn check<T: Send + Sync + Unpin>() {}
    check::<EventSource>();
    check::<ClientEvent>();
    check::<ssewire_smol::client::Request>();
    check::<ssewire_smol::client::Error>();
}

/// Our own server: events, a clean end, a reconnection with `Last-Event-ID`, a terminal event.
#[test]
fn resumes_our_server_with_last_event_id_and_stops_at_terminal() {
    smol::block_on(async {
        let ids = Arc::new(Mutex::new(Vec::new()));
        let seen = ids.clone();
        let server = serve(
            "127.0.0.1:0".parse().unwrap(),
            move |request: ssewire_smol::Request| {
                seen.lock()
                    .unwrap()
                    .push(request.last_event_id().map(str::to_owned));
                let resume = request.last_event_id().is_some();
                async move {
                    Response::sse(move |send| async move {
                        if resume {
                            send.send(Event::new("c").with_id("3")?).await?;
                            send.send("[DONE]").await?;
                            send.send("never").await?;
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
        .unwrap();
        let events = EventSource::get(&url(server.local_addr(), "/events"))
            .unwrap()
            .with_config(config())
            .with_terminal(|event| event.data() == "[DONE]");
        let items = all(events).await;
        assert_eq!(
            summary(&items),
            [
                "open 200",
                "event a",
                "event b",
                "retry 20 clean",
                "open 200",
                "event c",
                "closed terminal"
            ]
        );
        let ClientEvent::Event(b) = &items[2] else {
            unreachable!()
        };
        assert_eq!(b.id(), Some("2"));
        assert_eq!(*ids.lock().unwrap(), [None, Some("2".to_owned())]);
    });
}

/// A status other than 200, or a type other than `text/event-stream`, fails without
/// reconnecting; the error keeps status, headers and body.
#[test]
fn wrong_status_or_type_fails_without_reconnecting() {
    smol::block_on(async {
        for (reply, code) in [
            (status(500, "x-why: overload\r\n", "boom"), 500),
            (status(401, "", "boom"), 401),
            (status(200, "content-type: text/plain\r\n", "boom"), 200),
        ] {
            let (addr, seen) = scripted(vec![reply]).await;
            let items = all(EventSource::get(&url(addr, "/"))
                .unwrap()
                .with_config(config()))
            .await;
            let [ClientEvent::Closed(StopReason::Rejected(rejected))] = &items[..] else {
                panic!("{:?}", summary(&items));
            };
            assert_eq!(
                (rejected.status.as_u16(), &rejected.body[..]),
                (code, &b"boom"[..])
            );
            assert!(!rejected.truncated);
            if code == 500 {
                assert_eq!(rejected.headers["x-why"], "overload");
            }
            smol::Timer::after(ms(100)).await;
            assert_eq!(
                seen.lock().unwrap().len(),
                1,
                "no reconnection after {code}"
            );
        }
    });
}

/// 204 stops for good.
#[test]
fn no_content_stops() {
    smol::block_on(async {
        let (addr, seen) = scripted(vec![status(204, "", "")]).await;
        let items = all(EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(config()))
        .await;
        assert_eq!(summary(&items), ["closed no content"]);
        smol::Timer::after(ms(100)).await;
        assert_eq!(seen.lock().unwrap().len(), 1);
    });
}

/// `retry:` sets the base; failures in a row double it; a healthy connection (one that
/// delivered an event) resets it.
#[test]
fn retry_field_backoff_growth_and_reset() {
    smol::block_on(async {
        let (addr, _) = scripted(vec![
            stream("retry: 150\n\n"),
            raw(""), // closed before any response: an error
            raw(""),
            stream("data: x\n\n"),
            raw(""),
        ])
        .await;
        let items = all(EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(config()))
        .await;
        assert_eq!(
            summary(&items),
            [
                "open 200",
                "retry 150 clean",
                "retry 300 error",
                "retry 600 error",
                "open 200",
                "event x",
                "retry 150 clean",
                "retry 300 error",
                "closed no content"
            ]
        );
    });
}

/// Opted in, 503 waits what `Retry-After` says and reconnects; 401 never does.
#[test]
fn opt_in_status_retry_honours_retry_after_but_never_401() {
    smol::block_on(async {
        let retrying = Config {
            retry_status: true,
            ..config()
        };
        let (addr, _) = scripted(vec![
            status(503, "retry-after: 0\r\n", ""),
            stream("data: back\n\n"),
        ])
        .await;
        let events = EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(retrying)
            .with_terminal(|e| e.data() == "back");
        assert_eq!(
            summary(&all(events).await),
            ["retry 0 status 503", "open 200", "closed terminal"]
        );
        let (addr, seen) = scripted(vec![status(401, "", "")]).await;
        let items = all(EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(retrying))
        .await;
        assert_eq!(summary(&items), ["closed rejected 401"]);
        assert_eq!(seen.lock().unwrap().len(), 1);
    });
}

/// `Last-Event-ID` goes out only when not empty; a seeded one goes out on the first request.
#[test]
fn last_event_id_only_when_not_empty_and_seedable() {
    smol::block_on(async {
        let (addr, seen) = scripted(vec![
            stream("id: 5\ndata: a\n\n"),
            stream("id\ndata: b\n\n"),
        ])
        .await;
        all(EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(config()))
        .await;
        let ids: Vec<Option<String>> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.header("last-event-id").map(str::to_owned))
            .collect();
        assert_eq!(ids, [None, Some("5".to_owned()), None]);

        let (addr, seen) = scripted(vec![]).await;
        let seeded = EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_last_event_id(ssewire_smol::ssewire::EventId::new("41").unwrap());
        all(seeded).await;
        assert_eq!(seen.lock().unwrap()[0].header("last-event-id"), Some("41"));
    });
}

/// A connection that goes silent after opening is reconnected by the idle timeout; one that
/// never answers, by the transport's timeout.
#[test]
fn silent_connections_time_out() {
    smol::block_on(async {
        let (addr, _) = scripted(vec![hold(stream(": hello\n\n")), hold(raw(""))]).await;
        let idle = Config {
            idle_timeout: Some(ms(300)),
            ..config()
        };
        let start = Instant::now();
        let events = EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(idle)
            .with_timeout(ms(300));
        let items = all(events).await;
        assert_eq!(
            summary(&items),
            [
                "open 200",
                "retry 20 idle",
                "retry 200 error",
                "closed no content"
            ]
        );
        let ClientEvent::Retry(wait) = &items[2] else {
            unreachable!()
        };
        assert_eq!(
            wait.reason,
            Reason::Ended(Ended::Error(ErrorKind::TimedOut))
        );
        assert!(start.elapsed() >= ms(600));
    });
}

/// A clean end, an end inside an event and a transport error (a chunked body cut short) are
/// three different reasons.
#[test]
fn clean_end_truncation_and_error_told_apart() {
    smol::block_on(async {
        let (addr, _) = scripted(vec![
            stream("data: a\n\n"),
            stream("data: a\n\ndata: cut"),
            raw(concat!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n",
                "transfer-encoding: chunked\r\n\r\n9\r\ndata: b\n\n\r\n"
            )),
        ])
        .await;
        let items = all(EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(config()))
        .await;
        assert_eq!(
            summary(&items),
            [
                "open 200",
                "event a",
                "retry 20 clean",
                "open 200",
                "event a",
                "retry 20 truncated",
                "open 200",
                "event b",
                "retry 20 error",
                "closed no content"
            ]
        );
    });
}

/// A `POST` with a body and headers, with reconnecting off: one request, the end is final.
#[test]
fn post_with_body_never_reconnects() {
    smol::block_on(async {
        let (addr, seen) = scripted(vec![stream("data: ok\n\n")]).await;
        let events = EventSource::post(&url(addr, "/v1/chat"), r#"{"q":1}"#)
            .unwrap()
            .with_header("content-type", "application/json")
            .unwrap()
            .with_header("x-api-key", "k")
            .unwrap()
            .with_config(Config {
                reconnect: false,
                ..config()
            });
        assert_eq!(
            summary(&all(events).await),
            ["open 200", "event ok", "closed ended clean"]
        );
        smol::Timer::after(ms(100)).await;
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].line, "POST /v1/chat");
        assert_eq!(seen[0].body, br#"{"q":1}"#);
        assert_eq!(seen[0].header("content-type"), Some("application/json"));
        assert_eq!(seen[0].header("x-api-key"), Some("k"));
        assert_eq!(seen[0].header("accept"), Some("text/event-stream"));
    });
}

/// Redirects are followed (a 303 after a POST becomes a GET) up to the limit; one more is the
/// response it is.
#[test]
fn redirects_followed_up_to_the_limit() {
    smol::block_on(async {
        let (addr, seen) = scripted(vec![
            status(303, "location: /b\r\n", ""),
            status(302, "location: c?x=1\r\n", ""),
            stream("data: moved\n\n"),
        ])
        .await;
        let events = EventSource::post(&url(addr, "/a"), "body")
            .unwrap()
            .with_terminal(|e| e.data() == "moved");
        assert_eq!(summary(&all(events).await), ["open 200", "closed terminal"]);
        let lines: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.line.clone())
            .collect();
        assert_eq!(lines, ["POST /a", "GET /b", "GET /c?x=1"]);

        let loop_302 = || status(302, "location: /again\r\n", "");
        let (addr, seen) = scripted((0..10).map(|_| loop_302()).collect()).await;
        let events = EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_max_redirects(3);
        assert_eq!(summary(&all(events).await), ["closed rejected 302"]);
        assert_eq!(seen.lock().unwrap().len(), 4);
    });
}

/// A large error body is kept only up to `max_error_body`.
#[test]
fn error_body_is_bounded() {
    smol::block_on(async {
        let big = "e".repeat(100_000);
        let (addr, _) = scripted(vec![status(500, "", &big)]).await;
        let events = EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(Config {
                max_error_body: 1024,
                ..config()
            });
        let items = all(events).await;
        let [ClientEvent::Closed(StopReason::Rejected(rejected))] = &items[..] else {
            panic!("{:?}", summary(&items));
        };
        assert_eq!(rejected.body.len(), 1024);
        assert!(rejected.truncated);
    });
}

/// The hook rebuilds URL and headers before each connection, knowing the attempt.
#[test]
fn hook_rebuilds_url_and_headers() {
    smol::block_on(async {
        let (addr, seen) = scripted(vec![stream(""), raw("")]).await;
        let events = EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(config())
            .with_reconnect_hook(move |request, connect| {
                let token = format!("Bearer t{}", connect.attempt);
                request
                    .headers
                    .insert("authorization", token.parse().unwrap());
                request.url = format!("http://{addr}/a{}", connect.attempt)
                    .parse()
                    .unwrap();
            });
        all(events).await;
        let seen = seen.lock().unwrap();
        let got: Vec<(String, Option<&str>)> = seen
            .iter()
            .map(|s| (s.line.clone(), s.header("authorization")))
            .collect();
        assert_eq!(
            got,
            [
                ("GET /a0".to_owned(), Some("Bearer t0")),
                ("GET /a1".to_owned(), Some("Bearer t1")),
                ("GET /a2".to_owned(), Some("Bearer t2")),
            ]
        );
    });
}

/// `max_retries` failures in a row stop the client.
#[test]
fn max_retries_exhausted() {
    smol::block_on(async {
        let refused = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let events = EventSource::get(&url(refused, "/"))
            .unwrap()
            .with_config(Config {
                max_retries: Some(2),
                ..config()
            });
        assert_eq!(
            summary(&all(events).await),
            // The doubling starts from at least 100 ms (a `retry` of 20 ms would spin).
            ["retry 20 error", "retry 200 error", "closed exhausted 2"]
        );
    });
}

/// An event over the limits is skipped and reported; the stream goes on.
#[test]
fn oversized_event_is_dropped() {
    smol::block_on(async {
        let (addr, _) = scripted(vec![stream(&format!(
            "data: {}\n\ndata: ok\n\n",
            "x".repeat(200)
        ))])
        .await;
        let mut config = config();
        config.limits.max_event = 100;
        config.limits.max_line = 150;
        let events = EventSource::get(&url(addr, "/"))
            .unwrap()
            .with_config(config)
            .with_terminal(|e| e.data() == "ok");
        let items = summary(&all(events).await);
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(items[1].starts_with("dropped"), "{items:?}");
    });
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `close()` and dropping the stream end the connection at once: the server's producer sees
/// its client leave.
#[test]
fn close_and_drop_end_the_connection() {
    smol::block_on(async {
        for close in [true, false] {
            let gone = Arc::new(AtomicBool::new(false));
            let flag = gone.clone();
            let server = serve("127.0.0.1:0".parse().unwrap(), move |_| {
                let flag = flag.clone();
                async move {
                    Response::sse(move |send| async move {
                        // The server drops the producer when its client leaves.
                        let _gone = SetOnDrop(flag);
                        let mut n = 0u64;
                        while send.send(n.to_string()).await.is_ok() {
                            n += 1;
                            smol::Timer::after(ms(5)).await;
                        }
                        Ok::<(), std::convert::Infallible>(())
                    })
                }
            })
            .await
            .unwrap();
            let mut events = EventSource::get(&url(server.local_addr(), "/")).unwrap();
            assert!(
                matches!(next(&mut events).await, Some(ClientEvent::Open { status, .. }) if status == StatusCode::OK)
            );
            assert!(matches!(
                next(&mut events).await,
                Some(ClientEvent::Event(_))
            ));
            if close {
                events.close();
                assert_eq!(
                    summary(&[next(&mut events).await.unwrap()]),
                    ["closed closed"]
                );
                assert!(next(&mut events).await.is_none());
            } else {
                drop(events);
            }
            let start = Instant::now();
            while !gone.load(Ordering::SeqCst) {
                assert!(
                    start.elapsed() < Duration::from_secs(3),
                    "the server never saw the client leave"
                );
                smol::Timer::after(ms(10)).await;
            }
        }
    });
}

/// Bad URLs and headers are refused at construction; schemes other than `http` and `https`
/// too.
#[test]
fn construction_errors() {
    use ssewire_smol::client::Error;
    assert_eq!(
        EventSource::get("ftp://example.com/").unwrap_err(),
        Error::UnsupportedScheme
    );
    assert_eq!(
        EventSource::get("/relative").unwrap_err(),
        Error::InvalidUrl
    );
    let bad = EventSource::get("http://localhost/")
        .unwrap()
        .with_header("x", "a\r\nb");
    assert_eq!(bad.unwrap_err(), Error::InvalidHeader);
}
