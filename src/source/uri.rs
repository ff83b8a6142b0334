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
}

/// Why a URI was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceUriError {
    /// A scheme footrackd does not read.
    #[error("unsupported scheme {0:?} (use a file path, file://, rtsp://, rtsps://, rtmp://, http(s):// or v4l2:///dev/videoN)")]
    UnsupportedScheme(String),
    /// A URI with a scheme but no host or path.
    #[error("{0:?} has nothing after the scheme")]
    Empty(String),
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
            other => Err(SourceUriError::UnsupportedScheme(other.into())),
        }
    }

    /// Whether the source is live (a camera or a stream), so it should be reconnected when lost.
    pub fn is_live(&self) -> bool {
        !matches!(self, SourceUri::File(_) | SourceUri::Unset)
    }
}

/// Hides credentials in a URI for logs.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &uri[..s], &uri[at + 1..]),
        _ => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
