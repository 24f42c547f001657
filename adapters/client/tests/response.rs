//! The response head: what opens the stream, what stops it, what is retried, and the rejected
//! response's bounded body.

mod common;

use std::io::ErrorKind;

use common::*;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use ssewire_client::{Action, Config, Controller, Ended, Input, Reason, StopReason};

fn respond(sse: &mut Controller, status: u16, headers: &HeaderMap) {
    let status = StatusCode::from_u16(status).unwrap();
    sse.handle(ms(0), 0, Input::Response { status, headers });
}

fn rejection(reason: StopReason) -> ssewire_client::Rejected {
    match reason {
        StopReason::Rejected(rejected) => rejected,
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[test]
fn only_200_with_an_event_stream_essence_opens() {
    for value in [
        "text/event-stream",
        "Text/Event-Stream; charset=utf-8",
        "TEXT/EVENT-STREAM",
        " text/event-stream ;q=1",
    ] {
        let mut sse = Controller::new(config());
        connect(&mut sse);
        respond(&mut sse, 200, &content_type(value));
        assert!(matches!(drain(&mut sse)[..], [Action::Open]), "{value}");
        sse.handle(ms(1), 0, Input::Body(b"data: x\n\n"));
        assert_eq!(delivered(&mut sse), ["x"], "{value}");
    }
}

#[test]
fn a_200_of_another_type_fails_without_reconnecting() {
    for value in ["text/plain", "application/json", "text/event-streams", ""] {
        let mut sse = Controller::new(config());
        connect(&mut sse);
        respond(&mut sse, 200, &content_type(value));
        assert!(drain(&mut sse).is_empty(), "the body is collected first");
        sse.handle(ms(1), 0, Input::Body(b"<html>"));
        sse.handle(ms(2), 0, Input::End);
        let rejected = rejection(stop(&mut sse));
        assert_eq!(rejected.status, StatusCode::OK);
        assert_eq!(rejected.body, "<html>");
        assert!(sse.is_stopped());
    }
    // No Content-Type at all.
    let mut sse = Controller::new(config());
    connect(&mut sse);
    respond(&mut sse, 200, &HeaderMap::new());
    sse.handle(ms(1), 0, Input::End);
    assert_eq!(rejection(stop(&mut sse)).status, StatusCode::OK);
}

#[test]
fn no_content_stops_for_good() {
    let mut sse = Controller::new(config());
    connect(&mut sse);
    respond(&mut sse, 204, &HeaderMap::new());
    assert!(matches!(
        drain(&mut sse)[..],
        [Action::Stop(StopReason::NoContent)]
    ));
    assert_eq!(sse.next_deadline(), None);
    sse.handle(ms(1), 0, Input::End);
    sse.handle(ms(99_999), 0, Input::TimerFired);
    assert!(drain(&mut sse).is_empty());
}

#[test]
fn another_status_is_rejected_with_status_headers_and_body() {
    let mut sse = Controller::new(config());
    connect(&mut sse);
    let mut headers = content_type("application/json");
    headers.insert("x-request-id", HeaderValue::from_static("abc"));
    respond(&mut sse, 500, &headers);
    sse.handle(ms(1), 0, Input::Body(b"{\"error\":"));
    sse.handle(ms(2), 0, Input::Body(b"\"boom\"}"));
    assert!(drain(&mut sse).is_empty());
    sse.handle(ms(3), 0, Input::End);
    let rejected = rejection(stop(&mut sse));
    assert_eq!(rejected.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(rejected.headers["x-request-id"], "abc");
    assert_eq!(rejected.body, "{\"error\":\"boom\"}");
    assert!(!rejected.truncated);
    assert!(sse.is_stopped());
}

#[test]
fn a_rejected_body_is_bounded() {
    let mut sse = Controller::new(Config {
        max_error_body: 8,
        ..config()
    });
    connect(&mut sse);
    respond(&mut sse, 500, &HeaderMap::new());
    sse.handle(ms(1), 0, Input::Body(b"12345"));
    assert!(drain(&mut sse).is_empty());
    // Over the bound: the Stop comes at once, with the first 8 bytes.
    sse.handle(ms(2), 0, Input::Body(b"6789"));
    let rejected = rejection(stop(&mut sse));
    assert_eq!(rejected.body, "12345678");
    assert!(rejected.truncated);
    sse.handle(ms(3), 0, Input::Body(b"more"));
    sse.handle(ms(4), 0, Input::End);
    assert!(drain(&mut sse).is_empty());
}

#[test]
fn a_rejected_body_cut_by_an_error_or_the_idle_timeout_is_marked_truncated() {
    let mut sse = Controller::new(config());
    connect(&mut sse);
    respond(&mut sse, 502, &HeaderMap::new());
    sse.handle(ms(1), 0, Input::Body(b"bad gate"));
    sse.handle(ms(2), 0, Input::Error(ErrorKind::ConnectionReset));
    let rejected = rejection(stop(&mut sse));
    assert_eq!(
        (&rejected.body[..], rejected.truncated),
        (&b"bad gate"[..], true)
    );

    let mut sse = Controller::new(Config {
        idle_timeout: Some(ms(100)),
        ..config()
    });
    connect(&mut sse);
    respond(&mut sse, 500, &HeaderMap::new());
    sse.handle(ms(50), 0, Input::Body(b"slow"));
    assert_eq!(sse.next_deadline(), Some(ms(150)));
    sse.handle(ms(150), 0, Input::TimerFired);
    let rejected = rejection(stop(&mut sse));
    assert_eq!(
        (&rejected.body[..], rejected.truncated),
        (&b"slow"[..], true)
    );
}

#[test]
fn transient_statuses_are_rejected_unless_opted_in() {
    for status in [408, 429, 502, 503, 504] {
        let mut sse = Controller::new(config());
        connect(&mut sse);
        respond(&mut sse, status, &HeaderMap::new());
        sse.handle(ms(1), 0, Input::End);
        assert_eq!(rejection(stop(&mut sse)).status.as_u16(), status);
    }
}

#[test]
fn opted_in_transient_statuses_wait_retry_after_or_the_backoff() {
    let opted = Config {
        retry_status: true,
        max_retry_after: ms(60_000),
        ..config()
    };
    for status in [408, 429, 502, 503, 504] {
        let mut sse = Controller::new(opted);
        connect(&mut sse);
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        respond(&mut sse, status, &headers);
        let wait = wait(&mut sse);
        assert_eq!(wait.delay, ms(7000), "{status}");
        let status = StatusCode::from_u16(status).unwrap();
        let reason = Reason::Status {
            status,
            retry_after: Some(ms(7000)),
        };
        assert_eq!(wait.reason, reason);
        // The rest of that response is ignored; the timer reconnects.
        sse.handle(ms(1), 0, Input::Body(b"busy"));
        sse.handle(ms(2), 0, Input::End);
        assert!(drain(&mut sse).is_empty());
        let again = reconnect(&mut sse);
        assert_eq!((again.attempt, again.reason), (1, Some(reason)));
    }
    // An HTTP-date or nonsense counts as absent: the backoff applies (1 s, then 2 s).
    let mut sse = Controller::new(opted);
    connect(&mut sse);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    respond(&mut sse, 503, &headers);
    assert_eq!(wait(&mut sse).delay, ms(1000));
    reconnect(&mut sse);
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
    respond(&mut sse, 503, &headers);
    assert_eq!(wait(&mut sse).delay, ms(2000));
}

#[test]
fn retry_after_is_bounded() {
    let mut sse = Controller::new(Config {
        retry_status: true,
        max_retry_after: ms(30_000),
        ..config()
    });
    connect(&mut sse);
    let mut headers = HeaderMap::new();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("86400"));
    respond(&mut sse, 429, &headers);
    let wait = wait(&mut sse);
    assert_eq!(wait.delay, ms(30_000));
    assert!(matches!(
        wait.reason,
        Reason::Status { retry_after: Some(d), .. } if d == ms(86_400_000)
    ));
}

#[test]
fn unauthorized_and_forbidden_never_retry_even_when_opted_in() {
    for status in [401, 403] {
        let mut sse = Controller::new(Config {
            retry_status: true,
            ..config()
        });
        connect(&mut sse);
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        respond(&mut sse, status, &headers);
        sse.handle(ms(1), 0, Input::End);
        assert_eq!(rejection(stop(&mut sse)).status.as_u16(), status);
    }
}

#[test]
fn opted_in_statuses_stop_when_reconnecting_is_off() {
    let mut sse = Controller::new(Config {
        retry_status: true,
        reconnect: false,
        ..config()
    });
    connect(&mut sse);
    respond(&mut sse, 503, &HeaderMap::new());
    sse.handle(ms(1), 0, Input::End);
    assert_eq!(
        rejection(stop(&mut sse)).status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[test]
fn a_connect_error_reconnects_and_an_end_before_a_response_is_an_error() {
    let mut sse = Controller::new(config());
    connect(&mut sse);
    sse.handle(ms(0), 0, Input::Error(ErrorKind::ConnectionRefused));
    let wait = wait(&mut sse);
    assert_eq!(
        wait.reason,
        Reason::Ended(Ended::Error(ErrorKind::ConnectionRefused))
    );
    reconnect(&mut sse);
    sse.handle(ms(5000), 0, Input::End);
    assert_eq!(
        common::wait(&mut sse).reason,
        Reason::Ended(Ended::Error(ErrorKind::UnexpectedEof))
    );
}
