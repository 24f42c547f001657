//! The broadcast server on axum: a `tokio::sync::broadcast` channel, each subscriber's stream
//! mapped to `axum::response::sse::Event`s (`id:` = sequence number) behind `Sse` with the
//! default `KeepAlive` (15 s), on tokio's multi-thread runtime; plus the load benchmark's
//! `/control` publisher. Prints `PORT <port>`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Router, serve};
use ssewire_load::publish::{Plan, Publisher};
use ssewire_load::sys;
use tokio::sync::broadcast;
use tokio_stream::Stream;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;

/// One published event: sequence number and data.
type Message = (u64, Arc<str>);

#[derive(Clone)]
struct App {
    tx: broadcast::Sender<Message>,
    publisher: Arc<Publisher>,
}

async fn events(State(app): State<App>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(app.tx.subscribe()).filter_map(|message| {
        // A lagging subscriber skips what it missed (`Lagged`), as tokio's broadcast does.
        let (seq, data) = message.ok()?;
        Some(Ok(Event::default().id(seq.to_string()).data(&*data)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn control(State(app): State<App>, RawQuery(query): RawQuery) -> (StatusCode, &'static str) {
    match Plan::from_query(query.as_deref()) {
        Some(plan) => {
            start(&app, plan);
            (StatusCode::OK, "ok\n")
        }
        None => (StatusCode::BAD_REQUEST, "bad plan\n"),
    }
}

/// Supersedes the running plan with `plan`.
fn start(app: &App, plan: Plan) {
    let generation = app.publisher.supersede();
    let app = app.clone();
    tokio::spawn(async move {
        let publish = |seq, data: String| {
            // No subscriber is not an error here.
            let _ = app.tx.send((seq, data.into()));
        };
        let sleep_until = |at| tokio::time::sleep_until(tokio::time::Instant::from_std(at));
        app.publisher
            .run(generation, plan, publish, sleep_until)
            .await;
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = sys::ServerArgs::from_env();
    sys::server_prelude(args.max_life);
    let app = App {
        tx: broadcast::channel(256).0,
        publisher: Arc::new(Publisher::default()),
    };
    start(&app, args.plan);
    let router = Router::new()
        .route("/events", get(events))
        .route("/control", get(control))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    sys::announce_port(listener.local_addr()?.port());
    let listener = listener.tap_io(|tcp| {
        // Events are small and must leave at once (as the other servers do).
        let _ = tcp.set_nodelay(true);
    });
    serve(listener, router).await
}
