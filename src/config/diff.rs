//! What changes between two configurations can do while the daemon runs: every key is applied
//! between frames except those named here, which need a restart (the source pipeline, the
//! broker connection, the ring's slots, the runtime's providers and threads, the sensor roots).

use super::Config;

/// Keys whose change takes effect only after a restart.
pub fn changes_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    if old.source != new.source {
        out.push("source");
    }
    if old.publish != new.publish {
        out.push("publish");
    }
    if old.http != new.http {
        out.push("http");
    }
    if old.ring != new.ring {
        out.push("ring");
    }
    let threads = |c: &Config| (c.infer.threads, c.infer.crop_threads);
    if old.infer.providers != new.infer.providers || threads(old) != threads(new) {
        out.push("infer.providers/threads");
    }
    if (old.infer.detector_sharing, old.infer.shared_gather_ms, old.infer.shared_call_frames)
        != (new.infer.detector_sharing, new.infer.shared_gather_ms, new.infer.shared_call_frames)
    {
        out.push("infer.detector_sharing/shared_gather_ms/shared_call_frames");
    }
    let i = (&old.infer, &new.infer);
    if (i.0.io_binding, i.0.cuda_graph, i.0.gpu_input, i.0.gpu_preprocess, i.0.frames_in_flight)
        != (i.1.io_binding, i.1.cuda_graph, i.1.gpu_input, i.1.gpu_preprocess, i.1.frames_in_flight)
    {
        out.push("infer.io_binding/cuda_graph/gpu_input/gpu_preprocess/frames_in_flight");
    }
    if old.throttle.sysfs_root != new.throttle.sysfs_root || old.throttle.procfs_root != new.throttle.procfs_root {
        out.push("throttle.sysfs_root/procfs_root");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_that_need_a_restart_are_named() {
        let mut raw = crate::config::RawConfig::default();
        raw.infer.model = format!("{}/models/yolox_nano.onnx", env!("CARGO_MANIFEST_DIR"));
        let old = crate::config::validate(raw.clone(), false).unwrap();
        raw.track.min_hits = 5;
        raw.infer.threads = 1;
        raw.ring.slots = 6;
        raw.infer.frames_in_flight = 1;
        let new = crate::config::validate(raw, false).unwrap();
        assert_eq!(
            changes_needing_restart(&old, &new),
            [
                "ring",
                "infer.providers/threads",
                "infer.io_binding/cuda_graph/gpu_input/gpu_preprocess/frames_in_flight"
            ]
        );
        assert!(changes_needing_restart(&old, &old).is_empty());
    }
}
