//! The broadcast server on actix-web + actix-web-lab `sse`, the idiomatic way (actix's own
//! broadcast example): a channel per client (`Sse::from_infallible_receiver`, 15 s keep-alive),
//! a broadcaster holding the senders that `try_send`s each event to every client and drops the
//! closed ones; plus the load benchmark's `/control` publisher. Prints `PORT <port>`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, Responder, web};
use actix_web_lab::sse;
use bytestring::ByteString;
use ssewire_load::publish::{Plan, Publisher};
use ssewire_load::sys;
use tokio::sync::mpsc;

#[derive(Default)]
struct Broadcaster {
    clients: Mutex<Vec<mpsc::Sender<sse::Event>>>,
}

impl Broadcaster {
    fn broadcast(&self, seq: u64, data: String) {
        let data = ByteString::from(data);
        let id = ByteString::from(seq.to_string());
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.retain(|client| {
            let event = sse::Data::new(data.clone()).id(id.clone()).into();
            !matches!(
                client.try_send(event),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }
}

struct Shared {
    broadcaster: Broadcaster,
    publisher: Arc<Publisher>,
}

async fn events(shared: web::Data<Shared>) -> impl Responder {
    let (tx, rx) = mpsc::channel(16);
    shared
        .broadcaster
        .clients
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(tx);
    sse::Sse::from_infallible_receiver(rx).with_keep_alive(Duration::from_secs(15))
}

async fn control(shared: web::Data<Shared>, request: HttpRequest) -> HttpResponse {
    match Plan::from_query(Some(request.query_string())) {
        Some(plan) => {
            start(shared.into_inner(), plan);
            HttpResponse::Ok().body("ok\n")
        }
        None => HttpResponse::BadRequest().body("bad plan\n"),
    }
}

/// Supersedes the running plan with `plan` (the task runs on the current worker).
fn start(shared: Arc<Shared>, plan: Plan) {
    let generation = shared.publisher.supersede();
    actix_web::rt::spawn(async move {
        let publish = |seq, data| shared.broadcaster.broadcast(seq, data);
        let sleep_until = |at| tokio::time::sleep_until(tokio::time::Instant::from_std(at));
        shared
            .publisher
            .run(generation, plan, publish, sleep_until)
            .await;
    });
}

fn main() -> std::io::Result<()> {
    let args = sys::ServerArgs::from_env();
    sys::server_prelude(args.max_life);
    actix_web::rt::System::new().block_on(async move {
        let shared = web::Data::new(Shared {
            broadcaster: Broadcaster::default(),
            publisher: Arc::new(Publisher::default()),
        });
        start(shared.clone().into_inner(), args.plan);
        let data = shared.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/events", web::get().to(events))
                .route("/control", web::get().to(control))
        })
        // Events are small and must leave at once (as the other servers do).
        .tcp_nodelay(true)
        .bind(("127.0.0.1", 0))?;
        sys::announce_port(server.addrs()[0].port());
        server.run().await
    })
}
