//! The browser test: the demo server on `127.0.0.1:0`, driven by `browser/demo.mjs` (node +
//! playwright-core + Debian's Chromium, headless, loopback only).
//!
//! Missing pieces (node, `npm ci`'s `node_modules`, Chromium) make the test print
//! `browser test SKIPPED: <reason>` and pass, unless `SSEWIRE_REQUIRE_BROWSER=1`, which makes
//! them a failure (CI sets it).

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ssewire_server::{Config, Runtime};

use ssewire_demo::{chat as chat_app, room as room_app};

/// How long the node script may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A node script of `browser/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("browser")
        .join(name)
}

/// Where `npm ci` put the front-end packages: `SSEWIRE_NODE_MODULES`, or the repository's.
pub fn node_modules() -> PathBuf {
    std::env::var_os("SSEWIRE_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules"))
}

/// The Chromium binary: `SSEWIRE_CHROMIUM`, or Debian's.
pub fn chromium() -> PathBuf {
    std::env::var_os("SSEWIRE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Why the browser test cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => return Some(format!("`node --version` failed: {}", output.status)),
        Err(e) => return Some(format!("node is not installed ({e})")),
    }
    let modules = node_modules();
    for package in ["playwright-core", "htmx.org", "htmx-ext-sse"] {
        if !modules.join(package).join("package.json").is_file() {
            return Some(format!(
                "{} has no {package}: run `npm ci` at the repository root",
                modules.display()
            ));
        }
    }
    let chromium = chromium();
    if !chromium.is_file() {
        return Some(format!(
            "no Chromium at {} (`apt-get install chromium`, or set SSEWIRE_CHROMIUM)",
            chromium.display()
        ));
    }
    None
}

fn required() -> bool {
    std::env::var("SSEWIRE_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Starts the chat demo on `runtime` and runs `browser/demo.mjs` against it.
pub async fn run<R: Runtime>(runtime: R) {
    run_script(runtime, "demo.mjs", chat_app::handle::<R>).await;
}

/// Starts the live-room demo (a fresh hub) on `runtime` and runs `browser/room.mjs` against it.
pub async fn run_room<R: Runtime>(runtime: R) {
    let hub = ssewire_stream::Hub::default();
    run_script(runtime, "room.mjs", move |request| {
        room_app::handle(hub.clone(), request)
    })
    .await;
}

/// Starts a server with `handler` on `runtime` and runs the node script `name` against it.
pub async fn run_script<R, H, F>(runtime: R, name: &str, handler: H)
where
    R: Runtime,
    H: Fn(ssewire_server::Request) -> F + Send + Sync + 'static,
    F: std::future::Future<Output = ssewire_server::Response> + Send + 'static,
{
    let script = script(name);
    if let Some(reason) = missing() {
        if required() {
            panic!("browser test required (SSEWIRE_REQUIRE_BROWSER=1) but cannot run: {reason}");
        }
        eprintln!("browser test SKIPPED: {reason}");
        return;
    }
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let server = ssewire_server::serve(runtime, addr, Config::default(), handler)
        .await
        .expect("binding 127.0.0.1:0");
    let base = format!("http://{}", server.local_addr());
    let mut child = Command::new("node")
        .arg(&script)
        .arg(&base)
        .env("SSEWIRE_NODE_MODULES", node_modules())
        .env("SSEWIRE_CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting node");
    // Drain the pipes on threads so a chatty script never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let began = Instant::now();
    let status = loop {
        match child.try_wait().expect("waiting for node") {
            Some(status) => break Some(status),
            None if began.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => R::sleep(Duration::from_millis(50)).await,
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    eprintln!("--- node {} {base} (stdout)\n{out}", script.display());
    if !err.is_empty() {
        eprintln!("--- (stderr)\n{err}");
    }
    server.shutdown(Duration::from_millis(200)).await;
    match status {
        None => panic!("browser test timed out after {TIMEOUT:?}; node was killed"),
        Some(status) => assert!(
            status.success(),
            "browser test failed ({status}); see the output above"
        ),
    }
    eprintln!("browser test passed in {:?}", began.elapsed());
}
