//! HTTPS: rustls (the aws-lc-rs provider, post-quantum key exchange first) through
//! `futures-rustls`, the handshake in the connection's task, and HTTP/2 or HTTP/1.1 by ALPN.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::RwLock;

use futures_io::{AsyncRead, AsyncWrite};
use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::conn::{self, Accepted, Protocol};
use crate::server::{ConnGuard, sleep_unless_stopping};
use crate::{Config, Request, Response, Runtime, Server, fanout};

/// ALPN identifiers, in the server's order of preference.
const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// A server's TLS settings: its certificate chain and private key (and with them a rustls
/// [`ServerConfig`]), shared by every clone of the handle.
///
/// The server offers `h2` and `http/1.1` by ALPN (HTTP/2 is what lets a browser hold more than
/// six event streams open to one origin). [`TlsConfig::reload_pem_files`] swaps in a renewed
/// certificate for the connections accepted after it; open ones keep theirs.
///
/// The cryptography is rustls's `aws-lc-rs` provider with its default key exchange groups
/// (post-quantum `X25519MLKEM768` first), picked explicitly, so a build that turns on a second
/// rustls provider elsewhere still works.
///
/// # Examples
///
/// ```no_run
/// use ssewire_server::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// // Later, when the certificate was renewed on disk:
/// tls.reload_pem_files("cert.pem", "key.pem")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    /// The config new connections get; replaced whole by a reload.
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl core::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let current = self.server_config();
        let alpn: Vec<_> = current
            .alpn_protocols
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        f.debug_struct("TlsConfig").field("alpn", &alpn).finish()
    }
}

impl TlsConfig {
    /// A certificate chain (PEM `CERTIFICATE` blocks, the server's own first) and its private key
    /// (PEM: PKCS#8 `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidData`] if the PEM holds no certificate or no key, is malformed, or
    /// the key does not belong to the first certificate; the message says which.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let tls = ssewire_server::TlsConfig::from_pem(
    ///     &std::fs::read("cert.pem")?,
    ///     &std::fs::read("key.pem")?,
    /// )?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<Self> {
        Ok(Self::from_server_config(Arc::new(server_config(
            cert_chain, key,
        )?)))
    }

    /// [`TlsConfig::from_pem`] with the PEM read from two files (they may be the same file).
    ///
    /// # Errors
    ///
    /// A file cannot be read ([`io::ErrorKind::NotFound`] if it is missing; the message names
    /// it), or [`TlsConfig::from_pem`]'s errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let tls = ssewire_server::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let (cert_chain, key) = read_pair(cert_chain.as_ref(), key.as_ref())?;
        Self::from_pem(&cert_chain, &key)
    }

    /// A rustls config of your own (client certificates, several certificates by SNI, another
    /// provider). Its `alpn_protocols` decide HTTP/2 (`h2`) or HTTP/1.1; leave them empty and a
    /// client is served HTTP/1.1 or HTTP/2 by what it sends first.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let tls = ssewire_server::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// let mine = (*tls.server_config()).clone();
    /// let tls = ssewire_server::TlsConfig::from_server_config(std::sync::Arc::new(mine));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_server_config(config: Arc<ServerConfig>) -> Self {
        TlsConfig {
            current: Arc::new(RwLock::new(config)),
        }
    }

    /// Whether ALPN offers `h2` (default: yes). Without it every client speaks HTTP/1.1, and a
    /// browser holds at most six connections (six event streams) to the origin.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let http1_only = ssewire_server::TlsConfig::from_pem_files("cert.pem", "key.pem")?
    ///     .with_http2(false);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn with_http2(self, http2: bool) -> Self {
        let mut config = (*self.server_config()).clone();
        config.alpn_protocols = alpn(http2);
        self.swap(Arc::new(config));
        self
    }

    /// Replaces the certificate chain and key for the connections accepted from now on (open
    /// ones keep theirs); the ALPN setting stays. On an error nothing changes.
    ///
    /// # Errors
    ///
    /// Those of [`TlsConfig::from_pem`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let tls = ssewire_server::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// tls.reload_pem(&std::fs::read("cert.pem")?, &std::fs::read("key.pem")?)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reload_pem(&self, cert_chain: &[u8], key: &[u8]) -> io::Result<()> {
        let mut config = server_config(cert_chain, key)?;
        config.alpn_protocols = self.server_config().alpn_protocols.clone();
        self.swap(Arc::new(config));
        Ok(())
    }

    /// [`TlsConfig::reload_pem`] from two files: call it when a renewed certificate is on disk.
    ///
    /// # Errors
    ///
    /// Those of [`TlsConfig::from_pem_files`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let tls = ssewire_server::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// tls.reload_pem_files("cert.pem", "key.pem")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reload_pem_files(
        &self,
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<()> {
        let (cert_chain, key) = read_pair(cert_chain.as_ref(), key.as_ref())?;
        self.reload_pem(&cert_chain, &key)
    }

    /// Replaces the whole rustls config for the connections accepted from now on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let tls = ssewire_server::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// tls.reload_server_config(tls.server_config());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reload_server_config(&self, config: Arc<ServerConfig>) {
        self.swap(config);
    }

    /// The rustls config new connections get now.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let tls = ssewire_server::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// assert_eq!(tls.server_config().alpn_protocols[0], b"h2");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn server_config(&self) -> Arc<ServerConfig> {
        // A poisoned lock still holds a whole config: only `swap` writes, with one assignment.
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn swap(&self, config: Arc<ServerConfig>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
    }
}

fn alpn(http2: bool) -> Vec<Vec<u8>> {
    if http2 {
        alloc::vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()]
    } else {
        alloc::vec![ALPN_HTTP1.to_vec()]
    }
}

fn read_pair(cert_chain: &Path, key: &Path) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let read = |what: &str, path: &Path| {
        std::fs::read(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                alloc::format!("cannot read the {what} file {}: {e}", path.display()),
            )
        })
    };
    Ok((read("certificate", cert_chain)?, read("private key", key)?))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The server's rustls config: aws-lc-rs, TLS 1.3 and 1.2, ALPN `h2` and `http/1.1`.
fn server_config(cert_chain: &[u8], key: &[u8]) -> io::Result<ServerConfig> {
    let chain = CertificateDer::pem_slice_iter(cert_chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(alloc::format!("certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(
            "the certificate PEM holds no CERTIFICATE block (empty chain)".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
        pem::Error::NoItemsFound => invalid(
            "the private key PEM holds no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block"
                .into(),
        ),
        e => invalid(alloc::format!("private key PEM: {e}")),
    })?;
    // Picked explicitly: with two providers in a build, rustls has no process default.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(alloc::format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                invalid("the private key does not match the certificate".into())
            }
            e => invalid(alloc::format!("certificate or key: {e}")),
        })?;
    config.alpn_protocols = alpn(true);
    Ok(config)
}

/// One TLS connection: the handshake (bounded by `config.tls_handshake_timeout`, cut short by
/// shutdown), then HTTP by the ALPN's choice. Runs in the connection's own task, so a client
/// that stalls its handshake holds up nobody else.
pub(crate) async fn serve_connection<R, C, H, F>(
    runtime: R,
    tls: Arc<ServerConfig>,
    (conn, remote_addr): (C, SocketAddr),
    config: Arc<Config>,
    handler: Arc<H>,
    lanes: Arc<fanout::Lanes>,
    guard: ConnGuard,
) where
    R: Runtime,
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let acceptor = futures_rustls::TlsAcceptor::from(tls);
    let shutdown = guard.0.clone();
    let deadline = sleep_unless_stopping::<R>(&shutdown, config.tls_handshake_timeout);
    let handshake = conn::with_deadline(acceptor.accept(conn), deadline).await;
    let Some(Ok(stream)) = handshake else {
        if handshake.is_none() && !shutdown.stopping.load(core::sync::atomic::Ordering::SeqCst) {
            shutdown
                .stats
                .closed(crate::stats::Limit::TlsHandshakeTimeout, remote_addr);
        }
        drop(guard);
        return;
    };
    let protocol = match stream.get_ref().1.alpn_protocol() {
        Some(ALPN_H2) => Protocol::Http2,
        Some(_) => Protocol::Http1,
        // No ALPN: HTTP/2 with prior knowledge or HTTP/1.1, told apart by the first bytes.
        None => Protocol::Sniff,
    };
    let accepted = Accepted {
        conn: stream,
        // One TLS state encrypts every write: the fan-out lanes cannot share it.
        try_clone: |_| None,
        remote_addr,
        protocol,
    };
    conn::serve_connection(runtime, accepted, config, handler, lanes, guard).await;
}

/// Binds `addr` and serves `handler` over HTTPS on `runtime` until [`Server::shutdown`]: HTTP/2
/// or HTTP/1.1 as ALPN decides, the certificate from `tls` as it is when each connection
/// arrives.
///
/// A connection past [`Config::max_connections`] or [`Config::max_connections_per_ip`] is
/// closed at accept, before the handshake (the client sees the connection end, not a `503`);
/// the handshake itself counts against the caps and is bounded by
/// [`Config::tls_handshake_timeout`].
///
/// # Errors
///
/// Binding failed (the address is in use, say); the error names the address.
///
/// # Examples
///
/// ```no_run
/// # async fn run<R: ssewire_server::Runtime>(runtime: R) -> std::io::Result<()> {
/// use ssewire_server::{Config, Response, TlsConfig, serve_tls};
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let server = serve_tls(runtime, "127.0.0.1:3443".parse().unwrap(), Config::default(), tls,
///     |_request| async { Response::not_found() }).await?;
/// println!("https://{}", server.local_addr());
/// # Ok(()) }
/// ```
pub async fn serve_tls<R, H, F>(
    runtime: R,
    addr: SocketAddr,
    config: Config,
    tls: TlsConfig,
    handler: H,
) -> io::Result<Server<R>>
where
    R: Runtime,
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    crate::server::bind(runtime, addr, config, Some(tls), handler).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(["localhost".into()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    fn message(e: io::Error) -> String {
        e.to_string()
    }

    #[test]
    fn pem_pair_loads_with_h2_first() {
        let (cert, key) = self_signed();
        let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(tls.server_config().alpn_protocols, alpn(true));
        let http1 = tls.with_http2(false);
        assert_eq!(http1.server_config().alpn_protocols, alpn(false));
    }

    #[test]
    fn empty_chain_missing_key_and_mismatch_are_named() {
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        let empty = TlsConfig::from_pem(b"", key.as_bytes()).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::InvalidData);
        assert!(message(empty).contains("empty chain"));
        let no_key = TlsConfig::from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err();
        assert!(message(no_key).contains("no PRIVATE KEY"));
        let mismatch = TlsConfig::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert!(message(mismatch).contains("does not match"));
    }

    #[test]
    fn missing_file_is_not_found_and_named() {
        let e =
            TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(message(e).contains("/nonexistent/cert.pem"));
    }

    #[test]
    fn reload_swaps_the_config_and_keeps_alpn() {
        let (cert, key) = self_signed();
        let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes())
            .unwrap()
            .with_http2(false);
        let clone = tls.clone();
        let before = tls.server_config();
        let (cert2, key2) = self_signed();
        // A bad pair changes nothing.
        assert!(tls.reload_pem(cert2.as_bytes(), key.as_bytes()).is_err());
        assert!(Arc::ptr_eq(&before, &clone.server_config()));
        tls.reload_pem(cert2.as_bytes(), key2.as_bytes()).unwrap();
        let after = clone.server_config();
        assert!(!Arc::ptr_eq(&before, &after));
        assert_eq!(after.alpn_protocols, alpn(false));
    }

    #[test]
    fn files_load_and_reload() {
        let dir = std::env::temp_dir().join(alloc::format!("ssewire-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = self_signed();
        std::fs::write(dir.join("cert.pem"), cert).unwrap();
        std::fs::write(dir.join("key.pem"), key).unwrap();
        let tls = TlsConfig::from_pem_files(dir.join("cert.pem"), dir.join("key.pem")).unwrap();
        tls.reload_pem_files(dir.join("cert.pem"), dir.join("key.pem"))
            .unwrap();
        assert!(format!("{tls:?}").contains("h2"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
