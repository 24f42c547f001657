//! `loadtest-redis` end to end, briefly: three `load-server-smol --redis` processes share one
//! `redis-server` (started and stopped here; `redis-server` on the PATH, as `bash
//! .ci/install.sh` provides), every stream on every instance receives every event published on
//! the first, in order, and each event costs Redis one publish and one read per instance,
//! whatever the number of streams. Behaviour only, never speed.

use std::path::Path;

use ssewire_load::driver;
use ssewire_load::many::{self, Config, RedisServer};

#[test]
fn three_instances_share_one_redis() {
    ssewire_load::sys::raise_nofile();
    let redis = RedisServer::start(None).expect("redis-server on the PATH (bash .ci/install.sh)");
    let server = Path::new(env!("CARGO_BIN_EXE_load-server-smol"));
    let config = |streams| Config {
        streams,
        instances: 3,
        rate: 20.0,
        secs: 1.0,
        concurrency: 16,
        pin: None,
    };
    for streams in [30, 90] {
        let config = config(streams);
        let run = driver::block_on(many::measure(&config, server, Some(&redis)))
            .expect("three instances measured");
        println!("{}", many::markdown(&config, std::slice::from_ref(&run)));
        assert_eq!(run.instances.len(), 3);
        for (i, instance) in run.instances.iter().enumerate() {
            assert_eq!(instance.opened, streams / 3, "instance {i}: streams open");
            assert_eq!(
                instance.complete, instance.opened,
                "instance {i}: every stream receives every event, in order"
            );
            assert_eq!(
                instance.delivered,
                config.events() * instance.opened as u64,
                "instance {i}: no extra events"
            );
        }
        // One publish script per event; the readers' XREADs return at most once per event
        // each (a batch may carry several), plus the BLOCK timeouts of the idle seconds.
        let calls = |name: &str| run.commands.get(name).copied().unwrap_or(0);
        assert_eq!(
            calls("evalsha") + calls("eval"),
            config.events(),
            "{:?}",
            run.commands
        );
        assert!(
            calls("xread") <= 3 * (config.events() + 2),
            "reads do not grow with the streams: {:?}",
            run.commands
        );
    }
    let single = driver::block_on(many::measure(&config(30), server, None))
        .expect("the single-node hub measured");
    assert_eq!(single.instances.len(), 1);
    assert_eq!(single.complete(), 30, "single node: every stream complete");
    assert!(single.commands.is_empty());
}
