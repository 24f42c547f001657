//! Many instances, one stream of events: `cargo run -p ssewire-load --release --bin
//! loadtest-redis -- [flags]`. Starts its own `redis-server` (unix socket in a temp dir, no
//! persistence; stopped at the end), then for each stream count: the single-node hub (one
//! `load-server-smol`), and `--instances` servers sharing that Redis (`load-server-smol --redis
//! URL`), the streams spread evenly over them and the events published on the first; prints a
//! markdown table (see [`ssewire_load::many`]). Flags: `--streams N[,N…]` (default 5000),
//! `--instances N` (3), `--rate R` (10), `--secs S` (10), `--concurrency N` (64), `--pin S,C`,
//! `--no-pin`, `--out FILE`.

use std::process::ExitCode;

use ssewire_load::driver;
use ssewire_load::many::{self, Config, RedisServer};

fn main() -> ExitCode {
    let nofile = ssewire_load::sys::raise_nofile();
    let mut config = Config::full();
    let mut counts = vec![config.streams];
    let mut out: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--no-pin" {
            config.pin = None;
            continue;
        }
        let Some(value) = args.next() else {
            eprintln!("loadtest-redis: {flag} needs a value");
            return ExitCode::from(64);
        };
        let ok = match flag.as_str() {
            "--streams" => value
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<usize>, _>>()
                .map(|v| counts = v)
                .is_ok(),
            "--instances" => value.parse().map(|v| config.instances = v).is_ok(),
            "--rate" => value.parse().map(|v| config.rate = v).is_ok(),
            "--secs" => value.parse().map(|v| config.secs = v).is_ok(),
            "--concurrency" => value.parse().map(|v| config.concurrency = v).is_ok(),
            "--pin" => value.parse().map(|p| config.pin = Some(p)).is_ok(),
            "--out" => {
                out = Some(value.clone());
                true
            }
            _ => false,
        };
        if !ok {
            eprintln!("loadtest-redis: bad flag {flag} {value}");
            return ExitCode::from(64);
        }
    }
    if let Some(pin) = config.pin
        && let Err(e) = ssewire_load::sys::pin_self(pin.client)
    {
        eprintln!(
            "loadtest-redis: cannot pin the client to core {}: {e}",
            pin.client
        );
        return ExitCode::FAILURE;
    }
    let need = counts.iter().max().copied().unwrap_or(0) as u64 + 64;
    if nofile < need {
        eprintln!("loadtest-redis: RLIMIT_NOFILE is {nofile}, {need} needed; lower --streams");
        return ExitCode::from(69);
    }
    let server = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name("load-server-smol"),
        Err(e) => {
            eprintln!("loadtest-redis: {e}");
            return ExitCode::FAILURE;
        }
    };
    let redis = match RedisServer::start(config.pin.map(|p| p.server)) {
        Ok(redis) => redis,
        Err(e) => {
            eprintln!("loadtest-redis: {e} (apt-get install -y redis-server)");
            return ExitCode::FAILURE;
        }
    };
    let mut runs = Vec::new();
    for &streams in &counts {
        let config = Config {
            streams,
            ..config.clone()
        };
        for with_redis in [false, true] {
            eprintln!(
                "loadtest-redis: {streams} streams, {} …",
                if with_redis { "Redis" } else { "single node" }
            );
            let redis = with_redis.then_some(&redis);
            match driver::block_on(many::measure(&config, &server, redis)) {
                Ok(run) => {
                    eprintln!("{}", many::markdown(&config, std::slice::from_ref(&run)));
                    runs.push(run);
                }
                Err(e) => {
                    eprintln!("loadtest-redis: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let table = many::markdown(&config, &runs);
    println!("{table}");
    if let Some(path) = out
        && let Err(e) = std::fs::write(&path, &table)
    {
        eprintln!("loadtest-redis: cannot write {path}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
