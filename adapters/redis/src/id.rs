//! Stream entry ids, `<ms>-<n>`: the SSE ids of a topic.

/// A parsed entry id: milliseconds (for trimming by age) and the dense per-topic counter.
/// Ordered as Redis orders entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EntryId {
    pub(crate) ms: u64,
    pub(crate) n: u64,
}

impl EntryId {
    /// `None` for anything but two decimal numbers joined by `-` (an id this crate never issued).
    pub(crate) fn parse(id: &str) -> Option<EntryId> {
        let (ms, n) = id.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(n) {
            return None;
        }
        Some(EntryId {
            ms: ms.parse().ok()?,
            n: n.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::EntryId;

    #[test]
    fn parses_only_what_redis_issues() {
        assert_eq!(EntryId::parse("17-3"), Some(EntryId { ms: 17, n: 3 }));
        for bad in [
            "",
            "17",
            "-3",
            "17-",
            "a-1",
            "1-+2",
            "1-2-3",
            " 1-2",
            "99999999999999999999-1",
        ] {
            assert_eq!(EntryId::parse(bad), None, "{bad:?}");
        }
        assert!(EntryId::parse("2-1") > EntryId::parse("1-9"));
        assert!(EntryId::parse("1-10") > EntryId::parse("1-9"));
    }
}
