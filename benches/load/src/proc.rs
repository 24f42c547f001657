//! What the driver reads about a server from `/proc/PID`.

use std::fs;

/// Resident memory (`VmRSS`), KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Threads (`Threads` in `/proc/PID/status`).
pub fn threads(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// CPU time (user + system, all threads) in microseconds, from `/proc/PID/stat`.
pub fn cpu_us(pid: u32) -> Option<u64> {
    cpu_split_us(pid).map(|(user, system)| user + system)
}

/// CPU time in microseconds, all threads, split into (user, system), from `/proc/PID/stat`.
pub fn cpu_split_us(pid: u32) -> Option<(u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let tck = clock_ticks();
    Some((utime * 1_000_000 / tck, stime * 1_000_000 / tck))
}

/// `sysconf(_SC_CLK_TCK)`, 100 if unknown.
pub fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// Open file descriptors (entries of `/proc/PID/fd`).
pub fn fds(pid: u32) -> Option<u64> {
    Some(fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}
