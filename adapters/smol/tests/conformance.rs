//! The adapter conformance suite (`adapters/conformance`) on smol's global executor.

ssewire_conformance::suite!(
    runtime = ssewire_smol::Smol::global(),
    block_on = smol::block_on
);
