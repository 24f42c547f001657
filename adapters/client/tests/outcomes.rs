//! How a connection ends (clean, truncated, error), the terminal predicate, "never
//! reconnect", what `Connect` carries, limits, and the finality of `Stop`.

mod common;

use std::io::ErrorKind;

use common::*;
use ssewire::{Limits, Overflow};
use ssewire_client::{Action, Config, Controller, Ended, Input, Reason, StopReason};

fn ended_after(body: &[u8], end: Input<'_>) -> Reason {
    let mut sse = Controller::new(config());
    open(&mut sse, ms(0));
    sse.handle(ms(1), 0, Input::Body(body));
    drain(&mut sse);
    sse.handle(ms(2), 0, end);
    wait(&mut sse).reason
}

#[test]
fn clean_truncated_and_error_ends_are_told_apart() {
    let clean = Reason::Ended(Ended::Clean);
    let truncated = Reason::Ended(Ended::Truncated);
    assert_eq!(ended_after(b"data: a\n\n", Input::End), clean);
    assert_eq!(ended_after(b"", Input::End), clean);
    assert_eq!(ended_after(b"data: a\n\n: keep-alive\n", Input::End), clean);
    assert_eq!(ended_after(b"data: a\n\r", Input::End), clean);
    assert_eq!(ended_after(b"data: a\n\ndata: b\n", Input::End), truncated);
    assert_eq!(ended_after(b"data: a\n\ndata: b", Input::End), truncated);
    assert_eq!(ended_after(b"data: a\n\n: keep-al", Input::End), truncated);
    assert_eq!(
        ended_after(b"data: a\n\n", Input::Error(ErrorKind::ConnectionReset)),
        Reason::Ended(Ended::Error(ErrorKind::ConnectionReset))
    );
}

#[test]
fn a_truncated_event_is_not_delivered_on_the_next_connection() {
    let mut sse = Controller::new(config());
    open(&mut sse, ms(0));
    sse.handle(ms(1), 0, Input::Body(b"data: cut"));
    sse.handle(ms(2), 0, Input::End);
    wait(&mut sse);
    reconnect(&mut sse);
    sse.handle(
        ms(1002),
        0,
        Input::Response {
            status: http::StatusCode::OK,
            headers: &content_type("text/event-stream"),
        },
    );
    sse.handle(ms(1003), 0, Input::Body(b" off\n\ndata: next\n\n"));
    // " off" is a line of its own now: a field named " off", ignored.
    assert_eq!(delivered(&mut sse), ["next"]);
}

#[test]
fn the_terminal_event_stops_after_the_ones_before_it() {
    let mut sse = Controller::new(config()).with_terminal(|event| event.data() == "[DONE]");
    open(&mut sse, ms(0));
    sse.handle(ms(1), 0, Input::Body(b"data: a\n\ndata: b\n\ndata: [DO"));
    assert_eq!(delivered(&mut sse), ["a", "b"]);
    sse.handle(ms(2), 0, Input::Body(b"NE]\n\ndata: after\n\n"));
    match &drain(&mut sse)[..] {
        [Action::Stop(StopReason::Terminal(event))] => assert_eq!(event.data(), "[DONE]"),
        other => panic!("{other:?}"),
    }
    sse.handle(ms(3), 0, Input::Body(b"data: more\n\n"));
    sse.handle(ms(4), 0, Input::End);
    sse.handle(ms(99_999), 0, Input::TimerFired);
    assert!(drain(&mut sse).is_empty());
    assert!(sse.is_stopped());
}

#[test]
fn never_reconnect_stops_at_the_first_end_or_error() {
    let once = Config {
        reconnect: false,
        ..config()
    };
    for (input, how) in [
        (Input::End, Ended::Clean),
        (
            Input::Error(ErrorKind::BrokenPipe),
            Ended::Error(ErrorKind::BrokenPipe),
        ),
    ] {
        let mut sse = Controller::new(once);
        open(&mut sse, ms(0));
        sse.handle(ms(1), 0, Input::Body(b"data: a\n\n"));
        assert_eq!(delivered(&mut sse), ["a"]);
        sse.handle(ms(2), 0, input);
        assert!(matches!(stop(&mut sse), StopReason::Ended(h) if h == how));
    }
    let mut sse = Controller::new(Config {
        idle_timeout: Some(ms(10)),
        ..once
    });
    open(&mut sse, ms(0));
    sse.handle(ms(10), 0, Input::TimerFired);
    assert!(matches!(
        stop(&mut sse),
        StopReason::Ended(Ended::IdleTimeout)
    ));
    let mut sse = Controller::new(once);
    connect(&mut sse);
    sse.handle(ms(0), 0, Input::Error(ErrorKind::ConnectionRefused));
    assert!(matches!(
        stop(&mut sse),
        StopReason::Ended(Ended::Error(ErrorKind::ConnectionRefused))
    ));
}

#[test]
fn connect_carries_the_attempt_and_the_reason() {
    let mut sse = Controller::new(config());
    let first = connect(&mut sse);
    assert_eq!((first.attempt, first.reason), (0, None));
    sse.handle(ms(0), 0, Input::Error(ErrorKind::ConnectionRefused));
    let wait = wait(&mut sse);
    let again = reconnect(&mut sse);
    let reason = Reason::Ended(Ended::Error(ErrorKind::ConnectionRefused));
    assert_eq!((again.attempt, again.reason), (1, Some(reason)));
    assert_eq!(wait.attempt, again.attempt);
    sse.handle(ms(1000), 0, Input::Error(ErrorKind::TimedOut));
    common::wait(&mut sse);
    assert_eq!(reconnect(&mut sse).attempt, 2);
}

#[test]
fn an_event_over_the_limits_is_dropped_and_reported() {
    let mut sse = Controller::new(Config {
        limits: Limits {
            max_event: 16,
            ..Limits::default()
        },
        ..config()
    });
    open(&mut sse, ms(0));
    sse.handle(
        ms(1),
        0,
        Input::Body(b"data: 0123456789abcdef\n\ndata: fits\n\n"),
    );
    let actions = drain(&mut sse);
    assert!(
        matches!(&actions[..], [
            Action::Dropped(ssewire::Error::EventTooLarge { limit: 16 }),
            Action::Deliver(event),
        ] if event.data() == "fits"),
        "{actions:?}"
    );
    // Skipping silently is the decoder's other policy.
    let mut sse = Controller::new(Config {
        limits: Limits {
            max_event: 16,
            overflow: Overflow::SkipEvent,
            ..Limits::default()
        },
        ..config()
    });
    open(&mut sse, ms(0));
    sse.handle(
        ms(1),
        0,
        Input::Body(b"data: 0123456789abcdef\n\ndata: fits\n\n"),
    );
    assert_eq!(delivered(&mut sse), ["fits"]);
}

#[test]
fn every_input_after_a_stop_is_ignored() {
    let mut sse = Controller::new(Config {
        idle_timeout: Some(ms(10)),
        ..config()
    });
    open(&mut sse, ms(0));
    sse.handle(ms(1), 0, Input::Body(b"data: a\n"));
    sse.close();
    sse.close();
    assert!(matches!(
        drain(&mut sse)[..],
        [Action::Stop(StopReason::Closed)]
    ));
    assert_eq!(sse.next_deadline(), None);
    let headers = content_type("text/event-stream");
    for input in [
        Input::Body(b"\n"),
        Input::End,
        Input::Error(ErrorKind::Other),
        Input::TimerFired,
        Input::Response {
            status: http::StatusCode::OK,
            headers: &headers,
        },
        Input::Body(b"data: b\n\n"),
    ] {
        sse.handle(ms(1_000_000), 0, input);
        assert!(drain(&mut sse).is_empty());
    }
}

#[test]
fn inputs_out_of_place_are_ignored() {
    let mut sse = Controller::new(config());
    connect(&mut sse);
    // A body or a timer before any response: nothing.
    sse.handle(ms(0), 0, Input::Body(b"data: x\n\n"));
    sse.handle(ms(0), 0, Input::TimerFired);
    assert!(drain(&mut sse).is_empty());
    open_after_connect(&mut sse);
    // A second response head on an open stream: nothing.
    sse.handle(
        ms(1),
        0,
        Input::Response {
            status: http::StatusCode::NO_CONTENT,
            headers: &http::HeaderMap::new(),
        },
    );
    assert!(drain(&mut sse).is_empty());
    // While waiting: an early timer, a response, a body, an end, an error.
    sse.handle(ms(2), 0, Input::End);
    wait(&mut sse);
    sse.handle(ms(3), 0, Input::TimerFired);
    sse.handle(ms(3), 0, Input::Body(b"data: x\n\n"));
    sse.handle(ms(3), 0, Input::End);
    sse.handle(ms(3), 0, Input::Error(ErrorKind::Other));
    assert!(drain(&mut sse).is_empty());
    assert_eq!(sse.next_deadline(), Some(ms(1002)));
}

fn open_after_connect(sse: &mut Controller) {
    sse.handle(
        ms(0),
        0,
        Input::Response {
            status: http::StatusCode::OK,
            headers: &content_type("text/event-stream"),
        },
    );
    assert!(matches!(drain(sse)[..], [Action::Open]));
}
