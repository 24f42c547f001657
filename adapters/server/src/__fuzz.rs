//! What the fuzz targets drive (not a public API): the lean path's head reading, as plain
//! function calls over the bytes each read returned.

use alloc::vec::Vec;
use std::net::SocketAddr;

use crate::Config;
use crate::lean::request::{Head, READ_CHUNK, judge};

/// How the lean path took a connection's bytes.
#[derive(Debug, Default)]
pub struct Taken {
    /// The length of each head it served, in order.
    pub served: Vec<usize>,
    /// The bytes it handed to hyper (every byte read and not served), if it did.
    pub hyper: Option<Vec<u8>>,
    /// The most bytes it held at once.
    pub peak: usize,
}

/// Feeds `reads` (each split into reads of at most the lean path's read size) through the lean
/// path's head reading as `read_head` and `serve` do: a head it serves is taken off the front
/// (its request answered), and the first one it does not serve hands every byte held to hyper.
pub fn lean_heads<'a>(reads: impl IntoIterator<Item = &'a [u8]>, config: &Config) -> Taken {
    let peer = SocketAddr::from(([127, 0, 0, 1], 1));
    let mut taken = Taken::default();
    let mut head = Vec::new();
    for read in reads.into_iter().flat_map(|read| read.chunks(READ_CHUNK)) {
        head.extend_from_slice(read);
        taken.peak = taken.peak.max(head.len());
        loop {
            match judge(&head, config, peer) {
                None => break,
                Some(Head::Parsed { len, .. }) => {
                    taken.served.push(len);
                    head.drain(..len);
                }
                Some(Head::Hyper) => {
                    taken.hyper = Some(head);
                    return taken;
                }
                Some(Head::Closed) => unreachable!("judge never closes"),
            }
        }
    }
    taken
}
