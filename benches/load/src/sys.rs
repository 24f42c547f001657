//! Process set-up shared by the driver and the servers: file-descriptor limit, clock, and
//! making sure a server never outlives the driver.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> u64 {
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => 0,
    }
}

/// Nanoseconds since the Unix epoch (`CLOCK_REALTIME`, the clock of `SO_TIMESTAMPNS`).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Set-up every server binary runs first: raise the fd limit, die with the parent (SIGKILL on
/// parent death), and exit after `max_life` whatever happens.
pub fn server_prelude(max_life: Duration) {
    raise_nofile();
    let parent = nix::unistd::getppid();
    // Best effort: the driver also kills its children explicitly.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid() != parent {
        // The parent died before the death signal was armed.
        std::process::exit(2);
    }
    std::thread::spawn(move || {
        std::thread::sleep(max_life);
        eprintln!("server: lifetime of {max_life:?} over, exiting");
        std::process::exit(3);
    });
}

/// Command-line options common to the servers: `--rate R` (publish continuously at `R`
/// events/s from the start, default 0 = wait for `/control`), `--count K` (stop after `K`
/// events, 0 = unlimited), `--max-secs S` (exit after `S` seconds, default 900),
/// `--local-executor` (the smol server only: run tasks on the main thread's executor),
/// `--redis URL` (the smol server only: the room's hub shared through Redis, see
/// [`crate::many`]).
#[derive(Debug, Clone, Copy)]
pub struct ServerArgs {
    /// Initial publishing plan.
    pub plan: crate::publish::Plan,
    /// Lifetime bound.
    pub max_life: Duration,
    /// Run tasks on an executor driven by the main thread (smol server).
    pub local_executor: bool,
    /// Turn the server's fan-out lanes off (`--no-lanes`, or `SSEWIRE_NO_LANES` set in the
    /// environment, which the driver's children inherit): each connection's task writes its own
    /// events, the baseline the lanes are measured against.
    pub no_lanes: bool,
    /// Serve HTTPS (`--tls`) with a self-signed certificate made at start ([`self_signed`]).
    pub tls: bool,
    /// Back the room's hub by Redis at this URL (`--redis URL`, e.g. `redis+unix:///tmp/r.sock`):
    /// a `ssewire_redis::RedisHub`, published through Redis. Leaked once per process, so that
    /// the arguments stay `Copy`.
    pub redis: Option<&'static str>,
}

impl ServerArgs {
    /// The ssewire servers' settings: the defaults, with the lanes as asked, and room for
    /// `loadtest --tls --h2 --h2-streams-per-conn` up to 1 000 streams on one HTTP/2 connection.
    pub fn server_config(&self) -> ssewire_server::Config {
        ssewire_server::Config {
            fan_out_lanes: !self.no_lanes,
            http2_max_concurrent_streams: 1_000,
            ..ssewire_server::Config::default()
        }
    }

    /// Parses `std::env::args`; exits with a message on a bad flag.
    pub fn from_env() -> ServerArgs {
        let mut args = ServerArgs {
            plan: crate::publish::Plan {
                rate: 0.0,
                count: 0,
            },
            max_life: Duration::from_secs(900),
            local_executor: false,
            no_lanes: std::env::var_os("SSEWIRE_NO_LANES").is_some(),
            tls: false,
            redis: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--local-executor" {
                args.local_executor = true;
                continue;
            }
            if flag == "--tls" {
                args.tls = true;
                continue;
            }
            if flag == "--no-lanes" {
                args.no_lanes = true;
                continue;
            }
            let value = it.next().unwrap_or_default();
            let bad = || -> ! {
                eprintln!(
                    "usage: [--rate EVENTS_PER_S] [--count N] [--max-secs S] [--tls] [--redis URL]; \
                     bad {flag}"
                );
                std::process::exit(64)
            };
            match flag.as_str() {
                "--rate" => args.plan.rate = value.parse().unwrap_or_else(|_| bad()),
                "--count" => args.plan.count = value.parse().unwrap_or_else(|_| bad()),
                "--redis" if !value.is_empty() => args.redis = Some(value.leak()),
                "--max-secs" => {
                    args.max_life = Duration::from_secs(value.parse().unwrap_or_else(|_| bad()));
                }
                _ => bad(),
            }
        }
        args
    }
}

/// A new self-signed certificate for `localhost` and `127.0.0.1` (the load client accepts any
/// certificate: it measures the server, not the PKI).
///
/// # Panics
///
/// rcgen could not make the certificate.
pub fn self_signed() -> ssewire_server::TlsConfig {
    let made = rcgen::generate_simple_self_signed(["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen makes a certificate");
    let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
    ssewire_server::TlsConfig::from_pem(cert.as_bytes(), key.as_bytes())
        .expect("a certificate rcgen made")
}

/// Prints the line the driver waits for, `PORT <port>`, and flushes.
pub fn announce_port(port: u16) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "PORT {port}");
    let _ = out.flush();
}

/// Pins this process (its calling thread, and every thread it starts afterwards) to `cpu`.
///
/// # Errors
///
/// The core does not exist or is not allowed to this process.
pub fn pin_self(cpu: usize) -> nix::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
}
