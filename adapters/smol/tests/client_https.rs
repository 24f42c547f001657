//! The client over `https://` against our own TLS server, on smol: the
//! conformance crate's `client_side::https` tests (`adapters/conformance/src/client_side/https.rs`).

ssewire_conformance::client_suite!(
    https,
    runtime = ssewire_smol::Smol::global(),
    block_on = smol::block_on
);
