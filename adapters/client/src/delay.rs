//! How long to wait: exponential backoff with jitter, from the caller's random number.

use std::time::Duration;

use crate::Jitter;

/// The least the backoff grows from, so that a stream that set `retry: 0` and then keeps
/// failing does not reconnect in a tight loop: its first reconnection is immediate, as the
/// server asked, and the ones after it wait 200 ms, 400 ms, …
pub(crate) const MIN_GROWTH: Duration = Duration::from_millis(100);

/// The wait before reconnection number `streak + 1` of a run (0 for the first after a healthy
/// connection): `base`, doubled `streak` times (from at least [`MIN_GROWTH`]), at most `cap`,
/// spread by `jitter` with `random`. Always within `[0, cap]`.
pub(crate) fn backoff(
    base: Duration,
    streak: u32,
    cap: Duration,
    jitter: Jitter,
    random: u64,
) -> Duration {
    let ceiling = if streak == 0 {
        base
    } else {
        let mut d = base.max(MIN_GROWTH);
        // Ends within ~100 rounds: `d` doubles (saturating at `Duration::MAX`) until it passes
        // `cap`.
        for _ in 0..streak {
            if d >= cap {
                break;
            }
            d = d.saturating_mul(2);
        }
        d
    };
    spread(ceiling.min(cap), jitter, random)
}

/// `d` spread by `jitter`: within `[0, d]`.
pub(crate) fn spread(d: Duration, jitter: Jitter, random: u64) -> Duration {
    match jitter {
        Jitter::None => d,
        Jitter::Full => scale(d, random),
        Jitter::Equal => {
            let half = d / 2;
            (d - half) + scale(half, random)
        }
    }
}

/// `d · random / 2^64`: within `[0, d]`, in integers (a float could round past `d`).
fn scale(d: Duration, random: u64) -> Duration {
    let nanos = d.as_nanos();
    let scaled = match u64::try_from(nanos) {
        // Exact: both factors fit 64 bits, so the product fits 128.
        Ok(n) => (u128::from(n) * u128::from(random)) >> 64,
        // Over 584 years: the low 32 bits of the product do not matter.
        Err(_) => ((nanos >> 32) * u128::from(random)) >> 32,
    };
    let secs = u64::try_from(scaled / 1_000_000_000).unwrap_or(u64::MAX);
    // Less than 10^9, so it fits.
    let subsec = u32::try_from(scaled % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, subsec).min(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_from_base_to_cap() {
        let waits: Vec<_> = (0..7)
            .map(|n| backoff(MS * 1000, n, MS * 10_000, Jitter::None, 0))
            .collect();
        assert_eq!(
            waits,
            [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000].map(|ms| MS * ms)
        );
    }

    #[test]
    fn zero_base_grows_from_the_floor() {
        let waits: Vec<_> = (0..4)
            .map(|n| backoff(Duration::ZERO, n, MS * 10_000, Jitter::None, 0))
            .collect();
        assert_eq!(waits, [0, 200, 400, 800].map(|ms| MS * ms));
    }

    #[test]
    fn huge_streaks_and_caps_do_not_overflow() {
        assert_eq!(
            backoff(MS, u32::MAX, Duration::MAX, Jitter::None, 0),
            Duration::MAX
        );
        assert!(backoff(MS, u32::MAX, Duration::MAX, Jitter::Full, u64::MAX) <= Duration::MAX);
        assert_eq!(
            backoff(MS * 500, 3, Duration::ZERO, Jitter::Equal, 7),
            Duration::ZERO
        );
    }

    #[test]
    fn jitter_bounds() {
        let d = MS * 1000;
        assert_eq!(spread(d, Jitter::Full, 0), Duration::ZERO);
        assert_eq!(spread(d, Jitter::Equal, 0), MS * 500);
        assert_eq!(spread(d, Jitter::Full, 1 << 63), MS * 500);
        assert_eq!(spread(d, Jitter::Equal, 1 << 63), MS * 750);
        assert!(spread(d, Jitter::Full, u64::MAX) <= d);
        assert!(spread(d, Jitter::Full, u64::MAX) > d - MS);
        assert!(spread(d, Jitter::Equal, u64::MAX) <= d);
        assert_eq!(spread(d, Jitter::None, 12345), d);
        assert!(spread(Duration::MAX, Jitter::Full, u64::MAX) <= Duration::MAX);
    }

    #[test]
    fn odd_nanos_keep_equal_within_bounds() {
        let d = Duration::from_nanos(3);
        assert_eq!(spread(d, Jitter::Equal, 0), Duration::from_nanos(2));
        assert!(spread(d, Jitter::Equal, u64::MAX) <= d);
    }
}
