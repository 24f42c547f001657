//! The client on async-std (`ssewire_async_std::EventSource`): the same transport as on smol
//! (whose `tests/client.rs` covers every rule against a scripted server), here through
//! async-std's sockets and timer against our own server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_std::stream::StreamExt;
use ssewire_async_std::client::{Config, Ended, Jitter, Reason, StopReason};
use ssewire_async_std::{ClientEvent, Event, EventSource, Response, StatusCode, serve};

fn config() -> Config {
    Config {
        retry: Duration::from_millis(20),
        jitter: Jitter::None,
        ..Config::default()
    }
}

async fn all(mut events: EventSource) -> Vec<ClientEvent> {
    let mut out = Vec::new();
    loop {
        let item = async_std::future::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("a client event within 5 s");
        match item {
            Some(item) => out.push(item),
            None => return out,
        }
    }
}

#[test]
fn public_types_are_send_sync_unpin() {
    fn check<T: Send + Sync + Unpin>() {}
    check::<EventSource>();
    check::<ClientEvent>();
}

/// Events, a clean end, a reconnection with `Last-Event-ID`, then `204`.
#[test]
fn resumes_with_last_event_id_until_no_content() {
    async_std::task::block_on(async {
        let ids = Arc::new(Mutex::new(Vec::new()));
        let seen = ids.clone();
        let server = serve(
            "127.0.0.1:0".parse().unwrap(),
            move |request: ssewire_async_std::Request| {
                let last = request.last_event_id().map(str::to_owned);
                seen.lock().unwrap().push(last.clone());
                async move {
                    match last.as_deref() {
                        None => Response::sse(|send| async move {
                            send.send(Event::new("a").with_id("1")?).await?;
                            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                        }),
                        Some(_) => Response::status(StatusCode::NO_CONTENT),
                    }
                }
            },
        )
        .await
        .unwrap();
        let url = format!("http://{}/events", server.local_addr());
        let items = all(EventSource::get(&url).unwrap().with_config(config())).await;
        assert!(
            matches!(&items[..], [
            ClientEvent::Open { .. },
            ClientEvent::Event(a),
            ClientEvent::Retry(wait),
            ClientEvent::Closed(StopReason::NoContent),
        ] if a.data() == "a" && wait.reason == Reason::Ended(Ended::Clean)),
            "{items:?}"
        );
        assert_eq!(*ids.lock().unwrap(), [None, Some("1".to_owned())]);
    });
}

/// `close()` ends the stream at once.
#[test]
fn close_ends_the_stream() {
    async_std::task::block_on(async {
        let server = serve("127.0.0.1:0".parse().unwrap(), |_| async {
            Response::sse(|send| async move {
                while send.send("tick").await.is_ok() {
                    async_std::task::sleep(Duration::from_millis(5)).await;
                }
                Ok::<(), std::convert::Infallible>(())
            })
        })
        .await
        .unwrap();
        let mut events = EventSource::get(&format!("http://{}/", server.local_addr())).unwrap();
        assert!(matches!(
            events.next().await,
            Some(ClientEvent::Open { .. })
        ));
        assert!(matches!(events.next().await, Some(ClientEvent::Event(_))));
        events.close();
        assert!(matches!(
            events.next().await,
            Some(ClientEvent::Closed(StopReason::Closed))
        ));
        assert!(events.next().await.is_none());
    });
}
