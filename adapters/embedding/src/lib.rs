//! ssewire inside other frameworks, shown by tests (`tests/`), each with a real server on
//! 127.0.0.1 and a real client:
//!
//! - `axum.rs`: an axum handler streams a `Hub` subscription through `ssewire_stream::SseBody`;
//! - `actix.rs`: an actix-web handler does the same;
//! - both read the stream with a hyper client whose response body goes through
//!   `ssewire_stream::DecodeStream`, and `framed.rs` reads one with tokio-util's `FramedRead`
//!   and the codec's `Decoder`.
//!
//! This crate is not published: it is where tokio, axum, actix-web and hyper's client are
//! allowed, so that the library crates pull in none of them. The shared client lives here.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyStream, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ssewire_stream::DecodeStream;

/// An SSE response being read: its events through [`DecodeStream`], and the connection's sender
/// (kept so that the connection stays open).
#[derive(Debug)]
pub struct Events {
    /// The events of the response body.
    pub events: DecodeStream<BodyStream<Incoming>>,
    /// The response's `Content-Type`.
    pub content_type: String,
    _sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

/// `GET path` on `addr` over HTTP/1.1 with hyper's client, sending `Last-Event-ID` if given;
/// the response body decoded by [`DecodeStream`].
///
/// # Panics
///
/// If the connection or the request fails, or the status is not `200 OK`.
pub async fn get_events(addr: SocketAddr, path: &str, last_event_id: Option<&str>) -> Events {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = http::Request::get(path).header(http::header::HOST, addr.to_string());
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = sender
        .send_request(request.body(Empty::new()).expect("a valid request"))
        .await
        .expect("a response");
    assert_eq!(response.status(), http::StatusCode::OK);
    let content_type = response.headers()[http::header::CONTENT_TYPE]
        .to_str()
        .expect("ASCII")
        .to_owned();
    Events {
        events: DecodeStream::new(BodyStream::new(response.into_body())),
        content_type,
        _sender: sender,
    }
}
