//! MQTT topic names: `<prefix>/<device id>/<leaf>` for the device (and its one camera), and
//! `<prefix>/<device id>/<camera id>/<leaf>` for each camera of an appliance with several.

/// Every topic of one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    /// One message per processed frame.
    pub tracks: String,
    /// Retained `online`, `offline` (last will) or `stopped`.
    pub status: String,
    /// Periodic health snapshot.
    pub health: String,
    /// Partial config in (JSON).
    pub config_set: String,
    /// Effective config out (retained, secrets removed).
    pub config_state: String,
    /// Why a remote config was refused.
    pub config_error: String,
    /// Retained JPEG of the annotated picture (with `publish.snapshot_every_secs`).
    pub snapshot: String,
}

impl Topics {
    /// The topics for `device_id` under `prefix`.
    pub fn new(prefix: &str, device_id: &str) -> Self {
        let t = |leaf: &str| format!("{prefix}/{device_id}/{leaf}");
        Topics {
            tracks: t("tracks"),
            status: t("status"),
            health: t("health"),
            config_set: t("config/set"),
            config_state: t("config/state"),
            config_error: t("config/error"),
            snapshot: t("snapshot"),
        }
    }

    /// The topics of camera `camera_id` of an appliance with several cameras: the device's, one
    /// level deeper. `status` is the camera's own (retained `online`/`stopped`); the connection's
    /// last will stays on the device's `status`.
    pub fn for_camera(prefix: &str, device_id: &str, camera_id: &str) -> Self {
        Topics::new(&format!("{prefix}/{device_id}"), camera_id)
    }

    /// The subscription that takes every camera's `config/set` (`<prefix>/<device>/+/config/set`).
    pub fn every_camera_config_set(prefix: &str, device_id: &str) -> String {
        format!("{prefix}/{device_id}/+/config/set")
    }

    /// The camera a `.../<camera>/config/set` topic is for, given the device's prefix.
    pub fn camera_of<'t>(topic: &'t str, prefix: &str, device_id: &str) -> Option<&'t str> {
        let rest = topic.strip_prefix(prefix)?.strip_prefix('/')?.strip_prefix(device_id)?.strip_prefix('/')?;
        let camera = rest.strip_suffix("/config/set")?;
        (!camera.is_empty() && !camera.contains('/')).then_some(camera)
    }
}

#[cfg(test)]
mod tests {
    use super::Topics;

    #[test]
    fn camera_topics_sit_one_level_below_the_device() {
        let t = Topics::for_camera("footrack", "ground", "left");
        assert_eq!(t.tracks, "footrack/ground/left/tracks");
        assert_eq!(t.config_set, "footrack/ground/left/config/set");
        assert_eq!(Topics::new("footrack", "ground").tracks, "footrack/ground/tracks");
        assert_eq!(Topics::camera_of(&t.config_set, "footrack", "ground"), Some("left"));
        assert_eq!(Topics::camera_of("footrack/ground/config/set", "footrack", "ground"), None);
        assert_eq!(Topics::camera_of("footrack/other/left/config/set", "footrack", "ground"), None);
        assert_eq!(Topics::camera_of("footrack/ground/a/b/config/set", "footrack", "ground"), None);
    }
}
