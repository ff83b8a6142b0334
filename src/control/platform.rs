//! What the daemon runs on: a Jetson (device-tree model, L4T release, power mode) or not.
//! Read from configurable roots so that tests drive it with a fake Jetson Orin tree.

use std::path::Path;

use serde::Serialize;

/// The platform, as health reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Platform {
    /// An NVIDIA Jetson (Tegra).
    pub jetson: bool,
    /// The device-tree model (`NVIDIA Jetson Orin Nano Developer Kit`), where there is one.
    pub model: Option<String>,
    /// The L4T release from `/etc/nv_tegra_release` (`R36.3.0`).
    pub l4t: Option<String>,
    /// The nvpmodel power mode (`15W`, or its number when the name is unknown).
    pub power_mode: Option<String>,
    /// CPU and GPU share one memory (every Jetson): the GPU's budget is system memory.
    pub unified_memory: bool,
}

/// Detects the platform from `procfs` (`/proc`: `device-tree/model`) and `root` (`/`:
/// `etc/nv_tegra_release`, `etc/nvpmodel.conf`, `var/lib/nvpmodel/status`).
pub fn detect(procfs: &Path, root: &Path) -> Platform {
    let model = std::fs::read_to_string(procfs.join("device-tree/model"))
        .ok()
        .map(|m| m.trim_end_matches('\0').trim().to_string())
        .filter(|m| !m.is_empty());
    let release = std::fs::read_to_string(root.join("etc/nv_tegra_release")).ok();
    let jetson = release.is_some() || model.as_deref().is_some_and(|m| m.contains("Jetson") || m.contains("Tegra"));
    let l4t = release.as_deref().and_then(l4t_release);
    let power_mode = jetson.then(|| power_mode(root)).flatten();
    Platform { jetson, model, l4t, power_mode, unified_memory: jetson }
}

/// `# R36 (release), REVISION: 3.0, ...` → `R36.3.0`.
fn l4t_release(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains("(release)"))?;
    let major = line.trim_start_matches('#').split_whitespace().next()?;
    let revision = line.split("REVISION:").nth(1)?.split(',').next()?.trim();
    Some(format!("{major}.{revision}"))
}

/// The active mode from `var/lib/nvpmodel/status` (`pmode:0001 fmode:...`), named through
/// `etc/nvpmodel.conf` (`< POWER_MODEL ID=1 NAME=7W >`).
fn power_mode(root: &Path) -> Option<String> {
    let status = std::fs::read_to_string(root.join("var/lib/nvpmodel/status")).ok()?;
    let id: u32 = status.split_whitespace().find_map(|t| t.strip_prefix("pmode:"))?.parse().ok()?;
    let conf = std::fs::read_to_string(root.join("etc/nvpmodel.conf")).unwrap_or_default();
    let name = conf.lines().filter(|l| l.contains("POWER_MODEL")).find_map(|l| {
        let field = |key: &str| {
            l.split_whitespace().find_map(|t| t.strip_prefix(key)).map(|v| v.trim_end_matches('>').to_string())
        };
        (field("ID=")?.parse::<u32>().ok()? == id).then(|| field("NAME="))?
    });
    Some(name.unwrap_or_else(|| id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fake_jetson_orin_tree_is_recognised_with_release_and_power_mode() {
        let dir = tempfile::tempdir().unwrap();
        let (proc_, root) = (dir.path().join("proc"), dir.path().join("root"));
        std::fs::create_dir_all(proc_.join("device-tree")).unwrap();
        std::fs::write(proc_.join("device-tree/model"), b"NVIDIA Jetson Orin Nano Developer Kit\0").unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("var/lib/nvpmodel")).unwrap();
        std::fs::write(
            root.join("etc/nv_tegra_release"),
            "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64, DATE: Mon May  6 17:34:21 UTC 2024\n# KERNEL_VARIANT: oot\nTARGET_USERSPACE_LIB_DIR=nvidia\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/nvpmodel.conf"), "< POWER_MODEL ID=0 NAME=15W >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=1 NAME=7W >\n< PM_CONFIG DEFAULT=0 >\n").unwrap();
        std::fs::write(root.join("var/lib/nvpmodel/status"), "pmode:0001 fmode:quiet\n").unwrap();
        let p = detect(&proc_, &root);
        assert!(p.jetson && p.unified_memory);
        assert_eq!(p.model.as_deref(), Some("NVIDIA Jetson Orin Nano Developer Kit"));
        assert_eq!(p.l4t.as_deref(), Some("R36.3.0"));
        assert_eq!(p.power_mode.as_deref(), Some("7W"));
    }

    #[test]
    fn a_server_is_not_a_jetson() {
        let dir = tempfile::tempdir().unwrap();
        let p = detect(&dir.path().join("proc"), dir.path());
        assert_eq!(p, Platform::default());
    }
}
