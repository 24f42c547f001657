//! `https://`: rustls (the aws-lc-rs provider, picked explicitly) through `futures-rustls`,
//! with `h2` and `http/1.1` offered by ALPN.

use std::io;
use std::sync::{Arc, OnceLock};

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};

/// ALPN identifier of HTTP/2.
pub(crate) const ALPN_H2: &[u8] = b"h2";
/// ALPN identifier of HTTP/1.1.
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// A rustls client config that trusts `roots` and offers `h2` and `http/1.1` by ALPN, on the
/// `aws-lc-rs` provider (post-quantum key exchange first) picked explicitly, so that a build
/// with a second rustls provider turned on elsewhere does not make rustls panic.
///
/// # Errors
///
/// The provider does not support rustls's default protocol versions (it does).
pub(crate) fn client_config(roots: Arc<RootCertStore>) -> io::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// Which certificates an `EventSource` trusts.
#[derive(Debug, Clone, Default)]
pub(crate) enum Trust {
    /// The roots of the features turned on ([`default_config`]).
    #[default]
    Default,
    /// These roots only; the config is built at the first `https` dial.
    Roots(Arc<RootCertStore>),
    /// The application's whole config.
    Config(Arc<ClientConfig>),
}

impl Trust {
    /// The config to dial with (built once).
    pub(crate) fn config(&mut self) -> io::Result<Arc<ClientConfig>> {
        match self {
            Trust::Default => default_config(),
            Trust::Roots(roots) => {
                let config = Arc::new(client_config(roots.clone())?);
                *self = Trust::Config(config.clone());
                Ok(config)
            }
            Trust::Config(config) => Ok(config.clone()),
        }
    }
}

/// The config an `EventSource` uses unless given one: the roots of the features turned on
/// (`webpki-roots`, `native-certs`), built once per process (loading the system's roots reads
/// files).
///
/// # Errors
///
/// No root certificate at all (no feature on, or the system's could not be loaded): every
/// certificate would be refused, so this says why up front.
pub(crate) fn default_config() -> io::Result<Arc<ClientConfig>> {
    static DEFAULT: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let (roots, problems) = default_roots();
            if roots.is_empty() {
                return Err(format!(
                    "no trusted root certificates for https: turn on the `webpki-roots` or \
                     `native-certs` feature, or give roots with `with_root_certificates`{problems}"
                ));
            }
            client_config(Arc::new(roots))
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(io::Error::other)
}

/// The roots of the features turned on, and what went wrong loading them (for the error
/// message when none are left).
fn default_roots() -> (RootCertStore, String) {
    #[allow(unused_mut)]
    let mut roots = RootCertStore::empty();
    #[allow(unused_mut)]
    let mut problems = String::new();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-certs")]
    {
        let loaded = rustls_native_certs::load_native_certs();
        // A system store may hold a certificate webpki cannot use; the others still count.
        let (_added, _ignored) = roots.add_parsable_certificates(loaded.certs);
        for error in loaded.errors {
            problems.push_str(&format!(" (system roots: {error})"));
        }
    }
    (roots, problems)
}

/// The TLS handshake over `stream` with `config`, for `host` (a DNS name or an IP address; the
/// name goes out as SNI and the certificate must be valid for it).
///
/// # Errors
///
/// `host` is not a valid server name (`InvalidInput`); the handshake failed (an untrusted or
/// expired certificate, a name mismatch: `InvalidData` with rustls's reason); the socket
/// failed. The message names the host.
pub(crate) async fn connect<S>(
    config: Arc<ClientConfig>,
    host: &str,
    stream: S,
) -> io::Result<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(host.to_owned()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("tls: {host:?} is not a valid server name"),
        )
    })?;
    TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("tls handshake with {host}: {e}")))
}
