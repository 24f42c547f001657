//! The producer bridge with no runtime at all: polled by hand or by `futures_lite`'s `block_on`.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use futures_lite::StreamExt;
use futures_lite::future::block_on;
use ssewire::Event;
use ssewire_stream::SendError;

fn poll_next<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn producer_is_never_more_than_one_event_ahead() {
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let mut events = Box::pin(ssewire_stream::stream(move |send| async move {
        for i in 0..100 {
            send.send(format!("event {i}")).await?;
            counter.fetch_add(1, Ordering::SeqCst);
        }
        Ok::<(), SendError>(())
    }));
    let mut received = 0;
    while let Some(frame) = block_on(events.next()) {
        assert_eq!(frame, format!("data: event {received}\n\n"));
        received += 1;
        let ahead = produced.load(Ordering::SeqCst);
        assert!(
            ahead <= received + 1,
            "producer {ahead} events in, consumer {received}"
        );
    }
    assert_eq!(received, 100);
}

#[test]
fn nothing_is_produced_until_polled() {
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let mut events = Box::pin(ssewire_stream::stream(move |send| async move {
        loop {
            if send.send("x").await.is_err() {
                return;
            }
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }));
    assert_eq!(produced.load(Ordering::SeqCst), 0);
    assert!(matches!(poll_next(&mut events), Poll::Ready(Some(_))));
    // One event handed over; the producer holds the next one in a pending `send`.
    assert_eq!(produced.load(Ordering::SeqCst), 1);
    assert!(matches!(poll_next(&mut events), Poll::Ready(Some(_))));
    assert_eq!(produced.load(Ordering::SeqCst), 2);
}

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_stream_drops_the_producer_at_its_await() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let mut events = Box::pin(ssewire_stream::stream(move |send| async move {
        let _flag = flag;
        send.send("first").await.ok();
        std::future::pending::<()>().await;
    }));
    assert!(matches!(poll_next(&mut events), Poll::Ready(Some(_))));
    assert!(poll_next(&mut events).is_pending());
    assert!(!dropped.load(Ordering::SeqCst));
    drop(events);
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn closed_resolves_for_an_idle_sender_moved_to_another_thread() {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut events = Box::pin(ssewire_stream::stream(move |send| async move {
        std::thread::spawn(move || {
            block_on(send.closed());
            // After close, sending fails instead of waiting.
            let result = block_on(send.send("late"));
            tx.send(matches!(result, Err(SendError::Closed))).unwrap();
        });
    }));
    assert!(poll_next(&mut events).is_pending());
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        rx.try_recv().is_err(),
        "closed() resolved while the stream was alive"
    );
    drop(events);
    let closed_then_refused = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("closed() never resolved");
    assert!(closed_then_refused);
}

#[test]
fn stream_waits_for_senders_moved_elsewhere_then_ends() {
    let events = ssewire_stream::stream(|send| async move {
        let clone = send.clone();
        std::thread::spawn(move || {
            for i in 0..3 {
                block_on(clone.send(format!("from thread {i}"))).unwrap();
            }
        });
        // The producer returns at once; the stream lives on while the clone sends.
    });
    let frames: Vec<_> = block_on(events.collect());
    assert_eq!(
        frames,
        [
            "data: from thread 0\n\n",
            "data: from thread 1\n\n",
            "data: from thread 2\n\n"
        ]
    );
}

#[test]
fn a_producer_error_ends_the_stream() {
    let events = ssewire_stream::stream(|send| async move {
        send.send("one").await.map_err(|e| e.to_string())?;
        Err::<(), _>("boom".to_string())?;
        send.send("never").await.map_err(|e| e.to_string())
    });
    let frames: Vec<_> = block_on(events.collect());
    assert_eq!(frames, ["data: one\n\n"]);
}

#[test]
fn send_takes_every_kind_of_value() {
    let events = ssewire_stream::stream(|send| async move {
        send.send("text").await?;
        send.send(String::from("two\nlines")).await?;
        send.send(Event::new("x").with_event("custom")?.with_id("9")?)
            .await?;
        send.send_bytes(bytes::Bytes::from_static(b": raw\n\n"))
            .await?;
        #[cfg(feature = "json")]
        {
            send.send(ssewire::Json(serde_json::json!({"id": 1, "status": "ok"})))
                .await?;
            send.send(serde_json::json!({"event": "my_event", "data": "payload"}))
                .await?;
            let invalid = send.send(serde_json::json!({"event": 7})).await;
            assert!(matches!(invalid, Err(SendError::Invalid(_))));
        }
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    });
    let frames: Vec<_> = block_on(events.collect());
    let mut expected = vec![
        "data: text\n\n",
        "data: two\ndata: lines\n\n",
        "event: custom\nid: 9\ndata: x\n\n",
        ": raw\n\n",
    ];
    if cfg!(feature = "json") {
        expected.push("data: {\"id\":1,\"status\":\"ok\"}\n\n");
        expected.push("event: my_event\ndata: payload\n\n");
    }
    assert_eq!(frames, expected);
}

#[test]
fn the_stream_is_send_and_sync_when_the_producer_is_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let events = ssewire_stream::stream(|send| async move {
        send.send("x").await.ok();
    });
    assert_send_sync(&events);
    fn assert_sender<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_sender::<ssewire_stream::Sender>();
}
