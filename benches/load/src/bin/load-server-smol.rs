//! The ssewire room server on smol (`ssewire_demo::room`, a [`Hub`] behind
//! `ssewire_smol::serve`) plus the load benchmark's `/control` publisher. Prints `PORT <port>`.
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
    // One executor thread per core, as the tokio (multi-thread runtime) and actix (one worker
    // per core) servers have, and the main thread drives the async-io reactor, as async-std's
    // runtime is laid out. (smol's global executor runs one thread unless `SMOL_THREADS` says
    // otherwise.) Experiment (`--local-executor`): the main thread alone runs both (no
    // cross-thread wake-ups).
    let threads = if args.local_executor {
        0
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    sys::server_prelude(args.max_life);
    let config = args.server_config();
    let hub = Hub::default();
    let publisher = Arc::new(Publisher::default());
    let executor = Arc::new(smol::Executor::new());
    for _ in 0..threads {
        let executor = executor.clone();
        std::thread::spawn(move || smol::block_on(executor.run(std::future::pending::<()>())));
    }
    let ex = executor.clone();
    let main = async move {
        let on = Some(ex.clone());
        start(&hub, &publisher, args.plan, on.as_ref());
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let handler = move |request: Request| {
            let (hub, publisher, on) = (hub.clone(), publisher.clone(), on.clone());
            async move {
                if request.path() != "/control" {
                    return ssewire_demo::room::handle(hub, request).await;
                }
                match Plan::from_query(request.query()) {
                    Some(plan) => {
                        start(&hub, &publisher, plan, on.as_ref());
                        Response::text("ok\n")
                    }
                    None => Response::status(StatusCode::BAD_REQUEST),
                }
            }
        };
        let server = if args.tls {
            let runtime = ssewire_smol::Smol::with_executor(&ex);
            ssewire_server::serve_tls(runtime, addr, config, sys::self_signed(), handler).await?
        } else {
            ssewire_smol::serve_on(&ex, addr, config, handler).await?
        };
        sys::announce_port(server.local_addr().port());
        server.stopped().await;
        Ok(())
    };
    if args.local_executor {
        smol::block_on(executor.run(main))
    } else {
        smol::block_on(main)
    }
}

/// Supersedes the running plan with `plan`, publishing through the hub.
fn start(
    hub: &Hub,
    publisher: &Arc<Publisher>,
    plan: Plan,
    on: Option<&Arc<smol::Executor<'static>>>,
) {
    let generation = publisher.supersede();
    let (hub, publisher) = (hub.clone(), publisher.clone());
    let task = async move {
        let publish = |_seq, data: String| {
            hub.publish(&Event::new(data));
        };
        let sleep_until = |at| async move {
            smol::Timer::at(at).await;
        };
        publisher.run(generation, plan, publish, sleep_until).await;
    };
    match on {
        Some(executor) => executor.spawn(task).detach(),
        None => smol::spawn(task).detach(),
    }
}
