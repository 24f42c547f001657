//! A `redis-server` of the test's own on a unix socket in a temp dir, without persistence,
//! stopped when the guard drops (a failing test too).

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use ssewire::Decoder;
use ssewire_stream::Subscription;

pub struct RedisServer {
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start(name: &str) -> RedisServer {
        let dir = std::env::temp_dir().join(format!("ssewire-redis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer { dir, child: None };
        server.run();
        server
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Starts the server (again, after `stop`: empty, as after a restart without persistence).
    pub fn run(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not found: apt-get install redis-server (bash .ci/install.sh)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a client saw: the events' (id, type, data).
pub type Seen = Vec<(Option<String>, String, String)>;

/// Decodes every frame `sub` yields until it ends or `within` passes without one.
pub async fn take(sub: &mut Subscription, within: Duration) -> (Seen, bool) {
    let mut decoder = Decoder::new();
    let mut seen = Seen::new();
    loop {
        let next = futures_lite::future::or(async { Some(sub.next().await) }, async {
            async_io::Timer::after(within).await;
            None
        })
        .await;
        match next {
            Some(Some(frame)) => {
                let mut buf = bytes::BytesMut::from(&frame[..]);
                while let Some(event) = decoder.decode(&mut buf).unwrap() {
                    seen.push((
                        event.id().map(str::to_string),
                        event.event_type().to_string(),
                        event.data().to_string(),
                    ));
                }
            }
            Some(None) => return (seen, true),
            None => return (seen, false),
        }
    }
}

/// What one client hopping between instances received, counted as it arrives.
#[derive(Debug, Default, Clone)]
pub struct Client {
    /// The last id seen and its counter.
    pub last: Option<String>,
    pub n: u64,
    pub events: u64,
    pub hops: u64,
    pub resets: u64,
    pub duplicates: u64,
    /// Events out of order or missing (a counter that did not grow by one).
    pub gaps: u64,
    /// Events whose text differs from what another client got under the same id.
    pub mismatches: u64,
    /// A reset came: the next event starts the count anew.
    pub after_reset: bool,
}

impl Client {
    /// Counts `event`: a reset, a duplicate, or a new event (a gap when its counter is not the
    /// next). Returns the id of a new event.
    pub fn record(&mut self, event: &ssewire::Event) -> Option<String> {
        if event.event_type() == "reset" {
            self.resets += 1;
            self.after_reset = true;
            return None;
        }
        let id = event.id().expect("an id").to_string();
        let n = counter(&id);
        if self.last.as_deref() == Some(id.as_str()) || (!self.after_reset && n <= self.n) {
            self.duplicates += 1;
            return None;
        }
        if !self.after_reset && self.last.is_some() && n != self.n + 1 {
            self.gaps += 1;
        }
        self.after_reset = false;
        self.n = n;
        self.last = Some(id.clone());
        self.events += 1;
        Some(id)
    }
}

/// The dense counter of a stream entry id `<ms>-<n>`.
pub fn counter(id: &str) -> u64 {
    id.split_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .expect("an id <ms>-<n>")
}

/// How many of `clients` have not yet seen the event `newest`.
pub fn behind(clients: &[std::sync::Arc<std::sync::Mutex<Client>>], newest: &str) -> usize {
    clients
        .iter()
        .filter(|c| c.lock().unwrap().last.as_deref() != Some(newest))
        .count()
}

/// The clients' tallies added up.
pub fn totals(clients: &[std::sync::Arc<std::sync::Mutex<Client>>]) -> Client {
    let mut sum = Client::default();
    for c in clients {
        let c = c.lock().unwrap();
        sum.events += c.events;
        sum.hops += c.hops;
        sum.resets += c.resets;
        sum.duplicates += c.duplicates;
        sum.gaps += c.gaps;
        sum.mismatches += c.mismatches;
    }
    sum
}
