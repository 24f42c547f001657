//! Three room servers as separate processes (the room demo, `ssewire_demo::room`, on smol) and
//! one real `redis-server`; raw HTTP/1.1 SSE clients over TCP that hop between the servers at
//! random while 10 000 events are posted (`POST /say`) to all three. Every client gets every
//! event exactly once, in the same order whichever server it read it from. Then Redis paused for
//! 5 s (SIGSTOP): no server exits, nothing is duplicated, delivery resumes. Then Redis restarted
//! without persistence: exactly one reset per client, and delivery resumes.
//!
//! No test harness (`harness = false`): the binary is both the test and, started again by it with
//! `SSEWIRE_ROOM_NODE=<redis url>`, each room server, so no second build is needed. Every process
//! is killed by a guard, and by a watchdog past [`DEADLINE`]; a server also exits when its stdin
//! closes (the test is gone).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Client, RedisServer, behind, totals};
use ssewire::Decoder;
use ssewire_demo::room::Room;
use ssewire_redis::{Config, RedisHub};
use ssewire_stream::HubConfig;

const SERVERS: usize = 3;
const CLIENTS: usize = 24;
const EVENTS: usize = 10_002;
/// The whole run, past which the watchdog kills every process and fails.
const DEADLINE: Duration = Duration::from_secs(240);
/// The variable that makes this binary a room server.
const NODE: &str = "SSEWIRE_ROOM_NODE";

/// Pids the watchdog kills: the servers and Redis.
static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn main() {
    if let Ok(url) = std::env::var(NODE) {
        room_node(&url);
        return;
    }
    // As libtest: `--ignored` runs only the browser test, `--include-ignored` both.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        println!("three_servers_one_redis: test\nbrowser_two_instances_behind_a_proxy: test");
        return;
    }
    let started = Instant::now();
    std::thread::spawn(|| {
        std::thread::sleep(DEADLINE);
        eprintln!("processes: past {DEADLINE:?}, killing every process");
        for pid in PIDS.lock().unwrap().iter() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        std::process::exit(1);
    });
    // A name filter, as libtest's: a test runs if its name contains one (or none is given).
    let filters: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let run_plain = !has("--ignored") && wanted("three_servers_one_redis");
    let run_browser = (has("--ignored") || has("--include-ignored"))
        && wanted("browser_two_instances_behind_a_proxy");
    println!("\nrunning 2 tests");
    let (mut passed, mut ignored) = (0, 0);
    if run_plain {
        three_servers_one_redis();
        println!("test three_servers_one_redis ... ok");
        passed += 1;
    }
    if run_browser {
        browser_two_instances_behind_a_proxy();
        println!("test browser_two_instances_behind_a_proxy ... ok");
        passed += 1;
    } else if wanted("browser_two_instances_behind_a_proxy") {
        println!(
            "test browser_two_instances_behind_a_proxy ... ignored, needs node, Chromium and node_modules (bash .ci/install.sh); run with --include-ignored"
        );
        ignored += 1;
    }
    let filtered = 2 - passed - ignored;
    println!(
        "\ntest result: ok. {passed} passed; 0 failed; {ignored} ignored; {filtered} filtered out; finished in {:.2}s\n",
        started.elapsed().as_secs_f64()
    );
}

/// One room server: the demo's room on Redis at `url`, on `127.0.0.1:0`; prints its address.
fn room_node(url: &str) {
    // The test is gone (its end of stdin closed): exit.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
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
        let (hub, reader) = RedisHub::connect(url, &["room"], config)
            .await
            .expect("redis");
        smol::spawn(reader).detach();
        let room = Room::Redis(hub);
        let server = ssewire_smol::serve("127.0.0.1:0".parse().unwrap(), move |request| {
            ssewire_demo::room::handle(room.clone(), request)
        })
        .await
        .expect("bind");
        println!("listening {}", server.local_addr());
        std::io::stdout().flush().unwrap();
        server.stopped().await;
    });
}

/// The room servers, killed on drop (a failing test too).
struct Servers {
    children: Vec<Child>,
    addrs: Vec<SocketAddr>,
}

impl Servers {
    fn start(redis: &RedisServer, n: usize) -> Servers {
        let mut servers = Servers {
            children: Vec::new(),
            addrs: Vec::new(),
        };
        for _ in 0..n {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .env(NODE, redis.url())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start a room server");
            PIDS.lock().unwrap().push(child.id());
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            servers.children.push(child);
            let addr = line
                .trim()
                .strip_prefix("listening ")
                .unwrap_or_else(|| panic!("a room server said {line:?}"));
            servers.addrs.push(addr.parse().unwrap());
        }
        servers
    }

    /// Kills server `k` (SIGKILL).
    fn kill(&mut self, k: usize) {
        let _ = self.children[k].kill();
        let _ = self.children[k].wait();
    }

    /// Panics if a server has exited.
    fn all_running(&mut self) {
        for (k, child) in self.children.iter_mut().enumerate() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "room server {k} exited: {:?}",
                child.try_wait()
            );
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A chunked HTTP/1.1 body, undone as it arrives.
#[derive(Default)]
struct Chunked {
    buf: Vec<u8>,
    /// Bytes left in the current chunk (then its CRLF).
    left: usize,
}

impl Chunked {
    /// Feeds `input`, appends the body bytes to `out`; `false` at the last chunk.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        self.buf.extend_from_slice(input);
        loop {
            if self.left > 0 {
                let take = self.left.min(self.buf.len());
                out.extend_from_slice(&self.buf[..take]);
                self.buf.drain(..take);
                self.left -= take;
                if self.left > 0 {
                    return true;
                }
                // The chunk's CRLF is read with the next size line.
            }
            let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                return true;
            };
            let line = std::str::from_utf8(&self.buf[..end]).unwrap().trim();
            if line.is_empty() {
                self.buf.drain(..2);
                continue;
            }
            let size = usize::from_str_radix(line.split(';').next().unwrap(), 16).unwrap();
            self.buf.drain(..end + 2);
            if size == 0 {
                return false;
            }
            self.left = size;
        }
    }
}

/// Posts `text` to `/say` on `addr`; `true` on 204.
fn say(addr: SocketAddr, text: &str) -> bool {
    let Ok(mut tcp) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let body = format!("name=p&text={text}");
    let request = format!(
        "POST /say HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    if tcp.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 204")
}

/// One client: reads a random number of events (or until 100 ms pass without one) from a random
/// server, then hops to another with its `Last-Event-ID`, until `stop`.
fn run_client(
    seed: u64,
    addrs: Vec<SocketAddr>,
    state: Arc<Mutex<Client>>,
    texts: Arc<Mutex<HashMap<String, String>>>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut random = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut at = (random() % addrs.len() as u64) as usize;
    while !stop.load(Ordering::SeqCst) {
        let last = state.lock().unwrap().last.clone();
        let budget = 5 + random() % 60;
        let Ok(mut tcp) = TcpStream::connect(addrs[at]) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        tcp.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut request = format!("GET /events HTTP/1.1\r\nhost: {}\r\n", addrs[at]);
        if let Some(last) = &last {
            request.push_str(&format!("last-event-id: {last}\r\n"));
        }
        request.push_str("\r\n");
        tcp.write_all(request.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut chunked = Chunked::default();
        let mut decoder = Decoder::new();
        let mut body = bytes::BytesMut::new();
        let mut taken = 0;
        let mut read = [0u8; 16 * 1024];
        'read: while taken < budget && !stop.load(Ordering::SeqCst) {
            let n = match tcp.read(&mut read) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut input = &read[..n];
            let from_head;
            if !head.ends_with(b"\r\n\r\n") {
                head.extend_from_slice(input);
                let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                assert!(
                    head.starts_with(b"HTTP/1.1 200"),
                    "{}",
                    String::from_utf8_lossy(&head)
                );
                from_head = head.split_off(end + 4);
                input = &from_head;
            }
            let mut plain = Vec::new();
            let open = chunked.feed(input, &mut plain);
            body.extend_from_slice(&plain);
            while let Some(event) = decoder.decode(&mut body).unwrap() {
                taken += 1;
                let mut client = state.lock().unwrap();
                let Some(id) = client.record(&event) else {
                    continue;
                };
                let text = event.data().to_string();
                let mut texts = texts.lock().unwrap();
                if texts.entry(id).or_insert_with(|| text.clone()) != &text {
                    client.mismatches += 1;
                }
            }
            if !open {
                break 'read;
            }
        }
        drop(tcp);
        // Hop: to another server, with the id the client has (as a browser would).
        at = (at + 1 + (random() % (addrs.len() as u64 - 1)) as usize) % addrs.len();
        state.lock().unwrap().hops += 1;
    }
}

/// Posts `per_server` messages to every server at once (one thread each); how many got a 204.
fn publish_all(addrs: &[SocketAddr], per_server: usize, retry: bool, tag: &str) -> u64 {
    let ok = Arc::new(AtomicU64::new(0));
    let threads: Vec<JoinHandle<()>> = addrs
        .iter()
        .enumerate()
        .map(|(i, &addr)| {
            let (ok, tag) = (ok.clone(), tag.to_string());
            std::thread::spawn(move || {
                for k in 0..per_server {
                    loop {
                        if say(addr, &format!("{tag}{i}:{k}")) {
                            ok.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if !retry {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    ok.load(Ordering::SeqCst)
}

/// The stream's entry count and newest id, as `redis-cli` sees them.
fn stream(redis: &RedisServer) -> (u64, String) {
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .arg("-s")
            .arg(redis.socket())
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8(out.stdout).unwrap()
    };
    let len = cli(&["XLEN", "ssewire:{room}"]).trim().parse().unwrap();
    let newest = cli(&["XREVRANGE", "ssewire:{room}", "+", "-", "COUNT", "1"]);
    let newest = newest.lines().next().expect("an entry").trim().to_string();
    (len, newest)
}

/// Waits until every client's last id is the stream's newest.
fn caught_up(redis: &RedisServer, clients: &[Arc<Mutex<Client>>], within: Duration) {
    let (_, newest) = stream(redis);
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
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn three_servers_one_redis() {
    let mut redis = RedisServer::start("processes");
    PIDS.lock().unwrap().push(redis.pid());
    let mut servers = Servers::start(&redis, SERVERS);
    let addrs = servers.addrs.clone();
    eprintln!("room servers on {addrs:?}");

    // The first event, so that every client starts from an id.
    assert!(say(addrs[0], "start"));
    let (_, first) = stream(&redis);
    let stop = Arc::new(AtomicBool::new(false));
    let texts = Arc::new(Mutex::new(HashMap::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            Arc::new(Mutex::new(Client {
                last: Some(first.clone()),
                n: 1,
                ..Client::default()
            }))
        })
        .collect();
    let threads: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let (addrs, c, texts, stop) = (addrs.clone(), c.clone(), texts.clone(), stop.clone());
            std::thread::spawn(move || run_client(k as u64 + 1, addrs, c, texts, stop))
        })
        .collect();

    let started = Instant::now();
    let published = publish_all(&addrs, EVENTS / SERVERS, true, "");
    caught_up(&redis, &clients, Duration::from_secs(60));
    let phase1 = totals(&clients);
    let (len, _) = stream(&redis);
    eprintln!(
        "hopping: {published} events posted to {SERVERS} server processes (XLEN {len} after trimming), {CLIENTS} clients, {} hops, {} events received, {} duplicates, {} gaps, {} order mismatches, {} resets, {:?}",
        phase1.hops,
        phase1.events,
        phase1.duplicates,
        phase1.gaps,
        phase1.mismatches,
        phase1.resets,
        started.elapsed()
    );
    assert_eq!(phase1.events, published * CLIENTS as u64);
    assert_eq!(
        (
            phase1.duplicates,
            phase1.gaps,
            phase1.mismatches,
            phase1.resets
        ),
        (0, 0, 0, 0)
    );

    // Redis paused for 5 s: posts fail meanwhile (503 within the servers' timeout), no server
    // exits, then delivery resumes with nothing lost from the stream, so no reset.
    let pid = redis.pid().to_string();
    let _ = Command::new("kill").args(["-STOP", &pid]).status();
    let paused = Instant::now();
    let during = publish_all(&addrs, 3, false, "paused");
    std::thread::sleep(Duration::from_secs(5).saturating_sub(paused.elapsed()));
    servers.all_running();
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    publish_all(&addrs, 100, true, "resumed");
    caught_up(&redis, &clients, Duration::from_secs(60));
    servers.all_running();
    let phase2 = totals(&clients);
    eprintln!(
        "paused 5 s: {during} of 9 posts answered 204 during the pause, {} of the failed ones in the stream once Redis resumed; then {} hops, {} events, {} duplicates, {} gaps, {} order mismatches, {} resets",
        (phase2.events - phase1.events) / CLIENTS as u64 - 300 - during,
        phase2.hops - phase1.hops,
        phase2.events - phase1.events,
        phase2.duplicates,
        phase2.gaps,
        phase2.mismatches,
        phase2.resets
    );
    assert_eq!(
        (
            phase2.duplicates,
            phase2.gaps,
            phase2.mismatches,
            phase2.resets
        ),
        (0, 0, 0, 0)
    );

    // Redis restarted without persistence: the stream starts again, every server's reader sees
    // the jump, and every client gets one reset.
    redis.stop();
    redis.run();
    PIDS.lock().unwrap().push(redis.pid());
    publish_all(&addrs, 100, true, "restarted");
    caught_up(&redis, &clients, Duration::from_secs(60));
    stop.store(true, Ordering::SeqCst);
    for thread in threads {
        thread.join().unwrap();
    }
    servers.all_running();
    let phase3 = totals(&clients);
    eprintln!(
        "restarted: {} hops, {} events, {} duplicates, {} gaps, {} order mismatches, {} resets; total {} hops, {} events, {:?}",
        phase3.hops - phase2.hops,
        phase3.events - phase2.events,
        phase3.duplicates,
        phase3.gaps,
        phase3.mismatches,
        phase3.resets,
        phase3.hops,
        phase3.events,
        started.elapsed()
    );
    for c in &clients {
        assert_eq!(c.lock().unwrap().resets, 1, "{:?}", c.lock().unwrap());
    }
    assert_eq!(
        (phase3.duplicates, phase3.gaps, phase3.mismatches),
        (0, 0, 0)
    );
}

/// A round-robin TCP proxy of the test's own: each connection goes to the next backend (the one
/// after it when that does not accept), bytes copied both ways. Returns its address and the
/// backend that got the last `GET /events`.
fn proxy(backends: Vec<SocketAddr>) -> (SocketAddr, Arc<Mutex<Option<usize>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let streams = Arc::new(Mutex::new(None));
    let last = streams.clone();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { continue };
            let connected = (0..backends.len()).find_map(|i| {
                let k = (n + i) % backends.len();
                TcpStream::connect_timeout(&backends[k], Duration::from_secs(1))
                    .ok()
                    .map(|backend| (k, backend))
            });
            let Some((k, backend)) = connected else {
                continue;
            };
            let (mut from_client, mut to_backend) = (client.try_clone().unwrap(), backend);
            let (mut from_backend, mut to_client) = (to_backend.try_clone().unwrap(), client);
            let streams = streams.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buf) {
                    // A request at the start of a read (a browser sends each one whole).
                    if buf[..n].starts_with(b"GET /events") {
                        *streams.lock().unwrap() = Some(k);
                    }
                    if to_backend.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_backend.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_backend, &mut to_client);
                let _ = to_client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (addr, last)
}

/// Node, Chromium and playwright-core, or what to install.
fn browser_ready() -> Result<PathBuf, String> {
    const HINT: &str =
        "run `bash .ci/install.sh` at the repository root (Debian's chromium, npm ci)";
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let modules = std::env::var_os("SSEWIRE_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("node_modules"));
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => return Err(format!("node is not installed: {HINT}")),
    }
    let chromium = std::env::var_os("SSEWIRE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!("no Chromium at {}: {HINT}", chromium.display()));
    }
    if !modules.join("playwright-core/package.json").is_file() {
        return Err(format!(
            "{} has no playwright-core: {HINT}",
            modules.display()
        ));
    }
    Ok(modules)
}

/// The room demo on two instances (one Redis) behind [`proxy`], driven by
/// `tests/browser/instances.mjs` in headless Chromium: a message posted on one instance shows on
/// a page of the other; a page whose instance is killed reconnects through the proxy to the other
/// and shows every message once.
fn browser_two_instances_behind_a_proxy() {
    let modules = browser_ready().unwrap_or_else(|e| panic!("browser test: {e}"));
    let redis = RedisServer::start("browser");
    PIDS.lock().unwrap().push(redis.pid());
    let mut servers = Servers::start(&redis, 2);
    let addrs = servers.addrs.clone();
    let (front, streams) = proxy(addrs.clone());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/instances.mjs");
    let mut node = Command::new("node")
        .arg(&script)
        .arg(format!("http://{front}"))
        .args(addrs.iter().map(|a| format!("http://{a}")))
        .env("SSEWIRE_NODE_MODULES", &modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    PIDS.lock().unwrap().push(node.id());
    let mut to_node = node.stdin.take().unwrap();
    let mut output = String::new();
    for line in BufReader::new(node.stdout.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        eprintln!("  {line}");
        output.push_str(&line);
        output.push('\n');
        if line == "KILL" {
            let answer = match *streams.lock().unwrap() {
                Some(k) => {
                    servers.kill(k);
                    format!("killed http://{} alive http://{}\n", addrs[k], addrs[1 - k])
                }
                None => "no stream went through the proxy\n".to_string(),
            };
            let _ = to_node.write_all(answer.as_bytes());
        }
    }
    let status = node.wait().unwrap();
    assert!(
        status.success(),
        "the browser script failed ({status}):\n{output}"
    );
}
