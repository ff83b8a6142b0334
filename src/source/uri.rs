//! Parsing of `source.uri` into the kind of input it names.

use std::path::PathBuf;

/// The kind of input a `source.uri` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceUri {
    /// No source configured (only valid for `footrackd validate`).
    Unset,
    /// A local video file.
    File(PathBuf),
    /// An RTSP camera or server (`rtsp://`, `rtsps://`).
    Rtsp(String),
    /// An RTMP stream.
    Rtmp(String),
    /// HTTP(S): HLS playlists or progressive files.
    Http(String),
    /// A V4L2 camera device node.
    V4l2(PathBuf),
    /// A Jetson CSI camera (`csi://0`), read by `nvarguscamerasrc`.
    Csi(CsiCamera),
}

/// A CSI camera and the mode asked of it: `csi://<sensor-id>[?width=W&height=H&fps=F]`
/// (1920x1080 at 30 fps unless given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsiCamera {
    /// `nvarguscamerasrc sensor-id`.
    pub sensor: u32,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

impl CsiCamera {
    fn parse(rest: &str) -> Result<Self, String> {
        let (sensor, query) = rest.split_once('?').unwrap_or((rest, ""));
        let sensor = sensor.trim_end_matches('/');
        let mut cam = CsiCamera {
            sensor: sensor.parse().map_err(|_| format!("sensor id {sensor:?} is not a number (csi://0)"))?,
            width: 1920,
            height: 1080,
            fps: 30,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not key=value"))?;
            let n: u32 = value.parse().map_err(|_| format!("{key}={value:?} is not a number"))?;
            match key {
                "width" if (64..=8192).contains(&n) => cam.width = n,
                "height" if (64..=8192).contains(&n) => cam.height = n,
                "fps" if (1..=240).contains(&n) => cam.fps = n,
                "width" | "height" | "fps" => return Err(format!("{key}={n} is out of range")),
                other => return Err(format!("unknown parameter {other:?} (width, height, fps)")),
            }
        }
        Ok(cam)
    }
}

/// Why a URI was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceUriError {
    /// A scheme footrackd does not read.
    #[error(
        "unsupported scheme {0:?} (use a file path, file://, rtsp://, rtsps://, rtmp://, http(s)://, v4l2:///dev/videoN or csi://N)"
    )]
    UnsupportedScheme(String),
    /// A URI with a scheme but no host or path.
    #[error("{0:?} has nothing after the scheme")]
    Empty(String),
    /// A `csi://` URI that does not say which camera or mode.
    #[error("CSI camera URI: {0}")]
    Csi(String),
}

impl SourceUri {
    /// Parses a URI or a plain path.
    pub fn parse(uri: &str) -> Result<Self, SourceUriError> {
        let uri = uri.trim();
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(SourceUri::File(PathBuf::from(uri)));
        };
        if rest.is_empty() {
            return Err(SourceUriError::Empty(uri.into()));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "file" => Ok(SourceUri::File(PathBuf::from(rest))),
            "rtsp" | "rtsps" | "rtspt" => Ok(SourceUri::Rtsp(uri.into())),
            "rtmp" | "rtmps" => Ok(SourceUri::Rtmp(uri.into())),
            "http" | "https" => Ok(SourceUri::Http(uri.into())),
            "v4l2" => Ok(SourceUri::V4l2(PathBuf::from(rest))),
            "csi" => CsiCamera::parse(rest).map(SourceUri::Csi).map_err(SourceUriError::Csi),
            other => Err(SourceUriError::UnsupportedScheme(other.into())),
        }
    }

    /// Whether the source is live (a camera or a stream), so it should be reconnected when lost.
    pub fn is_live(&self) -> bool {
        !matches!(self, SourceUri::File(_) | SourceUri::Unset)
    }
}

/// A URI fit for logs, `validate` output and `config/state`: the user information (everything
/// before the last `@` of the authority, so a password holding `@` is hidden whole) and the query
/// (tokens) replaced by `***`.
pub fn redact(uri: &str) -> String {
    let Some(s) = uri.find("://") else { return uri.to_string() };
    let (scheme, rest) = (&uri[..s], &uri[s + 3..]);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let tail = match tail.find('?') {
        Some(q) => format!("{}?***", &tail[..q]),
        None => tail.to_string(),
    };
    format!("{scheme}://{host}{tail}")
}

/// Free text (a GStreamer error or debug string) with every URI in it redacted ([`redact`]):
/// GStreamer quotes the location it failed on, credentials included.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The scheme: the letters right before "://".
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |p| p + 1);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')' || c == '>')
            .map_or(rest.len(), |e| i + e);
        out.push_str(&rest[..start]);
        out.push_str(&redact(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl SourceUri {
    /// The URI with credentials and query hidden ([`redact`]), for logs and reports.
    pub fn redacted(&self) -> String {
        match self {
            SourceUri::Unset => String::new(),
            SourceUri::File(p) | SourceUri::V4l2(p) => p.display().to_string(),
            SourceUri::Rtsp(u) | SourceUri::Rtmp(u) | SourceUri::Http(u) => redact(u),
            SourceUri::Csi(c) => format!("csi://{}?width={}&height={}&fps={}", c.sensor, c.width, c.height, c.fps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_tokens_never_survive_redaction() {
        assert_eq!(redact("rtsp://admin:pa@ss@10.0.0.5:554/stream1"), "rtsp://***@10.0.0.5:554/stream1");
        assert_eq!(redact("https://cdn.example/live.m3u8?token=s3cret&x=1"), "https://cdn.example/live.m3u8?***");
        assert_eq!(redact("rtsp://cam.local/a@b"), "rtsp://cam.local/a@b", "an @ in the path is not user information");
        assert_eq!(redact("rtsp://u:p@cam/x?auth=1"), "rtsp://***@cam/x?***");
        assert_eq!(redact("clip.mp4"), "clip.mp4");
        let u = SourceUri::parse("rtsp://user:hunter2@cam/1").unwrap();
        assert!(!u.redacted().contains("hunter2"));
        let debug = "gstrtspsrc.c(8133): Could not connect to rtsp://admin:hunter2@10.0.0.5/live (retry), also 'rtmp://u:p@x/app?key=k'";
        let r = redact_text(debug);
        assert!(!r.contains("hunter2") && !r.contains("u:p@") && !r.contains("key=k"), "{r}");
        assert!(
            r.contains("rtsp://***@10.0.0.5/live (retry)")
                && r.starts_with("gstrtspsrc.c(8133): Could not connect to "),
            "{r}"
        );
    }

    #[test]
    fn plain_paths_and_schemes_are_told_apart() {
        assert_eq!(SourceUri::parse("clip.mp4").unwrap(), SourceUri::File("clip.mp4".into()));
        assert_eq!(SourceUri::parse("file:///a/b.mp4").unwrap(), SourceUri::File("/a/b.mp4".into()));
        assert!(matches!(SourceUri::parse("rtsp://cam/1").unwrap(), SourceUri::Rtsp(_)));
        assert!(matches!(SourceUri::parse("v4l2:///dev/video0").unwrap(), SourceUri::V4l2(_)));
        assert!(SourceUri::parse("rtsp://cam/1").unwrap().is_live());
        assert!(!SourceUri::parse("x.mp4").unwrap().is_live());
        assert!(matches!(SourceUri::parse("gopher://x"), Err(SourceUriError::UnsupportedScheme(_))));
        assert!(matches!(SourceUri::parse("rtsp://"), Err(SourceUriError::Empty(_))));
    }

    #[test]
    fn csi_cameras_take_a_sensor_and_an_optional_mode() {
        assert_eq!(
            SourceUri::parse("csi://0").unwrap(),
            SourceUri::Csi(CsiCamera { sensor: 0, width: 1920, height: 1080, fps: 30 })
        );
        assert_eq!(
            SourceUri::parse("csi://1?width=1280&height=720&fps=60").unwrap(),
            SourceUri::Csi(CsiCamera { sensor: 1, width: 1280, height: 720, fps: 60 })
        );
        assert!(SourceUri::parse("csi://0").unwrap().is_live());
        for bad in ["csi://front", "csi://0?fps=0", "csi://0?zoom=2", "csi://0?width"] {
            let e = SourceUri::parse(bad).unwrap_err();
            assert!(matches!(e, SourceUriError::Csi(_)), "{bad}: {e}");
        }
    }
}
