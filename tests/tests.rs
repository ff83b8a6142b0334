//! Integration tests: the real daemon binary, real clips decoded by GStreamer, the real ONNX
//! model, and a real mosquitto broker started by the harness on a free port.

mod util;

mod ball_check;
mod ball_finder;
mod bridge;
mod cameras;
mod cli;
mod control;
mod detect;
mod docs;
mod floor_plan;
mod follow;
mod http;
mod outage;
mod package;
mod pipeline;
mod pitch_keypoints;
mod properties;
mod roles;
mod soak;
mod stream_faults;
mod tls;
