//! The browser tests: the demo servers on `127.0.0.1:0`, driven by the node scripts of
//! `browser/` (playwright-core driving Debian's Chromium, headless, loopback only).
//!
//! [`suite!`](crate::suite) marks them `#[ignore]`: plain `cargo test` lists them as ignored, and
//! `--include-ignored` (what `bash .ci/test.sh` passes) runs them. Once asked to run, they never
//! pass without running: when the repository's `node_modules` lacks the packages and `npm` is
//! there, they run `npm ci` at the repository root themselves (bounded by [`NPM_CI_TIMEOUT`]);
//! anything else missing (node, Chromium) fails the test with a message saying how to install it
//! (`bash .ci/install.sh`).

use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ssewire_server::{Config, Runtime};

use ssewire_demo::proxy::{self, Proxy, ProxyRuntime};
use ssewire_demo::{chat as chat_app, room as room_app};

/// How long a node script may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(120);

/// How long `npm ci` may take before it is killed (a cold npm cache downloads three packages).
pub const NPM_CI_TIMEOUT: Duration = Duration::from_secs(300);

/// The packages the scripts and the demo page load from `node_modules`.
const PACKAGES: [&str; 3] = ["playwright-core", "htmx.org", "htmx-ext-sse"];

/// How to install everything the browser tests need, for failure messages.
const INSTALL_HINT: &str = "run `bash .ci/install.sh` at the repository root (it installs Debian's \
     `chromium` with apt-get and runs `npm ci`), then run the tests again";

/// The repository root (where `package.json` and `package-lock.json` are).
fn repository() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `adapters/conformance` is two levels down.
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

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
        .unwrap_or_else(|| repository().join("node_modules"))
}

/// The Chromium binary: `SSEWIRE_CHROMIUM`, or Debian's.
pub fn chromium() -> PathBuf {
    std::env::var_os("SSEWIRE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The first of [`PACKAGES`] that `modules` lacks.
fn missing_package(modules: &Path) -> Option<&'static str> {
    PACKAGES
        .into_iter()
        .find(|package| !modules.join(package).join("package.json").is_file())
}

/// Whether `program --version` runs.
fn runs(program: &str) -> Result<(), String> {
    match Command::new(program).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!("`{program} --version` failed ({})", output.status)),
        Err(e) => Err(format!("{program} is not installed ({e})")),
    }
}

/// Makes sure node, Chromium and the npm packages are there, running `npm ci` for the packages
/// if needed.
///
/// # Errors
///
/// Says what is missing and how to install it.
pub async fn prepare<R: Runtime>() -> Result<(), String> {
    runs("node").map_err(|e| {
        format!("{e}: install Node.js and npm (Debian: `apt-get install nodejs npm`), then {INSTALL_HINT}")
    })?;
    let chromium = chromium();
    if !chromium.is_file() {
        return Err(format!(
            "no Chromium at {} (or set SSEWIRE_CHROMIUM to another binary): {INSTALL_HINT}",
            chromium.display()
        ));
    }
    let modules = node_modules();
    let Some(package) = missing_package(&modules) else {
        return Ok(());
    };
    if std::env::var_os("SSEWIRE_NODE_MODULES").is_some() {
        return Err(format!(
            "SSEWIRE_NODE_MODULES={} has no {package}: run `npm ci` where it points, or unset it",
            modules.display()
        ));
    }
    runs("npm").map_err(|e| {
        format!("node_modules has no {package} and {e}: install npm, then {INSTALL_HINT}")
    })?;
    npm_ci::<R>().await?;
    match missing_package(&modules) {
        None => Ok(()),
        Some(package) => Err(format!(
            "`npm ci` finished but {} has no {package}: {INSTALL_HINT}",
            modules.display()
        )),
    }
}

/// Runs `npm ci` at the repository root, one process at a time on this machine.
async fn npm_ci<R: Runtime>() -> Result<(), String> {
    // Another test process (the other adapter's suite, another checkout's run) may be installing
    // into the same directory: wait for it, then look again.
    let lock_path = std::env::temp_dir().join("ssewire-npm-ci.lock");
    let lock =
        File::create(&lock_path).map_err(|e| format!("creating {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if missing_package(&node_modules()).is_none() {
        return Ok(());
    }
    let root = repository();
    eprintln!(
        "browser test: node_modules is incomplete, running `npm ci` in {}",
        root.display()
    );
    let mut command = Command::new("npm");
    command
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&root);
    let began = Instant::now();
    let run = run_bounded::<R>(command, NPM_CI_TIMEOUT)
        .await
        .map_err(|e| format!("starting `npm ci`: {e}"))?;
    match run.status {
        Some(status) if status.success() => {
            eprintln!("browser test: `npm ci` done in {:?}", began.elapsed());
            Ok(())
        }
        Some(status) => Err(format!(
            "`npm ci` in {} failed ({status}):\n{}{}\n{INSTALL_HINT}",
            root.display(),
            run.stdout,
            run.stderr
        )),
        None => Err(format!(
            "`npm ci` in {} did not finish in {NPM_CI_TIMEOUT:?} and was killed:\n{}{}\n{INSTALL_HINT}",
            root.display(),
            run.stdout,
            run.stderr
        )),
    }
}

/// What a child process run by [`run_bounded`] left.
#[derive(Debug)]
struct Finished {
    /// `None` when it was killed at the time limit.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Runs `command` with its output piped, killing it after `limit`.
async fn run_bounded<R: Runtime>(
    mut command: Command,
    limit: Duration,
) -> std::io::Result<Finished> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain the pipes on threads so a chatty child never blocks on a full pipe.
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
        match child.try_wait()? {
            Some(status) => break Some(status),
            None if began.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => R::sleep(Duration::from_millis(50)).await,
        }
    };
    Ok(Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
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

/// Starts the chat demo with its AI-proxy mode on `runtime` (the demo's upstream model on another
/// port) and runs `browser/proxy.mjs` against it.
pub async fn run_proxy<R: ProxyRuntime>(runtime: R) {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let upstream = ssewire_server::serve(
        runtime.clone(),
        any_port,
        Config::default(),
        proxy::upstream::<R>,
    )
    .await
    .expect("binding 127.0.0.1:0");
    let demo = Proxy::new(format!(
        "http://{}/v1/chat/completions",
        upstream.local_addr()
    ));
    run_script(runtime, "proxy.mjs", move |request| {
        demo.handle::<R>(request)
    })
    .await;
    upstream.shutdown(Duration::from_millis(200)).await;
}

/// Starts a server with `handler` on `runtime` and runs the node script `name` against it.
///
/// # Panics
///
/// When the script fails or times out, or when node, Chromium or the npm packages are missing
/// and cannot be installed here (see [`prepare`]).
pub async fn run_script<R, H, F>(runtime: R, name: &str, handler: H)
where
    R: Runtime,
    H: Fn(ssewire_server::Request) -> F + Send + Sync + 'static,
    F: std::future::Future<Output = ssewire_server::Response> + Send + 'static,
{
    let script = script(name);
    if let Err(reason) = prepare::<R>().await {
        panic!("browser test cannot run: {reason}");
    }
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let server = ssewire_server::serve(runtime, addr, Config::default(), handler)
        .await
        .expect("binding 127.0.0.1:0");
    let base = format!("http://{}", server.local_addr());
    let mut command = Command::new("node");
    command
        .arg(&script)
        .arg(&base)
        .env("SSEWIRE_NODE_MODULES", node_modules())
        .env("SSEWIRE_CHROMIUM", chromium());
    let began = Instant::now();
    let run = run_bounded::<R>(command, TIMEOUT)
        .await
        .expect("starting node");
    eprintln!(
        "--- node {} {base} (stdout)\n{}",
        script.display(),
        run.stdout
    );
    if !run.stderr.is_empty() {
        eprintln!("--- (stderr)\n{}", run.stderr);
    }
    server.shutdown(Duration::from_millis(200)).await;
    match run.status {
        None => panic!("browser test timed out after {TIMEOUT:?}; node was killed"),
        Some(status) => assert!(
            status.success(),
            "browser test failed ({status}); see the output above"
        ),
    }
    eprintln!("browser test passed in {:?}", began.elapsed());
}
