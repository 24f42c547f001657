//! Arbitrary request bytes, split at arbitrary points, through the lean HTTP/1.1 path's head
//! reading: no panic, memory bounded by the head limit plus one read, and every byte either in
//! a head the lean path served or handed to hyper, in order, none lost or repeated.
//!
//! Byte 0: bit 0 set for small limits (a 256-byte head, 4 fields), else the defaults. Byte 1:
//! the number of split steps `n`, then `n` step bytes (each the length of the next read, 0 for
//! an empty one). The rest: the bytes the client sends, the last read whatever is left.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssewire_server::Config;
use ssewire_server::__fuzz::lean_heads;

fuzz_target!(|data: &[u8]| {
    let [flags, steps, rest @ ..] = data else {
        return;
    };
    let steps = usize::from(*steps).min(rest.len());
    let (steps, bytes) = rest.split_at(steps);
    let config = if flags & 1 == 1 {
        Config {
            max_head_size: 256,
            max_headers: 4,
            ..Config::default()
        }
    } else {
        Config::default()
    };
    let mut reads = Vec::new();
    let mut left = bytes;
    for &step in steps {
        let (read, after) = left.split_at(usize::from(step).min(left.len()));
        reads.push(read);
        left = after;
    }
    reads.push(left);
    let taken = lean_heads(reads.iter().copied(), &config);
    // One read (2 KiB at most) past an unfinished head at the limit, never more.
    assert!(taken.peak < config.max_head_size + 2048, "held {} bytes", taken.peak);
    assert!(taken.served.iter().all(|&len| len > 0 && len <= config.max_head_size));
    let served: usize = taken.served.iter().sum();
    assert!(served <= bytes.len());
    if let Some(handed) = &taken.hyper {
        // hyper gets exactly the bytes read after the served heads.
        assert!(!handed.is_empty());
        assert_eq!(bytes.get(served..served + handed.len()), Some(&handed[..]));
    }
});
