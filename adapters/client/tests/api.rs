//! The public types: auto traits and `Debug`.

use ssewire_client::{
    Action, Config, Connect, Controller, Ended, Input, Jitter, Reason, Rejected, StopReason, Wait,
};

fn send_sync_unpin<T: Send + Sync + Unpin>() {}

#[test]
fn public_types_are_send_sync_unpin() {
    send_sync_unpin::<Controller>();
    send_sync_unpin::<Config>();
    send_sync_unpin::<Jitter>();
    send_sync_unpin::<Input<'static>>();
    send_sync_unpin::<Action>();
    send_sync_unpin::<Connect>();
    send_sync_unpin::<Wait>();
    send_sync_unpin::<Reason>();
    send_sync_unpin::<Ended>();
    send_sync_unpin::<StopReason>();
    send_sync_unpin::<Rejected>();
}

#[test]
fn the_controller_debug_hides_the_predicate_and_shows_the_state() {
    let sse = Controller::new(Config::default()).with_terminal(|_| false);
    let debug = format!("{sse:?}");
    assert!(debug.contains("Connecting"), "{debug}");
    assert!(debug.contains("terminal: Some(\"..\")"), "{debug}");
}
