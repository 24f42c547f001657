//! A reference, not a server to use: the least a broadcast SSE server can spend per event on this
//! machine. No runtime, no tasks, no hub: a thread accepts (and answers `/control` as the other
//! servers do), and each event is framed once as an HTTP/1.1 chunk and written to every stream
//! with one blocking `send`, from the publishing thread. What it costs per event is the kernel's
//! `send` and loopback delivery, which every server pays; what another server costs on top is its
//! own. (It reads nothing from its clients: a stream that closed is dropped at the next write that
//! fails, or, while nothing is being published, by a `peek` every 100 ms.)
//!
//! Run it beside the others with `loadtest --servers floor,ssewire-smol,…`. Prints `PORT <port>`.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ssewire_load::publish::{Plan, Publisher};
use ssewire_load::sys;

/// The open streams.
type Streams = Arc<Mutex<Vec<TcpStream>>>;

fn main() -> io::Result<()> {
    let args = sys::ServerArgs::from_env();
    sys::server_prelude(args.max_life);
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    sys::announce_port(listener.local_addr()?.port());
    let streams: Streams = Arc::default();
    let publisher = Arc::new(Publisher::default());
    let publishing = Arc::new(AtomicUsize::new(0));
    start(&streams, &publisher, &publishing, args.plan);
    std::thread::spawn({
        let (streams, publishing) = (streams.clone(), publishing.clone());
        move || reap(&streams, &publishing)
    });
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let _ = conn.set_nodelay(true);
        let (streams, publisher, publishing) =
            (streams.clone(), publisher.clone(), publishing.clone());
        std::thread::spawn(move || {
            let _ = serve(conn, &streams, &publisher, &publishing);
        });
    }
    Ok(())
}

/// Reads one request head and answers it: `/control` starts a plan, anything else opens a stream.
fn serve(
    mut conn: TcpStream,
    streams: &Streams,
    publisher: &Arc<Publisher>,
    publishing: &Arc<AtomicUsize>,
) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf)?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.split(' ').nth(1).unwrap_or("/");
    if let Some(query) = target.strip_prefix("/control") {
        let plan = Plan::from_query(query.strip_prefix('?'));
        match plan {
            Some(plan) => {
                start(streams, publisher, publishing, plan);
                conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n",
                )?;
            }
            None => conn.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )?,
        }
        return Ok(());
    }
    conn.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
          transfer-encoding: chunked\r\n\r\n3\r\n:\n\n\r\n",
    )?;
    streams.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
    Ok(())
}

/// Supersedes the running plan with `plan`, publishing from a thread of its own.
fn start(streams: &Streams, publisher: &Arc<Publisher>, publishing: &Arc<AtomicUsize>, plan: Plan) {
    let generation = publisher.supersede();
    let (streams, publisher, publishing) = (streams.clone(), publisher.clone(), publishing.clone());
    std::thread::spawn(move || {
        publishing.fetch_add(1, Ordering::SeqCst);
        let publish = |seq: u64, data: String| {
            let event = format!("id: {seq}\ndata: {data}\n\n");
            let chunk = format!("{:X}\r\n{event}\r\n", event.len());
            let mut streams = streams.lock().unwrap_or_else(|p| p.into_inner());
            streams.retain_mut(|stream| stream.write_all(chunk.as_bytes()).is_ok());
        };
        let sleep_until = |at: Instant| {
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            std::future::ready(())
        };
        smol::block_on(publisher.run(generation, plan, publish, sleep_until));
        publishing.fetch_sub(1, Ordering::SeqCst);
    });
}

/// While nothing is published, drops the streams whose client has closed.
fn reap(streams: &Streams, publishing: &AtomicUsize) {
    let mut buf = [0u8; 64];
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if publishing.load(Ordering::SeqCst) > 0 {
            continue;
        }
        let mut streams = streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|stream| {
            if stream.set_nonblocking(true).is_err() {
                return false;
            }
            let open = match stream.peek(&mut buf) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) => e.kind() == io::ErrorKind::WouldBlock,
            };
            open && stream.set_nonblocking(false).is_ok()
        });
    }
}
