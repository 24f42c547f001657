//! The `tail` examples' logic (`ssewire_demo::tail`) against a real server, on async-std:
//! the conformance crate's `client_side::tail` tests (`adapters/conformance/src/client_side/tail.rs`).

ssewire_conformance::client_suite!(
    tail,
    runtime = ssewire_async_std::AsyncStd,
    block_on = async_std::task::block_on
);
