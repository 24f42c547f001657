//! The client over `https://` against our own TLS server, on async-std:
//! the conformance crate's `client_side::https` tests (`adapters/conformance/src/client_side/https.rs`).

ssewire_conformance::client_suite!(
    https,
    runtime = ssewire_async_std::AsyncStd,
    block_on = async_std::task::block_on
);
