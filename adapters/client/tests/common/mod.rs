//! Helpers shared by the test files: a transport driven by hand.
#![allow(dead_code)] // Each test file uses its own part.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use ssewire_client::{Action, Config, Connect, Controller, Input, Jitter, StopReason, Wait};

/// Milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Short, exact times (no jitter) for tests.
pub(crate) fn config() -> Config {
    Config {
        retry: ms(1000),
        max_backoff: ms(10_000),
        jitter: Jitter::None,
        healthy_after: ms(5000),
        ..Config::default()
    }
}

/// Response headers with this `Content-Type`.
pub(crate) fn content_type(value: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
    headers
}

/// Every queued action.
pub(crate) fn drain(sse: &mut Controller) -> Vec<Action> {
    std::iter::from_fn(|| sse.poll_action()).collect()
}

/// The one queued action, which must be a `Connect`.
pub(crate) fn connect(sse: &mut Controller) -> Connect {
    match &mut drain(sse)[..] {
        [Action::Connect(connect)] => connect.clone(),
        other => panic!("expected one Connect, got {other:?}"),
    }
}

/// The one queued action, which must be a `Wait`.
pub(crate) fn wait(sse: &mut Controller) -> Wait {
    match drain(sse)[..] {
        [Action::Wait(wait)] => wait,
        ref other => panic!("expected one Wait, got {other:?}"),
    }
}

/// The last queued action, which must be a `Stop`; the ones before it are dropped.
pub(crate) fn stop(sse: &mut Controller) -> StopReason {
    match drain(sse).pop() {
        Some(Action::Stop(reason)) => reason,
        other => panic!("expected a Stop, got {other:?}"),
    }
}

/// Delivered event data, in order; panics on anything else but `Open`.
pub(crate) fn delivered(sse: &mut Controller) -> Vec<String> {
    drain(sse)
        .into_iter()
        .filter_map(|action| match action {
            Action::Deliver(event) => Some(event.data().to_owned()),
            Action::Open => None,
            other => panic!("expected events, got {other:?}"),
        })
        .collect()
}

/// Answers the pending `Connect` with an open stream at `now`.
pub(crate) fn open(sse: &mut Controller, now: Duration) -> Connect {
    let connect = connect(sse);
    sse.handle(
        now,
        0,
        Input::Response {
            status: StatusCode::OK,
            headers: &content_type("text/event-stream"),
        },
    );
    assert!(matches!(drain(sse)[..], [Action::Open]));
    connect
}

/// Waits out the pending `Wait` (fires the timer at its deadline) and returns the `Connect`.
pub(crate) fn reconnect(sse: &mut Controller) -> Connect {
    let deadline = sse.next_deadline().expect("a deadline");
    sse.handle(deadline, 0, Input::TimerFired);
    connect(sse)
}

/// The `Last-Event-ID` a `Connect` sends.
pub(crate) fn last_event_id(connect: &Connect) -> Option<&str> {
    connect
        .headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap())
}
