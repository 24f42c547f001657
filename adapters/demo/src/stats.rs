//! `GET /stats`: the server's [`Stats`] snapshot as JSON, beside any demo's routes.
//!
//! The handler exists before the server it reports on, so the route starts empty (`503`) and is
//! given the server once it runs:
//!
//! ```no_run
//! # async fn demo<R: ssewire_server::Runtime>(runtime: R) -> std::io::Result<()> {
//! use ssewire_demo::stats::StatsRoute;
//! use ssewire_server::Config;
//!
//! let stats = StatsRoute::default();
//! let handler = stats.around(ssewire_demo::chat::handle::<R>);
//! let addr = "127.0.0.1:3000".parse().unwrap();
//! let server = ssewire_server::serve(runtime, addr, Config::default(), handler).await?;
//! stats.serve_from(&server);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use ssewire_server::{Method, Request, Response, Runtime, Server, Stats, StatusCode};

/// The source of a running server's stats.
type Source = Box<dyn Fn() -> Stats + Send + Sync>;

/// The `/stats` route: empty until [`serve_from`](StatsRoute::serve_from) names the server.
#[derive(Clone, Default)]
pub struct StatsRoute(Arc<OnceLock<Source>>);

impl core::fmt::Debug for StatsRoute {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StatsRoute")
            .field("serving", &self.0.get().is_some())
            .finish()
    }
}

/// A request's answer, boxed: the demos' handlers are of different types.
pub type Answer = Pin<Box<dyn Future<Output = Response> + Send>>;

impl StatsRoute {
    /// Reports `server`'s stats from now on (the first server given is kept).
    pub fn serve_from<R: Runtime>(&self, server: &Server<R>) {
        let server = server.clone();
        let _ = self.0.set(Box::new(move || server.stats()));
    }

    /// The answer to `GET /stats`: the snapshot as JSON, or `503` before the server runs.
    pub fn response(&self) -> Response {
        match self.0.get() {
            Some(stats) => Response::bytes(
                StatusCode::OK,
                "application/json",
                to_json(&stats()).to_string(),
            ),
            None => Response::status(StatusCode::SERVICE_UNAVAILABLE),
        }
    }

    /// `handler`, with `GET /stats` answered by this route.
    pub fn around<H, F>(&self, handler: H) -> impl Fn(Request) -> Answer + Send + Sync + 'static
    where
        H: Fn(Request) -> F + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        let route = self.clone();
        move |request: Request| -> Answer {
            if request.method() == Method::GET && request.path() == "/stats" {
                let response = route.response();
                Box::pin(async move { response })
            } else {
                Box::pin(handler(request))
            }
        }
    }
}

/// A snapshot as a JSON object, one member per field of [`Stats`].
pub fn to_json(stats: &Stats) -> serde_json::Value {
    serde_json::json!({
        "http1_connections": stats.http1_connections,
        "http2_connections": stats.http2_connections,
        "event_streams": stats.event_streams,
        "hub_subscribers": stats.hub_subscribers,
        "event_streams_served": stats.event_streams_served,
        "bytes_written": stats.bytes_written,
        "closed_send_timeout": stats.closed_send_timeout,
        "closed_header_timeout": stats.closed_header_timeout,
        "closed_body_timeout": stats.closed_body_timeout,
        "closed_http2_idle": stats.closed_http2_idle,
        "closed_http2_stream_stalled": stats.closed_http2_stream_stalled,
        "closed_slow_subscriber": stats.closed_slow_subscriber,
        "closed_tls_handshake_timeout": stats.closed_tls_handshake_timeout,
        "refused_over_cap": stats.refused_over_cap,
    })
}
