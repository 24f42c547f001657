//! The ssewire room server on smol (`adapters/demo/room_app.rs`, a [`Hub`] behind
//! `ssewire_smol::serve`) plus the load benchmark's `/control` publisher. Prints `PORT <port>`.

#[path = "../../../../adapters/demo/room_app.rs"]
mod room_app;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ssewire::server::{Request, Response, StatusCode};
use ssewire::{Event, Hub};
use ssewire_load::publish::{Plan, Publisher};
use ssewire_load::sys;

fn main() -> std::io::Result<()> {
    let args = sys::ServerArgs::from_env();
    sys::server_prelude(args.max_life);
    let hub = Hub::default();
    let publisher = Arc::new(Publisher::default());
    smol::block_on(async {
        start(&hub, &publisher, args.plan);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let server = ssewire_smol::serve(addr, move |request: Request| {
            let (hub, publisher) = (hub.clone(), publisher.clone());
            async move {
                if request.path() != "/control" {
                    return room_app::handle(hub, request).await;
                }
                match Plan::from_query(request.query()) {
                    Some(plan) => {
                        start(&hub, &publisher, plan);
                        Response::text("ok\n")
                    }
                    None => Response::status(StatusCode::BAD_REQUEST),
                }
            }
        })
        .await?;
        sys::announce_port(server.local_addr().port());
        server.stopped().await;
        Ok(())
    })
}

/// Supersedes the running plan with `plan`, publishing through the hub.
fn start(hub: &Hub, publisher: &Arc<Publisher>, plan: Plan) {
    let generation = publisher.supersede();
    let (hub, publisher) = (hub.clone(), publisher.clone());
    smol::spawn(async move {
        let publish = |_seq, data: String| {
            hub.publish(&Event::new(data));
        };
        let sleep_until = |at| async move {
            smol::Timer::at(at).await;
        };
        publisher.run(generation, plan, publish, sleep_until).await;
    })
    .detach();
}
