//! Detection: frames in, player and ball boxes out.
//!
//! [`Detector`] cuts a frame into regions ([`tiling`]), letterboxes each into the model input
//! ([`pre`], or on the GPU), runs the model ([`backend`]: ONNX Runtime, or a native TensorRT
//! engine), decodes its output ([`post`]), maps boxes back to frame pixels, and merges
//! everything with NMS (people across roles, the ball apart). The section `[infer]` and the options live in [`options`].

mod backend;
pub mod ball_check;
pub mod ball_finder;
mod crops;
mod detector;
mod error;
#[cfg(feature = "cuda")]
mod gpu_pre;
pub mod keypoints;
pub mod manifest;
mod onnx;
#[cfg(feature = "cuda")]
mod onnx_binding;
mod options;
pub mod post;
pub mod pre;
mod providers;
pub mod roles;
pub mod tiling;
#[cfg(feature = "tensorrt")]
mod trt;

pub use ball_check::{BallCheck, BallCheckManifest, BallCheckOptions};
pub use ball_finder::{BallFinder, BallFinderManifest, BallFinderOptions};
pub use detector::{DetectTiming, Detector};
pub use error::InferError;
pub use keypoints::{FrameKeypoints, KeypointModel, KeypointOptions};
pub use options::{DetectorOptions, DetectorSharing, Device, GpuInput, InferSection, Provider};
pub use providers::gpu_memory_used_mb;
pub use roles::{RoleClassifier, RoleManifest, RoleOptions};
