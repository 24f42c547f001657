//! The load client's HTTPS (`loadtest --tls`): once [`enable`] has run, every connection the
//! client makes is TLS (ALPN `http/1.1`, the same raw HTTP/1.1 inside), accepting whatever
//! certificate the server shows: the servers make a new self-signed one at start, and the
//! benchmark measures the server, not the PKI (the signatures are still checked).
//!
//! `loadtest --tls --h2`: [`enable_h2`] also, and the streams go over HTTP/2 ([`connect_h2`],
//! ALPN `h2`, the `h2` crate's client), many on each connection; the `/control` requests stay on
//! HTTP/1.1.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

static CONNECTOR: OnceLock<TlsConnector> = OnceLock::new();
/// The HTTP/2 connector and the streams each connection carries.
static H2: OnceLock<(TlsConnector, usize)> = OnceLock::new();

/// Turns TLS on for every connection the client makes from now on. Session resumption is off,
/// so each connection costs the server a full handshake (the case a reconnect storm of new
/// clients brings).
pub fn enable() {
    CONNECTOR.get_or_init(|| connector(b"http/1.1"));
}

/// Turns TLS on ([`enable`]) and puts the streams on HTTP/2 (ALPN `h2`), `streams_per_conn` on
/// each connection (at most the server's `http2_max_concurrent_streams`). The first call's
/// `streams_per_conn` holds.
pub fn enable_h2(streams_per_conn: usize) {
    enable();
    H2.get_or_init(|| (connector(b"h2"), streams_per_conn.max(1)));
}

/// Whether [`enable`] has run.
pub fn enabled() -> bool {
    CONNECTOR.get().is_some()
}

/// Streams per HTTP/2 connection once [`enable_h2`] has run; `None` on HTTP/1.1.
pub fn h2_streams_per_conn() -> Option<usize> {
    H2.get().map(|(_, n)| *n)
}

fn connector(alpn: &[u8]) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    config.resumption = Resumption::disabled();
    TlsConnector::from(Arc::new(config))
}

/// Connects to `addr` over TLS with ALPN `h2` and checks that the server chose `h2`. Needs
/// [`enable_h2`].
///
/// # Errors
///
/// HTTP/2 is off, connecting or the handshake failed, or the server did not pick `h2`.
pub async fn connect_h2(addr: SocketAddr) -> io::Result<TlsStream<TcpStream>> {
    let (connector, _) = H2
        .get()
        .ok_or_else(|| io::Error::other("HTTP/2 is off (tls::enable_h2)"))?;
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    let tls = connector.connect(name, tcp).await?;
    match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => Ok(tls),
        other => Err(io::Error::other(format!(
            "the server chose ALPN {:?}, not h2",
            other.map(String::from_utf8_lossy)
        ))),
    }
}

/// A byte stream, TCP or TLS over TCP.
pub trait Duplex: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Duplex for T {}

/// Connects to `addr`, over TLS once [`enable`] has run.
///
/// # Errors
///
/// Connecting or the handshake failed.
pub async fn connect(addr: SocketAddr) -> io::Result<Pin<Box<dyn Duplex>>> {
    let tcp = TcpStream::connect(addr).await?;
    match CONNECTOR.get() {
        Some(connector) => {
            let name = ServerName::IpAddress(addr.ip().into());
            Ok(Box::pin(connector.connect(name, tcp).await?))
        }
        None => Ok(Box::pin(tcp)),
    }
}

/// Accepts any certificate; checks its signatures as usual.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
