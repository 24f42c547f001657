//! The load client: N concurrent SSE streams on one tokio thread (a `LocalSet`), raw HTTP/1.1
//! over TCP, chunked framing and `data:` lines found with `memchr`, and one shared read buffer,
//! so each stream costs a socket and a few dozen bytes of state.
//!
//! Receive time comes from the kernel: `SO_TIMESTAMPNS` on every socket and `recvmsg` with a
//! control buffer, giving the time the last segment of each read reached the socket (the
//! `CLOCK_REALTIME` the servers stamp events with). A read without the control message falls
//! back to the user-space clock; [`Streams::stamps`] counts both.
//!
//! Every function that spawns must run inside a [`tokio::task::LocalSet`].

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use memchr::memmem;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// What one stream saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamStat {
    /// Events (`data:` lines) received.
    pub events: u64,
    /// Sequence number of the last event.
    pub last_seq: u64,
    /// Events whose sequence number did not follow the previous one.
    pub out_of_order: u64,
    /// The response status (0 before the headers).
    pub status: u16,
    /// The response headers arrived with `200`.
    pub open: bool,
    /// The connection ended (EOF, error, or a failed connect).
    pub ended: bool,
}

/// A set of SSE streams to one server.
#[derive(Debug)]
pub struct Streams {
    addr: SocketAddr,
    stats: RefCell<Vec<StreamStat>>,
    latencies: RefCell<Vec<u64>>,
    record: Cell<bool>,
    kernel_stamps: Cell<u64>,
    user_stamps: Cell<u64>,
    opened: Cell<usize>,
    failed: Cell<usize>,
    events: Cell<u64>,
    first_error: RefCell<Option<String>>,
    tasks: RefCell<Vec<JoinHandle<()>>>,
}

thread_local! {
    /// The read buffer all streams share (one thread, no read spans an `.await`).
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; 64 * 1024]);
    /// The control-message buffer for `recvmsg`.
    static CMSG_BUF: RefCell<Vec<u8>> = RefCell::new(nix::cmsg_space!(nix::sys::time::TimeSpec));
}

impl Streams {
    /// Opens `n` streams to `addr`, at most `concurrency` of them handshaking at once (listen
    /// backlogs are small). Returns at once; see [`Streams::wait_opened`].
    pub fn open(addr: SocketAddr, n: usize, concurrency: usize) -> Rc<Streams> {
        let streams = Rc::new(Streams {
            addr,
            stats: RefCell::new(vec![StreamStat::default(); n]),
            latencies: RefCell::new(Vec::new()),
            record: Cell::new(false),
            kernel_stamps: Cell::new(0),
            user_stamps: Cell::new(0),
            opened: Cell::new(0),
            failed: Cell::new(0),
            events: Cell::new(0),
            first_error: RefCell::new(None),
            tasks: RefCell::new(Vec::with_capacity(n)),
        });
        let gate = Arc::new(Semaphore::new(concurrency.max(1)));
        if let Some(per_conn) = crate::tls::h2_streams_per_conn() {
            // HTTP/2: `concurrency` connections handshaking at once, each carrying up to
            // `per_conn` streams.
            for first in (0..n).step_by(per_conn) {
                let (me, gate) = (streams.clone(), gate.clone());
                let range = first..(first + per_conn).min(n);
                let task = tokio::task::spawn_local(async move {
                    let permit = gate.acquire_owned().await.ok();
                    if let Err(e) = me.clone().run_h2_conn(range.clone(), permit).await {
                        for idx in range {
                            me.finish(idx, Err(io::Error::other(format!("connection: {e}"))));
                        }
                    }
                });
                streams.tasks.borrow_mut().push(task);
            }
            return streams;
        }
        for idx in 0..n {
            let me = streams.clone();
            let gate = gate.clone();
            let task = tokio::task::spawn_local(async move {
                let permit = gate.acquire_owned().await.ok();
                let result = me.run_one(idx, permit).await;
                me.finish(idx, result);
            });
            streams.tasks.borrow_mut().push(task);
        }
        streams
    }

    /// Records the end of stream `idx`.
    fn finish(&self, idx: usize, result: io::Result<()>) {
        let mut stats = self.stats.borrow_mut();
        if stats[idx].ended {
            return;
        }
        stats[idx].ended = true;
        let opened = stats[idx].open;
        drop(stats);
        if let Err(e) = result {
            if !opened {
                self.failed.set(self.failed.get() + 1);
            }
            self.first_error
                .borrow_mut()
                .get_or_insert_with(|| format!("stream {idx}: {e}"));
        }
    }

    /// One HTTP/2 connection (TLS, ALPN `h2`) carrying the streams `range`: each stream is a
    /// task of its own, and this task drives the connection until it ends (or is aborted by
    /// [`Streams::close`], which closes the socket). Receipt is stamped in user space.
    async fn run_h2_conn(
        self: Rc<Self>,
        range: std::ops::Range<usize>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> io::Result<()> {
        let tls = crate::tls::connect_h2(self.addr).await?;
        let (send, connection) = h2::client::handshake(tls).await.map_err(io::Error::other)?;
        drop(permit);
        for idx in range {
            let (me, send) = (self.clone(), send.clone());
            let task = tokio::task::spawn_local(async move {
                let result = me.run_h2_stream(idx, send).await;
                me.finish(idx, result);
            });
            self.tasks.borrow_mut().push(task);
        }
        drop(send);
        connection.await.map_err(io::Error::other)
    }

    /// One stream of [`Streams::run_h2_conn`].
    async fn run_h2_stream(
        &self,
        idx: usize,
        send: h2::client::SendRequest<bytes::Bytes>,
    ) -> io::Result<()> {
        let request = http::Request::get(format!("https://{}/events", self.addr))
            .header("accept", "text/event-stream")
            .body(())
            .map_err(io::Error::other)?;
        let mut send = send.ready().await.map_err(io::Error::other)?;
        let (response, _) = send.send_request(request, true).map_err(io::Error::other)?;
        let response = response.await.map_err(io::Error::other)?;
        let status = response.status().as_u16();
        self.stats.borrow_mut()[idx].status = status;
        if status != 200 {
            return Err(io::Error::other(format!("status {status}")));
        }
        self.stats.borrow_mut()[idx].open = true;
        self.opened.set(self.opened.get() + 1);
        let mut body = response.into_body();
        // HTTP/2 frames the body: the SSE lines come as they are.
        let mut conn = Conn {
            state: State::Identity,
            status,
            ..Conn::default()
        };
        while let Some(data) = body.data().await {
            let data = data.map_err(io::Error::other)?;
            let _ = body.flow_control().release_capacity(data.len());
            self.user_stamps.set(self.user_stamps.get() + 1);
            let rx_ns = crate::sys::now_ns();
            conn.feed(&data, &mut |line| self.on_line(idx, line, rx_ns));
        }
        Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended"))
    }

    async fn run_one(&self, idx: usize, permit: Option<OwnedSemaphorePermit>) -> io::Result<()> {
        if crate::tls::enabled() {
            return self.run_one_tls(idx, permit).await;
        }
        let mut permit = permit;
        let mut stream = TcpStream::connect(self.addr).await?;
        // Kernel receive timestamps; without them, reads are stamped in user space.
        let _ = setsockopt(&stream, sockopt::ReceiveTimestampns, &true);
        let request = format!(
            "GET /events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).await?;
        let fd = stream.as_raw_fd();
        let mut conn = Conn::default();
        loop {
            stream.readable().await?;
            let read = READ_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                let (n, stamp) =
                    match stream.try_io(Interest::READABLE, || recv_stamped(fd, &mut buf)) {
                        Ok(got) => got,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                        Err(e) => return Err(e),
                    };
                if n == 0 {
                    return Ok(Some(0));
                }
                let rx_ns = match stamp {
                    Some(ns) => {
                        self.kernel_stamps.set(self.kernel_stamps.get() + 1);
                        ns
                    }
                    None => {
                        self.user_stamps.set(self.user_stamps.get() + 1);
                        crate::sys::now_ns()
                    }
                };
                conn.feed(&buf[..n], &mut |line| self.on_line(idx, line, rx_ns));
                Ok(Some(n))
            })?;
            if permit.is_some() && conn.status != 0 {
                permit = None;
                let ok = conn.status == 200;
                self.stats.borrow_mut()[idx].status = conn.status;
                if ok {
                    self.stats.borrow_mut()[idx].open = true;
                    self.opened.set(self.opened.get() + 1);
                } else {
                    return Err(io::Error::other(format!("status {}", conn.status)));
                }
            }
            match read {
                Some(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed")),
                _ if conn.state == State::Done => return Ok(()),
                _ => {}
            }
        }
    }

    /// [`Streams::run_one`] over TLS: the kernel's receive time is that of the TLS records, so
    /// reads are stamped in user space, and each stream decrypts into a buffer of its own (a
    /// read spans an `.await`).
    async fn run_one_tls(
        &self,
        idx: usize,
        permit: Option<OwnedSemaphorePermit>,
    ) -> io::Result<()> {
        let mut permit = permit;
        let mut stream = crate::tls::connect(self.addr).await?;
        let request = format!(
            "GET /events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).await?;
        let mut conn = Conn::default();
        let mut buf = vec![0; 4096];
        loop {
            let n = stream.read(&mut buf).await?;
            if n > 0 {
                self.user_stamps.set(self.user_stamps.get() + 1);
                let rx_ns = crate::sys::now_ns();
                conn.feed(&buf[..n], &mut |line| self.on_line(idx, line, rx_ns));
            }
            if permit.is_some() && conn.status != 0 {
                permit = None;
                self.stats.borrow_mut()[idx].status = conn.status;
                if conn.status != 200 {
                    return Err(io::Error::other(format!("status {}", conn.status)));
                }
                self.stats.borrow_mut()[idx].open = true;
                self.opened.set(self.opened.get() + 1);
            }
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
            }
            if conn.state == State::Done {
                return Ok(());
            }
        }
    }

    fn on_line(&self, idx: usize, line: &[u8], rx_ns: u64) {
        let Some(data) = line.strip_prefix(b"data: ") else {
            return;
        };
        let Some((seq, sent_ns)) = parse_payload(data) else {
            return;
        };
        let mut stats = self.stats.borrow_mut();
        let stat = &mut stats[idx];
        if stat.last_seq != 0 && seq != stat.last_seq + 1 {
            stat.out_of_order += 1;
        }
        stat.last_seq = seq;
        stat.events += 1;
        self.events.set(self.events.get() + 1);
        if self.record.get() {
            self.latencies
                .borrow_mut()
                .push(rx_ns.saturating_sub(sent_ns));
        }
    }

    /// Waits until every stream is open or failed, or `timeout`. True if all opened.
    pub async fn wait_opened(&self, timeout: Duration) -> bool {
        let n = self.len();
        let deadline = Instant::now() + timeout;
        while self.opened.get() + self.failed.get() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.opened.get() == n
    }

    /// Waits until every open stream has received `events` events (counted since opening), or
    /// `timeout`. True if they all have.
    pub async fn wait_events(&self, events: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.events.get() >= events * self.opened.get() as u64 && self.all_have(events) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn all_have(&self, events: u64) -> bool {
        self.stats
            .borrow()
            .iter()
            .filter(|s| s.open)
            .all(|s| s.events >= events)
    }

    /// Starts or stops recording send→receive latencies.
    pub fn record_latency(&self, on: bool) {
        self.record.set(on);
    }

    /// The recorded latencies, ns (taken).
    pub fn take_latencies(&self) -> Vec<u64> {
        std::mem::take(&mut *self.latencies.borrow_mut())
    }

    /// Reads stamped by the kernel and in user space.
    pub fn stamps(&self) -> (u64, u64) {
        (self.kernel_stamps.get(), self.user_stamps.get())
    }

    /// Streams asked for.
    pub fn len(&self) -> usize {
        self.stats.borrow().len()
    }

    /// No streams asked for.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Streams that got a `200` response.
    pub fn opened(&self) -> usize {
        self.opened.get()
    }

    /// Events received, all streams.
    pub fn events(&self) -> u64 {
        self.events.get()
    }

    /// Per-stream counters.
    pub fn stats(&self) -> Vec<StreamStat> {
        self.stats.borrow().clone()
    }

    /// The first error any stream met, if any.
    pub fn first_error(&self) -> Option<String> {
        self.first_error.borrow().clone()
    }

    /// Closes every stream (the sockets are closed when this returns).
    pub async fn close(&self) {
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// One `recvmsg` with the kernel receive timestamp (ns since the epoch) if there is one.
fn recv_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    CMSG_BUF.with(|cmsg| {
        let mut cmsg = cmsg.borrow_mut();
        let mut iov = [io::IoSliceMut::new(buf)];
        let msg = recvmsg::<()>(fd, &mut iov, Some(&mut *cmsg), MsgFlags::MSG_DONTWAIT)
            .map_err(io::Error::from)?;
        let mut stamp = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmTimestampns(ts) = c {
                    let secs = u64::try_from(ts.tv_sec()).unwrap_or(0);
                    let nanos = u64::try_from(ts.tv_nsec()).unwrap_or(0);
                    stamp = Some(secs * 1_000_000_000 + nanos);
                }
            }
        }
        Ok((msg.bytes, stamp))
    })
}

/// `"<seq> <ns>"` → numbers.
fn parse_payload(data: &[u8]) -> Option<(u64, u64)> {
    let space = memchr::memchr(b' ', data)?;
    Some((
        parse_u64(&data[..space])?,
        parse_u64(
            data[space + 1..]
                .strip_suffix(b"\r")
                .unwrap_or(&data[space + 1..]),
        )?,
    ))
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// Parser state of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Reading the status line and headers.
    #[default]
    Head,
    /// A chunk-size line (hex digits, optional `;extensions`, CRLF).
    Size { acc: u64, ext: bool },
    /// Chunk payload bytes left.
    Data(u64),
    /// The CRLF after a chunk's payload (bytes left to skip).
    Crlf(u8),
    /// A body without chunked framing (read to EOF).
    Identity,
    /// The last chunk arrived, or the response was malformed.
    Done,
}

/// Longest header block or SSE line kept (the servers send short ones).
const MAX_HOLD: usize = 64 * 1024;

/// Minimal HTTP/1.1 response parsing: the status, then the body's lines.
#[derive(Debug, Default)]
struct Conn {
    state: State,
    status: u16,
    head: Vec<u8>,
    line: Vec<u8>,
}

impl Conn {
    fn feed(&mut self, data: &[u8], on_line: &mut dyn FnMut(&[u8])) {
        if self.state != State::Head {
            return self.body(data, on_line);
        }
        self.head.extend_from_slice(data);
        let Some(end) = memmem::find(&self.head, b"\r\n\r\n") else {
            if self.head.len() > MAX_HOLD {
                self.state = State::Done;
            }
            return;
        };
        let head = std::mem::take(&mut self.head);
        self.status = head
            .get(9..12)
            .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok())
            .unwrap_or(999);
        let headers = head[..end].to_ascii_lowercase();
        self.state = if memmem::find(&headers, b"transfer-encoding: chunked").is_some() {
            State::Size { acc: 0, ext: false }
        } else {
            State::Identity
        };
        self.body(&head[end + 4..], on_line);
    }

    fn body(&mut self, mut data: &[u8], on_line: &mut dyn FnMut(&[u8])) {
        while let Some((&byte, rest)) = data.split_first() {
            match self.state {
                State::Identity => return self.lines(data, on_line),
                State::Head | State::Done => return,
                State::Size { acc, ext } => {
                    data = rest;
                    self.state = match byte {
                        b'\n' if acc == 0 => State::Done,
                        b'\n' => State::Data(acc),
                        b';' => State::Size { acc, ext: true },
                        _ if ext => State::Size { acc, ext },
                        _ => match char::from(byte).to_digit(16) {
                            Some(d) => State::Size {
                                acc: acc.saturating_mul(16).saturating_add(u64::from(d)),
                                ext,
                            },
                            None => State::Size { acc, ext },
                        },
                    };
                }
                State::Data(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::Crlf(2)
                    } else {
                        State::Data(left)
                    };
                    self.lines(&data[..take], on_line);
                    data = &data[take..];
                }
                State::Crlf(left) => {
                    data = rest;
                    self.state = if left <= 1 {
                        State::Size { acc: 0, ext: false }
                    } else {
                        State::Crlf(left - 1)
                    };
                }
            }
        }
    }

    /// Splits payload into lines (LF-terminated; the servers do not use lone CR).
    fn lines(&mut self, data: &[u8], on_line: &mut dyn FnMut(&[u8])) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', data) {
            if self.line.is_empty() {
                on_line(&data[start..end]);
            } else {
                self.line.extend_from_slice(&data[start..end]);
                on_line(&self.line);
                self.line.clear();
            }
            start = end + 1;
        }
        if self.line.len() + (data.len() - start) <= MAX_HOLD {
            self.line.extend_from_slice(&data[start..]);
        } else {
            self.line.clear();
        }
    }
}

/// Opens `count` streams one after another (at most `concurrency` at a time), waits for each
/// response's headers, and closes it. Returns how many got a `200`.
///
/// Over HTTP/2 ([`crate::tls::enable_h2`]) a cycle is a stream on one shared connection: the
/// request, the response's headers, then a `RST_STREAM`.
pub async fn connect_cycles(addr: SocketAddr, count: usize, concurrency: usize) -> usize {
    if crate::tls::h2_streams_per_conn().is_some() {
        return h2_cycles(addr, count, concurrency).await.unwrap_or(0);
    }
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let ok = Rc::new(Cell::new(0usize));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let gate = gate.clone();
        let ok = ok.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = gate.acquire_owned().await;
            let once = tokio::time::timeout(Duration::from_secs(10), head_only(addr, "/events"));
            if let Ok(Ok(200)) = once.await {
                ok.set(ok.get() + 1);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    ok.get()
}

/// [`connect_cycles`] over HTTP/2.
async fn h2_cycles(addr: SocketAddr, count: usize, concurrency: usize) -> io::Result<usize> {
    let tls = crate::tls::connect_h2(addr).await?;
    let (send, connection) = h2::client::handshake(tls).await.map_err(io::Error::other)?;
    let driver = tokio::task::spawn_local(connection);
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let ok = Rc::new(Cell::new(0usize));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (gate, ok, send) = (gate.clone(), ok.clone(), send.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = gate.acquire_owned().await;
            let once = async move {
                let request = http::Request::get(format!("https://{addr}/events"))
                    .body(())
                    .map_err(io::Error::other)?;
                let mut send = send.ready().await.map_err(io::Error::other)?;
                let (response, _) = send.send_request(request, true).map_err(io::Error::other)?;
                // Dropping the response resets the stream.
                let status = response.await.map_err(io::Error::other)?.status();
                Ok::<u16, io::Error>(status.as_u16())
            };
            if let Ok(Ok(200)) = tokio::time::timeout(Duration::from_secs(10), once).await {
                ok.set(ok.get() + 1);
            }
        }));
    }
    drop(send);
    for task in tasks {
        let _ = task.await;
    }
    driver.abort();
    let _ = driver.await;
    Ok(ok.get())
}

/// Sends `GET path` and returns the status once the headers are in; closes the connection.
async fn head_only(addr: SocketAddr, path: &str) -> io::Result<u16> {
    let mut stream = crate::tls::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
        }
        head.extend_from_slice(&buf[..n]);
        if memmem::find(&head, b"\r\n\r\n").is_some() {
            break;
        }
        if head.len() > MAX_HOLD {
            return Err(io::Error::other("header too long"));
        }
    }
    Ok(head
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok())
        .unwrap_or(999))
}

/// A plain `GET path` with `Connection: close`; returns status and body (at most 5 s).
///
/// # Errors
///
/// Connecting or reading failed, or the server took longer than 5 s.
pub async fn get(addr: SocketAddr, path: &str) -> io::Result<(u16, Vec<u8>)> {
    let exchange = async {
        let mut stream = crate::tls::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        match stream.read_to_end(&mut response).await {
            // A TLS server may close without `close_notify`; the response is framed anyway.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
            read => {
                read?;
            }
        }
        let status = response
            .get(9..12)
            .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok())
            .unwrap_or(999);
        let body = memmem::find(&response, b"\r\n\r\n")
            .map(|end| response[end + 4..].to_vec())
            .unwrap_or_default();
        Ok((status, body))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "GET timed out"))?
}

/// Makes `count` TLS connections to `addr` (at most `in_flight` at once), each closed once its
/// handshake is done; returns how many completed. Needs [`crate::tls::enable`].
pub async fn handshakes(addr: SocketAddr, count: usize, in_flight: usize) -> usize {
    let gate = Arc::new(Semaphore::new(in_flight.max(1)));
    let ok = Rc::new(Cell::new(0usize));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (gate, ok) = (gate.clone(), ok.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = gate.acquire_owned().await;
            let connect = async {
                if crate::tls::h2_streams_per_conn().is_some() {
                    crate::tls::connect_h2(addr).await.map(drop)
                } else {
                    crate::tls::connect(addr).await.map(drop)
                }
            };
            let once = tokio::time::timeout(Duration::from_secs(10), connect);
            if let Ok(Ok(())) = once.await {
                ok.set(ok.get() + 1);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    ok.get()
}

/// Asks the server to publish `count` events at `rate` per second.
///
/// # Errors
///
/// The request failed or did not get a `200`.
pub async fn start_publishing(addr: SocketAddr, rate: f64, count: u64) -> io::Result<()> {
    let (status, _) = get(addr, &format!("/control?rate={rate}&count={count}")).await?;
    if status == 200 {
        Ok(())
    } else {
        Err(io::Error::other(format!("/control answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Conn) {
        let mut conn = Conn::default();
        let mut out = Vec::new();
        for chunk in chunks {
            conn.feed(chunk, &mut |l| out.push(l.to_vec()));
        }
        (out, conn)
    }

    #[test]
    fn chunked_split_anywhere() {
        let wire: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
            12\r\nid: 1\ndata: 1 99\n\n\r\n5;x=y\r\n: ka\n\r\n0\r\n\r\n";
        let (whole, conn) = lines_of(&[wire]);
        assert_eq!(conn.status, 200);
        assert_eq!(conn.state, State::Done);
        let expected: Vec<Vec<u8>> = vec![
            b"id: 1".to_vec(),
            b"data: 1 99".to_vec(),
            b"".to_vec(),
            b": ka".to_vec(),
        ];
        assert_eq!(whole, expected);
        for split in 1..wire.len() {
            let (parts, _) = lines_of(&[&wire[..split], &wire[split..]]);
            assert_eq!(parts, expected, "split at {split}");
        }
        assert_eq!(parse_payload(b"12 345"), Some((12, 345)));
        assert_eq!(parse_payload(b"12 x"), None);
    }
}
