//! The resume rule against a real `redis-server`, one case per position a client may come back
//! with (in the manner of Centrifugo's recovery tests): each client reconnects to an instance
//! whose ring does not hold its id, so the answer comes from Redis.

mod common;

use std::time::Duration;

use common::{RedisServer, Seen, take};
use ssewire::Event;
use ssewire_redis::{Config, RedisHub};
use ssewire_stream::HubConfig;

const QUIET: Duration = Duration::from_millis(300);

fn config(hub: HubConfig) -> Config {
    Config {
        hub,
        block: Duration::from_millis(500),
        timeout: Duration::from_millis(500),
        retry: Duration::from_millis(50),
        ..Config::default()
    }
}

async fn instance(redis: &RedisServer, config: Config) -> RedisHub {
    let (hub, reader) = RedisHub::connect(&redis.url(), &["t"], config)
        .await
        .unwrap();
    smol::spawn(reader).detach();
    hub
}

async fn publish(hub: &RedisHub, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            hub.publish("t", &Event::new(format!("e{i}")))
                .await
                .unwrap(),
        );
    }
    ids
}

fn data(seen: &Seen) -> Vec<&str> {
    seen.iter().map(|(_, _, data)| data.as_str()).collect()
}

fn resets(seen: &Seen) -> usize {
    seen.iter().filter(|(_, kind, _)| kind == "reset").count()
}

#[test]
fn empty_stream() {
    let redis = RedisServer::start("empty");
    smol::block_on(async {
        let b = instance(&redis, config(HubConfig::default())).await;
        // An id the (empty) stream never issued: reset, then live.
        let mut resumed = b.subscribe("t", Some("1700000000000-1")).await.unwrap();
        let mut live = b.subscribe("t", None).await.unwrap();
        publish(&b, 1).await;
        let (seen, _) = take(&mut resumed, QUIET).await;
        assert_eq!(resets(&seen), 1);
        assert_eq!(data(&seen), ["", "e0"]);
        let (seen, _) = take(&mut live, QUIET).await;
        assert_eq!(data(&seen), ["e0"]);
    });
}

#[test]
fn resume_from_a_position() {
    let redis = RedisServer::start("position");
    smol::block_on(async {
        let a = instance(&redis, config(HubConfig::default())).await;
        let ids = publish(&a, 5).await;
        // A fresh instance holds only the newest; ids[1] comes from Redis.
        let b = instance(&redis, config(HubConfig::default())).await;
        let mut sub = b.subscribe("t", Some(&ids[1])).await.unwrap();
        publish(&a, 2).await;
        let (seen, ended) = take(&mut sub, QUIET).await;
        assert!(!ended);
        assert_eq!(data(&seen), ["e2", "e3", "e4", "e0", "e1"]);
        assert_eq!(seen[0].0.as_deref(), Some(ids[2].as_str()));
    });
}

#[test]
fn position_trimmed_away() {
    let redis = RedisServer::start("trimmed");
    smol::block_on(async {
        let hub = HubConfig {
            max_events: 10,
            ..HubConfig::default()
        };
        let a = instance(&redis, config(hub.clone())).await;
        let ids = publish(&a, 400).await;
        let b = instance(&redis, config(hub)).await;
        let mut sub = b.subscribe("t", Some(&ids[0])).await.unwrap();
        let (seen, _) = take(&mut sub, QUIET).await;
        assert_eq!(data(&seen), [""]);
        assert_eq!(resets(&seen), 1);
        // Within the retention: replayed.
        let mut sub = b.subscribe("t", Some(&ids[395])).await.unwrap();
        let (seen, _) = take(&mut sub, QUIET).await;
        assert_eq!(data(&seen), ["e396", "e397", "e398", "e399"]);
    });
}

#[test]
fn position_newer_than_the_stream() {
    let redis = RedisServer::start("newer");
    smol::block_on(async {
        let a = instance(&redis, config(HubConfig::default())).await;
        let ids = publish(&a, 3).await;
        let b = instance(&redis, config(HubConfig::default())).await;
        // Never issued (newer than anything in Redis): reset.
        let mut sub = b.subscribe("t", Some("99999999999999-1")).await.unwrap();
        let (seen, _) = take(&mut sub, QUIET).await;
        assert_eq!(resets(&seen), 1);
        // Newer than this instance has seen (its reader has not run yet), but in Redis: nothing
        // replayed, and the live events up to it skipped.
        let (c, reader) = RedisHub::connect(&redis.url(), &["t"], config(HubConfig::default()))
            .await
            .unwrap();
        let more = publish(&a, 3).await;
        let mut ahead = c.subscribe("t", Some(&more[1])).await.unwrap();
        smol::spawn(reader).detach();
        publish(&a, 1).await;
        let (seen, _) = take(&mut ahead, QUIET).await;
        assert_eq!(data(&seen), ["e2", "e0"], "after {ids:?} {more:?}");
    });
}

#[test]
fn same_position() {
    let redis = RedisServer::start("same");
    smol::block_on(async {
        let a = instance(&redis, config(HubConfig::default())).await;
        let ids = publish(&a, 3).await;
        let b = instance(&redis, config(HubConfig::default())).await;
        // The newest: from b's ring, nothing to replay, no reset; then live.
        let mut sub = b.subscribe("t", Some(&ids[2])).await.unwrap();
        publish(&a, 1).await;
        let (seen, _) = take(&mut sub, QUIET).await;
        assert_eq!(data(&seen), ["e0"]);
        // And one behind the newest, from Redis.
        let mut sub = b.subscribe("t", Some(&ids[1])).await.unwrap();
        let (seen, _) = take(&mut sub, QUIET).await;
        assert_eq!(data(&seen), ["e2", "e0"]);
    });
}

#[test]
fn expired_by_age() {
    let redis = RedisServer::start("age");
    smol::block_on(async {
        let hub = HubConfig {
            max_age: Some(Duration::from_millis(300)),
            ..HubConfig::default()
        };
        let a = instance(&redis, config(hub.clone())).await;
        let ids = publish(&a, 3).await;
        async_io::Timer::after(Duration::from_millis(500)).await;
        let b = instance(&redis, config(hub)).await;
        let mut old = b.subscribe("t", Some(&ids[0])).await.unwrap();
        let (seen, _) = take(&mut old, QUIET).await;
        assert_eq!(data(&seen), [""]);
        assert_eq!(resets(&seen), 1);
        // The newest never expires: a client that saw it missed nothing.
        let mut newest = b.subscribe("t", Some(&ids[2])).await.unwrap();
        let (seen, _) = take(&mut newest, QUIET).await;
        assert!(seen.is_empty(), "{seen:?}");
    });
}

#[test]
fn redis_unreachable() {
    let mut redis = RedisServer::start("down");
    smol::block_on(async {
        let a = instance(&redis, config(HubConfig::default())).await;
        let ids = publish(&a, 3).await;
        let b = instance(&redis, config(HubConfig::default())).await;
        let mut open = b.subscribe("t", Some(&ids[2])).await.unwrap();
        redis.stop();
        // Publishing fails within the timeout; a subscribe that needs Redis ends its stream
        // (no reset); an open stream stays open.
        let started = std::time::Instant::now();
        assert!(a.publish("t", &Event::new("lost")).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(3));
        let mut needs = b.subscribe("t", Some(&ids[0])).await.unwrap();
        let (seen, ended) = take(&mut needs, QUIET).await;
        assert!(ended && seen.is_empty(), "{seen:?}");
        // From the ring: no Redis needed.
        let mut local = b.subscribe("t", Some(&ids[2])).await.unwrap();
        redis.run();
        // Redis came back empty: the next event jumps the counter, so b ends its streams, and the
        // clients reconnect to a reset.
        async_io::Timer::after(Duration::from_millis(300)).await;
        let mut published = None;
        for _ in 0..50 {
            if let Ok(id) = a.publish("t", &Event::new("after")).await {
                published = Some(id);
                break;
            }
            async_io::Timer::after(Duration::from_millis(100)).await;
        }
        assert!(published.is_some());
        for sub in [&mut open, &mut local] {
            let (seen, ended) = take(sub, Duration::from_secs(2)).await;
            assert!(ended && seen.is_empty(), "{seen:?}");
        }
        // The reset (the client resynchronises, as with the single-node hub), then live: "after"
        // too if b's reader ingested it only once the subscription was waiting for Redis.
        let mut again = b.subscribe("t", Some(&ids[2])).await.unwrap();
        a.publish("t", &Event::new("next")).await.unwrap();
        let (seen, _) = take(&mut again, QUIET).await;
        assert!(
            data(&seen) == ["", "next"] || data(&seen) == ["", "after", "next"],
            "{seen:?}"
        );
        assert_eq!(resets(&seen), 1);
    });
}
