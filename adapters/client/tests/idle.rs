//! The idle timeout: every received byte resets it; when it passes, the connection counts as
//! half-open and is reestablished as a failure.

mod common;

use common::*;
use ssewire_client::{Config, Controller, Ended, Input, Reason};

fn idle(timeout: u64) -> Controller {
    Controller::new(Config {
        idle_timeout: Some(ms(timeout)),
        ..config()
    })
}

#[test]
fn there_is_no_idle_timeout_by_default() {
    assert_eq!(ssewire_client::Config::default().idle_timeout, None);
    let mut sse = Controller::new(config());
    open(&mut sse, ms(0));
    assert_eq!(sse.next_deadline(), None);
    sse.handle(ms(3_600_000), 0, Input::TimerFired);
    assert!(drain(&mut sse).is_empty());
}

#[test]
fn there_is_no_deadline_while_connecting() {
    let mut sse = idle(100);
    connect(&mut sse);
    assert_eq!(
        sse.next_deadline(),
        None,
        "connect timeouts are the transport's"
    );
}

#[test]
fn every_byte_resets_it_comments_included() {
    let mut sse = idle(100);
    open(&mut sse, ms(0));
    assert_eq!(sse.next_deadline(), Some(ms(100)));
    sse.handle(ms(60), 0, Input::Body(b": keep-alive\n\n"));
    assert_eq!(sse.next_deadline(), Some(ms(160)));
    sse.handle(ms(150), 0, Input::Body(b"d"));
    assert_eq!(sse.next_deadline(), Some(ms(250)));
    // An empty chunk is no byte.
    sse.handle(ms(200), 0, Input::Body(b""));
    assert_eq!(sse.next_deadline(), Some(ms(250)));
    assert!(drain(&mut sse).is_empty());
}

#[test]
fn an_early_fire_is_ignored() {
    let mut sse = idle(100);
    open(&mut sse, ms(0));
    sse.handle(ms(99), 0, Input::TimerFired);
    assert!(drain(&mut sse).is_empty());
    assert_eq!(sse.next_deadline(), Some(ms(100)));
}

#[test]
fn the_timeout_reconnects_as_a_failure() {
    let mut sse = idle(100);
    open(&mut sse, ms(0));
    sse.handle(ms(100), 0, Input::TimerFired);
    let wait = wait(&mut sse);
    assert_eq!(wait.reason, Reason::Ended(Ended::IdleTimeout));
    assert_eq!(wait.delay, ms(1000));
    // The rest of the dead connection is ignored.
    sse.handle(ms(150), 0, Input::Body(b"data: late\n\n"));
    sse.handle(ms(160), 0, Input::End);
    assert!(drain(&mut sse).is_empty());
    let again = reconnect(&mut sse);
    assert_eq!(again.reason, Some(Reason::Ended(Ended::IdleTimeout)));
    // Not healthy (no event, not open long): the next failure backs off.
    sse.handle(
        ms(1100),
        0,
        ssewire_client::Input::Error(std::io::ErrorKind::TimedOut),
    );
    assert_eq!(common::wait(&mut sse).delay, ms(2000));
}

#[test]
fn a_partial_event_is_dropped_at_the_timeout() {
    let mut sse = idle(100);
    open(&mut sse, ms(0));
    sse.handle(ms(10), 0, Input::Body(b"data: half"));
    sse.handle(ms(110), 0, Input::TimerFired);
    wait(&mut sse);
    reconnect(&mut sse);
    sse.handle(
        ms(1110),
        0,
        Input::Response {
            status: http::StatusCode::OK,
            headers: &content_type("text/event-stream"),
        },
    );
    sse.handle(ms(1111), 0, Input::Body(b"\n\ndata: whole\n\n"));
    assert_eq!(delivered(&mut sse), ["whole"]);
}
