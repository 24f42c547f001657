//! The lean HTTP/1.1 path against hyper: each request head of a table, request-smuggling
//! classics included, is sent over real TCP to our server and to a plain hyper 1 server, with a
//! plain `GET` after it on the same connection. The status codes answered, in order, and whether
//! the connection was still usable (the `GET` answered) must be the same, or the case is listed
//! in `DIFFERENT` with the reason the difference is safe.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use http_body_util::Full;
use ssewire_smol::{Config, Request, Response};

/// The follow-up request; its path is in its answer's body.
const FOLLOW_UP: &[u8] = b"GET /follow-up HTTP/1.1\r\nHost: t\r\n\r\n";

/// Cases answered differently on purpose, with why that is safe.
const DIFFERENT: &[(&str, &str)] = &[(
    "bad chunk size",
    "not the lean path: a body hyper fails to decode is answered 413 by our service (a body \
     that cannot be read whole is refused like an oversized one) where the plain server ignores \
     the error and answers 200; both then close the connection, so nothing after it is read",
)];

fn case(name: &'static str, bytes: &[u8]) -> (&'static str, Vec<u8>) {
    (name, bytes.to_vec())
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let long = "v".repeat(20 * 1024);
    let fields = |n: usize| (0..n).map(|i| format!("X-{i}: x\r\n")).collect::<String>();
    let mut cases = vec![
        case("plain GET", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("GET with query", b"GET /?a=1&b=%20 HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("GET no Host", b"GET / HTTP/1.1\r\n\r\n"),
        case("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        case("GET Connection: close", b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        case("GET Connection: keep-alive", b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n"),
        case("HEAD", b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("DELETE", b"DELETE /x HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("custom method", b"PURGE /x HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("lower-case method", b"get / HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("CONNECT", b"CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n"),
        case("HTTP/1.0", b"GET / HTTP/1.0\r\n\r\n"),
        case("HTTP/1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        case("HTTP/0.9", b"GET /\r\n\r\n"),
        case("HTTP/2.0 in HTTP/1 form", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n"),
        case("HTTP/1.2", b"GET / HTTP/1.2\r\nHost: t\r\n\r\n"),
        case("absolute-form", b"GET http://t/a HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("absolute-form other host", b"GET http://other/a HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("authority-form GET", b"GET t:80 HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("space in target", b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("two spaces after method", b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("tab after method", b"GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("leading CRLF", b"\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("bare LF line ends", b"GET / HTTP/1.1\nHost: t\n\n"),
        case("bare LF in a field", b"GET / HTTP/1.1\r\nHost: t\nX: y\r\n\r\n"),
        case("bare CR in a field", b"GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n"),
        case("bare CR line end", b"GET / HTTP/1.1\rHost: t\r\n\r\n"),
        case("obs-fold", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n"),
        case("obs-fold with tab", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n\tb\r\n\r\n"),
        case("space before colon", b"GET / HTTP/1.1\r\nHost: t\r\nX : y\r\n\r\n"),
        case("space before first field", b"GET / HTTP/1.1\r\n Host: t\r\n\r\n"),
        case("empty field name", b"GET / HTTP/1.1\r\nHost: t\r\n: y\r\n\r\n"),
        case("no colon", b"GET / HTTP/1.1\r\nHost: t\r\nXy\r\n\r\n"),
        case("NUL in a name", b"GET / HTTP/1.1\r\nHost: t\r\nX\0: y\r\n\r\n"),
        case("NUL in a value", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n"),
        case("control byte in a value", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x01b\r\n\r\n"),
        case("DEL in a value", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x7fb\r\n\r\n"),
        case("control byte in a name", b"GET / HTTP/1.1\r\nHost: t\r\nX\x01: y\r\n\r\n"),
        case("obs-text in a value", b"GET / HTTP/1.1\r\nHost: t\r\nX: caf\xc3\xa9\r\n\r\n"),
        case("NUL in the target", b"GET /a\0b HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("Content-Length: 0", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"),
        case("GET with a body", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab"),
        case("POST with a body", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab"),
        case("POST chunked", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
        case("TE + CL", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
        case("CL + TE", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
        case("duplicate CL equal", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"),
        case("duplicate CL differing", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
        case("comma-joined CL equal", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2, 2\r\n\r\nab"),
        case("comma-joined CL differing", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2, 3\r\n\r\nabc"),
        case("negative CL", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n"),
        case("plus-signed CL", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +2\r\n\r\nab"),
        case("huge CL", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        case("GET CL 0 twice", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"),
        case("GET CL 00", b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 00\r\n\r\n"),
        case("TE chunked, identity", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
        case("TE identity", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n"),
        case("TE gzip, chunked", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        case("TE CHUNKED upper", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n"),
        case("TE twice", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        case("TE on HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        case("GET chunked empty", b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        case("bad chunk size", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
        case("Expect 100-continue", b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab"),
        case("Expect on GET", b"GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n"),
        case("Expect unknown", b"GET / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n"),
        case("Upgrade h2c", b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
        case("Upgrade websocket", b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        case("Upgrade without Connection", b"GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\r\n"),
        case("Connection upgrade without Upgrade", b"GET / HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\n\r\n"),
        case("pipelined GETs", b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("pipelined GET then POST", b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx"),
        case("pipelined POST then GET", b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nxGET /b HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("pipelined GET close then GET", b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("pipelined GET then garbage", b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n\x01\x02garbage\r\n\r\n"),
        case("smuggled GET in a CL body", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 37\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"),
        case("TLS hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
        case("only CRLFs", b"\r\n\r\n\r\n\r\n"),
    ];
    cases.push((
        "very long value (20 KiB)",
        format!("GET / HTTP/1.1\r\nHost: t\r\nX: {long}\r\n\r\n").into_bytes(),
    ));
    cases.push((
        "very long target (20 KiB)",
        format!("GET /{long} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes(),
    ));
    cases.push((
        "120 fields",
        format!("GET / HTTP/1.1\r\nHost: t\r\n{}\r\n", fields(119)).into_bytes(),
    ));
    cases.push((
        "100 fields",
        format!("GET / HTTP/1.1\r\nHost: t\r\n{}\r\n", fields(99)).into_bytes(),
    ));
    cases
}

/// The status codes of every response the server sent, in order, and whether the follow-up
/// `GET` was answered.
fn run(addr: SocketAddr, request: &[u8]) -> (Vec<u16>, bool) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let _ = conn.write_all(request);
    std::thread::sleep(Duration::from_millis(20));
    let _ = conn.write_all(FOLLOW_UP);
    let mut all = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n @ 1..) = conn.read(&mut buf) {
        all.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&all);
    let statuses = text
        .match_indices("HTTP/1.")
        .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
        .collect();
    (statuses, text.contains("/follow-up"))
}

/// A plain hyper 1 server: every request's body read whole, answered `200` with its path.
fn hyper_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let listener = smol::net::TcpListener::try_from(listener).expect("async listener");
        smol::block_on(async move {
            while let Ok((conn, _)) = listener.accept().await {
                smol::spawn(async move {
                    let service = hyper::service::service_fn(
                        |request: http::Request<hyper::body::Incoming>| async move {
                            use http_body_util::BodyExt as _;
                            let path = request.uri().path().to_owned();
                            let _ = request.into_body().collect().await;
                            let body = Full::new(bytes::Bytes::from(path));
                            Ok::<_, std::convert::Infallible>(http::Response::new(body))
                        },
                    );
                    let io = smol_hyper::rt::FuturesIo::new(conn);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                })
                .detach();
            }
        });
    });
    addr
}

#[test]
fn lean_path_agrees_with_hyper() {
    let ours = smol::block_on(ssewire_smol::serve_with(
        "127.0.0.1:0".parse().expect("addr"),
        Config {
            // hyper's own head limit, so that only the paths differ.
            max_head_size: 400 * 1024,
            ..Config::default()
        },
        |request: Request| async move { Response::text(request.path().to_owned()) },
    ))
    .expect("our server");
    let theirs = hyper_server();
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    // Every case at once: a connection kept open is seen only when the read times out.
    let answers: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = cases
            .iter()
            .map(|(_, request)| {
                let ours = scope.spawn(|| run(ours.local_addr(), request));
                let hyper = scope.spawn(|| run(theirs, request));
                (ours, hyper)
            })
            .collect();
        runs.into_iter()
            .map(|(a, b)| (a.join().expect("ours"), b.join().expect("hyper")))
            .collect()
    });
    let (mut equal, mut listed, mut differences) = (0, 0, Vec::new());
    for ((name, _), (a, b)) in cases.iter().zip(answers) {
        eprintln!("{name:36} ours {a:?} hyper {b:?}");
        if a == b {
            equal += 1;
        } else if DIFFERENT.iter().any(|(n, _)| n == name) {
            listed += 1;
        } else {
            differences.push(format!("{name}: ours {a:?}, hyper {b:?}"));
        }
    }
    eprintln!(
        "{} cases: {equal} equal, {listed} different as listed",
        cases.len()
    );
    assert!(
        differences.is_empty(),
        "differ from hyper:\n{}",
        differences.join("\n")
    );
}
