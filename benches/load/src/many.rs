//! Many instances, one stream of events (`loadtest-redis`): several `load-server-smol --redis URL`
//! processes share one `redis-server` (started by the run on a unix socket in a temp dir, no
//! persistence, and stopped with it); the load client spreads its HTTP SSE streams over them
//! (real TCP on 127.0.0.1), one instance publishes at a fixed rate, and the run reports per
//! event the latency from the publish stamp to receipt (on every instance, and on the others
//! than the publisher's), each server's CPU, `redis-server`'s CPU (`/proc/<pid>/stat`) and the
//! Redis commands (`INFO commandstats`, reset before the window). The same streams on one
//! instance with the single-node hub (no Redis) are the comparison.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::client::{self, Streams};
use crate::driver::{Pinning, Role, ServerProcess, ServerSpec, command_on};
use crate::proc;

/// Scale knobs of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Streams, spread evenly over the instances.
    pub streams: usize,
    /// Server instances sharing the Redis (the single-node comparison always has one).
    pub instances: usize,
    /// Events per second, published on the first instance.
    pub rate: f64,
    /// Length of the window, seconds.
    pub secs: f64,
    /// Streams handshaking at once while opening, per instance.
    pub concurrency: usize,
    /// Cores: every server and `redis-server` on `server`, this client on `client`.
    pub pin: Option<Pinning>,
}

impl Config {
    /// The run: 5 000 streams over 3 instances, 10 events/s for 10 s.
    pub fn full() -> Config {
        Config {
            streams: 5_000,
            instances: 3,
            rate: 10.0,
            secs: 10.0,
            concurrency: 64,
            pin: Pinning::default_for_machine(),
        }
    }

    /// Events each stream should receive.
    pub fn events(&self) -> u64 {
        (self.rate * self.secs).round().max(1.0) as u64
    }
}

/// A `redis-server` of the run's own on a unix socket in a temp dir, without persistence;
/// killed, reaped and its dir removed on drop.
#[derive(Debug)]
pub struct RedisServer {
    dir: PathBuf,
    child: Child,
}

impl RedisServer {
    /// Starts `redis-server --port 0 --unixsocket <tmp>/redis.sock --save '' --appendonly no`
    /// (on core `pin` if given) and waits (at most 10 s) until it answers.
    ///
    /// # Errors
    ///
    /// `redis-server` is not on the `PATH` (`apt-get install -y redis-server`) or did not come
    /// up.
    pub fn start(pin: Option<usize>) -> io::Result<RedisServer> {
        let dir =
            std::env::temp_dir().join(format!("ssewire-loadtest-redis-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let child = command_on(pin, "redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(dir.join("redis.sock"))
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("redis-server: {e}")))?;
        let redis = RedisServer { dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.command("PING").is_err() {
            if Instant::now() > deadline {
                return Err(io::Error::other("redis-server did not answer within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    /// The socket's path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// The URL the servers take (`--redis`).
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// The `redis-server` process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one inline command and returns the reply's text (a status, an error, an integer
    /// or a bulk string; enough for `PING`, `CONFIG RESETSTAT` and `INFO`).
    ///
    /// # Errors
    ///
    /// The socket could not be used or the reply is not one of those.
    pub fn command(&self, line: &str) -> io::Result<String> {
        let mut socket = UnixStream::connect(self.socket())?;
        socket.set_read_timeout(Some(Duration::from_secs(5)))?;
        socket.write_all(format!("{line}\r\n").as_bytes())?;
        let mut reader = BufReader::new(socket);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        let first = first.trim_end();
        match first.as_bytes().first() {
            Some(b'+' | b':') => Ok(first[1..].to_owned()),
            Some(b'$') => {
                let len: usize = first[1..]
                    .parse()
                    .map_err(|_| io::Error::other(format!("bad reply {first}")))?;
                let mut body = vec![0; len + 2];
                reader.read_exact(&mut body)?;
                body.truncate(len);
                String::from_utf8(body).map_err(io::Error::other)
            }
            _ => Err(io::Error::other(format!("redis: {first}"))),
        }
    }

    /// Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
    ///
    /// # Errors
    ///
    /// As [`RedisServer::command`].
    pub fn commands(&self) -> io::Result<BTreeMap<String, u64>> {
        let info = self.command("INFO commandstats")?;
        Ok(info
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest
                    .strip_prefix("calls=")?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((name.to_owned(), calls))
            })
            .collect())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One instance's part of a run.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// Streams opened on it.
    pub opened: usize,
    /// Of them, those that received every event, in order.
    pub complete: usize,
    /// Events delivered to its streams.
    pub delivered: u64,
    /// The server's CPU over the window, µs.
    pub cpu_us: u64,
    /// Its streams' latencies, ns, sorted.
    pub latencies: Vec<u64>,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Run {
    /// Through Redis (else the single-node hub).
    pub redis: bool,
    /// Per instance; the first published.
    pub instances: Vec<Instance>,
    /// Events published.
    pub published: u64,
    /// The window, s.
    pub window_s: f64,
    /// `redis-server`'s CPU over the window, µs (`None` without Redis).
    pub redis_cpu_us: Option<u64>,
    /// `redis-server`'s CPU over an idle window of the same length before, µs (its own timers,
    /// the readers' `XREAD BLOCK` timing out).
    pub redis_idle_cpu_us: Option<u64>,
    /// Redis commands over the window, by name (without the run's own `info`/`config`).
    pub commands: BTreeMap<String, u64>,
    /// Reads stamped by the kernel and in user space, all instances.
    pub stamps: (u64, u64),
}

impl Run {
    /// Streams, all instances.
    pub fn streams(&self) -> usize {
        self.instances.iter().map(|i| i.opened).sum()
    }

    /// Streams complete, all instances.
    pub fn complete(&self) -> usize {
        self.instances.iter().map(|i| i.complete).sum()
    }

    /// Events delivered, all instances.
    pub fn delivered(&self) -> u64 {
        self.instances.iter().map(|i| i.delivered).sum()
    }

    /// (p50, p99) in ms over the instances `from..`.
    pub fn percentiles(&self, from: usize) -> (f64, f64) {
        let mut all: Vec<u64> = self
            .instances
            .iter()
            .skip(from)
            .flat_map(|i| i.latencies.iter().copied())
            .collect();
        all.sort_unstable();
        (percentile(&all, 0.50), percentile(&all, 0.99))
    }

    /// Redis commands per published event: (round trips, all commands). A round trip is a
    /// command an instance sent ([`ROUND_TRIPS`]); the others ran inside the publish script.
    pub fn commands_per_event(&self) -> (f64, f64) {
        let per = |n: u64| n as f64 / self.published.max(1) as f64;
        let trips = self
            .commands
            .iter()
            .filter(|(name, _)| ROUND_TRIPS.contains(&name.as_str()))
            .map(|(_, calls)| calls)
            .sum();
        (per(trips), per(self.commands.values().sum()))
    }
}

/// The commands `ssewire_redis::RedisHub` sends (each a round trip): the publish script, the
/// reader's `XREAD`, a replay's `XRANGE`, the start's `XREVRANGE`, and loading the script.
pub const ROUND_TRIPS: [&str; 6] = [
    "evalsha",
    "eval",
    "xread",
    "xrange",
    "xrevrange",
    "script|load",
];

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

/// Measures `config.streams` streams with the single-node hub (`redis: None`, one instance) or
/// over `config.instances` instances sharing `redis`. `server` is `load-server-smol`. Must run
/// inside a `LocalSet` ([`crate::driver::block_on`]).
///
/// # Errors
///
/// A server did not start, streams did not open, or `/proc` or Redis could not be read.
pub async fn measure(
    config: &Config,
    server: &Path,
    redis: Option<&RedisServer>,
) -> io::Result<Run> {
    let instances = if redis.is_some() {
        config.instances.max(1)
    } else {
        1
    };
    let mut args = Vec::new();
    if let Some(redis) = redis {
        args = vec!["--redis".to_owned(), redis.url()];
    }
    let spec = ServerSpec {
        name: "ssewire-smol".into(),
        role: Role::Ours,
        path: server.to_owned(),
        args,
    };
    let max_secs = 120 + config.secs as u64 * 4 + (config.streams / 100) as u64;
    let servers = (0..instances)
        .map(|_| ServerProcess::start(&spec, max_secs, config.pin))
        .collect::<io::Result<Vec<_>>>()?;
    let publisher = servers[0].addr;
    let failed = |what: &str, streams: &Streams| {
        io::Error::other(format!(
            "{what}: {} of {} streams opened: {:?}",
            streams.opened(),
            streams.len(),
            streams.first_error()
        ))
    };

    // Warm-up: a few streams on every instance get a few events published on the first.
    let warm: Vec<Rc<Streams>> = servers
        .iter()
        .map(|s| Streams::open(s.addr, 8, 8))
        .collect();
    for streams in &warm {
        if !streams.wait_opened(Duration::from_secs(10)).await {
            return Err(failed("warm-up", streams));
        }
    }
    client::start_publishing(publisher, 100.0, 3).await?;
    for streams in &warm {
        if !streams.wait_events(3, Duration::from_secs(10)).await {
            return Err(io::Error::other("warm-up: an instance got no events"));
        }
    }
    for streams in warm {
        streams.close().await;
    }

    // The streams, spread evenly.
    let per = |i: usize| config.streams / instances + usize::from(i < config.streams % instances);
    let streams: Vec<Rc<Streams>> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| Streams::open(s.addr, per(i), config.concurrency))
        .collect();
    let open_timeout = Duration::from_secs(30 + (config.streams / 200) as u64);
    for s in &streams {
        if !s.wait_opened(open_timeout).await {
            let error = failed("load", s);
            for s in &streams {
                s.close().await;
            }
            return Err(error);
        }
    }

    // Redis's own CPU with the streams open and nothing published, over the same length.
    let window = Duration::from_secs_f64(config.secs);
    let redis_cpu = |redis: Option<&RedisServer>| redis.and_then(|r| proc::cpu_us(r.pid()));
    let idle_before = redis_cpu(redis);
    tokio::time::sleep(window).await;
    let redis_idle_cpu_us = redis_cpu(redis)
        .zip(idle_before)
        .map(|(after, before)| after.saturating_sub(before));

    let expected = config.events();
    for s in &streams {
        s.record_latency(true);
    }
    if let Some(redis) = redis {
        redis.command("CONFIG RESETSTAT")?;
    }
    let cpu = |s: &ServerProcess| proc::cpu_us(s.pid()).unwrap_or(0);
    let cpu_before: Vec<u64> = servers.iter().map(cpu).collect();
    let redis_before = redis_cpu(redis);
    let start = Instant::now();
    client::start_publishing(publisher, config.rate, expected).await?;
    let deadline = Duration::from_secs_f64(config.secs + 5.0 + config.streams as f64 / 2000.0);
    for s in &streams {
        let left = deadline.saturating_sub(start.elapsed());
        s.wait_events(expected, left).await;
    }
    let cpu_after: Vec<u64> = servers.iter().map(cpu).collect();
    let redis_after = redis_cpu(redis);
    let window_s = start.elapsed().as_secs_f64();
    let mut commands = match redis {
        Some(redis) => redis.commands()?,
        None => BTreeMap::new(),
    };
    // The run's own.
    commands.retain(|name, _| !name.starts_with("info") && !name.starts_with("config"));

    let mut measured = Vec::new();
    let mut stamps = (0, 0);
    for (i, s) in streams.iter().enumerate() {
        s.record_latency(false);
        let mut latencies = s.take_latencies();
        latencies.sort_unstable();
        let (kernel, user) = s.stamps();
        stamps = (stamps.0 + kernel, stamps.1 + user);
        measured.push(Instance {
            opened: s.opened(),
            complete: s
                .stats()
                .iter()
                .filter(|st| st.open && st.events == expected && st.out_of_order == 0)
                .count(),
            delivered: s.events(),
            cpu_us: cpu_after[i].saturating_sub(cpu_before[i]),
            latencies,
        });
        s.close().await;
    }
    drop(servers);
    Ok(Run {
        redis: redis.is_some(),
        instances: measured,
        published: expected,
        window_s,
        redis_cpu_us: redis_after
            .zip(redis_before)
            .map(|(after, before)| after.saturating_sub(before)),
        redis_idle_cpu_us,
        commands,
        stamps,
    })
}

/// The runs as one markdown table.
pub fn markdown(config: &Config, runs: &[Run]) -> String {
    let mut out = String::new();
    let cores = match config.pin {
        Some(pin) => format!(
            "servers and redis-server pinned to core {}, client to core {}",
            pin.server, pin.client
        ),
        None => "not pinned".to_owned(),
    };
    let _ = writeln!(
        out,
        "{} events/s × {} s published on instance 1. Latency: publish stamp → kernel receive \
         timestamp. Cores: {cores}. redis-server CPU: over the window, and (idle) over a window \
         of the same length with the streams open and nothing published.\n",
        config.rate, config.secs
    );
    out.push_str(
        "| hub | instances | streams | streams complete | p50 / p99, all (ms) \
         | p50 / p99, other instances (ms) | server CPU per delivered event (µs, all instances) \
         | each server's CPU per published event (µs) | redis-server CPU per event (µs; idle) \
         | Redis per event |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for run in runs {
        let (p50, p99) = run.percentiles(0);
        let others = if run.instances.len() > 1 {
            let (p50, p99) = run.percentiles(1);
            format!("{p50:.2} / {p99:.2}")
        } else {
            "–".to_owned()
        };
        let total_cpu: u64 = run.instances.iter().map(|i| i.cpu_us).sum();
        let each = run
            .instances
            .iter()
            .map(|i| format!("{:.0}", i.cpu_us as f64 / run.published.max(1) as f64))
            .collect::<Vec<_>>()
            .join(" / ");
        let per_event = |us: Option<u64>| {
            us.map_or("–".to_owned(), |us| {
                format!("{:.0}", us as f64 / run.published.max(1) as f64)
            })
        };
        let redis_cpu = match run.redis_cpu_us {
            Some(_) => format!(
                "{} ({})",
                per_event(run.redis_cpu_us),
                per_event(run.redis_idle_cpu_us)
            ),
            None => "–".to_owned(),
        };
        let commands = if run.redis {
            let detail = run
                .commands
                .iter()
                .map(|(name, calls)| {
                    format!(
                        "{:.2} `{name}`",
                        *calls as f64 / run.published.max(1) as f64
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let (trips, all) = run.commands_per_event();
            format!("{trips:.2} round trips, {all:.2} commands ({detail})")
        } else {
            "0".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}/{} | {p50:.2} / {p99:.2} | {others} | {:.2} | {each} | {redis_cpu} \
             | {commands} |",
            if run.redis { "Redis" } else { "single node" },
            run.instances.len(),
            run.streams(),
            run.complete(),
            run.streams(),
            total_cpu as f64 / run.delivered().max(1) as f64,
        );
    }
    out
}
