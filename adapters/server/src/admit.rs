//! Connection caps: who is let in past [`Config::max_connections`](crate::Config) and
//! [`Config::max_connections_per_ip`](crate::Config), and the `503` for those who are not
//! (on cleartext only: a TLS server closes them at accept, see `server::accept_loop`).

use alloc::sync::Arc;
use core::future::poll_fn;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::Poll;
use core::time::Duration;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use futures_io::{AsyncRead, AsyncWrite};

use crate::Runtime;
use crate::conn::with_deadline;
use crate::server::Shutdown;

/// The answer past a cap. `Retry-After` in seconds: the cap is a matter of load, not of the
/// request.
const REJECT: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// How long a rejected client gets to take the `503` (and to close, so that closing our end does
/// not reset the connection and lose the answer).
const REJECT_LINGER: Duration = Duration::from_secs(1);
/// Most `503`s being written at once; past this a connection over a cap is closed at accept
/// (answering a flood would itself cost a task per connection).
const MAX_REJECTING: usize = 64;

/// Open connections per client address, counted only while a per-address cap is set.
#[derive(Default)]
pub(crate) struct Admission {
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// `503`s being written now.
    rejecting: AtomicUsize,
}

impl Admission {
    /// Counts a connection from `ip` in, unless `limit` are open from it already.
    pub(crate) fn enter(&self, ip: IpAddr, limit: usize) -> bool {
        let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let open = map.entry(ip).or_insert(0);
        if *open >= limit {
            return false;
        }
        *open += 1;
        true
    }

    /// Counts a connection from `ip` out.
    pub(crate) fn leave(&self, ip: IpAddr) {
        let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = map.get_mut(&ip) {
            *open -= 1;
            if *open == 0 {
                map.remove(&ip);
            }
        }
    }

    /// Starts a rejection, unless too many are under way (then the caller just closes).
    pub(crate) fn start_rejecting(&self) -> bool {
        if self.rejecting.fetch_add(1, Ordering::SeqCst) < MAX_REJECTING {
            return true;
        }
        self.rejecting.fetch_sub(1, Ordering::SeqCst);
        false
    }
}

/// Writes the `503` to a connection over a cap, waits (a bounded time) for the client to close,
/// and closes it. The caller has [started](Admission::start_rejecting) the rejection.
pub(crate) async fn reject<R: Runtime>(mut conn: R::Conn, shutdown: Arc<Shutdown>) {
    let write = async {
        let mut sent = 0;
        while sent < REJECT.len() {
            match poll_fn(|cx| Pin::new(&mut conn).poll_write(cx, &REJECT[sent..])).await {
                Ok(0) | Err(_) => return,
                Ok(n) => sent += n,
            }
        }
        let _ = poll_fn(|cx| Pin::new(&mut conn).poll_close(cx)).await;
        // Read (and drop) what the client sent, until it closes or, once its request head is
        // in, until nothing more is there: closing with unread bytes would reset the
        // connection, and the client could lose the `503`. Not until it closes in every case:
        // `poll_close` sends no FIN on some runtimes' sockets (async-std's only flushes), and a
        // client that waits for the end of the answer would then wait out `REJECT_LINGER`
        // (1 s for every rejected connection, measured, where smol's took 80 us).
        let mut scratch = [0u8; 1024];
        // The last bytes read, to see the head's blank line across reads.
        let mut tail = [0u8; 4];
        let mut head_in = false;
        loop {
            let read = poll_fn(|cx| match Pin::new(&mut conn).poll_read(cx, &mut scratch) {
                Poll::Pending if head_in => Poll::Ready(Ok(0)),
                other => other,
            })
            .await;
            let Ok(n @ 1..) = read else {
                break;
            };
            for &byte in &scratch[..n] {
                tail = [tail[1], tail[2], tail[3], byte];
                head_in |= tail == *b"\r\n\r\n";
            }
        }
    };
    with_deadline(write, R::sleep(REJECT_LINGER)).await;
    drop(conn);
    shutdown.admission.rejecting.fetch_sub(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_counts() {
        let admission = Admission::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(admission.enter(a, 2) && admission.enter(a, 2));
        assert!(!admission.enter(a, 2), "a third from one address");
        assert!(admission.enter(b, 2), "another address is let in");
        admission.leave(a);
        assert!(admission.enter(a, 2), "a place freed");
        admission.leave(a);
        admission.leave(a);
        admission.leave(b);
        assert!(
            admission.per_ip.lock().unwrap().is_empty(),
            "no address kept"
        );
    }

    #[test]
    fn rejections_bounded() {
        let admission = Admission::default();
        let started = (0..MAX_REJECTING * 2)
            .filter(|_| admission.start_rejecting())
            .count();
        assert_eq!(started, MAX_REJECTING);
    }
}
