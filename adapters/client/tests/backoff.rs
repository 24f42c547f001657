//! The reconnection time, the exponential backoff with jitter, healthy connections and the
//! bound on attempts.

mod common;

use std::io::ErrorKind;

use common::*;
use ssewire_client::{Config, Controller, Ended, Input, Jitter, Reason, StopReason};

/// Fails the pending connection attempt with a connect error at `now`; returns the wait.
fn refuse(sse: &mut Controller) -> std::time::Duration {
    connect(sse);
    sse.handle(ms(0), 0, Input::Error(ErrorKind::ConnectionRefused));
    let wait = wait(sse);
    // Keep time moving: the next attempt starts at the deadline.
    let deadline = sse.next_deadline().unwrap();
    sse.handle(deadline, 0, Input::TimerFired);
    wait.delay
}

#[test]
fn the_default_reconnection_time_is_3_seconds() {
    assert_eq!(Config::default().retry, ms(3000));
    let mut sse = Controller::new(Config {
        jitter: Jitter::None,
        ..Config::default()
    });
    assert_eq!(sse.reconnection_time(), ms(3000));
    connect(&mut sse);
    sse.handle(ms(0), 0, Input::Error(ErrorKind::ConnectionRefused));
    assert_eq!(wait(&mut sse).delay, ms(3000));
}

#[test]
fn a_retry_field_sets_the_base_delay() {
    let mut sse = Controller::new(config());
    open(&mut sse, ms(0));
    // Digits only: the others are ignored; the last valid one counts, at once.
    sse.handle(
        ms(1),
        0,
        Input::Body(b"retry: 1500\nretry: 1.5\nretry: -2\nretry:x\n"),
    );
    assert_eq!(sse.reconnection_time(), ms(1500));
    sse.handle(ms(2), 0, Input::Body(b"data: a\n\n"));
    delivered(&mut sse);
    sse.handle(ms(3), 0, Input::End);
    assert_eq!(wait(&mut sse).delay, ms(1500));
    // It persists across connections.
    reconnect(&mut sse);
    sse.handle(ms(1503), 0, Input::Error(ErrorKind::ConnectionReset));
    assert_eq!(
        wait(&mut sse).delay,
        ms(3000),
        "one failure in a row: doubled"
    );
}

#[test]
fn consecutive_failures_double_up_to_the_cap() {
    let mut sse = Controller::new(config());
    let waits: Vec<_> = (0..7).map(|_| refuse(&mut sse)).collect();
    assert_eq!(
        waits,
        [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000].map(ms)
    );
}

#[test]
fn a_server_retry_above_the_cap_is_capped() {
    let mut sse = Controller::new(config());
    open(&mut sse, ms(0));
    sse.handle(ms(1), 0, Input::Body(b"retry: 86400000\ndata: x\n\n"));
    delivered(&mut sse);
    sse.handle(ms(2), 0, Input::End);
    assert_eq!(wait(&mut sse).delay, ms(10_000));
}

#[test]
fn jitter_spreads_the_wait_with_the_callers_random_number() {
    let wait_with = |jitter, random| {
        let mut sse = Controller::new(Config { jitter, ..config() });
        connect(&mut sse);
        sse.handle(ms(0), random, Input::Error(ErrorKind::TimedOut));
        wait(&mut sse).delay
    };
    assert_eq!(wait_with(Jitter::None, 0), ms(1000));
    assert_eq!(wait_with(Jitter::None, u64::MAX), ms(1000));
    assert_eq!(wait_with(Jitter::Full, 0), ms(0));
    assert_eq!(wait_with(Jitter::Full, 1 << 63), ms(500));
    assert!(wait_with(Jitter::Full, u64::MAX) <= ms(1000));
    assert_eq!(wait_with(Jitter::Equal, 0), ms(500));
    assert_eq!(wait_with(Jitter::Equal, 1 << 63), ms(750));
    assert!(wait_with(Jitter::Equal, u64::MAX) <= ms(1000));
    assert_eq!(Config::default().jitter, Jitter::Equal);
}

#[test]
fn a_connection_that_delivered_an_event_is_healthy_and_resets_the_backoff() {
    let mut sse = Controller::new(config());
    assert_eq!(refuse(&mut sse), ms(1000));
    assert_eq!(refuse(&mut sse), ms(2000));
    // This attempt opens and delivers one event, then drops after 10 ms.
    let now = sse.next_deadline().unwrap_or(ms(0));
    open(&mut sse, now);
    sse.handle(now + ms(5), 0, Input::Body(b"data: x\n\n"));
    delivered(&mut sse);
    sse.handle(now + ms(10), 0, Input::Error(ErrorKind::ConnectionReset));
    let wait = wait(&mut sse);
    assert_eq!((wait.delay, wait.attempt), (ms(1000), 1));
}

#[test]
fn a_connection_open_long_enough_is_healthy_without_events() {
    let mut sse = Controller::new(config());
    refuse(&mut sse);
    refuse(&mut sse);
    open(&mut sse, ms(0));
    sse.handle(ms(100), 0, Input::Body(b": keep-alive\n\n"));
    sse.handle(ms(5000), 0, Input::End);
    assert_eq!(wait(&mut sse).delay, ms(1000));
}

#[test]
fn a_connection_that_opens_and_drops_at_once_is_not_healthy() {
    let mut sse = Controller::new(config());
    refuse(&mut sse);
    open(&mut sse, ms(0));
    sse.handle(ms(100), 0, Input::Body(b": keep-alive\n\n"));
    sse.handle(ms(4999), 0, Input::End);
    let wait = wait(&mut sse);
    assert_eq!((wait.delay, wait.attempt), (ms(2000), 2));
}

#[test]
fn max_retries_stops_with_exhausted() {
    let mut sse = Controller::new(Config {
        max_retries: Some(2),
        ..config()
    });
    refuse(&mut sse);
    refuse(&mut sse);
    connect(&mut sse);
    sse.handle(ms(0), 0, Input::Error(ErrorKind::ConnectionRefused));
    match stop(&mut sse) {
        StopReason::Exhausted { attempts, last } => {
            assert_eq!(attempts, 2);
            assert_eq!(
                last,
                Reason::Ended(Ended::Error(ErrorKind::ConnectionRefused))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(sse.is_stopped());
    assert_eq!(sse.next_deadline(), None);
}

#[test]
fn max_retries_counts_only_failures_in_a_row() {
    let mut sse = Controller::new(Config {
        max_retries: Some(1),
        ..config()
    });
    refuse(&mut sse);
    // A healthy connection starts the count over.
    open(&mut sse, ms(0));
    sse.handle(ms(1), 0, Input::Body(b"data: x\n\n"));
    delivered(&mut sse);
    sse.handle(ms(2), 0, Input::End);
    assert_eq!(wait(&mut sse).attempt, 1);
    reconnect(&mut sse);
    sse.handle(ms(9999), 0, Input::Error(ErrorKind::ConnectionRefused));
    assert!(matches!(
        stop(&mut sse),
        StopReason::Exhausted { attempts: 1, .. }
    ));
}

#[test]
fn retry_zero_reconnects_at_once_then_backs_off() {
    let mut sse = Controller::new(config());
    open(&mut sse, ms(0));
    sse.handle(ms(0), 0, Input::Body(b"retry: 0\n\n"));
    sse.handle(ms(0), 0, Input::End);
    assert_eq!(wait(&mut sse).delay, ms(0));
    sse.handle(ms(0), 0, Input::TimerFired);
    let waits: Vec<_> = (0..3).map(|_| refuse(&mut sse)).collect();
    assert_eq!(waits, [200, 400, 800].map(ms));
}
