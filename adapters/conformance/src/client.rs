//! Real clients over loopback TCP, in clear or over TLS: a small raw HTTP/1.1 client (status
//! line, headers, chunked transfer coding) that feeds bodies into `ssewire::Decoder`, and an
//! HTTP/2 client on hyper (prior knowledge in clear, ALPN `h2` over TLS).
//!
//! Sockets are `async_io::Async<std::net::TcpStream>`, under futures-rustls for TLS:
//! runtime-neutral (async-io drives its own reactor when the adapter's `block_on` does not), so
//! the client side is the same whatever adapter is under test. A [`Transport`] says which: the
//! same test runs over both.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Async;
use bytes::{Buf, Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use ssewire::{Decoder, Event, Frame};
use ssewire_server::{Runtime, TlsConfig};

/// Runs `future`, panicking with `what` if it takes longer than `limit` (measured with the
/// adapter's own timer). The future is boxed, so nesting these keeps stack frames small.
pub fn within<R: Runtime, T>(
    limit: Duration,
    what: &str,
    future: impl Future<Output = T>,
) -> impl Future<Output = T> {
    let future = Box::pin(future);
    let what = what.to_owned();
    async move {
        let timeout = async {
            R::sleep(limit).await;
            None
        };
        futures_lite::future::or(async { Some(future.await) }, timeout)
            .await
            .unwrap_or_else(|| panic!("timed out after {limit:?}: {what}"))
    }
}

/// Opens a TCP connection.
pub async fn connect(addr: SocketAddr) -> io::Result<Async<TcpStream>> {
    Async::<TcpStream>::connect(addr).await
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, and its key, as PEM.
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// Its private key (PEM, PKCS#8).
    pub key_pem: String,
    /// The certificate (DER), what a client pins.
    pub der: CertificateDer<'static>,
}

impl TestCert {
    /// A new one.
    pub fn new() -> TestCert {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("rcgen makes a certificate");
        TestCert {
            cert_pem: made.cert.pem(),
            key_pem: made.signing_key.serialize_pem(),
            der: made.cert.der().clone(),
        }
    }

    /// The server's TLS settings for it.
    pub fn tls(&self) -> TlsConfig {
        TlsConfig::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
            .expect("the test certificate loads")
    }

    /// A client config that trusts this certificate and nothing else, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> io::Result<Arc<ClientConfig>> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                der: self.der.clone(),
                provider,
            }))
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

impl Default for TestCert {
    fn default() -> Self {
        TestCert::new()
    }
}

/// Accepts exactly one certificate (the test's), with the signatures checked as usual.
#[derive(Debug)]
struct Pinned {
    der: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client connection, from futures-rustls over an async-io socket.
pub type TlsStream = futures_rustls::client::TlsStream<Async<TcpStream>>;

/// Connects to `addr` over TLS with `config` (which says what to trust and what ALPN offers);
/// returns the stream and the protocol the server picked.
pub async fn connect_tls_with(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> io::Result<(TlsStream, Option<Vec<u8>>)> {
    let tcp = Async::<TcpStream>::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("a server name");
    let stream = futures_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    Ok((stream, alpn))
}

/// Connects to `addr` over TLS, trusting only `cert`, offering `alpn`; returns the stream and
/// the protocol the server picked.
pub async fn connect_tls(
    addr: SocketAddr,
    cert: &TestCert,
    alpn: &[&[u8]],
) -> io::Result<(TlsStream, Option<Vec<u8>>)> {
    connect_tls_with(addr, cert.client_config(alpn)?).await
}

/// How a test reaches its server: cleartext TCP, or TLS with a certificate made for the test.
/// Over TLS the raw HTTP/1.1 client offers ALPN `http/1.1` and the HTTP/2 client `h2` (where
/// in clear it uses prior knowledge).
#[derive(Debug, Clone)]
pub enum Transport {
    /// Cleartext TCP.
    Tcp,
    /// TLS over TCP.
    Tls(Arc<Tls>),
}

/// The TLS side of a [`Transport`]: one self-signed certificate, the server's settings for it,
/// and a client config per ALPN offer (shared, so clients resume sessions as browsers do).
#[derive(Debug)]
pub struct Tls {
    /// The certificate both sides use.
    pub cert: TestCert,
    /// The server's settings (`h2` and `http/1.1` offered).
    pub server: TlsConfig,
    http1: Arc<ClientConfig>,
    h2: Arc<ClientConfig>,
}

impl Transport {
    /// TLS with a new self-signed certificate.
    pub fn tls() -> Transport {
        let cert = TestCert::new();
        let tls = Tls {
            server: cert.tls(),
            http1: cert.client_config(&[b"http/1.1"]).expect("a client config"),
            h2: cert.client_config(&[b"h2"]).expect("a client config"),
            cert,
        };
        Transport::Tls(Arc::new(tls))
    }

    /// Whether this is TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// The server's TLS settings, if any.
    pub fn server_tls(&self) -> Option<TlsConfig> {
        match self {
            Transport::Tcp => None,
            Transport::Tls(tls) => Some(tls.server.clone()),
        }
    }

    /// A connection for HTTP/1.1: plain TCP, or TLS having agreed on `http/1.1` by ALPN.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<Conn> {
        match self {
            Transport::Tcp => Ok(Conn::Tcp(connect(addr).await?)),
            Transport::Tls(tls) => {
                let (stream, alpn) = connect_tls_with(addr, tls.http1.clone()).await?;
                assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]), "ALPN");
                Ok(Conn::Tls(Box::new(stream)))
            }
        }
    }

    /// A connection for HTTP/2: plain TCP (prior knowledge), or TLS having agreed on `h2`.
    pub async fn connect_h2(&self, addr: SocketAddr) -> io::Result<Conn> {
        match self {
            Transport::Tcp => Ok(Conn::Tcp(connect(addr).await?)),
            Transport::Tls(tls) => {
                let (stream, alpn) = connect_tls_with(addr, tls.h2.clone()).await?;
                assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN");
                Ok(Conn::Tls(Box::new(stream)))
            }
        }
    }

    /// Sends `GET path` with `headers` on a new connection and reads the response head.
    pub async fn get(
        &self,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<Http1Response> {
        let mut conn = self.connect(addr).await?;
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        conn.write_all(request.as_bytes()).await?;
        conn.flush().await?;
        read_head(conn).await
    }

    /// Sends `GET path` asking for an event stream, and checks the answer is one.
    pub async fn get_sse(
        &self,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<Sse<Body>> {
        let mut all = vec![("Accept", "text/event-stream")];
        all.extend_from_slice(headers);
        let response = self.get(addr, path, &all).await?;
        assert_eq!(response.status, 200, "GET {path}: {response:?}");
        assert_eq!(
            response.header("content-type"),
            Some("text/event-stream"),
            "GET {path}"
        );
        Ok(response.into_sse())
    }

    /// An HTTP/2 connection (hyper's client) whose task runs on `runtime`.
    pub async fn http2<R: Runtime>(&self, runtime: &R, addr: SocketAddr) -> io::Result<Http2> {
        let conn = self.connect_h2(addr).await?;
        Http2::handshake(runtime, conn, addr, self.is_tls()).await
    }
}

/// A client connection: plain TCP or TLS.
#[derive(Debug)]
pub enum Conn {
    /// Cleartext.
    Tcp(Async<TcpStream>),
    /// TLS (boxed: its state is large).
    Tls(Box<TlsStream>),
}

impl Conn {
    /// Reads what the server sends into `out` until it closes the connection. Over TLS a close
    /// without `close_notify` (rustls's `UnexpectedEof`) counts as the close too: what is read
    /// this way carries its own framing (`Content-Length`, chunked), which the caller checks, so
    /// a cut would not go unseen.
    pub async fn read_until_closed(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match self.read(&mut buf).await? {
                0 => return Ok(()),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Conn::Tls(tls) => Pin::new(&mut **tls).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Conn::Tls(tls) => Pin::new(&mut **tls).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            Conn::Tls(tls) => Pin::new(&mut **tls).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(tcp) => Pin::new(tcp).poll_close(cx),
            Conn::Tls(tls) => Pin::new(&mut **tls).poll_close(cx),
        }
    }
}

/// A parsed HTTP/1.x response head, and its body still on the socket.
#[derive(Debug)]
pub struct Http1Response {
    /// `HTTP/1.1`, say.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// Header fields in wire order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, read as it arrives.
    pub body: Body,
}

impl Http1Response {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads the whole body.
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(chunk) = self.body.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Turns the body into an SSE reader.
    pub fn into_sse(self) -> Sse<Body> {
        Sse::new(self.body)
    }
}

/// Sends `GET path` with `headers` on a new cleartext connection and reads the response head.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Http1Response> {
    Transport::Tcp.get(addr, path, headers).await
}

/// Sends `GET path` in clear asking for an event stream, and checks the answer is one.
pub async fn get_sse(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Sse<Body>> {
    Transport::Tcp.get_sse(addr, path, headers).await
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

async fn read_head(mut conn: Conn) -> io::Result<Http1Response> {
    let mut raw = BytesMut::with_capacity(4096);
    let end = loop {
        if let Some(end) = find(&raw, b"\r\n\r\n") {
            break end;
        }
        if raw.len() > 64 * 1024 {
            return Err(invalid("response head over 64 KiB"));
        }
        if read_more(&mut conn, &mut raw).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the response head",
            ));
        }
    };
    let head = raw.split_to(end + 4);
    let head = std::str::from_utf8(&head).map_err(|_| invalid("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let find_header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let state = if status == 204 || status == 304 || (100..200).contains(&status) {
        BodyState::Done
    } else if find_header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        BodyState::ChunkSize
    } else if let Some(length) = find_header("content-length") {
        let length = length
            .parse()
            .map_err(|_| invalid(format!("bad content-length {length:?}")))?;
        BodyState::Length(length)
    } else {
        BodyState::UntilClose
    };
    Ok(Http1Response {
        version,
        status,
        headers,
        body: Body { conn, raw, state },
    })
}

async fn read_more(conn: &mut Conn, raw: &mut BytesMut) -> io::Result<usize> {
    let mut chunk = vec![0u8; 16 * 1024];
    let n = conn.read(&mut chunk).await?;
    raw.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Inside a chunk: bytes left.
    ChunkData(usize),
    /// Expecting the CRLF after a chunk's data.
    ChunkEnd,
    /// After the last chunk: trailer lines up to a blank line.
    Trailer,
    /// `Content-Length` bytes left.
    Length(usize),
    /// Body delimited by the connection closing.
    UntilClose,
    /// The body has ended (cleanly).
    Done,
}

/// An HTTP/1.1 response body: chunked, `Content-Length` or close-delimited.
#[derive(Debug)]
pub struct Body {
    conn: Conn,
    raw: BytesMut,
    state: BodyState,
}

impl Body {
    /// Whether the body ended cleanly (the last chunk, or all `Content-Length` bytes, arrived).
    pub fn is_done(&self) -> bool {
        self.state == BodyState::Done
    }

    /// The next piece of body data as it arrives; `None` at the clean end of the body. An error if
    /// the connection ends in the middle (for chunked or sized bodies).
    pub async fn chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(data) = self.decode()? {
                return Ok(Some(data));
            }
            if self.state == BodyState::Done {
                return Ok(None);
            }
            if read_more(&mut self.conn, &mut self.raw).await? == 0 {
                if self.state == BodyState::UntilClose {
                    self.state = BodyState::Done;
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed inside the body ({:?})", self.state),
                ));
            }
        }
    }

    /// Decodes what `raw` holds: data if any, else `None` (need more bytes, or done).
    fn decode(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            match self.state {
                BodyState::Done => return Ok(None),
                BodyState::UntilClose => {
                    return Ok((!self.raw.is_empty()).then(|| self.raw.split().freeze()));
                }
                BodyState::Length(0) => {
                    self.state = BodyState::Done;
                    return Ok(None);
                }
                BodyState::Length(left) => {
                    if self.raw.is_empty() {
                        return Ok(None);
                    }
                    let take = left.min(self.raw.len());
                    self.state = BodyState::Length(left - take);
                    return Ok(Some(self.raw.split_to(take).freeze()));
                }
                BodyState::ChunkSize => {
                    let Some(end) = find(&self.raw, b"\r\n") else {
                        return Ok(None);
                    };
                    let line = self.raw.split_to(end + 2);
                    let line = std::str::from_utf8(&line[..end])
                        .map_err(|_| invalid("chunk-size line is not UTF-8"))?;
                    let size = line.split(';').next().unwrap_or_default().trim();
                    let size = usize::from_str_radix(size, 16)
                        .map_err(|_| invalid(format!("bad chunk-size line {line:?}")))?;
                    self.state = if size == 0 {
                        BodyState::Trailer
                    } else {
                        BodyState::ChunkData(size)
                    };
                }
                BodyState::ChunkData(left) => {
                    if self.raw.is_empty() {
                        return Ok(None);
                    }
                    let take = left.min(self.raw.len());
                    self.state = if take == left {
                        BodyState::ChunkEnd
                    } else {
                        BodyState::ChunkData(left - take)
                    };
                    return Ok(Some(self.raw.split_to(take).freeze()));
                }
                BodyState::ChunkEnd => {
                    if self.raw.len() < 2 {
                        return Ok(None);
                    }
                    if &self.raw[..2] != b"\r\n" {
                        return Err(invalid("chunk data not followed by CRLF"));
                    }
                    self.raw.advance(2);
                    self.state = BodyState::ChunkSize;
                }
                BodyState::Trailer => {
                    let Some(end) = find(&self.raw, b"\r\n") else {
                        return Ok(None);
                    };
                    self.raw.advance(end + 2);
                    if end == 0 {
                        self.state = BodyState::Done;
                    }
                }
            }
        }
    }
}

/// A source of body bytes (HTTP/1.1 or HTTP/2).
pub trait BodySource {
    /// The next piece of body data; `None` at the clean end of the body.
    fn next_data(&mut self) -> impl Future<Output = io::Result<Option<Bytes>>>;
}

impl BodySource for Body {
    fn next_data(&mut self) -> impl Future<Output = io::Result<Option<Bytes>>> {
        self.chunk()
    }
}

impl BodySource for hyper::body::Incoming {
    async fn next_data(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            let frame =
                std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut *self), cx))
                    .await;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

/// An SSE reader: body bytes into `ssewire::Decoder`. Use one view per stream ([`Sse::event`]
/// or [`Sse::frame`]).
#[derive(Debug)]
pub struct Sse<B> {
    body: B,
    buf: BytesMut,
    decoder: Decoder,
    /// Every body byte received so far.
    pub wire: Vec<u8>,
    ended: bool,
}

impl<B: BodySource> Sse<B> {
    /// Reads events from `body`.
    pub fn new(body: B) -> Self {
        Sse {
            body,
            buf: BytesMut::new(),
            decoder: Decoder::new(),
            wire: Vec::new(),
            ended: false,
        }
    }

    /// The body being read.
    pub fn body(&self) -> &B {
        &self.body
    }

    async fn fill(&mut self) -> io::Result<bool> {
        if self.ended {
            return Ok(false);
        }
        match self.body.next_data().await {
            Ok(Some(data)) => {
                self.wire.extend_from_slice(&data);
                self.buf.extend_from_slice(&data);
                Ok(true)
            }
            Ok(None) => {
                self.ended = true;
                self.decoder.finish(&mut self.buf);
                Ok(false)
            }
            Err(e) => {
                self.ended = true;
                self.decoder.finish(&mut self.buf);
                Err(e)
            }
        }
    }

    /// The next event with browser semantics (`EventSource`); `None` when the body ends cleanly,
    /// an error when the connection ends in the middle of it.
    pub async fn try_event(&mut self) -> io::Result<Option<Event>> {
        loop {
            if let Some(event) = self.decoder.decode(&mut self.buf).expect("decoding") {
                return Ok(Some(event));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// The next event with browser semantics (`EventSource`); `None` when the body ends. Panics
    /// if the connection ends in the middle of the body.
    pub async fn event(&mut self) -> Option<Event> {
        self.try_event().await.expect("reading the event stream")
    }

    /// The next item of the raw view; `None` when the body ends cleanly, an error when the
    /// connection ends in the middle of it.
    pub async fn try_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.decoder.decode_frame(&mut self.buf).expect("decoding") {
                return Ok(Some(frame));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// The next item of the raw view (events, comments, `retry`); `None` when the body ends.
    /// Panics if the connection ends in the middle of the body.
    pub async fn frame(&mut self) -> Option<Frame> {
        self.try_frame().await.expect("reading the event stream")
    }

    /// Reads events until the body ends.
    pub async fn events_to_end(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(event) = self.event().await {
            events.push(event);
        }
        events
    }
}

/// hyper's executor for the HTTP/2 client: spawns on the runtime under test.
#[derive(Debug)]
pub struct Exec<R>(pub std::sync::Arc<R>);

impl<R> Clone for Exec<R> {
    fn clone(&self) -> Self {
        Exec(self.0.clone())
    }
}

impl<R, F> hyper::rt::Executor<F> for Exec<R>
where
    R: Runtime,
    F: Future + Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn(async move {
            future.await;
        });
    }
}

/// An empty request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty;

impl http_body::Body for Empty {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        true
    }
}

/// hyper's HTTP/2 client handshake over `io`; the connection's task runs on `runtime`.
pub(crate) async fn http2_handshake<R, T>(
    runtime: &R,
    io: T,
) -> io::Result<hyper::client::conn::http2::SendRequest<Empty>>
where
    R: Runtime,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, connection) =
        hyper::client::conn::http2::Builder::new(Exec(Arc::new(runtime.clone())))
            .handshake(smol_hyper::rt::FuturesIo::new(io))
            .await
            .map_err(io::Error::other)?;
    runtime.spawn(async move {
        let _ = connection.await;
    });
    Ok(send)
}

/// An HTTP/2 connection (hyper's client): prior knowledge in clear, ALPN `h2` over TLS.
#[derive(Debug)]
pub struct Http2 {
    send: hyper::client::conn::http2::SendRequest<Empty>,
    addr: SocketAddr,
    scheme: &'static str,
}

impl Http2 {
    /// Connects in clear with HTTP/2 prior knowledge; the connection task runs on `runtime`.
    pub async fn connect<R: Runtime>(runtime: &R, addr: SocketAddr) -> io::Result<Http2> {
        Transport::Tcp.http2(runtime, addr).await
    }

    async fn handshake<R: Runtime>(
        runtime: &R,
        conn: Conn,
        addr: SocketAddr,
        tls: bool,
    ) -> io::Result<Http2> {
        let send = http2_handshake(runtime, conn).await?;
        let scheme = if tls { "https" } else { "http" };
        Ok(Http2 { send, addr, scheme })
    }

    /// Sends `GET path` with `headers` on a new stream.
    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<http::Response<hyper::body::Incoming>> {
        let mut request = http::Request::get(format!("{}://{}{path}", self.scheme, self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty).map_err(io::Error::other)?;
        self.send.ready().await.map_err(io::Error::other)?;
        self.send
            .send_request(request)
            .await
            .map_err(io::Error::other)
    }
}
