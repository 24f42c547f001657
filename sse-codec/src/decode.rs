//! The incremental decoder: SSE bytes → events, by the WHATWG HTML "Server-sent events" rules.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Buf, BytesMut};

use crate::event::Data;
use crate::text::{Text, contains_any, utf8};
use crate::{Error, Event, EventId, EventType};

/// Bounds on what a decoder buffers for a peer, checked before any buffer grows.
///
/// The defaults are finite and generous: 1 MiB per line and 8 MiB of data per event, which holds
/// large LLM payloads and base64 images while keeping a hostile stream from taking more.
///
/// # Examples
///
/// ```
/// use ssewire::{Decoder, Limits, Overflow};
///
/// let decoder = Decoder::with_limits(Limits {
///     max_line: 64 * 1024,
///     overflow: Overflow::SkipEvent,
///     ..Limits::default()
/// });
/// # drop(decoder);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, in bytes without its line break, that the decoder buffers. Lines of the
    /// fields `data`, `event` and `id` that are longer hit the [`overflow`](Limits::overflow)
    /// policy; longer comments, `retry` lines and unknown fields are dropped without being
    /// buffered (the spec ignores them anyway). Values below 8 count as 8.
    pub max_line: usize,
    /// Largest data buffer of one event, in bytes (each data line counts its value plus one).
    pub max_event: usize,
    /// What happens when a limit is hit.
    pub overflow: Overflow,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 1024 * 1024,
            max_event: 8 * 1024 * 1024,
            overflow: Overflow::Error,
        }
    }
}

/// The policy when a line or an event goes over its [`Limits`].
///
/// Either way the offending event is dropped and the decoder resynchronises at the next blank
/// line, so the stream can go on. Fields of that event that had already taken effect (`retry`,
/// comments) stay in effect; its `id` does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overflow {
    /// Return [`Error::LineTooLong`] or [`Error::EventTooLarge`] once; decoding may go on after it.
    #[default]
    Error,
    /// Drop the event silently and go on with the next one.
    SkipEvent,
}

/// One item of the raw view ([`Decoder::decode_frame`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A block ended by a blank line that had at least one `data`, `event` or valid `id` field.
    /// Data is absent when the block had no `data` line (an id-only "priming" event, say); the
    /// other fields mean what they mean in [`Decoder::decode`]: [`Event::id`] is the last event
    /// ID at the blank line (absent if empty), [`Event::event`] is absent for the default type.
    Event(Event),
    /// A comment line (`: text`), yielded as soon as its line ends, with one leading space
    /// removed. Keep-alives are comments: consumers can reset idle timers on them.
    Comment(String),
    /// A valid `retry` field (ASCII digits only), yielded as soon as its line ends: the
    /// reconnection time a client should now use.
    Retry(Duration),
}

/// An incremental, push-style SSE decoder.
///
/// Feed it the bytes of one stream as they arrive, appended to one [`BytesMut`], and call
/// [`decode`](Decoder::decode) until it returns `Ok(None)` ("need more bytes"). It follows the
/// WHATWG parsing rules exactly:
///
/// - one leading UTF-8 BOM is stripped, even when split across reads;
/// - lines end in LF, CRLF or CR; a CR at the end of the input ends its line at once, and an LF
///   that arrives next is swallowed, so an event never waits for the next byte;
/// - `name: value` strips one space; a line without colon is a field with an empty value; lines
///   starting with `:` are comments; unknown fields are ignored; names are case-sensitive;
/// - `data` lines are joined with LF; an event without data is not dispatched; `event` applies to
///   one event; `id` (unless it contains NUL) persists as the last event ID; `retry` counts only
///   if it is all ASCII digits;
/// - invalid UTF-8 becomes U+FFFD, never an error and never a stall;
/// - at the end of the stream ([`finish`](Decoder::finish)) an unterminated event is dropped.
///
/// Work is linear in the input whatever the chunking: a partial line is never scanned twice.
/// Memory is bounded by [`Limits`]. An owned [`Event`] owns its text: each value is copied out of
/// the input once (no reference to your buffer is kept); [`decode_each`](Decoder::decode_each)
/// copies nothing.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use ssewire::Decoder;
///
/// let mut decoder = Decoder::new();
/// let mut buf = BytesMut::new();
/// let mut events = Vec::new();
/// for chunk in [&b"event: greet\nid: 1\ndata: hel"[..], b"lo\r", b"\n\r\n"] {
///     buf.extend_from_slice(chunk);
///     while let Some(event) = decoder.decode(&mut buf)? {
///         events.push(event);
///     }
/// }
/// assert_eq!(events.len(), 1);
/// assert_eq!((events[0].event_type(), events[0].data(), events[0].id()), ("greet", "hello", Some("1")));
/// # Ok::<(), ssewire::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    limits: Limits,
    /// Set once the start of the stream has been checked for a BOM.
    past_bom: bool,
    /// The last line ended in CR at the end of the input: an LF arriving next belongs to it.
    pending_lf: bool,
    /// Invariant: `buf[..scanned]` holds no CR or LF (the partial line already searched).
    scanned: usize,
    skip: Skip,
    /// The spec's data buffer of the block being parsed: each value followed by LF (empty: no
    /// data line); never more than `limits.max_event` bytes. Its allocation becomes the event's
    /// data at the blank line.
    data: Vec<u8>,
    /// The block's `event` field.
    event: Option<Text>,
    /// The block's own valid `id` field (raw view).
    id: Option<Text>,
    /// The block had a data, event or valid id field.
    has_fields: bool,
    /// The general path read a field line (any line but a comment) since the last blank line.
    in_event: bool,
    /// The spec's last event ID buffer while `id_dirty` (otherwise it equals `last_id` in effect;
    /// its bytes are reused, never reallocated per event).
    id_buffer: String,
    /// An `id` line set `id_buffer` since the last blank line.
    id_dirty: bool,
    /// The last event ID string: `id_buffer` as of the last blank line.
    last_id: String,
    /// `last_id` as text for owned events, made at most once per change.
    last_id_text: Option<Text>,
    /// What [`Decoder::decode_each`] carries from one read to the next: the start of an event
    /// that is not whole yet (at most [`Limits::max_line`] bytes of it unless the general path
    /// reads it line by line). Boxed, so that `decode_each` moves a pointer out of the decoder
    /// and back, not the buffer: copying the 32-byte `BytesMut` back after the read path had
    /// written its fields one by one stalled on store forwarding (`perf annotate`: 48% of the
    /// samples of `prof_codec each/large/64` on that one load).
    carry: Option<Box<BytesMut>>,
    /// The block the zero-copy views are reading in place.
    in_place: InPlace,
    /// The value ranges of the data lines of `in_place`, when it has several.
    lines: Vec<Span>,
    /// The data of the last zero-copy event when it is not a slice of the input (joined lines,
    /// or replaced invalid UTF-8).
    joined: String,
    /// The event type of the last zero-copy event, when it held invalid UTF-8.
    lossy_event: String,
    /// The event the last [`EventRef`] borrowed from, when it took the general path.
    held: Option<Event>,
    /// The last valid reconnection time, in milliseconds.
    retry: Option<u64>,
    /// Finds line ends.
    eol: Eol,
    /// The shortest read [`Decoder::decode_each`] reads in place.
    read_in_place_min: ReadMin,
}

/// The shortest read [`Decoder::decode_each`] reads in place: [`READ_IN_PLACE_MIN`] unless set.
#[derive(Debug, Clone, Copy)]
struct ReadMin(usize);

impl Default for ReadMin {
    fn default() -> Self {
        ReadMin(READ_IN_PLACE_MIN)
    }
}

/// Finds the next CR or LF. Where the CPU has AVX2 (detected once, with `std`), memchr's AVX2
/// searcher is built once per decoder: `memchr::memchr2` picks and sets one up on every call,
/// which on 64-byte reads costs about as much as the search itself.
#[derive(Debug, Clone, Copy)]
struct Eol {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl Default for Eol {
    fn default() -> Self {
        Eol {
            #[cfg(all(target_arch = "x86_64", feature = "std"))]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\r', b'\n'),
        }
    }
}

impl Eol {
    /// The index of the first CR or LF in `haystack`.
    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        if let Some(two) = &self.avx2 {
            return two.find(haystack);
        }
        memchr::memchr2(b'\r', b'\n', haystack)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Skip {
    /// Parsing normally.
    #[default]
    No,
    /// Dropping the rest of an over-long line that the spec ignores anyway.
    Line,
    /// Dropping an over-limit event up to the next blank line; `in_line` is set once bytes of the
    /// current line have been dropped (so its line break does not look like a blank line).
    Event { in_line: bool },
}

/// A byte range `(start, end)` of the caller's buffer.
type Span = (usize, usize);

/// The block the zero-copy view ([`Decoder::decode_each`]) reads in
/// place: positions in the caller's buffer, which keeps the block's bytes until its blank line.
/// Nothing of the block but its `retry` fields takes effect before that line (and those apply
/// again, to the same result), so the general path can always take over by reading the block
/// again from `start`.
#[derive(Debug, Clone, Copy, Default)]
struct InPlace {
    /// Where the block starts: `buf[..start]` is read and done with (not yet consumed).
    start: usize,
    /// Where the next line starts.
    pos: usize,
    /// `buf[pos..scanned]` holds no CR or LF: the partial line already searched.
    scanned: usize,
    /// The line before `pos` ended in a CR at the end of the input: an LF at `pos` belongs to it.
    skip_lf: bool,
    /// The data lines so far.
    data: InPlaceData,
    /// Length of the spec's data buffer so far (each value plus LF).
    data_len: usize,
    /// The last `event` field.
    event: Option<Span>,
    /// The last valid `id` field.
    id: Option<Span>,
    /// The block has a field line (any line but a comment).
    fields: bool,
}

impl InPlace {
    /// A new block at `start`.
    fn at(start: usize, skip_lf: bool) -> Self {
        InPlace {
            start,
            pos: start,
            scanned: start,
            skip_lf,
            ..InPlace::default()
        }
    }

    /// No line of the block has been read yet.
    fn at_block_start(&self) -> bool {
        self.pos == self.start
    }
}

#[derive(Debug, Clone, Copy, Default)]
enum InPlaceData {
    /// No data line.
    #[default]
    None,
    /// One data line: its value.
    Line(Span),
    /// Several: their values are in [`Decoder::lines`].
    Lines,
}

/// What [`Decoder::append_to_long_line`] did.
enum Appended {
    /// Nothing: the read does not go on with a long line.
    No,
    /// Appended; it ends no line, and the line is within `max_line`.
    LineGoesOn,
    /// Appended; the in-place reader goes on from its line break (or meets the limit).
    LineEnds,
}

/// What a line is, by the spec's field grammar ([`field`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    /// A line starting with a colon.
    Comment,
    /// A field the spec ignores.
    Other,
}

/// The fields of a whole block with data, found in place.
#[derive(Clone, Copy)]
struct Found {
    /// Where the block starts.
    start: usize,
    /// Where its blank line ends.
    end: usize,
    data: InPlaceData,
    event: Option<Span>,
    id: Option<Span>,
}

/// Text known to be UTF-8 that starts at `base` in the caller's buffer.
#[derive(Clone, Copy)]
struct Checked<'a> {
    base: usize,
    text: &'a str,
}

impl<'a> Checked<'a> {
    /// Nothing checked.
    const NONE: Checked<'static> = Checked { base: 0, text: "" };

    /// Where the checked text ends in the caller's buffer.
    #[inline]
    fn end(self) -> usize {
        self.base + self.text.len()
    }

    /// The text of the buffer's range `(s, e)`, if it lies within (on character boundaries).
    #[inline]
    fn get(self, (s, e): Span) -> Option<&'a str> {
        self.text
            .get(s.checked_sub(self.base)?..e.checked_sub(self.base)?)
    }
}

/// What [`Decoder::scan_in_place`] found.
enum Scan {
    /// A whole block with data; its blank line ends at `end` (a CR at the very end if `cr_end`).
    /// The next block starts there.
    Event {
        found: Found,
        end: usize,
        cr_end: bool,
    },
    /// The block is not whole yet.
    More,
    /// The block needs the general path: a limit, or more buffered than one line may hold.
    General,
    /// A whole block without data; its `id` field, if any, takes effect.
    Empty {
        id: Option<Span>,
        end: usize,
        cr_end: bool,
    },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
const MIN_LINE: usize = 8;
/// The shortest buffer [`Decoder::decode_each`] checks as UTF-8 in one pass.
const BATCH_MIN: usize = 512;
/// The most [`Decoder::decode_each`] checks as UTF-8 in one pass.
const BATCH_WINDOW: usize = 8 * 1024;
/// The shortest read [`Decoder::decode_each`] reads in place by default (shorter ones are
/// appended).
const READ_IN_PLACE_MIN: usize = 512;
/// A partial line this long (a large event's data, a long comment) makes `decode_each` search
/// short reads as it appends them.
const LONG_LINE: usize = 256;
/// After an owned event at least this long, `decode` moves the rest of the caller's buffer to its
/// front ([`rewind`]); after shorter ones the check would cost more than the move saves.
const REWIND_AFTER: usize = 4096;

impl Decoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Decoder::default()
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            limits,
            ..Decoder::default()
        }
    }

    /// Sets the shortest read [`decode_each`](Decoder::decode_each) reads in place (shorter ones
    /// are appended to its buffer; 512 bytes by default). The events are the same whatever it is;
    /// tests and fuzz targets set it to 0 to read every read in place.
    #[doc(hidden)]
    pub fn with_read_in_place_min(mut self, bytes: usize) -> Self {
        self.read_in_place_min = ReadMin(bytes);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The last event ID: the `id` in force at the last dispatch point (blank line), `""` if none.
    /// A reconnecting client sends it as `Last-Event-ID` when it is not empty.
    pub fn last_event_id(&self) -> &str {
        &self.last_id
    }

    /// The last valid reconnection time the stream set, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.retry.map(Duration::from_millis)
    }

    /// Bytes the decoder holds for the event being parsed: its data buffer (never more than
    /// [`Limits::max_event`]) and what [`decode_each`](Decoder::decode_each) carries over to the
    /// next read (never more than [`Limits::max_line`] after it returns `Ok`).
    pub fn buffered(&self) -> usize {
        self.data.len().saturating_add(self.carried())
    }

    /// What [`decode_each`](Decoder::decode_each) carries over.
    fn carried(&self) -> usize {
        self.carry.as_ref().map_or(0, |carry| carry.len())
    }

    /// Whether the decoder is inside an event: it has read a field line (`data`, `event`, `id`,
    /// `retry` or one the spec ignores; not a comment) that no blank line has ended yet, even one
    /// without data, or it is dropping the rest of an over-long line or over-limit event, or
    /// [`decode_each`](Decoder::decode_each) carries a partial line. A stream that ends here ends
    /// in the middle of an event: truncated. (With [`decode`](Decoder::decode) and
    /// [`decode_frame`](Decoder::decode_frame) a partial line is the bytes left in your buffer.)
    ///
    /// # Examples
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.decode_each(b"data: 1\n\n", |_| {})?;
    /// assert!(!decoder.in_event());
    /// decoder.decode_each(b"id: 5\n", |_| {})?;
    /// assert!(decoder.in_event()); // no data yet, but the event has begun
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    pub fn in_event(&self) -> bool {
        // `carry[in_place.pos..]` is the line the in-place block has not read to its end (with
        // no block in place, `pos` is 0 and what is carried is a partial line).
        self.in_event
            || self.skip != Skip::No
            || self.in_place.fields
            || self.carried() > self.in_place.pos
    }

    /// Decodes the next event with browser semantics (what `EventSource` dispatches) as an owned
    /// [`Event`].
    ///
    /// The three views, one per stream: `decode` for owned events from a buffer you append to;
    /// [`decode_each`](Decoder::decode_each) for borrowed events straight from each read (the
    /// fastest: the decoder keeps its own carry-over); [`decode_frame`](Decoder::decode_frame)
    /// for everything on the wire, id-only blocks, `retry` and comments included.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete event; append more bytes and call again.
    /// What stays in `buf` is the start of the event that is not whole yet, or a partial line:
    /// never more than [`Limits::max_line`] bytes (beyond that its lines are consumed one by one),
    /// and never searched twice. Only append to `buf` between calls.
    ///
    /// Only events with data are returned. [`Event::id`] is the last event ID at dispatch (absent
    /// if empty), [`Event::event`] is absent for the default type, and `retry`/comment are never
    /// set (see [`Decoder::retry`], or the raw view).
    ///
    /// # Errors
    ///
    /// [`Error::LineTooLong`] or [`Error::EventTooLarge`] under [`Overflow::Error`]; the event is
    /// dropped and decoding can go on.
    #[inline]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, Error> {
        self.settle(buf);
        // The block is read where it is, by the scanner `decode_each` uses; its values are
        // copied out of `buf` (checked as UTF-8 once, as one block) and the block consumed.
        if self.can_read_in_place() {
            match self.scan_in_place(buf) {
                Scan::Event { found, end, cr_end } => {
                    let event = self.owned_event(&found, &buf[..end]);
                    buf.advance(end);
                    if end >= REWIND_AFTER {
                        rewind(buf);
                    }
                    self.in_place = InPlace::at(0, cr_end);
                    return Ok(Some(event));
                }
                Scan::More => {
                    self.compact(buf);
                    return Ok(None);
                }
                Scan::General | Scan::Empty { .. } => {}
            }
        }
        self.leave_in_place(buf);
        self.decode_owned(buf)
    }

    /// The owned event a whole block read in place dispatches; `block` holds the caller's bytes
    /// up to its blank line (the positions in `found` index it). Lets the block's id take effect.
    #[inline]
    fn owned_event(&mut self, found: &Found, block: &[u8]) -> Event {
        let checked = utf8(&block[found.start..found.end]).map_or(Checked::NONE, |text| Checked {
            base: found.start,
            text,
        });
        // A value's text: a slice of the checked block, or its bytes with U+FFFD.
        let value = |span: Span| {
            checked.get(span).map_or_else(
                || String::from_utf8_lossy(&block[span.0..span.1]),
                Cow::Borrowed,
            )
        };
        let text = |span: Span| Text::from(value(span));
        let event = found
            .event
            .filter(|(s, e)| s < e)
            .map(|span| EventType::from_text(text(span)));
        // The block's own id is the last event ID now; otherwise the one in force.
        let id = match found.id {
            Some(span) => {
                let own = text(span);
                self.set_last_id(own.as_str());
                (!own.is_empty()).then(|| EventId::from_text(own))
            }
            None if self.last_id.is_empty() => None,
            None => {
                let text = self
                    .last_id_text
                    .get_or_insert_with(|| Text::from(self.last_id.as_str()));
                Some(EventId::from_text(text.clone()))
            }
        };
        let data = match found.data {
            InPlaceData::Line(span) => text(span),
            _ => {
                let mut joined = String::with_capacity(found.end - found.start);
                for (i, &span) in self.lines.iter().enumerate() {
                    if i > 0 {
                        joined.push('\n');
                    }
                    joined.push_str(&value(span));
                }
                Text::Owned(joined)
            }
        };
        Event {
            // One `data:` line's value holds no line break.
            data: Some(Data::new(data, matches!(found.data, InPlaceData::Line(_)))),
            event,
            id,
            retry: None,
            comment: None,
        }
    }

    /// The browser view without settling a borrowed event first.
    #[inline]
    fn decode_owned(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, Error> {
        loop {
            match self.next_frame(buf, false)? {
                None => return Ok(None),
                Some(Frame::Event(mut event)) if event.data.is_some() => {
                    self.browser_fields(&mut event);
                    return Ok(Some(event));
                }
                Some(_) => {}
            }
        }
    }

    /// Gives a dispatched event the fields every view shares: the type is absent for the
    /// default (`message`), and the id is the last event ID at dispatch, absent if empty.
    #[inline]
    fn browser_fields(&mut self, event: &mut Event) {
        if event.event.as_ref().is_some_and(|t| t.as_str().is_empty()) {
            event.event = None;
        }
        // The block's own id is the last event ID now; otherwise the one in force.
        match &event.id {
            Some(own) if own.is_empty() => event.id = None,
            Some(_) => {}
            None if self.last_id.is_empty() => {}
            None => {
                let text = self
                    .last_id_text
                    .get_or_insert_with(|| Text::from(self.last_id.as_str()));
                event.id = Some(EventId::from_text(text.clone()));
            }
        }
    }

    /// The zero-copy view of the general path: the in-place block (if any) handed over, the
    /// event decoded as an owned one that the `EventRef` borrows.
    fn decode_general<'a>(
        &'a mut self,
        buf: &'a mut BytesMut,
    ) -> Result<Option<EventRef<'a>>, Error> {
        self.leave_in_place(buf);
        self.held = self.decode_owned(buf)?;
        Ok(self.held.as_ref().map(|event| EventRef {
            data: event.data(),
            event: event.event().unwrap_or(""),
            id: event.id().unwrap_or(""),
        }))
    }

    /// [`decode_each`](Decoder::decode_each) over `buf`, to which the read has been appended:
    /// hands every event `buf` holds to `f`, consumes what it read and keeps the rest (a partial
    /// event) in `buf`.
    fn each_buffered<F>(&mut self, buf: &mut BytesMut, mut f: F) -> Result<(), Error>
    where
        F: FnMut(EventRef<'_>),
    {
        // After a block went to the general path, the rest of the buffer is not checked as
        // UTF-8 in one pass again (blocks are checked one by one): blocks that alternate between
        // the two paths (small limits) would otherwise have it checked once per block.
        let mut batch = true;
        loop {
            self.settle(buf);
            // Otherwise (or for a block the fast path leaves) the block goes to the general path.
            if self.can_read_in_place()
                && let Scan::More = self.each_in_place(buf, &mut f, batch)
            {
                self.compact(buf);
                return Ok(());
            }
            batch = false;
            match self.decode_general(buf)? {
                Some(event) => f(event),
                None => return Ok(()),
            }
        }
    }

    /// Hands every whole block of `bytes` from the in-place block on to `f`; returns how the
    /// block after them stopped: [`Scan::More`] or [`Scan::General`]. The one place the in-place
    /// reader is inlined into for the batch views (with more, the compiler kept it out of line,
    /// and its results went through memory: half the speed).
    #[inline(always)]
    fn each_in_place<F>(&mut self, bytes: &[u8], f: &mut F, batch: bool) -> Scan
    where
        F: FnMut(EventRef<'_>),
    {
        let mut checked = Checked::NONE;
        loop {
            // One UTF-8 check for the whole blocks ahead (up to `BATCH_WINDOW` bytes), from the
            // start of a block none of whose bytes were searched before (so a block still pending
            // from the last read, even one whose first line is not whole yet, is never checked
            // again: the work stays linear); values are then slices of `checked`. Blocks past it
            // are checked one by one, as are those of short reads (mostly partial events). The
            // window bounds what one call checks ahead of what it reads (a caller going on after
            // each error calls once per error).
            let start = self.in_place.start;
            if batch
                && self.in_place.scanned == start
                && start >= checked.end()
                && bytes.len().saturating_sub(start) >= BATCH_MIN
            {
                let end = bytes.len().min(start + BATCH_WINDOW);
                checked = Checked {
                    base: start,
                    text: valid_prefix(&bytes[start..end]),
                };
            }
            match self.scan_in_place(bytes) {
                Scan::Event { found, .. } => f(self.event_ref(&found, bytes, checked)),
                scan => return scan,
            }
        }
    }

    /// Decodes every event of a read with browser semantics and without copying, and hands each
    /// to `f` as an [`EventRef`] that borrows the read (or the decoder).
    ///
    /// The fastest view, for any stream of reads (a `Bytes` frame of an HTTP body, a slice of a
    /// read buffer): whole events are read where they are, with one UTF-8 check per read, and only
    /// an event left unfinished at the end of a read is copied, into a buffer the decoder keeps
    /// for the next call. Reads under 512 bytes are appended to that buffer whole (copying them
    /// costs less than switching). The events are those [`decode`](Decoder::decode) returns for
    /// the same bytes in any chunking.
    ///
    /// # Errors
    ///
    /// As for [`decode`](Decoder::decode). The events before the error have been handed to `f`;
    /// the decoder keeps what followed it: call again (with an empty read, or the next one) to go
    /// on.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    ///
    /// let mut decoder = ssewire::Decoder::new();
    /// let mut seen = Vec::new();
    /// let body = [Bytes::from("data: 1\n\nid: 7\ndata: 2\n"), Bytes::from("\ndata: 3\n\n")];
    /// for frame in &body {
    ///     decoder.decode_each(frame, |event| {
    ///         seen.push(format!("{}@{}", event.data(), event.id().unwrap_or("-")));
    ///     })?;
    /// }
    /// assert_eq!(seen, ["1@-", "2@7", "3@7"]);
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    #[inline]
    pub fn decode_each<F>(&mut self, read: &[u8], f: F) -> Result<(), Error>
    where
        F: FnMut(EventRef<'_>),
    {
        let mut carry = self.carry.take().unwrap_or_default();
        let result = self.read_with_carry(&mut carry, read, f);
        self.carry = Some(carry);
        result
    }

    /// [`decode_each`](Decoder::decode_each) with its carry-over buffer `buf` taken out of the
    /// decoder.
    #[inline]
    fn read_with_carry<F>(&mut self, buf: &mut BytesMut, read: &[u8], f: F) -> Result<(), Error>
    where
        F: FnMut(EventRef<'_>),
    {
        if read.len() < self.read_in_place_min.0 || read.is_empty() || !self.past_bom {
            self.read_appended(buf, read, f)
        } else {
            self.read_in_place(buf, read, f)
        }
    }

    /// [`decode_each`](Decoder::decode_each) for a short read: appended to `buf`.
    fn read_appended<F>(&mut self, buf: &mut BytesMut, read: &[u8], f: F) -> Result<(), Error>
    where
        F: FnMut(EventRef<'_>),
    {
        // The first half of the test for `append_to_long_line`, inline: most short reads fail it.
        let st = &self.in_place;
        let long_line = st.scanned == buf.len() && buf.len().saturating_sub(st.pos) >= LONG_LINE;
        if long_line {
            match self.append_to_long_line(buf, read) {
                Appended::LineGoesOn => return Ok(()),
                Appended::LineEnds => {}
                Appended::No => buf.extend_from_slice(read),
            }
        } else {
            buf.extend_from_slice(read);
        }
        self.each_buffered(buf, f)
    }

    /// Appends `read` to `buf` if it goes on with a long partial line (a large event's data, a long
    /// comment) that the in-place block has searched to the end of `buf`, searching it once on the
    /// way: most such reads end no line, and then that is all there is to do. (Reads that go on
    /// with a short line mostly end it, and the in-place reader would search them a second time:
    /// they are left to it.) Out of line, so that the other paths are compiled as they were.
    #[inline(never)]
    fn append_to_long_line(&mut self, buf: &mut BytesMut, read: &[u8]) -> Appended {
        // The caller has checked the partial line (`read_appended`); the rest of the test here.
        debug_assert!(self.in_place.scanned == buf.len());
        if !self.can_read_in_place() || self.in_place.skip_lf {
            return Appended::No;
        }
        let old = buf.len();
        buf.extend_from_slice(read);
        match self.eol.find(read) {
            Some(i) => {
                // The in-place reader resumes at the line break.
                self.in_place.scanned = old + i;
                Appended::LineEnds
            }
            None => {
                self.in_place.scanned = buf.len();
                if buf.len() - self.in_place.start > self.max_line() {
                    // Over the limit: the in-place reader hands the block on.
                    Appended::LineEnds
                } else {
                    Appended::LineGoesOn
                }
            }
        }
    }

    /// [`decode_each`](Decoder::decode_each) for a read that is long enough to read in place.
    fn read_in_place<F>(
        &mut self,
        buf: &mut BytesMut,
        mut read: &[u8],
        mut f: F,
    ) -> Result<(), Error>
    where
        F: FnMut(EventRef<'_>),
    {
        self.settle(buf);
        // The block left unfinished by the last read: its lines completed one at a time, so
        // that the rest of `read` can be read where it is.
        while !buf.is_empty() {
            if read.is_empty() {
                return Ok(());
            }
            if !self.can_read_in_place() {
                buf.extend_from_slice(read);
                return self.each_buffered(buf, f);
            }
            // After "need more" the in-place block has searched all of `buf`.
            let searched = self.in_place.scanned == buf.len() && !self.in_place.skip_lf;
            let (line, known) = match self.eol.find(read) {
                // A CR ends the line at once; an LF after it is the in-place reader's to skip.
                Some(i) => (i + 1, i),
                None => (read.len(), read.len()),
            };
            let old = buf.len();
            buf.extend_from_slice(&read[..line]);
            read = &read[line..];
            if searched {
                // `read[..known]` holds no CR or LF: not searched again.
                self.in_place.scanned = old + known;
            }
            if let Err(error) = self.each_buffered(buf, &mut f) {
                buf.extend_from_slice(read);
                return Err(error);
            }
        }
        self.settle(buf);
        if !self.can_read_in_place() {
            buf.extend_from_slice(read);
            return self.each_buffered(buf, f);
        }
        // Nothing carried over: the in-place block starts at `read[0]` (an LF there may still
        // belong to a CR that ended the last read, `skip_lf`).
        let scan = self.each_in_place(read, &mut f, true);
        // The unfinished block moves to `buf`, with its positions, at the front of its allocation.
        rewind(buf);
        let start = self.in_place.start;
        buf.extend_from_slice(&read[start..]);
        self.shift_in_place(start);
        match scan {
            Scan::More => Ok(()),
            // The general path takes it from there.
            _ => self.each_buffered(buf, f),
        }
    }

    /// No block is in progress on the general path, so the zero-copy views may read in place.
    #[inline]
    fn can_read_in_place(&mut self) -> bool {
        let ok = self.past_bom
            && self.skip == Skip::No
            && self.scanned == 0
            && !self.has_fields
            && !self.id_dirty;
        if ok && self.pending_lf {
            // Only set between blocks, so the in-place block is at its start.
            self.in_place.skip_lf = true;
            self.pending_lf = false;
        }
        ok
    }

    /// Drops what the in-place block has read before its start.
    fn compact(&mut self, buf: &mut BytesMut) {
        let done = self.in_place.start;
        if done > 0 {
            buf.advance(done);
            self.shift_in_place(done);
        }
    }

    /// Moves the in-place block's positions `done` bytes back (its bytes moved there).
    fn shift_in_place(&mut self, done: usize) {
        if done > 0 {
            let st = &mut self.in_place;
            st.start = 0;
            st.pos -= done;
            st.scanned -= done;
            let shift = |span: &mut Span| *span = (span.0 - done, span.1 - done);
            match &mut st.data {
                InPlaceData::None => {}
                InPlaceData::Line(span) => shift(span),
                InPlaceData::Lines => self.lines.iter_mut().for_each(shift),
            }
            st.event.as_mut().map(shift);
            st.id.as_mut().map(shift);
        }
    }

    /// Hands the in-place block to the general path, which reads it again from its start
    /// (nothing of it has taken effect).
    fn leave_in_place(&mut self, buf: &mut BytesMut) {
        let st = self.in_place;
        if st.scanned == 0 && !st.skip_lf {
            // Nothing read: nothing to hand over.
            return;
        }
        buf.advance(st.start.min(buf.len()));
        if st.skip_lf && st.at_block_start() {
            self.pending_lf = true;
        }
        self.in_place = InPlace::default();
        self.lines.clear();
    }

    /// Reads the in-place block up to its blank line ([`scan_block`]). Blocks without data end
    /// here: browsers dispatch nothing for them, but their `id` takes effect, and the next block
    /// starts after them. Never returns [`Scan::Empty`].
    #[inline(always)] // Out of line, its `Scan` goes through memory: half the speed.
    fn scan_in_place(&mut self, bytes: &[u8]) -> Scan {
        loop {
            let scan = scan_block(
                bytes,
                &mut self.in_place,
                &mut self.lines,
                &mut self.retry,
                &self.limits,
                &self.eol,
            );
            match scan {
                Scan::Event { end, cr_end, .. } => {
                    self.in_place = InPlace::at(end, cr_end);
                    self.in_event = false;
                    return scan;
                }
                // No data: browsers dispatch nothing, but its `id` takes effect.
                Scan::Empty { id, end, cr_end } => {
                    self.in_place = InPlace::at(end, cr_end);
                    self.in_event = false;
                    if let Some((s, e)) = id {
                        match utf8(&bytes[s..e]) {
                            Ok(id) => self.set_last_id(id),
                            Err(()) => self.set_last_id(&String::from_utf8_lossy(&bytes[s..e])),
                        }
                    }
                }
                Scan::More | Scan::General => return scan,
            }
        }
    }

    /// Turns a whole block read in place into the event it dispatches, and lets the block take
    /// effect. `checked` is a part of `bytes` known to be UTF-8 (possibly empty). An invalid value
    /// is replaced (U+FFFD) into the decoder's own buffers.
    #[inline(always)] // Its `Found` read back from memory stalls; inlined, it stays in registers.
    fn event_ref<'a>(
        &'a mut self,
        found: &Found,
        bytes: &'a [u8],
        checked: Checked<'a>,
    ) -> EventRef<'a> {
        // The block is checked as UTF-8 once, unless `checked` covers it; its values are then
        // slices of it. A value of a block with invalid UTF-8 is checked on its own.
        let checked = if found.start >= checked.base && found.end <= checked.end() {
            checked
        } else {
            Checked {
                base: found.start,
                text: utf8(&bytes[found.start..found.end]).unwrap_or_default(),
            }
        };
        let text = |(s, e): Span| match checked.get((s, e)) {
            Some(text) => Ok(text),
            None => utf8(&bytes[s..e]).map_err(|()| &bytes[s..e]),
        };
        let event = found.event.map(text);
        if let Some(Err(invalid)) = event {
            self.lossy_event = String::from_utf8_lossy(invalid).into_owned();
        }
        match found.id.map(text) {
            Some(Ok(id)) => self.set_last_id(id),
            Some(Err(invalid)) => self.set_last_id(&String::from_utf8_lossy(invalid)),
            None => {}
        }
        let data = match found.data {
            InPlaceData::Line(span) => match text(span) {
                Ok(line) => Some(line),
                Err(invalid) => {
                    self.joined = String::from_utf8_lossy(invalid).into_owned();
                    None
                }
            },
            _ => {
                self.join_lines(bytes, checked);
                None
            }
        };
        EventRef {
            data: data.unwrap_or(&self.joined),
            event: match event {
                None => "",
                Some(Ok(event)) => event,
                Some(Err(_)) => &self.lossy_event,
            },
            id: &self.last_id,
        }
    }

    /// Joins the data lines in `lines` with LF into `joined`.
    fn join_lines(&mut self, bytes: &[u8], checked: Checked<'_>) {
        self.joined.clear();
        if let (Some(&(first, _)), Some(&(_, last))) = (self.lines.first(), self.lines.last())
            && let Some(text) = checked.get((first, last))
        {
            // Every value lies in checked text and starts and ends next to ASCII bytes (a field
            // name, CR, LF), so its slice of `text` is at character boundaries. A value that
            // ended in LF is copied with it: one copy per line.
            for &(s, e) in &self.lines {
                let lf = bytes.get(e) == Some(&b'\n') && e < last;
                let piece = text.get(s - first..e + usize::from(lf) - first);
                self.joined.push_str(piece.unwrap_or_default());
                if !lf && e < last {
                    self.joined.push('\n');
                }
            }
            return;
        }
        let mut joined = core::mem::take(&mut self.joined).into_bytes();
        for (i, &(s, e)) in self.lines.iter().enumerate() {
            if i > 0 {
                joined.push(b'\n');
            }
            joined.extend_from_slice(&bytes[s..e]);
        }
        self.joined = match String::from_utf8(joined) {
            Ok(joined) => joined,
            Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
        };
    }

    /// Sets the last event ID at a blank line, from the in-place path. (The last event ID
    /// buffer is only read while an `id` line of the general path is pending, `id_dirty`.)
    fn set_last_id(&mut self, id: &str) {
        // A repeated id keeps the text made of it; with none made, comparing costs more than
        // copying (a `memcmp` call: 6% of owned `decode` on the benches' `keepalive` corpus).
        if self.last_id_text.is_some() && self.last_id == id {
            return;
        }
        self.last_id.clear();
        self.last_id.push_str(id);
        self.last_id_text = None;
    }

    /// Decodes the next item of the raw view: every block with fields (also those without data),
    /// comments and `retry` fields, in stream order. Same state machine, same buffering contract
    /// and same event fields as [`decode`](Decoder::decode); use one view per stream.
    ///
    /// # Errors
    ///
    /// As for [`decode`](Decoder::decode).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssewire::{Decoder, Frame};
    ///
    /// let mut decoder = Decoder::new();
    /// let mut buf = BytesMut::from(&b": keep-alive\n\nretry: 1500\nid: 7\n\n"[..]);
    /// assert_eq!(decoder.decode_frame(&mut buf)?, Some(Frame::Comment("keep-alive".into())));
    /// assert!(matches!(decoder.decode_frame(&mut buf)?, Some(Frame::Retry(r)) if r.as_millis() == 1500));
    /// let Some(Frame::Event(event)) = decoder.decode_frame(&mut buf)? else { panic!() };
    /// assert_eq!((event.id(), event.has_data()), (Some("7"), false));
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    pub fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        self.settle(buf);
        self.leave_in_place(buf);
        let mut frame = self.next_frame(buf, true)?;
        if let Some(Frame::Event(event)) = &mut frame {
            self.browser_fields(event);
        }
        Ok(frame)
    }

    /// Ends the stream: discards the unterminated event and the partial line left in `buf`, and
    /// readies the decoder for a new stream (a reconnection), keeping the last event ID and the
    /// reconnection time.
    ///
    /// Call it after [`decode`](Decoder::decode) has returned `Ok(None)`: complete events are
    /// still in `buf` until then.
    pub fn finish(&mut self, buf: &mut BytesMut) {
        self.settle(buf);
        self.leave_in_place(buf);
        buf.clear();
        self.reset_block();
        self.restore_id_buffer();
        self.past_bom = false;
        self.pending_lf = false;
        self.scanned = 0;
        self.skip = Skip::No;
        self.in_event = false;
        if let Some(carry) = &mut self.carry {
            carry.clear();
        }
    }

    /// The id lines of a dropped event do not count.
    fn restore_id_buffer(&mut self) {
        if self.id_dirty {
            self.id_buffer.clone_from(&self.last_id);
            self.id_dirty = false;
        }
    }

    /// Readies the buffer for a call: drops the event the last call lent, strips a BOM.
    fn settle(&mut self, buf: &mut BytesMut) {
        self.held = None;
        if self.in_place.scanned > buf.len() {
            // The buffer lost bytes the in-place block had read (a caller that did not only
            // append): start afresh rather than index past its end. Every position of the block
            // is at most `scanned`, so this keeps all of them in bounds.
            self.in_place = InPlace::default();
        }
        // Settled here rather than on the general path, so that the first event of a stream is
        // read in place too.
        self.strip_bom(buf);
    }

    /// "UTF-8 decode" strips one leading BOM; its bytes may arrive one at a time. Returns whether
    /// the stream is past it (false: the bytes so far could still be one).
    #[inline]
    fn strip_bom(&mut self, buf: &mut BytesMut) -> bool {
        if !self.past_bom {
            let n = buf.len().min(BOM.len());
            if buf[..n] != BOM[..n] {
                self.past_bom = true;
            } else if n == BOM.len() {
                buf.advance(BOM.len());
                self.past_bom = true;
            }
        }
        self.past_bom
    }

    fn reset_block(&mut self) {
        self.data.clear();
        self.event = None;
        self.id = None;
        self.has_fields = false;
    }

    #[inline]
    fn max_line(&self) -> usize {
        self.limits.max_line.max(MIN_LINE)
    }

    /// The one state machine behind both views.
    #[inline]
    fn next_frame(&mut self, buf: &mut BytesMut, comments: bool) -> Result<Option<Frame>, Error> {
        if !self.strip_bom(buf) {
            return Ok(None);
        }
        loop {
            if self.pending_lf {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                if first == b'\n' {
                    buf.advance(1);
                }
                self.pending_lf = false;
            }
            let from = self.scanned.min(buf.len());
            let Some(end) = self.eol.find(&buf[from..]).map(|i| from + i) else {
                self.scanned = buf.len();
                return self.partial_line(buf);
            };
            self.scanned = 0;
            let (eol, cr_end) = line_break(buf, end);
            self.pending_lf = cr_end;
            match self.skip {
                Skip::No => {}
                Skip::Line => {
                    buf.advance(end + eol);
                    self.skip = Skip::No;
                    continue;
                }
                Skip::Event { in_line } => {
                    buf.advance(end + eol);
                    if end == 0 && !in_line {
                        // The blank line that ends the dropped event.
                        self.skip = Skip::No;
                        self.in_event = false;
                    } else {
                        self.skip = Skip::Event { in_line: false };
                    }
                    continue;
                }
            }
            if end == 0 {
                // "If the line is empty (a blank line): dispatch the event."
                buf.advance(eol);
                match self.dispatch() {
                    Some(frame) => return Ok(Some(frame)),
                    None => continue,
                }
            }
            if end > self.max_line() {
                let value_field = is_value_field(&buf[..end]);
                self.in_event |= buf[0] != b':';
                buf.advance(end + eol);
                if value_field {
                    self.overflow(false);
                    if self.limits.overflow == Overflow::Error {
                        return Err(Error::LineTooLong {
                            limit: self.max_line(),
                        });
                    }
                }
                continue;
            }
            if let Some(frame) = self.line(buf, end, eol, comments)? {
                return Ok(Some(frame));
            }
        }
    }

    /// No line break in `buf`: bound what a partial line may hold.
    #[inline]
    fn partial_line(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        match self.skip {
            Skip::Line => {}
            Skip::Event { .. } => {
                if !buf.is_empty() {
                    self.skip = Skip::Event { in_line: true };
                }
            }
            Skip::No => {
                if buf.len() <= self.max_line() {
                    return Ok(None);
                }
                if is_value_field(buf) {
                    self.overflow(true);
                    if self.limits.overflow == Overflow::Error {
                        buf.clear();
                        self.scanned = 0;
                        return Err(Error::LineTooLong {
                            limit: self.max_line(),
                        });
                    }
                } else {
                    // A comment, `retry` or unknown field: the spec ignores its value. (`buf`
                    // starts at the line's start, so a field line counts as it does when whole.)
                    self.in_event |= buf[0] != b':';
                    self.skip = Skip::Line;
                }
            }
        }
        buf.clear();
        self.scanned = 0;
        Ok(None)
    }

    /// Drops the event being parsed and skips to the next blank line.
    fn overflow(&mut self, in_line: bool) {
        self.reset_block();
        self.restore_id_buffer();
        self.skip = Skip::Event { in_line };
    }

    /// Processes the complete, non-empty line `buf[..end]` followed by `eol` line-break bytes.
    #[inline]
    fn line(
        &mut self,
        buf: &mut BytesMut,
        end: usize,
        eol: usize,
        comments: bool,
    ) -> Result<Option<Frame>, Error> {
        let (field, start) = field(&buf[..end]);
        if field != Field::Comment {
            self.in_event = true;
        }
        match field {
            Field::Data => return self.data_line(buf, start, end, eol),
            Field::Comment => {
                if !comments {
                    buf.advance(end + eol);
                    return Ok(None);
                }
                let text = String::from_utf8_lossy(&buf[start..end]).into_owned();
                buf.advance(end + eol);
                return Ok(Some(Frame::Comment(text)));
            }
            Field::Event => {
                self.event = Some(take_text(buf, start, end, eol));
                self.has_fields = true;
            }
            Field::Id => {
                // "If the field value does not contain U+0000 NULL, set the last event ID buffer
                // to the field value. Otherwise, ignore the field."
                if contains_any(&buf[start..end], 0, 0, 0) {
                    buf.advance(end + eol);
                } else {
                    let id = take_text(buf, start, end, eol);
                    self.id_buffer.clear();
                    self.id_buffer.push_str(id.as_str());
                    self.id_dirty = true;
                    self.id = Some(id);
                    self.has_fields = true;
                }
            }
            Field::Retry => {
                // "If the field value consists of only ASCII digits, set the reconnection time to
                // that integer. Otherwise, ignore the field."
                let ms = parse_digits(&buf[start..end]);
                buf.advance(end + eol);
                if let Some(ms) = ms {
                    self.retry = Some(ms);
                    return Ok(Some(Frame::Retry(Duration::from_millis(ms))));
                }
            }
            // "Otherwise: the field is ignored."
            Field::Other => buf.advance(end + eol),
        }
        Ok(None)
    }

    /// "Append the field value to the data buffer, then append a single U+000A LINE FEED."
    #[inline]
    fn data_line(
        &mut self,
        buf: &mut BytesMut,
        start: usize,
        end: usize,
        eol: usize,
    ) -> Result<Option<Frame>, Error> {
        let value_len = end - start;
        let new_len = self.data.len().saturating_add(value_len).saturating_add(1);
        if new_len > self.limits.max_event {
            buf.advance(end + eol);
            self.overflow(false);
            return match self.limits.overflow {
                Overflow::Error => Err(Error::EventTooLarge {
                    limit: self.limits.max_event,
                }),
                Overflow::SkipEvent => Ok(None),
            };
        }
        self.data.reserve(value_len + 1);
        self.data.extend_from_slice(&buf[start..end]);
        self.data.push(b'\n');
        buf.advance(end + eol);
        self.has_fields = true;
        Ok(None)
    }

    /// A blank line: ends the block.
    #[inline]
    fn dispatch(&mut self) -> Option<Frame> {
        self.in_event = false;
        // "Set the last event ID string of the event source to the value of the last event ID
        // buffer."
        if self.id_dirty {
            self.last_id.clone_from(&self.id_buffer);
            self.last_id_text = None;
            self.id_dirty = false;
        }
        if !self.has_fields {
            return None;
        }
        let data = (!self.data.is_empty()).then(|| {
            let mut bytes = core::mem::take(&mut self.data);
            // "If the data buffer's last character is a U+000A LINE FEED, remove it."
            bytes.pop();
            Data::new(Text::from_utf8_lossy_vec(bytes), false)
        });
        let event = Event {
            data,
            event: self.event.take().map(EventType::from_text),
            id: self.id.take().map(EventId::from_text),
            retry: None,
            comment: None,
        };
        self.has_fields = false;
        Some(Frame::Event(event))
    }
}

/// Reads the lines of the in-place block `st` from where the last call stopped up to its
/// blank line, by the same rules as [`Decoder::line`]. A free function over the decoder's
/// fields, so that `st` is updated in place (copying it in and out of a local stalls on
/// store forwarding).
#[inline(always)] // See `scan_in_place`.
fn scan_block(
    bytes: &[u8],
    st: &mut InPlace,
    lines: &mut Vec<Span>,
    retry: &mut Option<u64>,
    limits: &Limits,
    eol: &Eol,
) -> Scan {
    let max_line = limits.max_line.max(MIN_LINE);
    // The caller's buffer holds the block until it ends: no more than one line may.
    let more = |st: &InPlace| {
        if bytes.len() - st.start > max_line {
            Scan::General
        } else {
            Scan::More
        }
    };
    loop {
        if st.skip_lf {
            match bytes.get(st.pos) {
                None => return more(st),
                Some(b'\n') => st.pos += 1,
                Some(_) => {}
            }
            st.skip_lf = false;
            st.scanned = st.pos;
            // Before the block's first field, the LF is done with too (see comments below).
            if !st.fields {
                st.start = st.pos;
            }
        }
        let pos = st.pos;
        // A blank line ends the block; seen without a search.
        let (end, cr_end) = match bytes.get(pos) {
            None => return more(st),
            Some(b'\n' | b'\r') => {
                let (eol, cr_end) = line_break(bytes, pos);
                (pos + eol, cr_end)
            }
            Some(_) => {
                let from = st.scanned.max(pos);
                let Some(found) = eol.find(&bytes[from..]) else {
                    st.scanned = bytes.len();
                    return more(st);
                };
                let end = from + found;
                if end - pos > max_line {
                    return Scan::General;
                }
                let (eol, cr_end) = line_break(bytes, end);
                st.skip_lf = cr_end;
                st.pos = end + eol;
                st.scanned = st.pos;
                let (name, value) = field(&bytes[pos..end]);
                if name == Field::Comment {
                    // Comments before the block's first field are done with: the block starts
                    // after them (so what the caller's buffer keeps is an event begun, or a
                    // partial line).
                    if !st.fields {
                        st.start = st.pos;
                    }
                    continue;
                }
                st.fields = true;
                let value = pos + value;
                match name {
                    Field::Data => {
                        let data_len = st.data_len.saturating_add(end - value + 1);
                        if data_len > limits.max_event {
                            // The block is left as it was before this line, so that reading it
                            // again (here or on the general path) meets the same limit.
                            st.pos = pos;
                            st.scanned = end;
                            st.skip_lf = false;
                            return Scan::General;
                        }
                        st.data_len = data_len;
                        st.data = match st.data {
                            InPlaceData::None => InPlaceData::Line((value, end)),
                            InPlaceData::Line(first) => {
                                lines.clear();
                                lines.push(first);
                                lines.push((value, end));
                                InPlaceData::Lines
                            }
                            InPlaceData::Lines => {
                                lines.push((value, end));
                                InPlaceData::Lines
                            }
                        };
                    }
                    Field::Event => st.event = Some((value, end)),
                    Field::Id => {
                        // "If the field value does not contain U+0000 NULL".
                        if !contains_any(&bytes[value..end], 0, 0, 0) {
                            st.id = Some((value, end));
                        }
                    }
                    // "Set the reconnection time": at once, not at the blank line.
                    Field::Retry => {
                        if let Some(ms) = parse_digits(&bytes[value..end]) {
                            *retry = Some(ms);
                        }
                    }
                    // "Otherwise: the field is ignored."
                    Field::Comment | Field::Other => {}
                }
                continue;
            }
        };
        if !matches!(st.data, InPlaceData::None) {
            let found = Found {
                start: st.start,
                end,
                data: st.data,
                event: st.event,
                id: st.id,
            };
            return Scan::Event { found, end, cr_end };
        }
        return Scan::Empty {
            id: st.id,
            end,
            cr_end,
        };
    }
}

/// Where a field's value starts: after `colon_end`, with one leading space removed.
#[inline]
fn value_start(line: &[u8], colon_end: usize) -> usize {
    if line.get(colon_end) == Some(&b' ') {
        colon_end + 1
    } else {
        colon_end
    }
}

/// The one implementation of the spec's field grammar, used by every view: what the complete,
/// non-empty line `line` (without its line break) is, and where its value starts.
#[inline(always)]
fn field(line: &[u8]) -> (Field, usize) {
    // The common names are recognised by their first byte and a prefix.
    match line.first() {
        // "If the line starts with a U+003A COLON character (:): ignore the line." (a comment;
        // its text, for the raw view, with one leading space removed)
        Some(b':') => (Field::Comment, value_start(line, 1)),
        Some(b'd') if line.starts_with(b"data:") => (Field::Data, value_start(line, 5)),
        Some(b'e') if line.starts_with(b"event:") => (Field::Event, value_start(line, 6)),
        Some(b'i') if line.starts_with(b"id:") => (Field::Id, value_start(line, 3)),
        _ => {
            // "If the line contains a colon: the field name is the part before it, the value
            // the part after it, with one leading space removed. Otherwise the whole line is
            // the field name and the value is empty."
            let (name, value) = match memchr::memchr(b':', line) {
                Some(c) => (&line[..c], value_start(line, c + 1)),
                None => (line, line.len()),
            };
            let field = match name {
                b"data" => Field::Data,
                b"event" => Field::Event,
                b"id" => Field::Id,
                b"retry" => Field::Retry,
                _ => Field::Other,
            };
            (field, value)
        }
    }
}

/// The one implementation of the spec's line ends, used by every view: the line break at
/// `bytes[at]` (a CR or LF) is CRLF, CR or LF; returns its length and whether it is a CR at the
/// very end of `bytes`. "A CR at the end of the input ends the line at once; an LF that follows
/// is swallowed": the caller skips an LF that arrives next, so nothing waits for the next byte.
#[inline(always)]
fn line_break(bytes: &[u8], at: usize) -> (usize, bool) {
    if bytes[at] == b'\n' {
        return (1, false);
    }
    match bytes.get(at + 1) {
        Some(b'\n') => (2, false),
        Some(_) => (1, false),
        None => (1, true),
    }
}

/// An event borrowed from a read (or from the decoder): what [`Decoder::decode_each`] hands to its
/// closure. Its accessors mean what [`Event`]'s of the same names mean in the other views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    data: &'a str,
    event: &'a str,
    id: &'a str,
}

impl<'a> EventRef<'a> {
    /// A borrowed message event carrying `data`, to write with [`encode_ref`](crate::encode_ref)
    /// without building an [`Event`] (nothing is copied or allocated). Every line break in `data`
    /// (LF, CRLF, lone CR) starts a new `data:` line when it is written.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire::{EventRef, encode_ref};
    ///
    /// let (name, id, text) = (String::from("delta"), String::from("7"), String::from("hi"));
    /// let mut buf = bytes::BytesMut::new();
    /// encode_ref(&EventRef::new(&text).with_event(&name)?.with_id(&id)?, &mut buf);
    /// assert_eq!(buf, "event: delta\nid: 7\ndata: hi\n\n");
    /// # Ok::<(), ssewire::Error>(())
    /// ```
    #[inline]
    pub fn new(data: &'a str) -> Self {
        EventRef {
            data,
            event: "",
            id: "",
        }
    }

    /// Sets the event type (empty: the default, `message`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEventType`] if `name` contains CR or LF.
    #[inline]
    pub fn with_event(mut self, name: &'a str) -> Result<Self, Error> {
        if contains_any(name.as_bytes(), b'\r', b'\n', b'\n') {
            return Err(Error::InvalidEventType);
        }
        self.event = name;
        Ok(self)
    }

    /// Sets the id (empty: none; an [`Event`] with an empty id is what resets a client's last
    /// event ID).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidId`] if `id` contains CR, LF or NUL.
    #[inline]
    pub fn with_id(mut self, id: &'a str) -> Result<Self, Error> {
        if contains_any(id.as_bytes(), b'\r', b'\n', 0) {
            return Err(Error::InvalidId);
        }
        self.id = id;
        Ok(self)
    }

    /// The event field as written (`""` for the default type).
    pub(crate) fn event_field(&self) -> &'a str {
        self.event
    }

    /// The data.
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// The type a browser dispatches the event as: the `event` field, or `"message"`.
    pub fn event_type(&self) -> &'a str {
        if self.event.is_empty() {
            "message"
        } else {
            self.event
        }
    }

    /// The last event ID at dispatch, if not empty.
    pub fn id(&self) -> Option<&'a str> {
        (!self.id.is_empty()).then_some(self.id)
    }

    /// An owned [`Event`] with the same fields.
    pub fn to_event(&self) -> Event {
        Event {
            data: Some(Data::new(Text::from(self.data), false)),
            event: (!self.event.is_empty()).then(|| EventType::from_text(Text::from(self.event))),
            id: self.id().map(|id| EventId::from_text(Text::from(id))),
            retry: None,
            comment: None,
        }
    }
}

/// Moves what `buf` holds to the front of its allocation, if what was consumed before it is no
/// less (`bytes`' own rule for when a move pays), without allocating. Otherwise a long event that
/// follows a consumed one fills the room behind it and is then moved whole when the buffer must
/// grow: a second copy of each 64 KiB event on the benches' `large` corpus at 16 KiB reads
/// (callgrind on `prof_codec each/large/16384`: `BytesMut::reserve_inner` moved 64 KiB three times
/// per four events).
#[inline]
fn rewind(buf: &mut BytesMut) {
    // More than the spare room: `bytes` takes back the consumed front, or does nothing.
    let _ = buf.try_reclaim(buf.capacity() + 1);
}

/// The longest prefix of `bytes` that is valid UTF-8 (SIMD-checked in one pass).
fn valid_prefix(bytes: &[u8]) -> &str {
    match simdutf8::compat::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => core::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or_default(),
    }
}

/// Takes `buf[start..end]` as text and consumes the line.
fn take_text(buf: &mut BytesMut, start: usize, end: usize, eol: usize) -> Text {
    let text = Text::from_utf8_lossy(&buf[start..end]);
    buf.advance(end + eol);
    text
}

/// Whether an over-long line (or partial line) belongs to a field whose value the decoder must
/// keep: `data`, `event` or `id`. Decided from the bytes before the first colon; a colonless line
/// longer than the minimum limit cannot be one of them.
fn is_value_field(line: &[u8]) -> bool {
    memchr::memchr(b':', line).is_some()
        && matches!(field(line).0, Field::Data | Field::Event | Field::Id)
}

/// All ASCII digits, at least one, fitting in a `u64`.
fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_digits() {
        assert_eq!(parse_digits(b"1500"), Some(1500));
        assert_eq!(parse_digits(b""), None);
        assert_eq!(parse_digits(b"+20"), None);
        assert_eq!(parse_digits(b" 20"), None);
        assert_eq!(parse_digits(b"99999999999999999999999"), None);
    }

    #[test]
    fn value_fields() {
        assert!(is_value_field(b"data:xxxxxxxx"));
        assert!(is_value_field(b"id:"));
        assert!(!is_value_field(b":data:"));
        assert!(!is_value_field(b"retry:1"));
        assert!(!is_value_field(b"dataxxxxxxxx"));
    }
}
