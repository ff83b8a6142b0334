//! TLS to the broker (rustls with the `ring` provider): the CA to trust and an optional client
//! certificate, read from PEM files once at start so that a bad file is a configuration error,
//! not a connection that fails forever. Key material is never logged: errors name the file only.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::options::PublishSection;

/// The system's CA bundle (Debian, Ubuntu, JetPack), trusted when `tls_ca_file` is empty.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item of the kind named.
    #[error("{file}: {what}")]
    File {
        /// The file.
        file: String,
        /// What is wrong with it.
        what: String,
    },
    /// rustls refused the combination (a key that does not match its certificate, ...).
    #[error("TLS settings refused: {0}")]
    Rustls(#[from] rustls::Error),
}

fn file_error(file: &Path, what: impl Into<String>) -> TlsError {
    TlsError::File { file: file.display().to_string(), what: what.into() }
}

fn certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| file_error(file, format!("cannot read it: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(file, format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(file, "holds no PEM certificate"));
    }
    Ok(certs)
}

fn private_key(file: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    // The parser's own message may quote the file: say only what kind of failure it was.
    PrivateKeyDer::from_pem_file(file).map_err(|e| match e {
        rustls::pki_types::pem::Error::Io(io) => file_error(file, format!("cannot read it: {}", io.kind())),
        _ => file_error(file, "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)"),
    })
}

/// The rustls client configuration for `cfg`, or `None` when `publish.tls` is off.
pub(super) fn client_config(cfg: &PublishSection) -> Result<Option<Arc<ClientConfig>>, TlsError> {
    if !cfg.tls {
        return Ok(None);
    }
    let ca_file = if cfg.tls_ca_file.is_empty() { Path::new(SYSTEM_CA_BUNDLE) } else { Path::new(&cfg.tls_ca_file) };
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certificates(ca_file)?);
    if added == 0 {
        return Err(file_error(ca_file, "holds no usable CA certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match (cfg.tls_cert_file.is_empty(), cfg.tls_key_file.is_empty()) {
        (true, true) => builder.with_no_client_auth(),
        _ => builder.with_client_auth_cert(
            certificates(Path::new(&cfg.tls_cert_file))?,
            private_key(Path::new(&cfg.tls_key_file))?,
        )?,
    };
    Ok(Some(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_bad_files_are_named_without_their_content() {
        assert!(client_config(&PublishSection::default()).unwrap().is_none());
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "secret-ish text, not a certificate\n").unwrap();
        let cfg = PublishSection { tls: true, tls_ca_file: not_pem.display().to_string(), ..Default::default() };
        let e = client_config(&cfg).unwrap_err().to_string();
        assert!(e.contains("ca.pem") && e.contains("no PEM certificate"), "{e}");
        assert!(!e.contains("secret-ish"), "{e}");
        let missing = PublishSection { tls: true, tls_ca_file: "/nonexistent/ca.pem".into(), ..Default::default() };
        assert!(client_config(&missing).unwrap_err().to_string().contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn the_system_bundle_is_the_default_trust() {
        assert!(Path::new(SYSTEM_CA_BUNDLE).is_file(), "scripts/setup.sh installs ca-certificates");
        let cfg = PublishSection { tls: true, ..Default::default() };
        assert!(client_config(&cfg).unwrap().is_some());
    }
}
