//! HTTPS for the demos, from the environment.

use std::io;

use ssewire_server::TlsConfig;

/// The demos' TLS settings from the environment: the PEM files named by `TLS_CERT` and
/// `TLS_KEY`; else, with `TLS_SELF_SIGNED=1`, a self-signed certificate for `localhost` and
/// `127.0.0.1` made now (for local use: the browser asks to accept it); else `None` (plain
/// HTTP). Over HTTPS a browser speaks HTTP/2, and one page holds more than six event streams.
///
/// # Errors
///
/// The PEM files cannot be read or do not hold a matching certificate and key (the message
/// says which).
pub fn tls_from_env() -> io::Result<Option<TlsConfig>> {
    if let (Some(cert), Some(key)) = (std::env::var_os("TLS_CERT"), std::env::var_os("TLS_KEY")) {
        return TlsConfig::from_pem_files(cert, key).map(Some);
    }
    if std::env::var("TLS_SELF_SIGNED").is_ok_and(|v| v == "1") {
        let made = rcgen::generate_simple_self_signed(["localhost".into(), "127.0.0.1".into()])
            .map_err(io::Error::other)?;
        let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
        return TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).map(Some);
    }
    Ok(None)
}
