//! A standalone load client: `loadclient ADDR [STREAMS] [SECS] [RATE]` opens `STREAMS` SSE
//! streams to `http://ADDR/events`; with `RATE` it asks the server (`/control`) to publish
//! `RATE × SECS` events at `RATE`/s, waits for them (or `SECS` + 5 s), and prints what arrived
//! and the send→receive latency percentiles.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ssewire_load::client::{self, Streams};
use ssewire_load::driver;

fn main() -> ExitCode {
    ssewire_load::sys::raise_nofile();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(addr) = args.first().and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: loadclient 127.0.0.1:PORT [STREAMS=100] [SECS=5] [RATE=0]");
        return ExitCode::from(64);
    };
    if !addr.ip().is_loopback() {
        eprintln!("loadclient: loopback addresses only");
        return ExitCode::from(64);
    }
    let streams: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(100);
    let secs: f64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(5.0);
    let rate: f64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    driver::block_on(async move {
        let set = Streams::open(addr, streams, 64);
        let all = set.wait_opened(Duration::from_secs(60)).await;
        eprintln!("loadclient: {}/{streams} streams open", set.opened());
        if !all {
            eprintln!("loadclient: {:?}", set.first_error());
        }
        set.record_latency(true);
        let count = (rate * secs).round() as u64;
        if count > 0 {
            if let Err(e) = client::start_publishing(addr, rate, count).await {
                eprintln!("loadclient: {e}");
                return ExitCode::FAILURE;
            }
            set.wait_events(count, Duration::from_secs_f64(secs + 5.0))
                .await;
        } else {
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        }
        let mut latencies = set.take_latencies();
        latencies.sort_unstable();
        let pct = |p: f64| {
            latencies
                .get(((p * latencies.len() as f64).ceil() as usize).saturating_sub(1))
                .map_or(f64::NAN, |&ns| ns as f64 / 1e6)
        };
        let (kernel, user) = set.stamps();
        println!(
            "events {} over {} streams; latency ms p50 {:.2} p99 {:.2} max {:.2}; reads stamped by kernel {kernel}, user {user}",
            set.events(),
            set.opened(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        set.close().await;
        ExitCode::SUCCESS
    })
}
