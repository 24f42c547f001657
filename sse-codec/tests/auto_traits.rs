//! Every public codec type is `Send + Sync + Unpin + Debug`, so it can cross threads, live in
//! async state machines and show up in logs. A regression (an `Rc`, a raw pointer, a missing
//! `Debug` impl) fails to compile.

use core::fmt::Debug;

use ssewire::{Decoder, Error, Event, EventId, EventType, Frame, Limits, Overflow};

fn assert_traits<T: Send + Sync + Unpin + Debug>() {}

#[test]
fn public_types_are_send_sync_unpin_debug() {
    assert_traits::<Event>();
    assert_traits::<EventType>();
    assert_traits::<EventId>();
    assert_traits::<Decoder>();
    assert_traits::<Frame>();
    assert_traits::<Limits>();
    assert_traits::<Overflow>();
    assert_traits::<Error>();
    assert_traits::<ssewire::EventRef<'static>>();
    #[cfg(feature = "json")]
    assert_traits::<ssewire::Json<serde_json::Value>>();
    #[cfg(any(feature = "tokio-util", feature = "asynchronous-codec"))]
    assert_traits::<ssewire::Encoder>();
}

#[test]
fn errors_are_std_errors() {
    fn assert_error<T: core::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}

#[test]
fn debug_output_shows_the_values() {
    let event = Event::new("d")
        .with_event("e")
        .unwrap()
        .with_id("7")
        .unwrap();
    let text = format!("{event:?}");
    assert!(
        text.contains("\"e\"") && text.contains("\"7\"") && text.contains("\"d\""),
        "{text}"
    );
    assert_eq!(format!("{:?}", EventType::new("t").unwrap()), "\"t\"");
    assert_eq!(format!("{:?}", EventId::new("i").unwrap()), "\"i\"");
}
