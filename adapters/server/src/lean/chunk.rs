//! HTTP/1.1 chunked framing of one event: size line, data, CRLF.

use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::io::IoSlice;

use alloc::sync::Arc;
use bytes::{Buf, Bytes};
use futures_io::AsyncWrite;
use ssewire_stream::direct::{Sent, Sink};

use crate::server::Shutdown;

/// Largest chunk (size line, data, CRLF) copied into one contiguous write: a small chunk as one
/// `send` costs the kernel less than a three-part `writev`.
pub(super) const FLAT_CHUNK: usize = 2048;

/// A connection's second handle, for a lane: each frame goes out as one chunk, or as much of it
/// as the socket takes now. The server's state counts the bytes written.
pub(super) struct ChunkSink<T>(pub(super) T, pub(super) Arc<Shutdown>);

impl<T: AsyncWrite + Send + Unpin> Sink for ChunkSink<T> {
    fn send(&mut self, frame: &Bytes, scratch: &mut [u8]) -> Sent {
        // An empty chunk would end the body.
        if frame.is_empty() {
            return Sent::All;
        }
        let (size, size_len) = size_line(frame.len());
        let parts = [&size[..size_len], &frame[..], b"\r\n"];
        let len = size_len + frame.len() + 2;
        // Never waits: a full socket is left to the connection's task (which registers itself).
        let mut cx = Context::from_waker(Waker::noop());
        let written = if len <= scratch.len() {
            let mut at = 0;
            for part in parts {
                scratch[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            Pin::new(&mut self.0).poll_write(&mut cx, &scratch[..len])
        } else {
            let slices = parts.map(IoSlice::new);
            Pin::new(&mut self.0).poll_write_vectored(&mut cx, &slices)
        };
        if let Poll::Ready(Ok(n)) = written {
            self.1.stats.wrote(n);
        }
        match written {
            Poll::Ready(Ok(n)) if n >= len => Sent::All,
            Poll::Ready(Ok(n)) if n > 0 => {
                // What is left of the chunk, in one buffer (a partial write is rare).
                let mut rest = bytes::BytesMut::with_capacity(len - n);
                let mut skip = n;
                for part in parts {
                    let from = skip.min(part.len());
                    rest.extend_from_slice(&part[from..]);
                    skip -= from;
                }
                Sent::Part(rest.freeze())
            }
            _ => Sent::Nothing,
        }
    }
}

/// The size line of a chunk of `len` bytes, `{len:X}\r\n`, and its length (without `fmt`: this
/// runs per event).
fn size_line(len: usize) -> ([u8; 20], usize) {
    let mut line = [0u8; 20];
    let len = len as u64;
    let digits = (16 - (len.leading_zeros() as usize / 4)).max(1);
    for (i, byte) in line[..digits].iter_mut().enumerate() {
        let nibble = (len >> (4 * (digits - 1 - i))) & 0xF;
        *byte = b"0123456789ABCDEF"[nibble as usize];
    }
    line[digits..digits + 2].copy_from_slice(b"\r\n");
    (line, digits + 2)
}

/// One chunk of a chunked body in the writing: its size line, its data, its CRLF. With no data
/// it is the last chunk.
pub(super) struct Chunk {
    /// `{size:X}\r\n`.
    size: [u8; 20],
    size_at: usize,
    size_end: usize,
    data: Bytes,
    /// Bytes of the closing CRLF written.
    crlf_at: usize,
}

impl Chunk {
    pub(super) fn new(data: Bytes) -> Self {
        let (size, size_end) = size_line(data.len());
        Chunk {
            size,
            size_at: 0,
            size_end,
            data,
            crlf_at: 0,
        }
    }

    /// Bytes already framed (what a lane left half-written), written as they are.
    pub(super) fn raw(bytes: Bytes) -> Self {
        Chunk {
            size: [0; 20],
            size_at: 0,
            size_end: 0,
            data: bytes,
            crlf_at: 2,
        }
    }

    pub(super) fn remaining(&self) -> usize {
        (self.size_end - self.size_at) + self.data.len() + (2 - self.crlf_at)
    }

    pub(super) fn slices(&self) -> [IoSlice<'_>; 3] {
        [
            IoSlice::new(&self.size[self.size_at..self.size_end]),
            IoSlice::new(&self.data),
            IoSlice::new(&b"\r\n"[self.crlf_at..]),
        ]
    }

    /// The whole chunk copied into `into`, if it fits and nothing of it was written yet.
    pub(super) fn flatten<'a>(&self, into: &'a mut [u8]) -> Option<&'a [u8]> {
        let len = self.remaining();
        if len > into.len() || self.size_at > 0 {
            return None;
        }
        let size = &self.size[..self.size_end];
        let (head, rest) = into.split_at_mut(size.len());
        head.copy_from_slice(size);
        let (data, rest) = rest.split_at_mut(self.data.len());
        data.copy_from_slice(&self.data);
        rest[..2].copy_from_slice(b"\r\n");
        Some(&into[..len])
    }

    pub(super) fn advance(&mut self, mut n: usize) {
        let size = (self.size_end - self.size_at).min(n);
        self.size_at += size;
        n -= size;
        let data = self.data.len().min(n);
        self.data.advance(data);
        n -= data;
        self.crlf_at = (self.crlf_at + n).min(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use std::io;

    /// What the chunk would write, `step` bytes at a time.
    fn written(mut chunk: Chunk, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while chunk.remaining() > 0 {
            let mut all = Vec::new();
            for slice in chunk.slices() {
                all.extend_from_slice(&slice);
            }
            let n = step.min(all.len());
            out.extend_from_slice(&all[..n]);
            chunk.advance(n);
        }
        out
    }

    #[test]
    fn chunks_frame_their_data_at_any_write_size() {
        for step in [1, 2, 3, 7, 100] {
            let chunk = Chunk::new(Bytes::from_static(b"data: hi\n\n"));
            assert_eq!(
                written(chunk, step),
                b"A\r\ndata: hi\n\n\r\n",
                "step {step}"
            );
            assert_eq!(written(Chunk::new(Bytes::new()), step), b"0\r\n\r\n");
        }
        let big = Bytes::from(vec![b'x'; 70_000]);
        let out = written(Chunk::new(big), 4096);
        assert!(out.starts_with(b"11170\r\nxxx") && out.ends_with(b"xx\r\n"));
    }

    #[test]
    fn size_lines_are_the_length_in_upper_case_hex() {
        for len in [
            0, 1, 9, 10, 15, 16, 17, 255, 256, 4095, 4096, 65_535, 65_536, 1_048_579,
        ] {
            let chunk = Chunk::new(Bytes::from(vec![b'x'; len]));
            let line = alloc::format!("{len:X}\r\n");
            assert_eq!(&*chunk.slices()[0], line.as_bytes(), "length {len}");
        }
    }

    /// A socket that takes at most `step` bytes per write.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = self.step.min(buf.len());
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_lane_write_cut_anywhere_leaves_the_exact_rest_of_the_chunk() {
        for len in [1, 10, 2000, FLAT_CHUNK, 70_000] {
            let frame = Bytes::from(vec![b'x'; len]);
            let whole = [
                alloc::format!("{len:X}\r\n").into_bytes(),
                vec![b'x'; len],
                b"\r\n".to_vec(),
            ]
            .concat();
            for step in [0, 1, 2, 3, 7, 100, whole.len() - 1, usize::MAX] {
                let mut sink = ChunkSink(
                    Trickle {
                        out: Vec::new(),
                        step,
                    },
                    Arc::default(),
                );
                let mut scratch = [0u8; FLAT_CHUNK];
                let wire = match sink.send(&frame, &mut scratch) {
                    Sent::All => sink.0.out.clone(),
                    Sent::Part(rest) => [sink.0.out.clone(), rest.to_vec()].concat(),
                    Sent::Nothing => {
                        assert!(sink.0.out.is_empty(), "len {len} step {step}");
                        whole.clone()
                    }
                };
                assert!(wire == whole, "len {len} step {step}");
            }
        }
    }

    #[test]
    fn a_small_chunk_flattens_whole_and_only_before_any_write() {
        let mut flat = [0u8; FLAT_CHUNK];
        let mut chunk = Chunk::new(Bytes::from_static(b"data: hi\n\n"));
        assert_eq!(
            chunk.flatten(&mut flat),
            Some(&b"A\r\ndata: hi\n\n\r\n"[..])
        );
        chunk.advance(1);
        assert_eq!(chunk.flatten(&mut flat), None);
        let big = Chunk::new(Bytes::from(vec![b'x'; FLAT_CHUNK]));
        assert_eq!(big.flatten(&mut flat), None);
    }
}
