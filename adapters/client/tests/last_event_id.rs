//! The request headers and `Last-Event-ID`: sent only when not empty, seeded by the user,
//! set by `id:` fields by the decoder's rules.

mod common;

use common::*;
use http::header;
use ssewire::EventId;
use ssewire_client::{Action, Controller, Input};

/// Opens a stream (the pending `Connect` polled or not), feeds `body`, ends it cleanly and
/// returns the reconnection's `Connect`.
fn after(sse: &mut Controller, body: &[u8]) -> ssewire_client::Connect {
    drain(sse);
    let headers = content_type("text/event-stream");
    let status = http::StatusCode::OK;
    sse.handle(
        ms(0),
        0,
        Input::Response {
            status,
            headers: &headers,
        },
    );
    sse.handle(ms(1), 0, Input::Body(body));
    drain(sse);
    sse.handle(ms(2), 0, Input::End);
    wait(sse);
    reconnect(sse)
}

#[test]
fn the_request_headers_are_the_specs() {
    let mut sse = Controller::new(config());
    let connect = connect(&mut sse);
    assert_eq!(connect.headers[header::ACCEPT], "text/event-stream");
    assert_eq!(connect.headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(connect.headers.len(), 2, "no empty Last-Event-ID");
}

#[test]
fn an_id_field_is_sent_on_reconnect() {
    let mut sse = Controller::new(config());
    let again = after(&mut sse, b"id: 42\ndata: x\n\n");
    assert_eq!(last_event_id(&again), Some("42"));
    assert_eq!(sse.last_event_id(), "42");
    // An id-only block sets it too.
    let again = after(&mut sse, b"id: 43\n\n");
    assert_eq!(last_event_id(&again), Some("43"));
}

#[test]
fn the_delivered_event_carries_the_last_event_id() {
    let mut sse = Controller::new(config());
    open(&mut sse, ms(0));
    sse.handle(ms(1), 0, Input::Body(b"id: 1\ndata: a\n\ndata: b\n\n"));
    let ids: Vec<_> = drain(&mut sse)
        .into_iter()
        .map(|action| match action {
            Action::Deliver(event) => event.id().map(str::to_owned),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [Some("1".to_owned()), Some("1".to_owned())]);
}

#[test]
fn a_bare_id_resets_it_so_it_is_not_sent() {
    let mut sse = Controller::new(config());
    after(&mut sse, b"id: 42\ndata: x\n\n");
    let again = after(&mut sse, b"id\ndata: y\n\n");
    assert_eq!(last_event_id(&again), None);
    let again = after(&mut sse, b"id: 7\n\nid:\n\n");
    assert_eq!(last_event_id(&again), None);
}

#[test]
fn an_id_with_nul_is_ignored() {
    let mut sse = Controller::new(config());
    let again = after(&mut sse, b"id: 5\n\nid: 6\0\ndata: x\n\n");
    assert_eq!(last_event_id(&again), Some("5"));
}

#[test]
fn the_id_of_an_unterminated_event_does_not_count() {
    let mut sse = Controller::new(config());
    let again = after(&mut sse, b"id: 5\ndata: x\n\nid: 6\ndata: cut");
    assert_eq!(last_event_id(&again), Some("5"));
}

#[test]
fn a_seeded_id_is_sent_from_the_first_connect_until_the_stream_replaces_it() {
    let mut sse = Controller::new(config()).with_last_event_id(EventId::new("seed-1").unwrap());
    assert_eq!(sse.last_event_id(), "seed-1");
    let first = connect(&mut sse);
    assert_eq!(last_event_id(&first), Some("seed-1"));
    // Kept across a connection that sets no id.
    sse.handle(
        ms(0),
        0,
        Input::Error(std::io::ErrorKind::ConnectionRefused),
    );
    wait(&mut sse);
    assert_eq!(last_event_id(&reconnect(&mut sse)), Some("seed-1"));
    sse.handle(
        ms(0),
        0,
        Input::Error(std::io::ErrorKind::ConnectionRefused),
    );
    wait(&mut sse);
    reconnect(&mut sse);
    sse.handle(
        ms(0),
        0,
        Input::Response {
            status: http::StatusCode::OK,
            headers: &content_type("text/event-stream"),
        },
    );
    sse.handle(ms(1), 0, Input::Body(b"data: no id\n\n"));
    let delivered: Vec<_> = drain(&mut sse)
        .into_iter()
        .filter_map(|a| match a {
            Action::Deliver(event) => Some(event.id().map(str::to_owned)),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, [Some("seed-1".to_owned())], "as lastEventId");
    sse.handle(ms(2), 0, Input::End);
    wait(&mut sse);
    assert_eq!(last_event_id(&reconnect(&mut sse)), Some("seed-1"));

    let mut sse = Controller::new(config()).with_last_event_id(EventId::new("seed-2").unwrap());
    let again = after(&mut sse, b"id: 9\ndata: x\n\n");
    assert_eq!(last_event_id(&again), Some("9"));

    let mut sse = Controller::new(config()).with_last_event_id(EventId::new("seed-3").unwrap());
    let again = after(&mut sse, b"id\n\n");
    assert_eq!(last_event_id(&again), None);
}

#[test]
fn a_seeded_id_keeps_its_spaces_and_the_stream_still_strips_a_bom() {
    let mut sse = Controller::new(config()).with_last_event_id(EventId::new(" a b ").unwrap());
    let mut headers = connect(&mut sse).headers;
    assert_eq!(headers.remove("last-event-id").unwrap(), " a b ");
    sse.handle(
        ms(0),
        0,
        Input::Response {
            status: http::StatusCode::OK,
            headers: &content_type("text/event-stream"),
        },
    );
    sse.handle(ms(1), 0, Input::Body("\u{FEFF}data: x\n\n".as_bytes()));
    assert_eq!(delivered(&mut sse), ["x"]);
}

#[test]
fn an_id_that_cannot_be_a_header_value_is_not_sent() {
    let mut sse = Controller::new(config());
    let again = after(&mut sse, b"id: a\x01b\ndata: x\n\n");
    assert_eq!(sse.last_event_id(), "a\u{1}b");
    assert_eq!(last_event_id(&again), None);
    // Non-ASCII is sent as its UTF-8 bytes.
    let again = after(&mut sse, "id: é\ndata: x\n\n".as_bytes());
    assert_eq!(again.headers["last-event-id"].as_bytes(), "é".as_bytes());
}
