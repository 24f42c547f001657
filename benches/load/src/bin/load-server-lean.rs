//! An experiment, not one of the four compared servers: the ssewire room stream (a [`Hub`]
//! subscription with the room's keep-alive, as an [`SseBody`]) on hyper over
//! `async_io::Async<TcpStream>` on smol's executor, with a choice of I/O adapter, to size the
//! lever the issue names:
//!
//! - `--io lean` (default): a shim that reads into a small stack buffer and copies into hyper's
//!   cursor (hyper's 8 KiB read buffer is never zero-filled), and after a `WouldBlock` waits for
//!   readiness before the next `recv` (no extra `recv` each time hyper polls the read side);
//! - `--io futures`: smol-hyper's `FuturesIo` (what `ssewire::server` uses);
//! - `--h1`: hyper's HTTP/1 builder instead of hyper-util's auto builder.
//!
//! `GET /control?rate=R&count=K` as in the other servers. Prints `PORT <port>`.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use async_io::Async;
use hyper::body::{Bytes, Incoming};
use hyper::rt::{Read as HyperRead, ReadBufCursor, Write as HyperWrite};
use ssewire::{Event, Hub, KeepAlive, SseBody};
use ssewire_load::publish::{Plan, Publisher};
use ssewire_load::sys;

/// The lean shim.
struct Lean {
    io: Async<TcpStream>,
    /// The last `recv` would have blocked: wait for readiness before the next.
    read_blocked: bool,
}

impl HyperRead for Lean {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.read_blocked {
                ready!(this.io.poll_readable(cx))?;
                this.read_blocked = false;
            }
            let mut chunk = [0u8; 2048];
            let want = buf.remaining().min(chunk.len());
            match this.io.get_ref().read(&mut chunk[..want]) {
                Ok(n) => {
                    buf.put_slice(&chunk[..n]);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.read_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl HyperWrite for Lean {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match this.io.get_ref().write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(this.io.poll_writable(cx))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return Poll::Ready(other),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match this.io.get_ref().write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(this.io.poll_writable(cx))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return Poll::Ready(other),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(std::net::Shutdown::Write))
    }
}

#[derive(Clone)]
struct Exec;

impl<F: std::future::Future + Send + 'static> hyper::rt::Executor<F> for Exec {
    fn execute(&self, future: F) {
        smol::spawn(async move {
            future.await;
        })
        .detach();
    }
}

/// The response body: an SSE stream or a short text.
enum Body {
    Sse(Pin<Box<dyn http_body::Body<Data = Bytes, Error = Infallible> + Send>>),
    Text(Option<Bytes>),
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Sse(body) => body.as_mut().poll_frame(cx),
            Body::Text(text) => Poll::Ready(text.take().map(|t| Ok(http_body::Frame::data(t)))),
        }
    }
}

fn respond(
    hub: &Hub,
    publisher: &Arc<Publisher>,
    request: &http::Request<Incoming>,
) -> http::Response<Body> {
    match request.uri().path() {
        "/events" => {
            let last = request
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty());
            let keep_alive = KeepAlive {
                retry: Some(Duration::from_millis(1000)),
                ..KeepAlive::default()
            };
            let stream = keep_alive.wrap(hub.subscribe(last), |d| async move {
                async_io::Timer::after(d).await;
            });
            let mut response = http::Response::new(Body::Sse(Box::pin(SseBody::new(stream))));
            ssewire::sse_headers(response.headers_mut());
            response
        }
        "/control" => match Plan::from_query(request.uri().query()) {
            Some(plan) => {
                start(hub, publisher, plan);
                http::Response::new(Body::Text(Some("ok\n".into())))
            }
            None => {
                let mut response = http::Response::new(Body::Text(None));
                *response.status_mut() = http::StatusCode::BAD_REQUEST;
                response
            }
        },
        _ => {
            let mut response = http::Response::new(Body::Text(None));
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            response
        }
    }
}

fn start(hub: &Hub, publisher: &Arc<Publisher>, plan: Plan) {
    let generation = publisher.supersede();
    let (hub, publisher) = (hub.clone(), publisher.clone());
    smol::spawn(async move {
        let publish = |_seq, data: String| {
            hub.publish(&Event::new(data));
        };
        let sleep_until = |at| async move {
            async_io::Timer::at(at).await;
        };
        publisher.run(generation, plan, publish, sleep_until).await;
    })
    .detach();
}

fn main() -> io::Result<()> {
    sys::server_prelude(Duration::from_secs(900));
    let mut lean = true;
    let mut h1 = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--io" => lean = args.next().as_deref() != Some("futures"),
            "--h1" => h1 = true,
            "--max-secs" => {
                // The lifetime bound of the other servers: the prelude's 900 s covers it.
                args.next();
            }
            _ => {
                eprintln!("usage: [--io lean|futures] [--h1]");
                std::process::exit(64);
            }
        }
    }
    let hub = Hub::default();
    let publisher = Arc::new(Publisher::default());
    smol::block_on(async {
        let listener = Async::<TcpListener>::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        sys::announce_port(listener.get_ref().local_addr()?.port());
        loop {
            let (stream, _) = listener.accept().await?;
            stream.get_ref().set_nodelay(true)?;
            let (hub, publisher) = (hub.clone(), publisher.clone());
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&hub, &publisher, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            smol::spawn(async move {
                let _ = match (lean, h1) {
                    (true, true) => {
                        let io = Lean {
                            io: stream,
                            read_blocked: false,
                        };
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await
                            .map_err(drop)
                    }
                    (true, false) => {
                        let io = Lean {
                            io: stream,
                            read_blocked: false,
                        };
                        hyper_util::server::conn::auto::Builder::new(Exec)
                            .serve_connection(io, service)
                            .await
                            .map_err(drop)
                    }
                    (false, true) => {
                        let io = smol_hyper::rt::FuturesIo::new(stream);
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await
                            .map_err(drop)
                    }
                    (false, false) => {
                        let io = smol_hyper::rt::FuturesIo::new(stream);
                        hyper_util::server::conn::auto::Builder::new(Exec)
                            .serve_connection(io, service)
                            .await
                            .map_err(drop)
                    }
                };
            })
            .detach();
        }
    })
}
