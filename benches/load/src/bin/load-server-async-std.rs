//! The ssewire room server on async-std (`ssewire_demo::room`, a [`Hub`] behind
//! `ssewire_async_std::serve`) plus the load benchmark's `/control` publisher. Prints `PORT <port>`.
//! `--tls`: HTTPS with a self-signed certificate made at start.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ssewire::Event;
use ssewire_load::publish::{Plan, Publisher};
use ssewire_load::sys;
use ssewire_server::{Request, Response, StatusCode};
use ssewire_stream::Hub;

fn main() -> std::io::Result<()> {
    let args = sys::ServerArgs::from_env();
    sys::server_prelude(args.max_life);
    let config = args.server_config();
    let hub = Hub::default();
    let publisher = Arc::new(Publisher::default());
    async_std::task::block_on(async {
        start(&hub, &publisher, args.plan);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let handler = move |request: Request| {
            let (hub, publisher) = (hub.clone(), publisher.clone());
            async move {
                if request.path() != "/control" {
                    return ssewire_demo::room::handle(hub, request).await;
                }
                match Plan::from_query(request.query()) {
                    Some(plan) => {
                        start(&hub, &publisher, plan);
                        Response::text("ok\n")
                    }
                    None => Response::status(StatusCode::BAD_REQUEST),
                }
            }
        };
        let server = if args.tls {
            ssewire_async_std::serve_tls_with(addr, config, sys::self_signed(), handler).await?
        } else {
            ssewire_async_std::serve_with(addr, config, handler).await?
        };
        sys::announce_port(server.local_addr().port());
        server.stopped().await;
        Ok(())
    })
}

/// Supersedes the running plan with `plan`, publishing through the hub.
fn start(hub: &Hub, publisher: &Arc<Publisher>, plan: Plan) {
    let generation = publisher.supersede();
    let (hub, publisher) = (hub.clone(), publisher.clone());
    async_std::task::spawn(async move {
        let publish = |_seq, data: String| {
            hub.publish(&Event::new(data));
        };
        let sleep_until = |at: std::time::Instant| async move {
            async_std::task::sleep(at.saturating_duration_since(std::time::Instant::now())).await;
        };
        publisher.run(generation, plan, publish, sleep_until).await;
    });
}
