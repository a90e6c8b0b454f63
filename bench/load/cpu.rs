//! CPU time from /proc: what a server's processes used (user + system time of every process
//! in its process group, by command name, so workerd and the node beside it show apart),
//! and what this load generator used. A server's group is found from its log file: the
//! group's leader writes its stdout there, and every process it starts (workerd under
//! Miniflare) stays in its group.

use std::collections::BTreeMap;
use std::path::Path;

/// Linux's USER_HZ: /proc counts CPU time in hundredths of a second on every architecture
/// the bench runs on.
const TICKS_PER_SEC: f64 = 100.0;

/// CPU seconds by command name (`workerd`, `node`).
pub type CpuByCommand = BTreeMap<String, f64>;

/// One /proc/<pid>/stat: the command name, the process group, and user + system ticks.
fn stat(pid_dir: &Path) -> Option<(String, u32, u64)> {
    stat_with_parent(pid_dir).map(|(name, _, group, ticks)| (name, group, ticks))
}

/// The same, with the parent's pid.
fn stat_with_parent(pid_dir: &Path) -> Option<(String, u32, u32, u64)> {
    let stat = std::fs::read_to_string(pid_dir.join("stat")).ok()?;
    let open = stat.find('(')?;
    let (name_part, rest) = stat.rsplit_once(") ")?;
    let name = name_part.get(open + 1..)?.to_owned();
    // after the name: state, ppid, pgrp, …, utime (11th), stime (12th)
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let parent = fields.get(1)?.parse().ok()?;
    let group = fields.get(2)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, parent, group, utime + stime))
}

/// Every process's directory under /proc.
fn processes() -> impl Iterator<Item = std::path::PathBuf> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .map(|e| e.path())
}

/// The process group of the server whose stdout is `log`.
pub fn group_of_log(log: &Path) -> Option<u32> {
    processes().find_map(|dir| {
        let out = std::fs::read_link(dir.join("fd/1")).ok()?;
        (out == log).then(|| stat(&dir).map(|(_, group, _)| group))?
    })
}

/// CPU seconds used so far by the live processes of `groups`, and by their children that
/// left the group (PostgreSQL's backends each start a session of their own), by
/// command name.
pub fn of_groups(groups: &[u32]) -> CpuByCommand {
    let all: Vec<(u32, (String, u32, u32, u64))> = processes()
        .filter_map(|dir| {
            let pid = dir.file_name()?.to_str()?.parse().ok()?;
            Some((pid, stat_with_parent(&dir)?))
        })
        .collect();
    let members: Vec<u32> = all
        .iter()
        .filter(|(_, (_, _, group, _))| groups.contains(group))
        .map(|(pid, _)| *pid)
        .collect();
    let mut by_command = CpuByCommand::new();
    for (pid, (name, parent, _, ticks)) in &all {
        if members.contains(pid) || members.contains(parent) {
            *by_command.entry(name.clone()).or_default() += *ticks as f64 / TICKS_PER_SEC;
        }
    }
    by_command
}

/// CPU seconds this process (the load generator) used so far.
pub fn own() -> f64 {
    stat(Path::new("/proc/self")).map_or(0.0, |(_, _, ticks)| ticks as f64 / TICKS_PER_SEC)
}

/// What was used between two samples, by command name.
pub fn used(before: &CpuByCommand, after: &CpuByCommand) -> CpuByCommand {
    after
        .iter()
        .map(|(name, seconds)| {
            let spent = seconds - before.get(name).copied().unwrap_or(0.0);
            (name.clone(), (spent * 1000.0).round() / 1000.0)
        })
        .collect()
}
