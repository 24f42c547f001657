//! Three instances (each its own hub, its own connections and its own reader task) on one real
//! `redis-server`; clients that hop between them at random while all three publish. Every
//! client gets every event exactly once, in the stream's order (dense ids: the same order on every
//! instance). Then Redis paused for 5 s (SIGSTOP): no duplicate, no reset, delivery resumes. Then
//! Redis restarted without persistence: exactly one reset per client, and delivery resumes.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Client, RedisServer, behind, totals};
use futures_lite::StreamExt;
use ssewire::{Decoder, Event};
use ssewire_redis::{Config, RedisHub};
use ssewire_stream::HubConfig;

const INSTANCES: usize = 3;
const CLIENTS: usize = 24;
const EVENTS: usize = 10_002;

async fn run_client(
    seed: u64,
    instances: Arc<Vec<RedisHub>>,
    state: Arc<Mutex<Client>>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut random = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut at = (random() % INSTANCES as u64) as usize;
    while !stop.load(Ordering::SeqCst) {
        let last = state.lock().unwrap().last.clone();
        let mut sub = instances[at].subscribe("t", last.as_deref()).await.unwrap();
        let budget = 5 + random() % 60;
        let mut decoder = Decoder::new();
        let mut taken = 0;
        while taken < budget {
            let next = futures_lite::future::or(async { Some(sub.next().await) }, async {
                async_io::Timer::after(Duration::from_millis(100)).await;
                None
            })
            .await;
            let Some(Some(frame)) = next else {
                break;
            };
            let mut buf = bytes::BytesMut::from(&frame[..]);
            while let Some(event) = decoder.decode(&mut buf).unwrap() {
                taken += 1;
                state.lock().unwrap().record(&event);
            }
        }
        drop(sub);
        // Hop: to another instance, with the id the client has (as a browser would).
        at = (at + 1 + (random() % (INSTANCES as u64 - 1)) as usize) % INSTANCES;
        state.lock().unwrap().hops += 1;
    }
}

/// Publishes `per_instance` events from every instance at once; returns how many succeeded.
async fn publish_all(instances: &Arc<Vec<RedisHub>>, per_instance: usize, retry: bool) -> u64 {
    let ok = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..INSTANCES)
        .map(|i| {
            let (instances, ok) = (instances.clone(), ok.clone());
            smol::spawn(async move {
                for k in 0..per_instance {
                    loop {
                        let event = Event::new(format!("{i}:{k}"));
                        if instances[i].publish("t", &event).await.is_ok() {
                            ok.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if !retry {
                            break;
                        }
                        async_io::Timer::after(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    ok.load(Ordering::SeqCst)
}

/// Waits until every client's last id is the stream's newest.
async fn caught_up(redis: &RedisServer, clients: &[Arc<Mutex<Client>>], within: Duration) {
    let newest = newest_id(redis);
    let deadline = Instant::now() + within;
    loop {
        let behind = behind(clients, &newest);
        if behind == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{behind} clients not at {newest}"
        );
        async_io::Timer::after(Duration::from_millis(50)).await;
    }
}

fn newest_id(redis: &RedisServer) -> String {
    let out = std::process::Command::new("redis-cli")
        .arg("-s")
        .arg(redis.socket())
        .args(["XREVRANGE", "ssewire:{t}", "+", "-", "COUNT", "1"])
        .output()
        .expect("redis-cli");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .next()
        .expect("a newest entry")
        .trim()
        .to_string()
}

#[test]
fn clients_hop_between_three_instances() {
    let mut redis = RedisServer::start("instances");
    smol::block_on(async {
        let config = Config {
            hub: HubConfig {
                backlog: 100_000,
                ..HubConfig::default()
            },
            block: Duration::from_millis(500),
            timeout: Duration::from_millis(500),
            retry: Duration::from_millis(50),
            ..Config::default()
        };
        let mut instances = Vec::new();
        for _ in 0..INSTANCES {
            let (hub, reader) = RedisHub::connect(&redis.url(), &["t"], config.clone())
                .await
                .unwrap();
            smol::spawn(reader).detach();
            instances.push(hub);
        }
        let instances = Arc::new(instances);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| Arc::new(Mutex::new(Client::default())))
            .collect();
        // The first event, so that every client starts from an id.
        instances[0]
            .publish("t", &Event::new("start"))
            .await
            .unwrap();
        for c in &clients {
            c.lock().unwrap().last = Some(newest_id(&redis));
            c.lock().unwrap().n = 1;
        }
        let tasks: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(k, c)| {
                smol::spawn(run_client(
                    k as u64 + 1,
                    instances.clone(),
                    c.clone(),
                    stop.clone(),
                ))
            })
            .collect();

        let started = Instant::now();
        let published = publish_all(&instances, EVENTS / INSTANCES, true).await;
        caught_up(&redis, &clients, Duration::from_secs(60)).await;
        let phase1 = totals(&clients);
        eprintln!(
            "hopping: {published} events published from {INSTANCES} instances, {CLIENTS} clients, {} hops, {} events received, {} duplicates, {} gaps, {} resets, {:?}",
            phase1.hops,
            phase1.events,
            phase1.duplicates,
            phase1.gaps,
            phase1.resets,
            started.elapsed()
        );
        assert_eq!(phase1.events, published * CLIENTS as u64);
        assert_eq!((phase1.duplicates, phase1.gaps, phase1.resets), (0, 0, 0));

        // Redis paused for 5 s: publishing fails meanwhile (within its timeout), then resumes;
        // nothing is lost from the stream, so no reset.
        let pid = redis.pid();
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status();
        let during = publish_all(&instances, 3, false).await;
        async_io::Timer::after(Duration::from_secs(5)).await;
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &pid.to_string()])
            .status();
        publish_all(&instances, 100, true).await;
        caught_up(&redis, &clients, Duration::from_secs(60)).await;
        let phase2 = totals(&clients);
        eprintln!(
            "paused 5 s: {during} publishes succeeded during the pause; then {} hops, {} events, {} duplicates, {} gaps, {} resets",
            phase2.hops - phase1.hops,
            phase2.events - phase1.events,
            phase2.duplicates,
            phase2.gaps,
            phase2.resets
        );
        assert_eq!((phase2.duplicates, phase2.gaps, phase2.resets), (0, 0, 0));

        // Redis restarted without persistence: the stream starts again, every reader sees the
        // jump, and every client gets one reset.
        redis.stop();
        redis.run();
        publish_all(&instances, 100, true).await;
        caught_up(&redis, &clients, Duration::from_secs(60)).await;
        stop.store(true, Ordering::SeqCst);
        for task in tasks {
            task.await;
        }
        let phase3 = totals(&clients);
        eprintln!(
            "restarted: {} hops, {} events, {} duplicates, {} gaps, {} resets",
            phase3.hops - phase2.hops,
            phase3.events - phase2.events,
            phase3.duplicates,
            phase3.gaps,
            phase3.resets
        );
        for c in &clients {
            assert_eq!(c.lock().unwrap().resets, 1, "{:?}", c.lock().unwrap());
        }
        assert_eq!((phase3.duplicates, phase3.gaps), (0, 0));
    });
}
