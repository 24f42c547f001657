//! The driver: for each server in turn, start it as a child process, measure it, kill it.
//!
//! Phases, per server (after a short warm-up: a few streams, a few events):
//! 1. **idle**: `VmRSS` before and after opening `idle_streams` streams (no events), divided by
//!    the streams;
//! 2. **load**: `load_streams` streams, `rate` events/s for `secs` s; server CPU (utime + stime)
//!    over the window divided by events delivered, and send→receive latency percentiles;
//! 3. **cycles**: fds and `VmRSS` before and after `cycles` connect/read-headers/close cycles
//!    (counted once back to the baseline, at most `cycle_settle` after the last cycle).

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::client::{self, Streams};
use crate::proc;

/// Scale knobs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Streams held open for the idle-memory phase.
    pub idle_streams: usize,
    /// Streams receiving events in the load phase.
    pub load_streams: usize,
    /// Events per second in the load phase.
    pub rate: f64,
    /// Length of the load phase, seconds.
    pub secs: f64,
    /// Connect/disconnect cycles.
    pub cycles: usize,
    /// Streams handshaking at once while opening.
    pub concurrency: usize,
    /// Longest wait, between phases, for a server to close what the client closed (a server
    /// that notices a disconnect only when it next writes closes at its keep-alive, 15 s).
    pub settle: Duration,
    /// How long after the connect/disconnect cycles the fds are counted (earlier if they are
    /// back to the baseline).
    pub cycle_settle: Duration,
    /// Pause after opening the idle streams before reading `VmRSS`.
    pub idle_pause: Duration,
    /// Cores for the server and for the load client (this process), when pinned: every server
    /// (ours and the peers alike) runs on one core, with as many worker threads as that gives it,
    /// and the client on another, so neither takes the other's time.
    pub pin: Option<Pinning>,
}

/// Which core runs what (see [`Config::pin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinning {
    /// The server's core (the child is started under `taskset`).
    pub server: usize,
    /// The load client's core (this process).
    pub client: usize,
}

impl std::str::FromStr for Pinning {
    type Err = ();

    /// `S,C` (the `--pin` flag): the server on core S, the client on core C.
    fn from_str(value: &str) -> Result<Pinning, ()> {
        match value.split_once(',').map(|(a, b)| (a.parse(), b.parse())) {
            Some((Ok(server), Ok(client))) => Ok(Pinning { server, client }),
            _ => Err(()),
        }
    }
}

/// A command that runs `program` on core `core` (under `taskset`, which execs it in place:
/// same pid, its affinity set before it starts), or as is without one.
pub(crate) fn command_on(core: Option<usize>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &core.to_string()]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

impl Pinning {
    /// Server on core 0, client on core 1, if the machine has two cores to give.
    pub fn default_for_machine() -> Option<Pinning> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores >= 2).then_some(Pinning {
            server: 0,
            client: 1,
        })
    }
}

impl Config {
    /// The configuration of the issue: 10k idle streams, 5k streams × 10 events/s × 10 s,
    /// 2k cycles.
    pub fn full() -> Config {
        Config {
            idle_streams: 10_000,
            load_streams: 5_000,
            rate: 10.0,
            secs: 10.0,
            cycles: 2_000,
            concurrency: 64,
            settle: Duration::from_secs(35),
            cycle_settle: Duration::from_secs(5),
            idle_pause: Duration::from_secs(2),
            pin: Pinning::default_for_machine(),
        }
    }

    /// A fast run for tests: 200 streams, 2 s.
    pub fn smoke() -> Config {
        Config {
            idle_streams: 200,
            load_streams: 200,
            rate: 10.0,
            secs: 2.0,
            cycles: 200,
            concurrency: 32,
            settle: Duration::from_secs(3),
            cycle_settle: Duration::from_secs(3),
            idle_pause: Duration::from_millis(300),
            pin: None,
        }
    }

    /// Events each stream should receive in the load phase.
    pub fn events_per_stream(&self) -> u64 {
        (self.rate * self.secs).round().max(1.0) as u64
    }
}

/// A server binary to measure.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Its name in the table.
    pub name: String,
    /// What it is in the comparison.
    pub role: Role,
    /// The executable.
    pub path: PathBuf,
    /// Its arguments (besides `--max-secs`).
    pub args: Vec<String>,
}

/// A server's part in the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// One of ours: compared against the best peer and the floor.
    Ours,
    /// A peer: the best of them sets each target.
    Peer,
    /// The reference: no runtime, no hub, one blocking `send` per stream per event from the
    /// publishing thread. About what the kernel charges any server per event.
    Floor,
}

/// The servers of a run, with executables in `dir` (the directory of the `loadtest` binary):
/// ours, the peers, and the floor.
pub fn default_servers(dir: &std::path::Path) -> Vec<ServerSpec> {
    [
        ("ssewire-smol", Role::Ours, "load-server-smol"),
        ("ssewire-async-std", Role::Ours, "load-server-async-std"),
        ("axum", Role::Peer, "load-server-axum"),
        ("actix-web-lab", Role::Peer, "load-server-actix"),
        ("floor", Role::Floor, "load-server-floor"),
    ]
    .into_iter()
    .map(|(name, role, bin)| ServerSpec {
        name: name.into(),
        role,
        path: dir.join(bin),
        args: Vec::new(),
    })
    .collect()
}

/// Servers measured only when named with `--servers`: `ssewire-smol-local`, the smol server
/// with its executor on the main (reactor) thread.
pub fn experiment_servers(dir: &std::path::Path) -> Vec<ServerSpec> {
    vec![ServerSpec {
        name: "ssewire-smol-local".into(),
        role: Role::Ours,
        path: dir.join("load-server-smol"),
        args: vec!["--local-executor".into()],
    }]
}

/// The idle-memory phase.
#[derive(Debug, Clone, Default)]
pub struct Idle {
    /// Streams that opened.
    pub opened: usize,
    /// `VmRSS` before opening, KiB.
    pub rss_before: u64,
    /// `VmRSS` with the streams open, KiB.
    pub rss_after: u64,
    /// fds with the streams open, minus before.
    pub fds_added: i64,
    /// Server threads with the streams open.
    pub threads: u64,
}

impl Idle {
    /// KiB per idle stream.
    pub fn per_stream_kib(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / self.opened.max(1) as f64
    }
}

/// The load phase.
#[derive(Debug, Clone, Default)]
pub struct Load {
    /// Streams that opened.
    pub opened: usize,
    /// Events each stream should have received.
    pub expected_per_stream: u64,
    /// Open streams that received every event, in order.
    pub complete: usize,
    /// Events delivered, all streams.
    pub delivered: u64,
    /// Server CPU over the window, µs.
    pub cpu_us: u64,
    /// Of `cpu_us`, the time spent in the kernel (system time), µs.
    pub sys_us: u64,
    /// The load client's own CPU over the window, µs (to show it is not the bottleneck).
    pub client_cpu_us: u64,
    /// The window, s.
    pub window_s: f64,
    /// Latency percentiles, ms: p50, p99, max.
    pub p50_ms: f64,
    /// p99, ms.
    pub p99_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
    /// Reads stamped by the kernel, and in user space.
    pub stamps: (u64, u64),
    /// Events out of sequence, all streams.
    pub out_of_order: u64,
}

impl Load {
    /// Server CPU per delivered event, µs.
    pub fn cpu_per_event_us(&self) -> f64 {
        self.cpu_us as f64 / self.delivered.max(1) as f64
    }

    /// The kernel's share of the server CPU over the window, %.
    pub fn kernel_percent(&self) -> f64 {
        self.sys_us as f64 * 100.0 / self.cpu_us.max(1) as f64
    }
}

/// The connect/disconnect phase.
#[derive(Debug, Clone, Default)]
pub struct Cycles {
    /// Cycles asked for.
    pub asked: usize,
    /// Cycles that got a `200`.
    pub ok: usize,
    /// fds before and after.
    pub fds_before: u64,
    /// fds after (once settled, or at the settle deadline).
    pub fds_after: u64,
    /// `VmRSS` before, KiB.
    pub rss_before: u64,
    /// `VmRSS` after, KiB.
    pub rss_after: u64,
    /// How long the fds took to return to the baseline (the settle limit if they did not).
    pub settled_in: Duration,
}

impl Cycles {
    /// fds after minus before.
    pub fn fd_growth(&self) -> i64 {
        self.fds_after as i64 - self.fds_before as i64
    }

    /// KiB after minus before.
    pub fn rss_growth(&self) -> i64 {
        self.rss_after as i64 - self.rss_before as i64
    }
}

/// The TLS handshake phase (`--tls` only): full handshakes (no resumption), each connection
/// closed once its handshake is done.
#[derive(Debug, Clone, Default)]
pub struct Handshakes {
    /// Handshakes asked for.
    pub asked: usize,
    /// Handshakes that completed.
    pub ok: usize,
    /// At most this many at once.
    pub in_flight: usize,
    /// The window, s.
    pub window_s: f64,
    /// Server CPU over the window, µs.
    pub cpu_us: u64,
}

impl Handshakes {
    /// Completed handshakes per second.
    pub fn per_s(&self) -> f64 {
        self.ok as f64 / self.window_s.max(1e-9)
    }

    /// Server CPU per completed handshake, µs.
    pub fn cpu_per_handshake_us(&self) -> f64 {
        self.cpu_us as f64 / self.ok.max(1) as f64
    }
}

/// Everything measured for one server.
#[derive(Debug, Clone)]
pub struct ServerResult {
    /// The server.
    pub spec: ServerSpec,
    /// Phase 1.
    pub idle: Idle,
    /// Phase 2.
    pub load: Load,
    /// Phase 3.
    pub cycles: Cycles,
    /// Phase 4, over TLS only.
    pub handshakes: Option<Handshakes>,
}

/// A started server, killed (and reaped) on drop.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl ServerProcess {
    pub(crate) fn start(
        spec: &ServerSpec,
        max_secs: u64,
        pin: Option<Pinning>,
    ) -> io::Result<ServerProcess> {
        // Pinned before the server's runtime counts the cores it may use.
        let mut child = command_on(pin.map(|p| p.server), &spec.path)
            .args(&spec.args)
            .args(["--max-secs", &max_secs.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", spec.path.display())))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Reads the port line, then keeps draining so the server never blocks on stdout.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line.strip_prefix("PORT ") {
                    let _ = tx.send(port.trim().parse::<u16>().ok());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(port)) => {
                server.addr.set_port(port);
                Ok(server)
            }
            _ => Err(io::Error::other(format!(
                "{} did not print its port",
                spec.name
            ))),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls the server's fd count until it is at most `target` or `limit` passes; returns the
/// count and the time taken.
async fn settle_fds(pid: u32, target: u64, limit: Duration) -> (u64, Duration) {
    let start = Instant::now();
    loop {
        let fds = proc::fds(pid).unwrap_or(0);
        if fds <= target || start.elapsed() >= limit {
            return (fds, start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn missing(what: &str) -> io::Error {
    io::Error::other(format!("cannot read {what} from /proc"))
}

/// Measures one server. Must run inside a `LocalSet`.
///
/// # Errors
///
/// The server did not start, `/proc` could not be read, or streams failed to open.
pub async fn measure(config: &Config, spec: &ServerSpec) -> io::Result<ServerResult> {
    let max_secs = 120
        + (config.secs as u64) * 4
        + (config.idle_streams / 100) as u64
        + 3 * config.settle.as_secs();
    let server = ServerProcess::start(spec, max_secs, config.pin)?;
    let (addr, pid) = (server.addr, server.pid());
    let rss = || proc::rss_kib(pid).ok_or_else(|| missing("VmRSS"));
    let fds = || proc::fds(pid).ok_or_else(|| missing("fd"));
    let open_timeout = Duration::from_secs(30 + (config.idle_streams / 200) as u64);

    // Warm-up: threads, buffers and code paths that every server sets up once.
    let warm = Streams::open(addr, 16, 16);
    if !warm.wait_opened(Duration::from_secs(10)).await {
        return Err(io::Error::other(format!(
            "{}: warm-up streams did not open: {:?}",
            spec.name,
            warm.first_error()
        )));
    }
    client::start_publishing(addr, 100.0, 3).await?;
    warm.wait_events(3, Duration::from_secs(5)).await;
    warm.close().await;
    let fds_base = fds()?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 1. Idle memory.
    let rss_before = rss()?;
    let fds_before = fds()?;
    let streams = Streams::open(addr, config.idle_streams, config.concurrency);
    let all = streams.wait_opened(open_timeout).await;
    tokio::time::sleep(config.idle_pause).await;
    let idle = Idle {
        opened: streams.opened(),
        rss_before,
        rss_after: rss()?,
        fds_added: fds()? as i64 - fds_before as i64,
        threads: proc::threads(pid).unwrap_or(0),
    };
    let error = streams.first_error();
    streams.close().await;
    if !all {
        return Err(io::Error::other(format!(
            "{}: {} of {} idle streams opened: {error:?}",
            spec.name, idle.opened, config.idle_streams
        )));
    }
    settle_fds(pid, fds_base, config.settle).await;

    // 2. CPU per event and latency.
    let streams = Streams::open(addr, config.load_streams, config.concurrency);
    let all = streams.wait_opened(open_timeout).await;
    if !all {
        let error = streams.first_error();
        streams.close().await;
        return Err(io::Error::other(format!(
            "{}: {} of {} load streams opened: {error:?}",
            spec.name,
            streams.opened(),
            config.load_streams
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expected = config.events_per_stream();
    streams.record_latency(true);
    let me = std::process::id();
    let client_before = proc::cpu_us(me).unwrap_or(0);
    let cpu_before = proc::cpu_split_us(pid).ok_or_else(|| missing("stat"))?;
    let start = Instant::now();
    client::start_publishing(addr, config.rate, expected).await?;
    streams
        .wait_events(
            expected,
            Duration::from_secs_f64(config.secs + 5.0 + config.load_streams as f64 / 2000.0),
        )
        .await;
    let cpu_after = proc::cpu_split_us(pid).ok_or_else(|| missing("stat"))?;
    let client_after = proc::cpu_us(me).unwrap_or(0);
    let window_s = start.elapsed().as_secs_f64();
    streams.record_latency(false);
    let stats = streams.stats();
    let mut latencies = streams.take_latencies();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1] as f64 / 1e6
    };
    let load = Load {
        opened: streams.opened(),
        expected_per_stream: expected,
        complete: stats
            .iter()
            .filter(|s| s.open && s.events == expected && s.out_of_order == 0)
            .count(),
        delivered: streams.events(),
        cpu_us: (cpu_after.0 + cpu_after.1).saturating_sub(cpu_before.0 + cpu_before.1),
        sys_us: cpu_after.1.saturating_sub(cpu_before.1),
        client_cpu_us: client_after.saturating_sub(client_before),
        window_s,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        stamps: streams.stamps(),
        out_of_order: stats.iter().map(|s| s.out_of_order).sum(),
    };
    streams.close().await;
    settle_fds(pid, fds_base, config.settle).await;

    // 3. Connect/disconnect cycles.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fds_before = fds()?;
    let rss_before = rss()?;
    let ok = client::connect_cycles(addr, config.cycles, config.concurrency).await;
    let (fds_after, settled_in) = settle_fds(pid, fds_before, config.cycle_settle).await;
    let cycles = Cycles {
        asked: config.cycles,
        ok,
        fds_before,
        fds_after,
        rss_before,
        rss_after: rss()?,
        settled_in,
    };
    // 4. TLS handshakes per second: as many as the cycles, 64 in flight.
    let handshakes = if crate::tls::enabled() {
        settle_fds(pid, fds_base, config.cycle_settle).await;
        let in_flight = 64;
        let cpu_before = proc::cpu_us(pid).ok_or_else(|| missing("stat"))?;
        let start = Instant::now();
        let ok = client::handshakes(addr, config.cycles, in_flight).await;
        let window_s = start.elapsed().as_secs_f64();
        let cpu_after = proc::cpu_us(pid).ok_or_else(|| missing("stat"))?;
        Some(Handshakes {
            asked: config.cycles,
            ok,
            in_flight,
            window_s,
            cpu_us: cpu_after.saturating_sub(cpu_before),
        })
    } else {
        None
    };
    drop(server);
    Ok(ServerResult {
        spec: spec.clone(),
        idle,
        load,
        cycles,
        handshakes,
    })
}

/// Measures every server in turn, printing progress to stderr.
///
/// # Errors
///
/// The first server that could not be measured.
pub async fn run(config: &Config, servers: &[ServerSpec]) -> io::Result<Vec<ServerResult>> {
    let mut results = Vec::new();
    for spec in servers {
        eprintln!("loadtest: measuring {} …", spec.name);
        let started = Instant::now();
        let result = measure(config, spec).await?;
        eprintln!(
            "loadtest: {} done in {:.1} s: {:.2} KiB/idle stream, {:.1} µs/event, p99 {:.2} ms, \
             {}/{} streams complete, fd growth {} (after {:.1} s), reads stamped kernel/user {:?}",
            spec.name,
            started.elapsed().as_secs_f64(),
            result.idle.per_stream_kib(),
            result.load.cpu_per_event_us(),
            result.load.p99_ms,
            result.load.complete,
            result.load.opened,
            result.cycles.fd_growth(),
            result.cycles.settled_in.as_secs_f64(),
            result.load.stamps,
        );
        if let Some(h) = &result.handshakes {
            eprintln!(
                "loadtest: {} TLS handshakes: {}/{} in {:.2} s ({} in flight): {:.0}/s, \
                 {:.0} µs server CPU each",
                spec.name,
                h.ok,
                h.asked,
                h.window_s,
                h.in_flight,
                h.per_s(),
                h.cpu_per_handshake_us(),
            );
        }
        results.push(result);
    }
    Ok(results)
}

/// Runs `body` on a one-thread tokio runtime inside a `LocalSet` (what the client needs).
///
/// # Panics
///
/// The runtime could not be built.
pub fn block_on<F: std::future::Future>(body: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio::task::LocalSet::new().block_on(&runtime, body)
}

fn fd_cell(cycles: &Cycles) -> String {
    let secs = cycles.settled_in.as_secs_f64();
    if cycles.fd_growth() <= 0 {
        format!("{} (back in {secs:.1} s)", cycles.fd_growth())
    } else {
        format!("{} (after {secs:.1} s)", cycles.fd_growth())
    }
}

/// The results as markdown: the table and the ratios of our servers to the best peer.
pub fn markdown(config: &Config, results: &[ServerResult]) -> String {
    let mut out = String::new();
    let stamps: (u64, u64) = results.iter().fold((0, 0), |acc, r| {
        (acc.0 + r.load.stamps.0, acc.1 + r.load.stamps.1)
    });
    let clock = match stamps {
        (_, 0) => "kernel receive timestamps (SO_TIMESTAMPNS via recvmsg)",
        (0, _) => "user-space receive time",
        _ => "kernel receive timestamps, some reads user-space",
    };
    let cores = match config.pin {
        Some(pin) => format!(
            "server pinned to core {}, client to core {}",
            pin.server, pin.client
        ),
        None => "not pinned".to_owned(),
    };
    let transport = match crate::tls::h2_streams_per_conn() {
        Some(n) => format!(" Transport: HTTP/2 over TLS, {n} streams per connection."),
        None if crate::tls::enabled() => " Transport: HTTP/1.1 over TLS.".to_owned(),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "Idle: {} streams. Load: {} streams × {} events/s × {} s. Cycles: {}. Latency: {clock}. \
         Cores: {cores}.{transport}\n",
        config.idle_streams, config.load_streams, config.rate, config.secs, config.cycles
    );
    out.push_str(
        "| server | RSS / idle stream (KiB) | CPU / event (µs) | of which kernel | p50 (ms) | p99 (ms) \
         | streams complete | fd growth | RSS growth after cycles (KiB) | threads \
         | client CPU / event (µs) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.2} | {:.0}% | {:.2} | {:.2} | {}/{} | {} | {} | {} | {:.2} |",
            r.spec.name,
            r.idle.per_stream_kib(),
            r.load.cpu_per_event_us(),
            r.load.kernel_percent(),
            r.load.p50_ms,
            r.load.p99_ms,
            r.load.complete,
            r.load.opened,
            fd_cell(&r.cycles),
            r.cycles.rss_growth(),
            r.idle.threads,
            r.load.client_cpu_us as f64 / r.load.delivered.max(1) as f64,
        );
    }
    let Some(best) = Best::of(results) else {
        return out;
    };
    let _ = writeln!(
        out,
        "\nRatios to the best peer (memory: {}, CPU: {}, p99: {}) and CPU to the floor's; \
         targets {TARGETS}:\n",
        best.mem.1, best.cpu.1, best.p99.1
    );
    out.push_str(
        "| server | memory / idle stream | CPU / event | CPU / floor's | p99 | fd growth |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for ratios in best.ratios(results) {
        let _ = writeln!(
            out,
            "| {} | {:.2}× {} | {:.2}× {} | {:.2}× {} | {:.2}× {} | {} {} |",
            ratios.name,
            ratios.mem,
            verdict(ratios.mem <= MEM_TARGET),
            ratios.cpu,
            verdict(ratios.cpu <= CPU_TARGET),
            ratios.floor,
            verdict(ratios.floor <= FLOOR_TARGET),
            ratios.p99,
            verdict(ratios.p99 <= P99_TARGET),
            ratios.fd_growth,
            verdict(ratios.fd_growth <= 0),
        );
    }
    out
}

/// The targets, as ratios to the best peer in the same run.
const MEM_TARGET: f64 = 0.6;
const CPU_TARGET: f64 = 0.85;
const P99_TARGET: f64 = 0.8;
/// CPU per event at most this much above the floor's in the same run.
const FLOOR_TARGET: f64 = 1.2;

/// The targets in words, for the tables.
const TARGETS: &str = "memory ≤ 0.6×, CPU ≤ 0.85× (and ≤ 1.2× the floor's), p99 ≤ 0.8×, no fd \
                       growth";

fn verdict(met: bool) -> &'static str {
    if met { "✅" } else { "❌" }
}

fn mem(r: &ServerResult) -> f64 {
    r.idle.per_stream_kib()
}

fn cpu(r: &ServerResult) -> f64 {
    r.load.cpu_per_event_us()
}

fn p99(r: &ServerResult) -> f64 {
    r.load.p99_ms
}

/// The best peer of a run for each measure: its value and name.
struct Best {
    mem: (f64, String),
    cpu: (f64, String),
    p99: (f64, String),
    /// The floor's CPU per event, if it ran.
    floor_cpu: Option<f64>,
}

/// One of our servers against the best peers of its run.
struct Ratios {
    name: String,
    mem: f64,
    cpu: f64,
    p99: f64,
    /// CPU per event over the floor's (NaN without a floor).
    floor: f64,
    fd_growth: i64,
}

impl Best {
    /// `None` unless the run has peers and servers of ours.
    fn of(results: &[ServerResult]) -> Option<Best> {
        let peers: Vec<&ServerResult> = results
            .iter()
            .filter(|r| r.spec.role == Role::Peer)
            .collect();
        if peers.is_empty() || !results.iter().any(|r| r.spec.role == Role::Ours) {
            return None;
        }
        let best = |f: fn(&ServerResult) -> f64| -> (f64, String) {
            peers
                .iter()
                .map(|r| (f(r), r.spec.name.clone()))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap_or((f64::NAN, String::new()))
        };
        Some(Best {
            mem: best(mem),
            cpu: best(cpu),
            p99: best(p99),
            floor_cpu: results.iter().find(|r| r.spec.role == Role::Floor).map(cpu),
        })
    }

    fn ratios(&self, results: &[ServerResult]) -> Vec<Ratios> {
        results
            .iter()
            .filter(|r| r.spec.role == Role::Ours)
            .map(|r| Ratios {
                name: r.spec.name.clone(),
                mem: mem(r) / self.mem.0,
                cpu: cpu(r) / self.cpu.0,
                p99: p99(r) / self.p99.0,
                floor: self.floor_cpu.map_or(f64::NAN, |floor| cpu(r) / floor),
                fd_growth: r.cycles.fd_growth(),
            })
            .collect()
    }
}

/// Several rounds of one run (`--rounds`): each round's table, then each of our servers' ratios
/// round by round and their median, which the verdict goes by.
pub fn markdown_rounds(config: &Config, rounds: &[Vec<ServerResult>]) -> String {
    let mut out = String::new();
    for (i, results) in rounds.iter().enumerate() {
        let order: Vec<&str> = results.iter().map(|r| r.spec.name.as_str()).collect();
        let _ = writeln!(out, "### Round {} ({})\n", i + 1, order.join(", "));
        out.push_str(&markdown(config, results));
        out.push('\n');
    }
    let per_round: Vec<Vec<Ratios>> = rounds
        .iter()
        .filter_map(|results| Best::of(results).map(|best| best.ratios(results)))
        .collect();
    let Some(first) = per_round.first() else {
        return out;
    };
    // Rounds run in different orders: a server's ratios are found by name.
    let of_server = |name: &str| -> Vec<&Ratios> {
        per_round
            .iter()
            .filter_map(|round| round.iter().find(|r| r.name == name))
            .collect()
    };
    let _ = writeln!(
        out,
        "### Across the {} rounds\n\nEach round's ratios to that round's best peer (CPU also to \
         that round's floor), then the median (the verdict); fd growth is the largest of the \
         rounds. Targets: {TARGETS}.\n",
        per_round.len()
    );
    out.push_str(
        "| server | memory / idle stream | CPU / event | CPU / floor's | p99 | fd growth |\n\
         |---|---|---|---|---|---:|\n",
    );
    for ours in first {
        let rounds = of_server(&ours.name);
        let of = |f: fn(&Ratios) -> f64| -> (String, f64) {
            let mut values: Vec<f64> = rounds.iter().map(|r| f(r)).collect();
            let list = values
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect::<Vec<_>>()
                .join(" / ");
            values.sort_by(f64::total_cmp);
            (list, median(&values))
        };
        let (mem_list, mem_median) = of(|r| r.mem);
        let (cpu_list, cpu_median) = of(|r| r.cpu);
        let (floor_list, floor_median) = of(|r| r.floor);
        let (p99_list, p99_median) = of(|r| r.p99);
        let fd_growth = rounds.iter().map(|r| r.fd_growth).max().unwrap_or(0);
        let _ = writeln!(
            out,
            "| {} | {mem_list} → **{mem_median:.2}×** {} | {cpu_list} → **{cpu_median:.2}×** {} \
             | {floor_list} → **{floor_median:.2}×** {} \
             | {p99_list} → **{p99_median:.2}×** {} | {fd_growth} {} |",
            ours.name,
            verdict(mem_median <= MEM_TARGET),
            verdict(cpu_median <= CPU_TARGET),
            verdict(floor_median <= FLOOR_TARGET),
            verdict(p99_median <= P99_TARGET),
            verdict(fd_growth <= 0),
        );
    }
    out
}

/// The median of sorted `values` (NaN if there are none).
fn median(values: &[f64]) -> f64 {
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
