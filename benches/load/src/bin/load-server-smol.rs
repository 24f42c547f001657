//! The ssewire room server on smol (`ssewire_demo::room`, a [`Hub`] behind
//! `ssewire_smol::serve`) plus the load benchmark's `/control` publisher. Prints `PORT <port>`.
//! `--tls`: HTTPS with a self-signed certificate made at start. `--redis URL`: the room's hub is
//! a `ssewire_redis::RedisHub` (topic `room`) shared by every instance run against that Redis,
//! and `/control` publishes through Redis (`loadtest-redis`, "Many instances" in the README).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ssewire::Event;
use ssewire_demo::room::Room;
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
        let room = match args.redis {
            Some(url) => {
                // The room demo's topic, so that its `/events` route subscribes to it.
                let (redis, reader) =
                    ssewire_redis::RedisHub::connect(url, &["room"], Default::default()).await?;
                ex.spawn(reader).detach();
                Room::Redis(redis)
            }
            None => Room::Local(hub),
        };
        let publish = Publish::new(&room, &ex);
        start(&publish, &publisher, args.plan, on.as_ref());
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let handler = move |request: Request| {
            let (room, publish, publisher, on) =
                (room.clone(), publish.clone(), publisher.clone(), on.clone());
            async move {
                if request.path() != "/control" {
                    return ssewire_demo::room::handle(room, request).await;
                }
                match Plan::from_query(request.query()) {
                    Some(plan) => {
                        start(&publish, &publisher, plan, on.as_ref());
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

/// Where the publisher's events go: the local hub, or a task that publishes them through
/// Redis one after another (so that they reach Redis in order; each is stamped before its round
/// trip, which the latency then includes).
#[derive(Clone)]
enum Publish {
    Local(Hub),
    Redis(smol::channel::Sender<String>),
}

impl Publish {
    fn new(room: &Room, executor: &Arc<smol::Executor<'static>>) -> Publish {
        match room {
            Room::Local(hub) => Publish::Local(hub.clone()),
            Room::Redis(redis) => {
                let (tx, rx) = smol::channel::unbounded::<String>();
                let redis = redis.clone();
                executor
                    .spawn(async move {
                        while let Ok(data) = rx.recv().await {
                            if let Err(e) = redis.publish("room", &Event::new(data)).await {
                                eprintln!("server: publish through Redis failed: {e}");
                            }
                        }
                    })
                    .detach();
                Publish::Redis(tx)
            }
        }
    }

    fn send(&self, data: String) {
        match self {
            Publish::Local(hub) => {
                hub.publish(&Event::new(data));
            }
            Publish::Redis(tx) => {
                let _ = tx.try_send(data);
            }
        }
    }
}

/// Supersedes the running plan with `plan`, publishing through `to`.
fn start(
    to: &Publish,
    publisher: &Arc<Publisher>,
    plan: Plan,
    on: Option<&Arc<smol::Executor<'static>>>,
) {
    let generation = publisher.supersede();
    let (to, publisher) = (to.clone(), publisher.clone());
    let task = async move {
        let publish = |_seq, data: String| to.send(data);
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
