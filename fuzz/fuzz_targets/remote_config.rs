//! Any bytes on `config/set`, checked against a valid running config: accepted changes keep the
//! safety floors; everything else is a clean refusal; never a panic.
#![no_main]

use std::sync::OnceLock;

use footrackd::config::{Config, RawConfig, remote, validate};
use libfuzzer_sys::fuzz_target;

fn current() -> &'static Config {
    static CURRENT: OnceLock<Config> = OnceLock::new();
    CURRENT.get_or_init(|| {
        let mut raw = RawConfig::default();
        raw.source.uri = "clip.mp4".into();
        raw.infer.model = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/yolox_nano.onnx").into();
        validate(raw, true).expect("the base config is valid")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok((cfg, _echo)) = remote::check(data, current()) {
        assert!(cfg.infer.max_fps == 0.0 || cfg.infer.max_fps >= 1.0, "rate floor broken: {}", cfg.infer.max_fps);
        assert_eq!(cfg.throttle, current().throttle, "thermal protection changed remotely");
        assert_eq!(cfg.publish, current().publish, "broker settings changed remotely");
        assert_eq!(cfg.source.uri, current().source.uri, "source changed remotely");
    }
});
