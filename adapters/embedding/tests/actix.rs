//! An actix-web handler streams a `Hub` subscription through `SseBody` (its frames as the
//! response's byte stream, the SSE headers from `sse_headers`); a hyper client reads it with
//! `DecodeStream`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_lite::StreamExt;
use http_body_util::BodyDataStream;
use ssewire::Event;
use ssewire_embedding::get_events;
use ssewire_stream::{Hub, KeepAlive, SseBody, sse_headers};

/// The handler: replay after `Last-Event-ID`, then live events, with keep-alives on the
/// runtime's (tokio's) timer.
async fn events(request: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok());
    let subscription = hub.subscribe(last_event_id);
    let body = SseBody::new(KeepAlive::default().wrap(subscription, tokio::time::sleep));
    // actix-web has its own body trait and `http` 0.2 headers: the body's data frames as a
    // stream, the headers by name and value.
    let mut headers = http::HeaderMap::new();
    sse_headers(&mut headers);
    let mut response = HttpResponse::Ok();
    for (name, value) in &headers {
        response.insert_header((name.as_str(), value.as_bytes()));
    }
    response.streaming(BodyDataStream::new(body))
}

#[tokio::test]
async fn actix_handler_streams_a_hub_subscription() {
    let hub = Arc::new(Hub::default());
    for n in 1..=3 {
        hub.publish(&Event::new(format!("m{n}")));
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("an address");
    let data = web::Data::new(hub.clone());
    // actix-web runs on its own system (a single-threaded tokio runtime per worker).
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/events", web::get().to(events))
            })
            .workers(1)
            .listen(listener)
            .expect("listen")
            .run()
            .await
        })
    });

    let mut response = get_events(addr, "/events", Some("1")).await;
    assert_eq!(response.content_type, "text/event-stream");
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), response.events.next())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .expect("a valid event")
    };
    for want in ["m2", "m3"] {
        assert_eq!(next().await.data(), want);
    }
    hub.publish(&Event::new("m4"));
    let event = next().await;
    assert_eq!((event.data(), event.id()), ("m4", Some("4")));
}
