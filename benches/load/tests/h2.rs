//! `loadtest --tls --h2` end to end against one server, briefly: streams over HTTP/2 on a few
//! TLS connections (ALPN `h2`) all open, all receive every event in order, and the connections'
//! fds are gone after the cycles. Behaviour only, never speed. (A file of its own: HTTP/2 is a
//! process-wide switch of the client.)

use std::path::PathBuf;
use std::time::Duration;

use ssewire_load::driver::{self, Config, Role, ServerSpec};

#[test]
fn h2_over_tls_smoke() {
    ssewire_load::sys::raise_nofile();
    // 30 streams per connection: four connections for 100 streams, the last one partly full.
    ssewire_load::tls::enable_h2(30);
    let server = ServerSpec {
        name: "ssewire-smol".into(),
        role: Role::Ours,
        path: PathBuf::from(env!("CARGO_BIN_EXE_load-server-smol")),
        args: vec!["--tls".into()],
    };
    let config = Config {
        idle_streams: 100,
        load_streams: 100,
        secs: 1.0,
        cycles: 50,
        idle_pause: Duration::from_millis(100),
        ..Config::smoke()
    };
    let results = driver::block_on(driver::run(&config, std::slice::from_ref(&server)))
        .expect("the server measured over HTTP/2");
    println!("{}", driver::markdown(&config, &results));
    let r = &results[0];
    assert_eq!(r.idle.opened, config.idle_streams, "idle streams");
    assert_eq!(r.load.opened, config.load_streams, "load streams");
    assert_eq!(
        r.load.complete, config.load_streams,
        "every stream receives every event, in order"
    );
    assert_eq!(
        r.load.delivered,
        config.events_per_stream() * config.load_streams as u64,
        "no extra events"
    );
    assert_eq!(r.cycles.ok, config.cycles, "every stream cycle got a 200");
    assert!(
        r.cycles.fd_growth() <= 0,
        "fds back to the baseline ({} → {})",
        r.cycles.fds_before,
        r.cycles.fds_after
    );
    let handshakes = r
        .handshakes
        .as_ref()
        .expect("a TLS run has a handshake phase");
    assert_eq!(
        handshakes.ok, handshakes.asked,
        "every TLS handshake completed"
    );
}
