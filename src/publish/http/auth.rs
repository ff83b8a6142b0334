//! Request authorisation: a bearer token or basic-auth credential, compared in constant time.

use hyper::header::{AUTHORIZATION, HeaderMap};

use super::options::Credentials;

/// Whether the request's `Authorization` header carries a configured credential (always true
/// when none is configured).
pub(super) fn authorised(credentials: &Credentials, headers: &HeaderMap) -> bool {
    if !credentials.required() {
        return true;
    }
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let (scheme, given) = value.trim().split_once(' ').unwrap_or((value, ""));
    let given = given.trim();
    let expected = match scheme.to_ascii_lowercase().as_str() {
        "bearer" => credentials.token.as_ref(),
        "basic" => credentials.basic.as_ref(),
        _ => None,
    };
    expected.is_some_and(|e| same(e.expose().as_bytes(), given.as_bytes()))
}

/// Equality whose time depends only on the lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::http::options::HttpSection;

    fn creds() -> Credentials {
        let dir = tempfile::tempdir().unwrap();
        let (t, b) = (dir.path().join("t"), dir.path().join("b"));
        std::fs::write(&t, "0123456789abcdef").unwrap();
        std::fs::write(&b, "op:pw").unwrap();
        let s = HttpSection {
            listen: "0.0.0.0:1".into(),
            token_file: t.display().to_string(),
            basic_auth_file: b.display().to_string(),
            ..Default::default()
        };
        s.options().unwrap().unwrap().credentials
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn only_the_configured_credentials_pass() {
        let c = creds();
        assert!(authorised(&c, &with("Bearer 0123456789abcdef")));
        assert!(authorised(&c, &with("bearer 0123456789abcdef")));
        assert!(authorised(&c, &with("Basic b3A6cHc=")));
        for bad in ["Bearer 0123456789abcdeF", "Bearer", "Basic b3A6cHg=", "Digest x", "", "0123456789abcdef"] {
            assert!(!authorised(&c, &with(bad)), "{bad:?}");
        }
        assert!(!authorised(&c, &HeaderMap::new()));
        assert!(authorised(&Credentials::default(), &HeaderMap::new()));
    }
}
