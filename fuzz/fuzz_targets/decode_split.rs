//! Split invariance: any chunking yields exactly the one-shot items, in every view (`decode`,
//! `decode_frame`, and `decode_each`, which must also agree with `decode`), and the same answer to
//! whether the stream ended inside an event.
//!
//! Byte 0: limits and policy (bits 0-4, see `common::limits`). Byte 1: number of split steps
//! `n` (255: one byte at a time), then `n` step bytes (each the length of the next chunk, 0 for
//! an empty chunk). The rest: the stream.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ssewire::Decoder;

mod common;

fn run(
    stream: &[u8],
    cuts: &[usize],
    cfg: u8,
    frames: bool,
) -> (Vec<common::Item>, String, Option<std::time::Duration>, bool) {
    let mut decoder = Decoder::with_limits(common::limits(cfg));
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        buf.extend_from_slice(&stream[at..cut]);
        at = cut;
        common::drain(&mut decoder, &mut buf, frames, &mut out);
    }
    buf.extend_from_slice(&stream[at..]);
    common::drain(&mut decoder, &mut buf, frames, &mut out);
    let truncated = decoder.in_event() || !buf.is_empty();
    decoder.finish(&mut buf);
    (out, decoder.last_event_id().to_owned(), decoder.retry(), truncated)
}

fuzz_target!(|input: &[u8]| {
    let [cfg, n, rest @ ..] = input else {
        return;
    };
    let (cuts, stream) = if *n == 255 {
        ((1..rest.len()).collect::<Vec<_>>(), rest)
    } else {
        let n = usize::from(*n).min(rest.len());
        let (steps, stream) = rest.split_at(n);
        let mut at = 0usize;
        let cuts = steps
            .iter()
            .map(|&s| {
                at = (at + usize::from(s)).min(stream.len());
                at
            })
            .collect::<Vec<_>>();
        (cuts, stream)
    };
    for frames in [false, true] {
        let whole = run(stream, &[], *cfg, frames);
        let split = run(stream, &cuts, *cfg, frames);
        assert_eq!(whole, split, "frames view: {frames}, cuts: {cuts:?}");
        if !frames {
            // The borrowing view gives the owned view's events, in one shot and in chunks.
            let want = common::seen(&whole.0);
            for cuts in [&[][..], &cuts[..]] {
                for in_place_min in [0, usize::MAX] {
                    let view = in_place_min;
                    let got = run_each(stream, cuts, *cfg, in_place_min);
                    assert_eq!(got.0, want, "{view:?}, cuts: {cuts:?}");
                    assert_eq!(
                        (&got.1, got.2, got.3),
                        (&whole.1, whole.2, whole.3),
                        "{view:?} state, cuts: {cuts:?}"
                    );
                }
            }
        }
    }
});

/// `decode_each`, each chunk a read of its own; reads of `in_place_min` bytes or more are read in
/// place (0: every read; `usize::MAX`: none, every read appended to the carry-over).
fn run_each(
    stream: &[u8],
    cuts: &[usize],
    cfg: u8,
    in_place_min: usize,
) -> (
    Vec<Result<common::Seen, String>>,
    String,
    Option<std::time::Duration>,
    bool,
) {
    let mut decoder =
        Decoder::with_limits(common::limits(cfg)).with_read_in_place_min(in_place_min);
    let mut out = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        common::drain_each(&mut decoder, &stream[at..cut], &mut out);
        at = cut;
    }
    common::drain_each(&mut decoder, &stream[at..], &mut out);
    let truncated = decoder.in_event();
    decoder.finish(&mut BytesMut::new());
    (out, decoder.last_event_id().to_owned(), decoder.retry(), truncated)
}
