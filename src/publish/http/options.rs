//! The `[http]` section: the local face's address, who may use it and how much it may cost.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::problems::Problems;

/// `[http]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Address to serve on, `host:port` (empty = off, the default). Loopback
    /// (`127.0.0.1:8480`) needs no credential; any other address needs `token_file` or
    /// `basic_auth_file`.
    pub listen: String,
    /// File holding a bearer token (`Authorization: Bearer <token>`, for scrapers); a systemd
    /// credential is `%d/http-token` in the unit. Its content is never logged or echoed.
    pub token_file: String,
    /// File holding `user:password` on its first line (HTTP basic auth, for browsers); a systemd
    /// credential is `%d/http-basic`. Its content is never logged or echoed.
    pub basic_auth_file: String,
    /// Connections served at once; more are answered 503 and closed.
    pub max_clients: usize,
    /// Frame rate of the live MJPEG view (each viewer gets the newest picture, at most this often).
    pub mjpeg_max_fps: f32,
    /// JPEG quality of the live pictures, 1-100.
    pub jpeg_quality: u8,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: String::new(),
            token_file: String::new(),
            basic_auth_file: String::new(),
            max_clients: 16,
            mjpeg_max_fps: 5.0,
            jpeg_quality: 70,
        }
    }
}

/// Longest accepted secret, bytes.
const MAX_SECRET: usize = 1024;
/// Shortest accepted bearer token: guessable tokens are refused.
const MIN_TOKEN: usize = 16;

/// A secret read from a file: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself (for comparison only).
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Who may use the face.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
    /// `Authorization: Basic <base64(user:password)>`, kept encoded for comparison.
    pub basic: Option<Secret>,
}

impl Credentials {
    /// Whether any credential is required.
    pub fn required(&self) -> bool {
        self.token.is_some() || self.basic.is_some()
    }
}

/// The face's options, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpOptions {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Who may use it.
    pub credentials: Credentials,
    /// Connections at once.
    pub max_clients: usize,
    /// Live view frame rate cap.
    pub mjpeg_max_fps: f32,
    /// JPEG quality of live pictures.
    pub jpeg_quality: u8,
}

impl HttpSection {
    /// Whether the face is on.
    pub fn enabled(&self) -> bool {
        !self.listen.trim().is_empty()
    }

    /// Checks the section into `p` (reading the credential files, never showing their content).
    pub fn check(&self, p: &mut Problems) {
        if let Err((key, message)) = self.resolve() {
            p.check(false, key, || message);
        }
        p.check((1..=256).contains(&self.max_clients), "http.max_clients", || {
            format!("{} must be in 1..=256", self.max_clients)
        });
        p.check(
            self.mjpeg_max_fps.is_finite() && (0.2..=30.0).contains(&self.mjpeg_max_fps),
            "http.mjpeg_max_fps",
            || format!("{} must be in 0.2..=30", self.mjpeg_max_fps),
        );
        p.check((1..=100).contains(&self.jpeg_quality), "http.jpeg_quality", || {
            format!("{} must be in 1..=100", self.jpeg_quality)
        });
    }

    /// The options, `None` when the face is off; the error names the key and what is wrong.
    pub fn options(&self) -> Result<Option<HttpOptions>, (&'static str, String)> {
        if !self.enabled() {
            return Ok(None);
        }
        let (listen, credentials) = self.resolve()?.ok_or(("http.listen", "is empty".to_string()))?;
        Ok(Some(HttpOptions {
            listen,
            credentials,
            max_clients: self.max_clients,
            mjpeg_max_fps: self.mjpeg_max_fps,
            jpeg_quality: self.jpeg_quality,
        }))
    }

    fn resolve(&self) -> Result<Option<(SocketAddr, Credentials)>, (&'static str, String)> {
        let credentials = Credentials {
            token: read_secret(&self.token_file, "http.token_file")?
                .map(|t| {
                    if t.len() < MIN_TOKEN {
                        return Err(("http.token_file", format!("the token must be at least {MIN_TOKEN} characters")));
                    }
                    Ok(Secret(t))
                })
                .transpose()?,
            basic: read_secret(&self.basic_auth_file, "http.basic_auth_file")?
                .map(|b| match b.split_once(':') {
                    Some((user, pass)) if !user.is_empty() && !pass.is_empty() => Ok(Secret(base64(b.as_bytes()))),
                    _ => Err(("http.basic_auth_file", "its first line must be user:password".to_string())),
                })
                .transpose()?,
        };
        if !self.enabled() {
            return Ok(None);
        }
        let listen: SocketAddr = self.listen.trim().parse().map_err(|_| {
            ("http.listen", format!("{:?} is not host:port with an IP address (e.g. \"127.0.0.1:8480\")", self.listen))
        })?;
        if !listen.ip().is_loopback() && !credentials.required() {
            return Err((
                "http.listen",
                format!(
                    "{listen} is reachable beyond this machine: set http.token_file or http.basic_auth_file, or listen on 127.0.0.1"
                ),
            ));
        }
        Ok(Some((listen, credentials)))
    }
}

/// The first line of `path` (`None` when no file is set); the error names the file, never its content.
fn read_secret(path: &str, key: &'static str) -> Result<Option<String>, (&'static str, String)> {
    if path.is_empty() {
        return Ok(None);
    }
    let meta = std::fs::metadata(path).map_err(|e| (key, format!("cannot read {path}: {e}")))?;
    if meta.len() > MAX_SECRET as u64 {
        return Err((key, format!("{path} is larger than {MAX_SECRET} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| (key, format!("cannot read {path}: {e}")))?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err((key, format!("{path} is empty")));
    }
    Ok(Some(line.to_string()))
}

/// Standard base64 with padding.
pub(super) fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(s: &HttpSection) -> String {
        let mut p = Problems::default();
        s.check(&mut p);
        p.to_string()
    }

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, coded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn off_by_default_and_loopback_needs_no_credential() {
        assert!(HttpSection::default().options().unwrap().is_none());
        assert_eq!(problems(&HttpSection::default()), "");
        let s = HttpSection { listen: "127.0.0.1:8480".into(), ..Default::default() };
        let o = s.options().unwrap().unwrap();
        assert!(!o.credentials.required());
        assert_eq!(problems(&HttpSection { listen: "[::1]:8480".into(), ..Default::default() }), "");
    }

    #[test]
    fn beyond_loopback_needs_a_credential_that_is_never_shown() {
        let open = HttpSection { listen: "0.0.0.0:8480".into(), ..Default::default() };
        assert!(problems(&open).contains("http.listen: 0.0.0.0:8480 is reachable beyond this machine"));
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "s3cret-s3cret-s3cret\n").unwrap();
        let s = HttpSection { token_file: token.display().to_string(), ..open.clone() };
        assert_eq!(problems(&s), "");
        let o = s.options().unwrap().unwrap();
        assert_eq!(o.credentials.token.as_ref().unwrap().expose(), "s3cret-s3cret-s3cret");
        assert!(!format!("{o:?}").contains("s3cret"));
        std::fs::write(&token, "short").unwrap();
        let text = problems(&s);
        assert!(text.contains("http.token_file") && !text.contains("short"), "{text}");
        let basic = dir.path().join("basic");
        std::fs::write(&basic, "nopassword\n").unwrap();
        let s = HttpSection { basic_auth_file: basic.display().to_string(), ..open.clone() };
        let text = problems(&s);
        assert!(text.contains("http.basic_auth_file: its first line") && !text.contains("nopassword"), "{text}");
        std::fs::write(&basic, "op:pw\n").unwrap();
        assert_eq!(s.options().unwrap().unwrap().credentials.basic.unwrap().expose(), base64(b"op:pw"));
        let missing = HttpSection { token_file: "/nonexistent/t".into(), ..open };
        assert!(problems(&missing).contains("http.token_file: cannot read /nonexistent/t"));
    }

    #[test]
    fn bad_values_are_named() {
        let s = HttpSection {
            listen: "localhost".into(),
            max_clients: 0,
            mjpeg_max_fps: f32::NAN,
            jpeg_quality: 0,
            ..Default::default()
        };
        let text = problems(&s);
        for key in ["http.listen", "http.max_clients", "http.mjpeg_max_fps", "http.jpeg_quality"] {
            assert!(text.contains(key), "{key} in {text}");
        }
    }
}
