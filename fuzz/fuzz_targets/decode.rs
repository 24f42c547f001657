//! Raw bytes into the decoder: never a panic, and memory stays within `Limits`.
//!
//! Byte 0: limits and policy (bits 0-4, see `common::limits`), view (bits 5-6: `decode`, raw
//! frames, or `decode_each`, reading every read in place if the chunk size is even, appending
//! every read to its carry-over if it is odd). Byte 1: chunk size (0: the whole input at once).
//! The rest: the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ssewire::Decoder;

mod common;

fuzz_target!(|input: &[u8]| {
    let [cfg, chunk, stream @ ..] = input else {
        return;
    };
    let limits = common::limits(*cfg);
    let view = (cfg >> 5) & 3;
    let chunk = if *chunk == 0 {
        stream.len().max(1)
    } else {
        usize::from(*chunk)
    };
    let in_place_min = if chunk % 2 == 1 { usize::MAX } else { 0 };
    let mut decoder = Decoder::with_limits(limits).with_read_in_place_min(in_place_min);
    let mut buf = BytesMut::new();
    // Two streams through one decoder: `finish` readies it for a reconnection.
    for _ in 0..2 {
        let (mut items, mut seen) = (Vec::new(), Vec::new());
        for piece in stream.chunks(chunk) {
            match view {
                0 | 1 => {
                    buf.extend_from_slice(piece);
                    common::drain(&mut decoder, &mut buf, view == 1, &mut items);
                }
                _ => common::drain_each(&mut decoder, piece, &mut seen),
            }
        }
        assert!(items.len() + seen.len() <= stream.len());
        decoder.finish(&mut buf);
        assert!(buf.is_empty());
        assert_eq!(decoder.buffered(), 0);
    }
});
