//! An axum handler streams a `Hub` subscription through `SseBody`; a hyper client reads it with
//! `DecodeStream`, resuming after `Last-Event-ID`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use futures_lite::StreamExt;
use ssewire::Event;
use ssewire_embedding::get_events;
use ssewire_stream::{Hub, KeepAlive, SseBody};

/// The handler: replay after `Last-Event-ID`, then live events, with keep-alives on tokio's
/// timer.
async fn events(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> axum::response::Response {
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let subscription = hub.subscribe(last_event_id);
    SseBody::new(KeepAlive::default().wrap(subscription, tokio::time::sleep))
        .into_response()
        .map(axum::body::Body::new)
}

#[tokio::test]
async fn axum_handler_streams_a_hub_subscription() {
    let hub = Arc::new(Hub::default());
    for n in 1..=3 {
        hub.publish(&Event::new(format!("m{n}")));
    }
    let app = axum::Router::new()
        .route("/events", axum::routing::get(events))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut response = get_events(addr, "/events", Some("1")).await;
    assert_eq!(response.content_type, "text/event-stream");
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), response.events.next())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .expect("a valid event")
    };
    // Replayed after id 1, then live.
    for want in ["m2", "m3"] {
        let event = next().await;
        assert_eq!(event.data(), want);
    }
    hub.publish(&Event::new("m4"));
    let event = next().await;
    assert_eq!((event.data(), event.id()), ("m4", Some("4")));
}
