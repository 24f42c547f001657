//! Property tests: any sequence of transport inputs keeps the controller's promises, and the
//! Last-Event-ID and events it yields match a naive oracle for any chunking.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use proptest::prelude::*;
use ssewire::EventId;
use ssewire_client::{Action, Config, Controller, Input, Jitter, Reason, StopReason};

/// One thing the transport (or the clock) does.
#[derive(Debug, Clone)]
enum Step {
    /// Time passes (ms).
    Advance(u64),
    /// The timer fires at the controller's deadline (or now, without one).
    FireAtDeadline,
    /// The timer fires now, deadline or not.
    Timer,
    Response {
        status: u16,
        content_type: Option<&'static str>,
        retry_after: Option<&'static str>,
    },
    Body(Vec<u8>),
    End,
    Error,
}

const FRAGMENTS: &[&[u8]] = &[
    b"data: x\n",
    b"data: x\n\n",
    b"id: 2\ndata: y\n\n",
    b"data: [DONE]\n\n",
    b"data: [DONE]\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"id: 1\n",
    b"id: abc\n",
    b"id\n",
    b"id:\n",
    b"id: a\0b\n",
    b"id: \x01\n",
    b"retry: 0\n",
    b"retry: 250\n",
    b"retry: 99999999999\n",
    b"retry: 1.5\n",
    b": keep-alive\n",
    b"event: e\n",
    b"data: 0123456789abcdefghijklmnopqrstuvwxyz\n",
    b"da",
    b"\xff\xfe",
];

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..5).prop_map(|parts| parts.concat())
}

fn step() -> impl Strategy<Value = Step> {
    // Mostly responses that open the stream, so that bodies have one to go to.
    let status = prop_oneof![
        7 => Just(200u16),
        3 => prop::sample::select(vec![204u16, 301, 401, 403, 408, 429, 500, 502, 503, 504]),
    ];
    let content_type = prop_oneof![
        6 => Just(Some("text/event-stream")),
        2 => Just(Some("Text/Event-Stream; charset=utf-8")),
        1 => Just(Some("text/plain")),
        1 => Just(None),
    ];
    let retry_after = prop::sample::select(vec![
        None,
        Some("0"),
        Some("5"),
        Some("100000"),
        Some("99999999999999999999999"),
        Some("soon"),
    ]);
    prop_oneof![
        4 => (0u64..20_000).prop_map(Step::Advance),
        4 => Just(Step::FireAtDeadline),
        1 => Just(Step::Timer),
        4 => (status, content_type, retry_after).prop_map(|(status, content_type, retry_after)| {
            Step::Response { status, content_type, retry_after }
        }),
        10 => body().prop_map(Step::Body),
        2 => Just(Step::End),
        2 => Just(Step::Error),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    let ms = |max: u64| (0..max).prop_map(Duration::from_millis);
    let jitter = prop::sample::select(vec![Jitter::None, Jitter::Equal, Jitter::Full]);
    (
        (ms(5000), ms(60_000), jitter, prop::option::of(0u32..6)),
        (
            ms(10_000),
            prop::option::of(ms(5000)),
            prop::bool::weighted(0.8),
        ),
        (any::<bool>(), ms(600_000), 0usize..64),
    )
        .prop_map(
            |(
                (retry, max_backoff, jitter, max_retries),
                (healthy_after, idle_timeout, reconnect),
                (retry_status, max_retry_after, max_error_body),
            )| Config {
                retry,
                max_backoff,
                jitter,
                max_retries,
                healthy_after,
                idle_timeout,
                reconnect,
                retry_status,
                max_retry_after,
                max_error_body,
                ..Config::default()
            },
        )
}

fn is_done(event: &ssewire::Event) -> bool {
    event.data() == "[DONE]"
}

/// What the actions so far allow next.
struct Invariants {
    config: Config,
    stopped: bool,
    /// A `Wait` came since the last `Connect` (or there was no `Connect` yet).
    waited: bool,
    connects: u32,
    /// The attempt the last `Wait` announced.
    announced: Option<u32>,
    /// When the last `Wait` ends.
    until: Duration,
}

impl Invariants {
    fn action(
        &mut self,
        action: &Action,
        now: Duration,
        terminal: bool,
    ) -> Result<(), TestCaseError> {
        prop_assert!(!self.stopped, "an action after Stop: {action:?}");
        match action {
            Action::Connect(connect) => {
                prop_assert!(self.waited, "two Connects without a Wait between them");
                self.waited = false;
                if self.connects == 0 {
                    prop_assert_eq!((connect.attempt, connect.reason), (0, None));
                } else {
                    prop_assert_eq!(Some(connect.attempt), self.announced);
                    prop_assert!(connect.reason.is_some());
                    prop_assert!(now >= self.until, "a Connect before its Wait ended");
                }
                if let Some(max) = self.config.max_retries {
                    prop_assert!(connect.attempt <= max, "attempt over max_retries");
                }
                self.connects += 1;
                prop_assert_eq!(&connect.headers[header::ACCEPT], "text/event-stream");
                if let Some(id) = connect.headers.get("last-event-id") {
                    prop_assert!(!id.is_empty(), "an empty Last-Event-ID");
                }
            }
            Action::Wait(wait) => {
                prop_assert!(self.config.reconnect, "a Wait with reconnecting off");
                match wait.reason {
                    Reason::Status {
                        status,
                        retry_after,
                    } => {
                        prop_assert!(self.config.retry_status);
                        prop_assert!(matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504));
                        match retry_after {
                            Some(asked) => {
                                prop_assert_eq!(wait.delay, asked.min(self.config.max_retry_after))
                            }
                            None => prop_assert!(wait.delay <= self.config.max_backoff),
                        }
                    }
                    _ => prop_assert!(
                        wait.delay <= self.config.max_backoff,
                        "{:?} over the cap {:?}",
                        wait.delay,
                        self.config.max_backoff
                    ),
                }
                self.waited = true;
                self.announced = Some(wait.attempt);
                self.until = now + wait.delay;
            }
            Action::Deliver(event) => {
                prop_assert!(event.has_data());
                prop_assert!(
                    !(terminal && is_done(event)),
                    "the terminal event was delivered"
                );
            }
            Action::Stop(reason) => {
                if let StopReason::Terminal(event) = reason {
                    prop_assert!(terminal && is_done(event));
                }
                if let StopReason::Rejected(rejected) = reason {
                    prop_assert!(rejected.body.len() <= self.config.max_error_body);
                }
                self.stopped = true;
            }
            Action::Open | Action::Dropped(_) => {}
            other => prop_assert!(false, "an action this test does not know: {other:?}"),
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any inputs in any order, at any times: every Wait is within the cap (or is the bounded
    /// Retry-After), no Connect follows a Stop or another Connect without a Wait between them,
    /// nothing at all follows a Stop, a Connect comes only once its Wait has passed,
    /// Last-Event-ID is never empty, the deadline is the end of the last Wait, and the terminal
    /// event is never delivered.
    #[test]
    fn any_input_sequence_keeps_the_invariants(
        config in config(),
        terminal in any::<bool>(),
        seed in prop::option::of("[a-z0-9 ]{0,6}"),
        steps in prop::collection::vec((step(), any::<u64>()), 0..80),
        close_at in prop::option::of(0usize..100),
    ) {
        let mut sse = Controller::new(config);
        if terminal {
            sse = sse.with_terminal(is_done);
        }
        if let Some(seed) = seed {
            sse = sse.with_last_event_id(EventId::new(seed).unwrap());
        }
        let mut inv = Invariants {
            config,
            stopped: false,
            waited: true,
            connects: 0,
            announced: None,
            until: Duration::ZERO,
        };
        let mut now = Duration::ZERO;
        for action in std::iter::from_fn(|| sse.poll_action()) {
            inv.action(&action, now, terminal)?;
        }
        for (i, (step, random)) in steps.into_iter().enumerate() {
            if close_at == Some(i) {
                sse.close();
            }
            let mut headers = HeaderMap::new();
            match step {
                Step::Advance(ms) => now += Duration::from_millis(ms),
                Step::FireAtDeadline => {
                    now = now.max(sse.next_deadline().unwrap_or(now));
                    sse.handle(now, random, Input::TimerFired);
                }
                Step::Timer => sse.handle(now, random, Input::TimerFired),
                Step::Response { status, content_type, retry_after } => {
                    if let Some(value) = content_type {
                        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
                    }
                    if let Some(value) = retry_after {
                        headers.insert(header::RETRY_AFTER, HeaderValue::from_static(value));
                    }
                    let status = StatusCode::from_u16(status).unwrap();
                    sse.handle(now, random, Input::Response { status, headers: &headers });
                }
                Step::Body(bytes) => sse.handle(now, random, Input::Body(&bytes)),
                Step::End => sse.handle(now, random, Input::End),
                Step::Error => {
                    sse.handle(now, random, Input::Error(std::io::ErrorKind::ConnectionReset));
                }
            }
            let mut last_wait = None;
            for action in std::iter::from_fn(|| sse.poll_action()) {
                inv.action(&action, now, terminal)?;
                if let Action::Wait(wait) = &action {
                    last_wait = Some(wait.delay);
                }
            }
            prop_assert_eq!(sse.is_stopped(), inv.stopped);
            if inv.stopped {
                prop_assert_eq!(sse.next_deadline(), None);
            } else if let Some(delay) = last_wait {
                prop_assert_eq!(sse.next_deadline(), Some(now + delay));
            }
        }
    }
}

/// One line of a block in the oracle test.
#[derive(Debug, Clone)]
enum Line {
    Id(String),
    BareId,
    NulId,
    Data(String),
    Comment,
}

impl Line {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Line::Id(id) => format!("id: {id}\n").into_bytes(),
            Line::BareId => b"id\n".to_vec(),
            Line::NulId => b"id: x\0y\n".to_vec(),
            Line::Data(data) => format!("data: {data}\n").into_bytes(),
            Line::Comment => b": ping\n".to_vec(),
        }
    }
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        "[a-z0-9]{1,4}".prop_map(Line::Id),
        Just(Line::BareId),
        Just(Line::NulId),
        "[a-z]{0,4}".prop_map(Line::Data),
        Just(Line::Comment),
    ]
}

/// The naive oracle: the spec's rules for `id` and `data`, block by block. Returns the events'
/// data and the last event ID after the stream ends (the unterminated last block is dropped).
fn oracle(seed: &str, blocks: &[Vec<Line>], terminated: bool) -> (Vec<String>, String) {
    let mut last = seed.to_owned();
    let mut buffer = seed.to_owned();
    let mut events = Vec::new();
    let whole = if terminated {
        blocks.len()
    } else {
        blocks.len().saturating_sub(1)
    };
    for block in &blocks[..whole] {
        let mut data: Option<Vec<&str>> = None;
        for line in block {
            match line {
                Line::Id(id) => buffer = id.clone(),
                Line::BareId => buffer.clear(),
                Line::NulId | Line::Comment => {}
                Line::Data(d) => data.get_or_insert_with(Vec::new).push(d),
            }
        }
        last = buffer.clone();
        if let Some(lines) = data {
            events.push(lines.join("\n"));
        }
    }
    (events, last)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Whatever the chunking, the events delivered and the Last-Event-ID sent on reconnection
    /// are the oracle's; an empty one is not sent.
    #[test]
    fn last_event_id_and_events_match_the_oracle(
        seed in "[a-z0-9]{0,4}",
        blocks in prop::collection::vec(prop::collection::vec(line(), 0..4), 0..8),
        terminated in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut wire = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            for line in block {
                wire.extend(line.bytes());
            }
            if terminated || i + 1 < blocks.len() {
                wire.push(b'\n');
            }
        }
        let mut sse = Controller::new(Config { jitter: Jitter::None, ..Config::default() });
        if !seed.is_empty() {
            sse = sse.with_last_event_id(EventId::new(&seed).unwrap());
        }
        std::iter::from_fn(|| sse.poll_action()).for_each(drop);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        let now = Duration::ZERO;
        sse.handle(now, 0, Input::Response { status: StatusCode::OK, headers: &headers });
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.push(0);
        points.push(wire.len());
        points.sort_unstable();
        for pair in points.windows(2) {
            sse.handle(now, 0, Input::Body(&wire[pair[0]..pair[1]]));
        }
        sse.handle(now, 0, Input::End);
        let mut events = Vec::new();
        for action in std::iter::from_fn(|| sse.poll_action()) {
            if let Action::Deliver(event) = action {
                events.push(event.data().to_owned());
            }
        }
        let deadline = sse.next_deadline().unwrap();
        sse.handle(deadline, 0, Input::TimerFired);
        let Some(Action::Connect(connect)) = sse.poll_action() else {
            return Err(TestCaseError::fail("no Connect"));
        };
        let (expected_events, expected_id) = oracle(&seed, &blocks, terminated);
        prop_assert_eq!(events, expected_events);
        let sent = connect.headers.get("last-event-id").map(|v| v.to_str().unwrap().to_owned());
        prop_assert_eq!(sent, (!expected_id.is_empty()).then_some(expected_id));
    }
}
