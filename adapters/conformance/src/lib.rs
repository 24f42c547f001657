//! The adapter conformance suite: every ssewire runtime adapter runs the same server tests, over
//! real loopback TCP with real clients (a raw HTTP/1.1 client, hyper's HTTP/2 client, headless
//! Chromium), against [`ssewire_server::serve`] on the adapter's [`Runtime`].
//!
//! The suite runs over TLS as well: each test of [`tests`] that takes a [`Transport`] runs a
//! second time as `over_tls::<name>`, against [`ssewire_server::serve_tls`] with a self-signed
//! certificate made for the test (rcgen), the raw client speaking HTTP/1.1 after ALPN
//! `http/1.1` and the HTTP/2 client after ALPN `h2` (in clear it uses prior knowledge). The
//! `tls_*` tests add what only TLS has (ALPN choices, the handshake timeout, certificate reload,
//! the cap closing at accept). What runs in clear only is listed at [`suite!`].
//!
//! An adapter adds one file, `tests/conformance.rs`:
//!
//! ```text
//! ssewire_conformance::suite!(runtime = ssewire_smol::Smol::global(), block_on = smol::block_on);
//! ```
//!
//! which expands into one `#[test]` per behaviour (see [`tests`]). Each test bounds its own run
//! time with the runtime's timer and shuts its server down.
//!
//! The client side has its tests here too ([`client_side`]): `tail`, `proxy` and `https`, each
//! a test file of the shell with one line, `ssewire_conformance::client_suite!(https, runtime =
//! …, block_on = …);` (see [`client_suite!`]).
//!
//! The browser tests (`browser_demo`, `browser_room`, `browser_proxy`) need `node`, the npm
//! packages of the repository root (playwright-core, HTMX) and Chromium (`/usr/bin/chromium`, or
//! `SSEWIRE_CHROMIUM`), so they are `#[ignore]`d: `cargo test` lists them as ignored, and
//! `cargo test -- --include-ignored` (or `bash .ci/test.sh`, which installs what they need
//! first) runs them. Run, they install the npm packages themselves when `npm` is there and fail
//! when node or Chromium is missing, saying how to install it (see [`browser`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

pub use client::Transport;
pub use ssewire_server::Runtime;

pub mod browser;
pub mod client;
pub mod client_side;
pub mod tests;

/// Expands into one `#[test]` per conformance test, each running on `runtime` (an expression
/// evaluated once per test) under `block_on` (a path to a `fn(impl Future<Output = T>) -> T`).
/// The browser tests are `#[ignore]`d (they need node and Chromium): run them with
/// `--include-ignored`.
///
/// The tests that take a [`Transport`] run twice: `<name>` in clear and `over_tls::<name>` over
/// TLS (`cargo test over_tls` runs the TLS half). In clear only:
///
/// - the hostile-client tests ([`tests`]' `hostile` module): they write raw bytes (slowloris
///   heads, HTTP/2 frames, floods) whose subject is the server's HTTP parsing and limits, which
///   TLS only wraps;
/// - the browser tests (`tls_browser` is their HTTPS run).
///
/// ```text
/// ssewire_conformance::suite!(runtime = ssewire_smol::Smol::global(), block_on = smol::block_on);
/// ```
#[macro_export]
macro_rules! suite {
    (runtime = $runtime:expr, block_on = $block_on:path $(,)?) => {
        $crate::__suite! {
            ($runtime) ($block_on)
            tls_alpn_headers_incremental_last_event_id
            tls_keep_alive_when_idle
            tls_disconnect_noticed_while_idle
            tls_handshake_timeout
            tls_over_cap_closed_at_accept
            tls_reload_certificate
            tls_hub_streams
            tls_graceful_shutdown
        }
        $crate::__suite! {
            ignored ($runtime) ($block_on)
            tls_browser
        }
        $crate::__suite! {
            both ($runtime) ($block_on)
            response_headers
            opening_frame_at_once
            incremental_delivery
            last_event_id_reaches_producer
            keep_alive_when_idle
            keep_alive_reset_by_events
            disconnect_noticed_while_idle
            http2_stream_reset_drops_producer
            no_task_left_behind
            http2_prior_knowledge
            slow_reader_memory_bounded
            hub_streams_in_order_through_full_sockets
            busy_producer_does_not_starve_others
            busy_http2_producer_does_not_starve_others
            ordinary_responses
            one_connection_many_requests
            idle_keep_alive_connection_closes
            demo_json_and_custom_event
            demo_chat_stream_and_resume
            hub_slow_subscriber_policies
            graceful_shutdown
        }
        $crate::__suite! {
            ($runtime) ($block_on)
            send_timeout_closes_a_client_that_never_reads
            send_timeout_ends_a_stalled_hub_subscription
            slow_policy_disconnect_with_a_full_socket
            header_deadline_spans_the_hand_off
            head_limits_431
            request_body_limits
            http2_preface_only_closed
            http2_thousand_streams
            http2_stalled_stream_closed
            http2_header_list_too_large
            pipelined_flood
            closed_mid_head_and_mid_chunk
            per_ip_cap_holds_under_two_thousand_connections
            demo_stats_route
            max_connections_503
            accept_backs_off_out_of_descriptors
        }
        $crate::__suite! {
            ignored ($runtime) ($block_on)
            browser_demo
            browser_room
            browser_proxy
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite {
    (($runtime:expr) ($block_on:path) $($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                $block_on($crate::tests::$name($runtime));
            }
        )*
    };
    (both ($runtime:expr) ($block_on:path) $($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                $block_on($crate::tests::$name($runtime, $crate::Transport::Tcp));
            }
        )*
        /// The same tests over TLS (a new self-signed certificate per test): HTTP/1.1 by ALPN
        /// `http/1.1`, HTTP/2 by ALPN `h2`.
        mod over_tls {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $block_on($crate::tests::$name($runtime, $crate::Transport::tls()));
                }
            )*
        }
    };
    (clear ($runtime:expr) ($block_on:path) $($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                $block_on($crate::tests::$name($runtime, $crate::Transport::Tcp));
            }
        )*
    };
    (ignored ($runtime:expr) ($block_on:path) $($name:ident)*) => {
        $(
            #[test]
            #[ignore = "needs Chromium and node: run with --include-ignored (see README)"]
            fn $name() {
                $block_on($crate::tests::$name($runtime));
            }
        )*
    };
}

/// Expands into one `#[test]` per test of a [`client_side`] module (`tail`, `proxy` or `https`),
/// each running on `runtime` (an expression evaluated once per test) under `block_on` (a path
/// to a `fn(impl Future<Output = T>) -> T`). A shell has one test file per module:
///
/// ```text
/// ssewire_conformance::client_suite!(https, runtime = ssewire_smol::Smol::global(), block_on = smol::block_on);
/// ```
#[macro_export]
macro_rules! client_suite {
    (tail, runtime = $runtime:expr, block_on = $block_on:path $(,)?) => {
        $crate::__client_suite! {
            tail ($runtime) ($block_on)
            events_retry_and_204
            headers_last_event_id_and_until
            rejected_status_exits_1
            bad_command_line_exits_2
        }
    };
    (proxy, runtime = $runtime:expr, block_on = $block_on:path $(,)?) => {
        $crate::__client_suite! {
            proxy ($runtime) ($block_on)
            answer_is_re_streamed_token_by_token
            upstream_failures_become_error_events
        }
    };
    (https, runtime = $runtime:expr, block_on = $block_on:path $(,)?) => {
        $crate::__client_suite! {
            https ($runtime) ($block_on)
            events_and_last_event_id_over_h2
            events_over_http1_when_the_server_offers_no_h2
            untrusted_certificate_is_a_clear_error
            redirect_from_http_to_https
            close_and_drop_end_the_h2_connection
            a_config_of_ones_own_decides_alpn
            idle_and_head_timeouts_over_tls
            http2_keep_alive_notices_a_dead_path
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __client_suite {
    ($module:ident ($runtime:expr) ($block_on:path) $($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                $block_on($crate::client_side::$module::$name($runtime));
            }
        )*
    };
}

/// Tests that measure time or load the machine run alone; the others may share it.
static SERIAL: RwLock<()> = RwLock::new(());

/// Held by a test while it runs.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) enum Turn {
    Shared(RwLockReadGuard<'static, ()>),
    Alone(RwLockWriteGuard<'static, ()>),
}

/// A turn shared with other tests that do not measure time.
pub(crate) fn shared_turn() -> Turn {
    Turn::Shared(SERIAL.read().unwrap_or_else(|p| p.into_inner()))
}

/// A turn alone on the machine (timing, load or the browser).
pub(crate) fn alone_turn() -> Turn {
    Turn::Alone(SERIAL.write().unwrap_or_else(|p| p.into_inner()))
}

/// A runtime that counts the tasks it runs that have not finished (or been dropped) yet: the
/// accept loop, connections, and HTTP/2 streams.
#[derive(Debug, Clone)]
pub struct Counting<R> {
    inner: R,
    live: Arc<AtomicUsize>,
}

impl<R> Counting<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Counting {
            inner,
            live: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Tasks spawned and not yet finished or dropped.
    pub fn live_tasks(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

struct TaskGuard(Arc<AtomicUsize>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<R: Runtime> Runtime for Counting<R> {
    type Listener = R::Listener;
    type Conn = R::Conn;
    type Sleep = R::Sleep;

    fn bind(
        &self,
        addr: std::net::SocketAddr,
    ) -> impl Future<Output = std::io::Result<Self::Listener>> + Send {
        self.inner.bind(addr)
    }

    fn local_addr(listener: &Self::Listener) -> std::io::Result<std::net::SocketAddr> {
        R::local_addr(listener)
    }

    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = std::io::Result<(Self::Conn, std::net::SocketAddr)>> + Send {
        R::accept(listener)
    }

    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        self.live.fetch_add(1, Ordering::SeqCst);
        let guard = TaskGuard(self.live.clone());
        let future: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(future);
        self.inner.spawn(async move {
            let _guard = guard;
            future.await;
        });
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        R::sleep(duration)
    }

    fn try_clone(conn: &Self::Conn) -> Option<Self::Conn> {
        R::try_clone(conn)
    }
}
