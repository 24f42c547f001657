//! The chat demo's AI-proxy mode end to end, read with the client, on async-std:
//! the conformance crate's `client_side::proxy` tests (`adapters/conformance/src/client_side/proxy.rs`).

ssewire_conformance::client_suite!(
    proxy,
    runtime = ssewire_async_std::AsyncStd,
    block_on = async_std::task::block_on
);
