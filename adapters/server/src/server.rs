//! The server: binding, the accept loop, the handle, and shutdown.

use alloc::sync::Arc;
use core::future::Future;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;
use std::io;
use std::net::{IpAddr, SocketAddr};

use event_listener::{Event as Notify, listener};

use crate::{Config, Request, Response, Runtime, TlsConfig};
use crate::{admit, conn, fanout, stats, tls};

/// How long the accept loop waits after an accept error that is not the client's (`EMFILE`,
/// `ENFILE`, `ENOMEM`) before it tries again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long a connection may take to flush the end of its streams after the grace period.
pub(crate) const FLUSH_AFTER_END: Duration = Duration::from_millis(500);

/// State shared by the accept loop, the connections and the SSE streams of one server.
#[derive(Default)]
pub(crate) struct Shutdown {
    /// Stop accepting; connections finish their current response and close.
    pub(crate) stopping: AtomicBool,
    /// End every SSE stream now.
    pub(crate) ended: AtomicBool,
    /// Open connections.
    pub(crate) connections: AtomicUsize,
    /// Fired when `stopping` or `ended` is set: wakes the accept loop and the connection tasks.
    pub(crate) stop: Notify,
    /// Fired when `ended` is set, and listened to only by connections that have seen `stopping`
    /// (see `conn::drive`). A listener of `stop` dropped notified but unheard (a TLS handshake
    /// that finished as `stopping` was set) passes its notification on to another listener;
    /// had a connection waiting for `ended` on `stop` taken it, it would have been counted as
    /// notified and skipped when `ended` came (its task, woken with no flag set, does not poll
    /// the listener again). On `end`, every notification follows `ended`, so none is unheard.
    pub(crate) end: Notify,
    /// Fired when a connection closes: wakes whoever waits for the server to drain. Separate from
    /// `stop`, so a closing connection never wakes the others.
    pub(crate) closed: Notify,
    /// The connection caps' counts.
    pub(crate) admission: admit::Admission,
    /// What [`Server::stats`] reports.
    pub(crate) stats: stats::Counters,
}

impl Shutdown {
    fn set(&self, flag: &AtomicBool) {
        flag.store(true, Ordering::SeqCst);
        self.stop.notify(usize::MAX);
        if core::ptr::eq(flag, &self.ended) {
            self.end.notify(usize::MAX);
        }
    }

    fn drained(&self) -> bool {
        self.connections.load(Ordering::SeqCst) == 0
    }
}

/// A running server on runtime `R`. Dropping it leaves the server running; call
/// [`Server::shutdown`] to stop it.
pub struct Server<R> {
    local_addr: SocketAddr,
    shutdown: Arc<Shutdown>,
    runtime: core::marker::PhantomData<fn() -> R>,
}

impl<R> Clone for Server<R> {
    fn clone(&self) -> Self {
        Server {
            local_addr: self.local_addr,
            shutdown: self.shutdown.clone(),
            runtime: core::marker::PhantomData,
        }
    }
}

impl<R> core::fmt::Debug for Server<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field(
                "connections",
                &self.shutdown.connections.load(Ordering::SeqCst),
            )
            .finish()
    }
}

impl<R: Runtime> Server<R> {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shutdown.connections.load(Ordering::SeqCst)
    }

    /// A snapshot of the server's counters: connections open by protocol, and closes for each
    /// limit (each also reported through the `log` facade with the `log` feature).
    pub fn stats(&self) -> crate::Stats {
        self.shutdown.stats.snapshot()
    }

    /// Stops the server: stops accepting, lets open connections finish the response in flight
    /// (HTTP/2: `GOAWAY`), and after `grace` ends every SSE stream still open (on HTTP/1.1 the
    /// body ends cleanly; then the connection closes) and drops its producer, so browsers
    /// reconnect elsewhere. Resolves when every connection is closed.
    pub async fn shutdown(&self, grace: Duration) {
        let state = &self.shutdown;
        state.set(&state.stopping);
        wait_drained(state, R::sleep(grace)).await;
        state.set(&state.ended);
        // Connection tasks end their streams and close within `FLUSH_AFTER_END` now.
        wait_drained(
            state,
            R::sleep(FLUSH_AFTER_END + Duration::from_millis(100)),
        )
        .await;
    }

    /// Resolves once [`Server::shutdown`] has been called (from anywhere) and every connection is
    /// closed.
    pub async fn stopped(&self) {
        until_set(&self.shutdown, &self.shutdown.stopping).await;
        wait_drained(&self.shutdown, core::future::pending()).await;
    }
}

/// Resolves once `flag` (`stopping` or `ended`) is set.
pub(crate) async fn until_set(state: &Shutdown, flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        listener!(state.stop => stop);
        if flag.load(Ordering::SeqCst) {
            break;
        }
        stop.await;
    }
}

/// Resolves after `duration`, or sooner once the server is stopping: the deadline of a wait that
/// a shutdown cuts short (a silent client's first bytes, a TLS handshake, an accept back-off).
pub(crate) async fn sleep_unless_stopping<R: Runtime>(state: &Shutdown, duration: Duration) {
    conn::with_deadline(until_set(state, &state.stopping), R::sleep(duration)).await;
}

/// Waits until no connection is open or `deadline` completes.
async fn wait_drained(state: &Shutdown, deadline: impl Future<Output = ()>) {
    let mut deadline = core::pin::pin!(deadline);
    loop {
        if state.drained() {
            return;
        }
        listener!(state.closed => listener);
        if state.drained() {
            return;
        }
        // The listener first: a connection that closed at the deadline still counts.
        let woke = conn::with_deadline(listener, deadline.as_mut()).await;
        if woke.is_none() {
            return;
        }
    }
}

/// Binds `addr` and serves `handler` on `runtime` until [`Server::shutdown`].
///
/// # Errors
///
/// Binding failed (the address is in use, say); the error names the address.
pub async fn serve<R, H, F>(
    runtime: R,
    addr: SocketAddr,
    config: Config,
    handler: H,
) -> io::Result<Server<R>>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    bind(runtime, addr, config, None, handler).await
}

/// [`serve`], over TLS when `tls` is given.
pub(crate) async fn bind<R, H, F>(
    runtime: R,
    addr: SocketAddr,
    config: Config,
    tls: Option<TlsConfig>,
    handler: H,
) -> io::Result<Server<R>>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let listener = runtime
        .bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), alloc::format!("cannot listen on {addr}: {e}")))?;
    let local_addr = R::local_addr(&listener)?;
    let shutdown = Arc::new(Shutdown::default());
    let server = Server {
        local_addr,
        shutdown: shutdown.clone(),
        runtime: core::marker::PhantomData,
    };
    let handler = Arc::new(handler);
    // One fan-out lane per core (see `fanout`), started by the first hub subscription and ended
    // once the accept loop and every connection are done with them.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lanes = Arc::new(fanout::Lanes::new(cores, {
        let runtime = runtime.clone();
        move |tasks| {
            for task in tasks {
                runtime.spawn(task);
            }
        }
    }));
    let rt = runtime.clone();
    runtime.spawn(async move {
        accept_loop(
            rt,
            listener,
            Arc::new(config),
            tls,
            handler,
            shutdown,
            lanes,
        )
        .await;
    });
    Ok(server)
}

async fn accept_loop<R, H, F>(
    runtime: R,
    listener: R::Listener,
    // Shared: every connection's task holds it for its whole life, so a copy each would cost
    // every idle stream the size of `Config`.
    config: Arc<Config>,
    tls: Option<TlsConfig>,
    handler: Arc<H>,
    shutdown: Arc<Shutdown>,
    lanes: Arc<fanout::Lanes>,
) where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    loop {
        if shutdown.stopping.load(Ordering::SeqCst) {
            return;
        }
        listener!(shutdown.stop => stop);
        if shutdown.stopping.load(Ordering::SeqCst) {
            return;
        }
        // `accept` first: a connection ready as `stop` fires is served, not dropped.
        let accepted = conn::with_deadline(R::accept(&listener), stop).await;
        match accepted {
            None => continue,
            Some(Ok((conn, remote_addr))) => {
                // The caps: nothing already open is disturbed; the newcomer gets a `503`, or
                // on TLS is closed here: a `503` there would come after a handshake, whose key
                // exchange and signature are the costliest part of a connection, spent on
                // load the server has just said it cannot take.
                let ip = remote_addr.ip();
                let per_ip = config.max_connections_per_ip < usize::MAX;
                let over = shutdown.connections.load(Ordering::SeqCst) >= config.max_connections
                    || (per_ip && !shutdown.admission.enter(ip, config.max_connections_per_ip));
                if over {
                    shutdown.stats.closed(stats::Limit::OverCap, remote_addr);
                    if tls.is_none() && shutdown.admission.start_rejecting() {
                        runtime.spawn(admit::reject::<R>(conn, shutdown.clone()));
                    }
                    continue;
                }
                shutdown.connections.fetch_add(1, Ordering::SeqCst);
                let guard = ConnGuard(shutdown.clone(), per_ip.then_some(ip));
                if let Some(tls) = &tls {
                    // The handshake runs in the connection's task, with the config of now.
                    runtime.spawn(tls::serve_connection(
                        runtime.clone(),
                        tls.server_config(),
                        (conn, remote_addr),
                        config.clone(),
                        handler.clone(),
                        lanes.clone(),
                        guard,
                    ));
                    continue;
                }
                let accepted = conn::Accepted {
                    conn,
                    try_clone: R::try_clone,
                    remote_addr,
                    protocol: conn::Protocol::Sniff,
                };
                let task = conn::serve_connection(
                    runtime.clone(),
                    accepted,
                    config.clone(),
                    handler.clone(),
                    lanes.clone(),
                    guard,
                );
                runtime.spawn(task);
            }
            Some(Err(e)) => {
                // Out of file descriptors and similar: back off instead of spinning, but not
                // past a shutdown.
                if !is_connection_error(&e) {
                    sleep_unless_stopping::<R>(&shutdown, ACCEPT_BACKOFF).await;
                }
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Counts a connection as open until dropped (and from its address, when that is counted).
pub(crate) struct ConnGuard(pub(crate) Arc<Shutdown>, pub(crate) Option<IpAddr>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Some(ip) = self.1 {
            self.0.admission.leave(ip);
        }
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
        self.0.closed.notify(usize::MAX);
    }
}
