//! Split invariance: any chunking yields exactly the one-shot items, in all five views
//! (`decode`, `decode_frame`, and `decode_ref`, `decode_each` and `decode_read`, which must also
//! agree with `decode`).
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
) -> (Vec<common::Item>, String, Option<std::time::Duration>) {
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
    decoder.finish(&mut buf);
    (out, decoder.last_event_id().to_owned(), decoder.retry())
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
                for view in [View::Ref, View::Each, View::Read, View::ReadAppended] {
                    let got = run_ref(stream, cuts, *cfg, view);
                    assert_eq!(got.0, want, "{view:?}, cuts: {cuts:?}");
                    assert_eq!(
                        (&got.1, got.2),
                        (&whole.1, whole.2),
                        "{view:?} state, cuts: {cuts:?}"
                    );
                }
            }
        }
    }
});

/// The zero-copy views.
#[derive(Debug, Clone, Copy)]
enum View {
    /// `decode_ref`, one event per call.
    Ref,
    /// `decode_each` over the buffer each read is appended to.
    Each,
    /// `decode_read`, every read read in place.
    Read,
    /// `decode_read`, every read appended to the carry buffer (as short reads are).
    ReadAppended,
}

fn run_ref(
    stream: &[u8],
    cuts: &[usize],
    cfg: u8,
    view: View,
) -> (
    Vec<Result<common::Seen, String>>,
    String,
    Option<std::time::Duration>,
) {
    let in_place_min = match view {
        View::ReadAppended => usize::MAX,
        _ => 0,
    };
    let mut decoder =
        Decoder::with_limits(common::limits(cfg)).with_read_in_place_min(in_place_min);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut feed = |decoder: &mut Decoder, buf: &mut BytesMut, read: &[u8]| match view {
        View::Ref | View::Each => {
            buf.extend_from_slice(read);
            let drain = if matches!(view, View::Each) {
                common::drain_each
            } else {
                common::drain_ref
            };
            drain(decoder, buf, &mut out);
        }
        View::Read | View::ReadAppended => common::drain_read(decoder, buf, read, &mut out),
    };
    for &cut in cuts {
        feed(&mut decoder, &mut buf, &stream[at..cut]);
        at = cut;
    }
    feed(&mut decoder, &mut buf, &stream[at..]);
    decoder.finish(&mut buf);
    (out, decoder.last_event_id().to_owned(), decoder.retry())
}
