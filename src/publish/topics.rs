//! MQTT topic names: `<prefix>/<device id>/<leaf>`.

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
}
