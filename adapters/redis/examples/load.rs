//! Load figures of the Hub over Redis Streams against the single-node hub, in one process:
//! `cargo run --release -p ssewire-redis --example load` (needs `redis-server` on the PATH; it
//! starts its own on a unix socket without persistence, and stops it).
//!
//! Each scenario publishes events at a fixed rate from one instance to subscribers spread over
//! the instances (the hub's subscriptions, no HTTP: this measures the Redis layer and the hub's
//! fan-out), and prints per event: the latency from publish to receipt on another instance (on
//! the single node, on the only one), this process's CPU, `redis-server`'s CPU (from its
//! `/proc/<pid>/stat`) and the Redis commands (round trips), from `INFO commandstats`.
//! `--quick` runs each scenario for a tenth of the events.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use ssewire::Event;
use ssewire_redis::{Config, RedisHub};
use ssewire_stream::{Hub, HubConfig, Subscription};

/// A `redis-server` of this run's own, killed on drop.
struct Redis {
    dir: PathBuf,
    child: Child,
}

impl Redis {
    fn start() -> Redis {
        let dir = std::env::temp_dir().join(format!("ssewire-redis-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(dir.join("redis.sock"))
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server not found: bash .ci/install.sh");
        let redis = Redis { dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(redis.socket()).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        redis
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-s")
            .arg(self.socket())
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Calls per command since the last `CONFIG RESETSTAT`.
    fn commands(&self) -> HashMap<String, u64> {
        self.cli(&["INFO", "commandstats"])
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest
                    .strip_prefix("calls=")?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((name.to_string(), calls))
            })
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// User + system CPU time of process `pid` ("self" for this one).
fn cpu(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // CLK_TCK is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

struct Scenario {
    name: &'static str,
    redis: bool,
    subscribers: usize,
    rate: u64,
    events: u64,
}

/// Where a subscriber's frames are counted, and the latencies of the probes.
struct Sink {
    frames: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

fn spawn_subscriber(mut sub: Subscription, sink: Arc<Sink>, base: Instant, probe: bool) {
    smol::spawn(async move {
        while let Some(frame) = sub.next().await {
            sink.frames.fetch_add(1, Ordering::Relaxed);
            if probe {
                let text = std::str::from_utf8(&frame).unwrap_or("");
                if let Some(data) = text.split("data: ").nth(1) {
                    let sent: u64 = data.trim().parse().unwrap_or(0);
                    let now = base.elapsed().as_nanos() as u64;
                    sink.latencies
                        .lock()
                        .unwrap()
                        .push(Duration::from_nanos(now.saturating_sub(sent)));
                }
            }
        }
    })
    .detach();
}

async fn run(scenario: &Scenario, redis: &Redis) {
    let base = Instant::now();
    let hub_config = HubConfig {
        backlog: 100_000,
        ..HubConfig::default()
    };
    let sink = Arc::new(Sink {
        frames: AtomicU64::new(0),
        latencies: Mutex::new(Vec::new()),
    });
    let topic = format!("load-{}", scenario.name.replace(' ', "-"));
    let mut instances = Vec::new();
    let single = Hub::new(hub_config.clone());
    if scenario.redis {
        let config = Config {
            hub: hub_config,
            ..Config::default()
        };
        for _ in 0..3 {
            let (hub, reader) = RedisHub::connect(&redis.url(), &[topic.as_str()], config.clone())
                .await
                .unwrap();
            smol::spawn(reader).detach();
            instances.push(hub);
        }
        for k in 0..scenario.subscribers {
            let at = k % 3;
            let sub = instances[at].subscribe(&topic, None).await.unwrap();
            // Probes: one subscriber on each instance but the publisher's.
            spawn_subscriber(sub, sink.clone(), base, k < 3 && at != 0);
        }
    } else {
        for k in 0..scenario.subscribers {
            spawn_subscriber(single.subscribe(None), sink.clone(), base, k == 0);
        }
    }
    async_io::Timer::after(Duration::from_millis(200)).await;
    redis.cli(&["CONFIG", "RESETSTAT"]);
    let redis_pid = redis.child.id().to_string();
    let (cpu0, redis_cpu0, started) = (cpu("self"), cpu(&redis_pid), Instant::now());
    for i in 0..scenario.events {
        async_io::Timer::at(started + Duration::from_secs_f64(i as f64 / scenario.rate as f64))
            .await;
        let event = Event::new((base.elapsed().as_nanos() as u64).to_string());
        if scenario.redis {
            instances[0].publish(&topic, &event).await.unwrap();
        } else {
            single.publish(&event);
        }
    }
    let wanted = scenario.events * scenario.subscribers as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.frames.load(Ordering::Relaxed) < wanted && Instant::now() < deadline {
        async_io::Timer::after(Duration::from_millis(5)).await;
    }
    let (cpu1, redis_cpu1) = (cpu("self"), cpu(&redis_pid));
    let commands = redis.commands();
    let received = sink.frames.load(Ordering::Relaxed);
    let mut latencies = std::mem::take(&mut *sink.latencies.lock().unwrap());
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / scenario.events as f64;
    let calls = |name: &str| commands.get(name).copied().unwrap_or(0);
    // What the instances sent (the script's own INCR, XADD and trims run inside Redis).
    let round_trips = [
        "evalsha",
        "eval",
        "xread",
        "xrange",
        "xrevrange",
        "script|load",
    ]
    .iter()
    .map(|name| calls(name))
    .sum::<u64>();
    if std::env::var_os("LOAD_COMMANDS").is_some() {
        eprintln!("{commands:?}");
    }
    println!(
        "| {} | {} | {} ev/s × {} | {:.2} / {:.2} ms | {:.1} µs | {:.1} µs | {:.2} (evalsha {}, xread {}) | {}/{} |",
        scenario.name,
        scenario.subscribers,
        scenario.rate,
        scenario.events,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        per_event(cpu1 - cpu0),
        if scenario.redis {
            per_event(redis_cpu1 - redis_cpu0)
        } else {
            0.0
        },
        round_trips as f64 / scenario.events as f64,
        calls("evalsha"),
        calls("xread"),
        received,
        wanted,
    );
    if scenario.redis {
        redis.cli(&[
            "DEL",
            &format!("ssewire:{{{topic}}}"),
            &format!("ssewire:{{{topic}}}:n"),
        ]);
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let redis = Redis::start();
    let scenarios = [
        Scenario {
            name: "single node",
            redis: false,
            subscribers: 30,
            rate: 1000,
            events: 5000,
        },
        Scenario {
            name: "redis, 3 instances",
            redis: true,
            subscribers: 30,
            rate: 1000,
            events: 5000,
        },
        // The same rate with 30 subscribers, to set beside 5 000: Redis's work per event.
        Scenario {
            name: "redis, 3 instances",
            redis: true,
            subscribers: 30,
            rate: 100,
            events: 500,
        },
        Scenario {
            name: "single node",
            redis: false,
            subscribers: 5000,
            rate: 100,
            events: 500,
        },
        Scenario {
            name: "redis, 3 instances",
            redis: true,
            subscribers: 5000,
            rate: 100,
            events: 500,
        },
    ];
    println!(
        "| hub | subscribers | published | latency p50 / p99 | this process CPU per event | redis-server CPU per event | Redis round trips per event | frames received |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    smol::block_on(async {
        for mut scenario in scenarios {
            scenario.events /= scale;
            run(&scenario, &redis).await;
        }
    });
}
