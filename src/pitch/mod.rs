//! Pitch coordinates: the image-to-pitch homography of a camera (typed in, or fitted to point
//! pairs), each track's place on the pitch in metres, its speed and the distance it covered.
//!
//! With `[pitch]` calibrated, each track's foot point (box bottom-centre; the ball's centre) is
//! mapped to metres on the pitch ([`PitchMapper`]), speeds and distances come from successive
//! positions ([`SpeedEstimator`]), and tracks off the pitch can be dropped. Pure and
//! allocation-free once warm.

mod auto;
mod calibrate;
mod follow;
mod homography;
pub mod keypoints;
mod mapper;
mod scene_cut;
mod section;
mod speed;

pub use auto::{AutoCalibrated, AutoCalibration, AutoCounts, AutoRules, AutoSource};
pub use calibrate::{Calibration, CalibrationError, PointPair, fit_homography};
pub use follow::{CameraFollower, FollowState};
pub use homography::{Homography, Mat3, determinant, invert, project};
pub use mapper::{PitchArea, PitchMapper, PitchPos};
pub use scene_cut::SceneCut;
pub use section::PitchSection;
pub use speed::{MotionEstimate, SpeedEstimator};
