//! TLS to a real mosquitto: a TLS listener that requires client certificates, certificates made
//! by `openssl` for the test (a CA, the broker's, the daemon's, and an unrelated CA). The daemon
//! publishes over TLS; a subscriber reads on the broker's plain loopback listener.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::broker::{Broker, free_port};
use crate::util::daemon;
use crate::util::recorder::Recorder;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (scripts/setup.sh)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`<name>.crt`, `<name>.key`).
fn make_ca(dir: &Path, name: &str) {
    let (crt, key, subj) = (format!("{name}.crt"), format!("{name}.key"), format!("/CN=footrackd test {name}"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &subj,
            "-keyout",
            &key,
            "-out",
            &crt,
        ],
    );
}

/// A leaf certificate `<name>.crt`/`<name>.key` signed by `ca`, valid for 127.0.0.1.
fn make_leaf(dir: &Path, ca: &str, name: &str) {
    let (crt, key, csr, ext) =
        (format!("{name}.crt"), format!("{name}.key"), format!("{name}.csr"), format!("{name}.ext"));
    std::fs::write(dir.join(&ext), "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    let subj = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &subj,
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    let (ca_crt, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &crt,
        ],
    );
}

struct TlsBroker {
    broker: Broker,
    tls_port: u16,
    certs: tempfile::TempDir,
}

/// mosquitto with a plain loopback listener (for the test's subscriber) and a TLS listener that
/// requires a client certificate signed by the test CA.
fn tls_broker() -> TlsBroker {
    let certs = tempfile::tempdir().unwrap();
    let d = certs.path();
    make_ca(d, "ca");
    make_ca(d, "other-ca");
    make_leaf(d, "ca", "broker");
    make_leaf(d, "ca", "daemon");
    // mosquitto started as root drops to its own user: let it read the test's files.
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(d).unwrap() {
        std::fs::set_permissions(entry.unwrap().path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tls_port = free_port();
    let extra = format!(
        "listener {tls_port} 127.0.0.1\ncafile {0}/ca.crt\ncertfile {0}/broker.crt\nkeyfile {0}/broker.key\nrequire_certificate true\n",
        d.display()
    );
    TlsBroker { broker: Broker::start_with(free_port(), &extra), tls_port, certs }
}

fn config(clip: &Path, port: u16, device: &str, tls: &str) -> String {
    let model = crate::util::repo_root().join("models/yolox_nano.onnx");
    format!(
        "[device]\nid = \"{device}\"\n[source]\nuri = \"{}\"\nrealtime = true\n[infer]\nmodel = \"{}\"\nthreads = 1\n[publish]\nbroker_port = {port}\n{tls}",
        clip.display(),
        model.display()
    )
}

#[test]
fn tracks_flow_over_tls_with_a_client_certificate() {
    let tb = tls_broker();
    let d = tb.certs.path().display();
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::frames::test_pattern_clip(dir.path(), "tls.mp4", 60, 10);
    let rec = Recorder::start(tb.broker.port, "footrack/t-tls/#");
    let tls = format!(
        "tls = true\ntls_ca_file = \"{d}/ca.crt\"\ntls_cert_file = \"{d}/daemon.crt\"\ntls_key_file = \"{d}/daemon.key\"\n"
    );
    let path = daemon::write_config(dir.path(), &config(&clip, tb.tls_port, "t-tls", &tls));
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{logs}");
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m.iter().any(|x| x.payload == "stopped")),
        "no stopped status: {logs}"
    );
    let msgs = rec.messages();
    assert!(msgs.iter().any(|m| m.payload == "online"), "never online over TLS");
    let tracks = msgs.iter().filter(|m| m.topic.ends_with("/tracks")).count();
    assert!(tracks >= 50, "{tracks} track messages over TLS of 60 frames");
    let key = std::fs::read_to_string(tb.certs.path().join("daemon.key")).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(!logs.contains(key_body), "the key reached the logs");
}

#[test]
fn a_broker_it_cannot_trust_or_that_refuses_it_is_a_logged_error_never_a_connection() {
    let tb = tls_broker();
    let d = tb.certs.path().display();
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::frames::test_pattern_clip(dir.path(), "tls.mp4", 40, 10);
    let rec = Recorder::start(tb.broker.port, "footrack/#");
    let cases = [
        (
            "t-wrong-ca",
            format!(
                "tls = true\ntls_ca_file = \"{d}/other-ca.crt\"\ntls_cert_file = \"{d}/daemon.crt\"\ntls_key_file = \"{d}/daemon.key\"\n"
            ),
            "certificate",
        ),
        ("t-no-cert", format!("tls = true\ntls_ca_file = \"{d}/ca.crt\"\n"), ""),
    ];
    for (device, tls, says) in cases {
        let path = daemon::write_config(dir.path(), &config(&clip, tb.tls_port, device, &tls));
        let out = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]).wait_with_output().unwrap();
        let logs = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{device}: a broker it cannot reach is not fatal: {logs}");
        assert!(logs.contains("MQTT broker unreachable"), "{device}: {logs}");
        assert!(logs.contains(says), "{device}: the log says why ({says}): {logs}");
        assert!(!rec.messages().iter().any(|m| m.topic.contains(device)), "{device} reached the broker");
    }
}

#[test]
fn unusable_tls_files_are_configuration_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::frames::test_pattern_clip(dir.path(), "tls.mp4", 5, 10);
    make_ca(dir.path(), "ca");
    let tls = format!(
        "tls = true\ntls_ca_file = \"{0}/ca.crt\"\ntls_cert_file = \"{0}/ca.crt\"\ntls_key_file = \"{0}/missing.key\"\n",
        dir.path().display()
    );
    let path = daemon::write_config(dir.path(), &config(&clip, 1883, "t-bad-tls", &tls));
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(text.contains("publish.tls") && text.contains("missing.key"), "{text}");
    let run = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(run.status.code(), Some(78), "run refuses it too");
}
