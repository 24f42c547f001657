//! The adapter conformance suite (`adapters/conformance`) on async-std.

ssewire_conformance::suite!(
    runtime = ssewire_async_std::AsyncStd,
    block_on = async_std::task::block_on
);
