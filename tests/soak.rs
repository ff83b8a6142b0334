//! Soak: the daemon at its maximum rate for `FOOTRACKD_SOAK_SECS` seconds (45 in CI; an hour by
//! hand), its resident memory and open file descriptors sampled every second from /proc. Memory
//! and descriptors must not grow once warm.

use std::time::{Duration, Instant};

use crate::util::broker::Broker;
use crate::util::daemon;

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

#[test]
fn memory_and_descriptors_stay_flat_at_full_rate() {
    let secs: u64 = std::env::var("FOOTRACKD_SOAK_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(45);
    let dir = tempfile::tempdir().unwrap();
    // Enough frames for the whole soak at well over 100 fps (small frames, COCO model at 416).
    let frames = (secs + 30) * 150;
    let clip = crate::util::frames::test_pattern_clip(dir.path(), "soak.mp4", frames, 25);
    let broker = Broker::start();
    let cfg = daemon::offline_config(&clip, broker.port, "t-soak")
        .replace("tile_columns = 2\ntile_rows = 2\nfull_frame = true\n", "threads = 1\n");
    let path = daemon::write_config(dir.path(), &cfg);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    let pid = child.id();
    let started = Instant::now();
    let mut samples: Vec<(f64, u64, usize)> = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        if let (Some(r), Some(f)) = (rss_kb(pid), fds(pid)) {
            samples.push((started.elapsed().as_secs_f64(), r, f));
        }
        assert!(child.try_wait().unwrap().is_none(), "the daemon ended during the soak");
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    // Warm after a third of the run: compare the middle third's peak with the last third's.
    let n = samples.len();
    assert!(n >= 9, "{n} samples");
    let (mid, last) = (&samples[n / 3..2 * n / 3], &samples[2 * n / 3..]);
    let peak = |s: &[(f64, u64, usize)]| s.iter().map(|x| x.1).max().unwrap_or(0);
    let fd_range =
        |s: &[(f64, u64, usize)]| (s.iter().map(|x| x.2).min().unwrap_or(0), s.iter().map(|x| x.2).max().unwrap_or(0));
    let drift_mb = (peak(last) as f64 - peak(mid) as f64) / 1024.0;
    eprintln!(
        "soak {secs} s at full rate: RSS {:.1} MiB after warm-up, drift {drift_mb:+.1} MiB over the last third; fds {:?} then {:?}",
        peak(mid) as f64 / 1024.0,
        fd_range(mid),
        fd_range(last)
    );
    assert!(drift_mb < 20.0, "RSS grew by {drift_mb:.1} MiB");
    assert!(fd_range(last).1 <= fd_range(mid).1 + 2, "file descriptors grew");
}
