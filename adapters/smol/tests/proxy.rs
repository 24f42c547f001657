//! The chat demo's AI-proxy mode end to end, read with the client, on smol: the
//! conformance crate's `client_side::proxy` tests (`adapters/conformance/src/client_side/proxy.rs`).

ssewire_conformance::client_suite!(
    proxy,
    runtime = ssewire_smol::Smol::global(),
    block_on = smol::block_on
);
