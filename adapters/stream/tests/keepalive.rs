//! Keep-alive around an event stream, with a timer the test controls.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use ssewire_stream::{KEEP_ALIVE_FRAME, KeepAlive};

fn poll_next<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
}

/// A timer whose sleeps complete when the test fires them; it records every requested duration.
#[derive(Clone, Default)]
struct ManualTimer {
    fired: Arc<AtomicBool>,
    requested: Arc<Mutex<Vec<Duration>>>,
}

impl ManualTimer {
    fn timer(&self) -> impl FnMut(Duration) -> ManualSleep {
        let this = self.clone();
        move |d| {
            this.requested.lock().unwrap().push(d);
            this.fired.store(false, Ordering::SeqCst);
            ManualSleep(this.fired.clone())
        }
    }
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
    }
    fn armed(&self) -> usize {
        self.requested.lock().unwrap().len()
    }
}

struct ManualSleep(Arc<AtomicBool>);
impl std::future::Future for ManualSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A producer that sends one event each time the test raises `go`.
fn gated_stream(go: Arc<AtomicUsize>, total: usize) -> impl Stream<Item = Bytes> + Unpin {
    Box::pin(ssewire_stream::stream(move |send| async move {
        for i in 0..total {
            std::future::poll_fn(|_| {
                if go.load(Ordering::SeqCst) > i {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            send.send(format!("e{i}")).await.ok();
        }
    }))
}

#[test]
fn opening_frame_then_keep_alives_only_while_idle() {
    let timer = ManualTimer::default();
    let go = Arc::new(AtomicUsize::new(0));
    let settings = KeepAlive {
        interval: Some(Duration::from_secs(15)),
        retry: Some(Duration::from_millis(1500)),
    };
    let mut stream = Box::pin(settings.wrap(gated_stream(go.clone(), 2), timer.timer()));

    // The opening frame goes out at once: a comment and the retry.
    assert_eq!(
        poll_next(&mut stream),
        Poll::Ready(Some(Bytes::from_static(b":\nretry: 1500\n\n")))
    );
    // Idle: a timer of the configured interval is armed, nothing is sent until it fires.
    assert!(poll_next(&mut stream).is_pending());
    assert_eq!(timer.armed(), 1);
    assert_eq!(timer.requested.lock().unwrap()[0], Duration::from_secs(15));
    assert!(poll_next(&mut stream).is_pending());
    assert_eq!(timer.armed(), 1, "polling again must not re-arm the timer");
    timer.fire();
    assert_eq!(
        poll_next(&mut stream),
        Poll::Ready(Some(Bytes::from_static(KEEP_ALIVE_FRAME)))
    );
    // An event resets the timer: the next idle period arms a fresh one.
    go.store(1, Ordering::SeqCst);
    assert_eq!(
        poll_next(&mut stream),
        Poll::Ready(Some(Bytes::from_static(b"data: e0\n\n")))
    );
    assert!(poll_next(&mut stream).is_pending());
    assert_eq!(timer.armed(), 2);
    // The wrapped stream ends when the events end: no keep-alive after the end.
    go.store(2, Ordering::SeqCst);
    assert_eq!(
        poll_next(&mut stream),
        Poll::Ready(Some(Bytes::from_static(b"data: e1\n\n")))
    );
    timer.fire();
    assert_eq!(poll_next(&mut stream), Poll::Ready(None));
    assert_eq!(poll_next(&mut stream), Poll::Ready(None));
}

#[test]
fn keep_alive_off_and_default_opening() {
    let timer = ManualTimer::default();
    let go = Arc::new(AtomicUsize::new(0));
    let settings = KeepAlive {
        interval: None,
        retry: None,
    };
    let mut stream = Box::pin(settings.wrap(gated_stream(go, 1), timer.timer()));
    assert_eq!(
        poll_next(&mut stream),
        Poll::Ready(Some(Bytes::from_static(b":\n\n")))
    );
    assert!(poll_next(&mut stream).is_pending());
    assert_eq!(timer.armed(), 0);
}

#[test]
fn keep_alive_frames_are_comments_no_client_dispatches() {
    let mut decoder = ssewire::Decoder::new();
    let mut buf = bytes::BytesMut::from(&b":\nretry: 1500\n\n:\n\n:\n\ndata: real\n\n"[..]);
    let event = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(event.data(), "real");
    assert!(decoder.decode(&mut buf).unwrap().is_none());
}

/// [`ManualTimer`] with a clock the test moves: `Timer::now` makes events leave the armed
/// sleep alone.
struct ClockTimer {
    manual: ManualTimer,
    now: Arc<Mutex<Duration>>,
}

impl ssewire_stream::Timer for ClockTimer {
    type Sleep = ManualSleep;
    fn sleep(&mut self, duration: Duration) -> ManualSleep {
        self.manual.requested.lock().unwrap().push(duration);
        self.manual.fired.store(false, Ordering::SeqCst);
        ManualSleep(self.manual.fired.clone())
    }
    fn now(&mut self) -> Option<Duration> {
        Some(*self.now.lock().unwrap())
    }
}

#[test]
fn with_a_clock_events_do_not_rearm_and_idle_time_is_exact() {
    let manual = ManualTimer::default();
    let now = Arc::new(Mutex::new(Duration::from_secs(100)));
    let timer = ClockTimer {
        manual: manual.clone(),
        now: now.clone(),
    };
    let advance = |secs| *now.lock().unwrap() += Duration::from_secs(secs);
    let go = Arc::new(AtomicUsize::new(0));
    let settings = KeepAlive {
        interval: Some(Duration::from_secs(15)),
        retry: None,
    };
    let mut stream = Box::pin(settings.wrap(gated_stream(go.clone(), 3), timer));
    assert!(poll_next(&mut stream).is_ready(), "opening frame");
    assert!(poll_next(&mut stream).is_pending());
    assert_eq!(manual.armed(), 1);
    // Two events 4 s and 10 s into the interval: the armed sleep stays as it is.
    for (i, at) in [(1, 4), (2, 6)] {
        advance(at);
        go.store(i, Ordering::SeqCst);
        assert!(matches!(poll_next(&mut stream), Poll::Ready(Some(_))));
        assert!(poll_next(&mut stream).is_pending());
        assert_eq!(manual.armed(), 1, "an event must not re-arm the timer");
    }
    // The sleep fires 15 s after it was armed, 5 s after the last event: no keep-alive, but a
    // sleep for the 10 s left of the idle interval.
    advance(5);
    manual.fire();
    assert!(poll_next(&mut stream).is_pending());
    assert_eq!(
        *manual.requested.lock().unwrap(),
        [Duration::from_secs(15), Duration::from_secs(10)]
    );
    // 15 s idle: the keep-alive goes out, and the next idle interval is a whole one.
    advance(10);
    manual.fire();
    assert_eq!(
        poll_next(&mut stream),
        Poll::Ready(Some(Bytes::from_static(KEEP_ALIVE_FRAME)))
    );
    assert!(poll_next(&mut stream).is_pending());
    assert_eq!(
        manual.requested.lock().unwrap().last(),
        Some(&Duration::from_secs(15))
    );
}
