//! The `tail` examples' logic (`ssewire_demo::tail`) against a real server, on smol: the
//! conformance crate's `client_side::tail` tests (`adapters/conformance/src/client_side/tail.rs`).

ssewire_conformance::client_suite!(
    tail,
    runtime = ssewire_smol::Smol::global(),
    block_on = smol::block_on
);
