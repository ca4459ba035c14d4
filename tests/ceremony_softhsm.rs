//! The offline root ceremony against a real SoftHSM2 token, checked by OpenSSL, pkcs11-tool and
//! pkilint (FIELD-CASES C29, C30, C31 for the CA profiles).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

struct Ceremony {
    hsm: SoftHsm,
}

impl Ceremony {
    fn new() -> Self {
        require("openssl", "apt-get install openssl");
        Self {
            hsm: SoftHsm::new(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.hsm.path().join("ceremony")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.hsm.command(bin("fleetca-ceremony"));
        c.env("FLEETCA_OPERATOR", "alice")
            .arg("--dir")
            .arg(self.dir())
            .arg("--pin-file")
            .arg(self.hsm.pin_file("fleetca-root"))
            .args(args);
        c
    }

    fn init(&self, extra: &[&str]) -> String {
        let mut args = vec![
            "init",
            "--org",
            "Example Org",
            "--crl-url",
            "http://pki.example.org/root.crl",
        ];
        args.extend_from_slice(extra);
        ok(&mut self.cmd(&args))
    }

    /// An EC P-256 CSR made by `openssl req`, with extra `-addext` values.
    fn csr(&self, name: &str, addext: &[&str]) -> PathBuf {
        let dir = self.hsm.path();
        ok(openssl(dir)
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(format!("{name}.key")));
        let mut c = openssl(dir);
        c.args(["req", "-new", "-key"])
            .arg(format!("{name}.key"))
            .args(["-subj", &format!("/CN={name} issuing CA"), "-out"])
            .arg(format!("{name}.csr"));
        for e in addext {
            c.args(["-addext", e]);
        }
        ok(&mut c);
        dir.join(format!("{name}.csr"))
    }

    fn sign(&self, csr: &Path, cluster: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "sign-intermediate",
            "--csr",
            csr.to_str().expect("utf8"),
            "--cluster",
            cluster,
            "--yes",
        ];
        args.extend_from_slice(extra);
        ok(&mut self.cmd(&args))
    }

    fn root_pem(&self) -> PathBuf {
        self.dir().join("root.pem")
    }

    fn intermediate(&self, cluster: &str) -> PathBuf {
        self.dir()
            .join("intermediates")
            .join(format!("{cluster}.pem"))
    }

    fn x509_text(&self, cert: &Path) -> String {
        ok(openssl(self.hsm.path())
            .args(["x509", "-noout", "-text", "-in"])
            .arg(cert))
    }

    fn serial(&self, cert: &Path) -> String {
        let out = ok(openssl(self.hsm.path())
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(cert));
        out.trim().trim_start_matches("serial=").to_string()
    }
}

fn der_of(pem_path: &Path) -> Vec<u8> {
    fleetca::pem::decode_one("CERTIFICATE", &std::fs::read(pem_path).expect("read")).expect("pem")
}

#[test]
fn ceremony_root_intermediate_crl_verified_by_openssl_and_pkilint() {
    let c = Ceremony::new();
    c.init(&[]);
    let csr = c.csr("cluster1", &[]);
    c.sign(
        &csr,
        "cluster1",
        &[
            "--permit-dns",
            "cluster1.example.org",
            "--permit-dns",
            "svc.cluster.local",
            "--spiffe-trust-domain",
            "cluster1.example.org",
        ],
    );
    let root = c.root_pem();
    let int = c.intermediate("cluster1");

    // OpenSSL accepts the chain, strictly (no errors 25/85/86: C31).
    let out = ok(openssl(c.hsm.path())
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(&root)
        .arg(&int));
    assert!(out.contains(": OK"), "{out}");

    // Root profile (C31): CA:TRUE critical without pathlen, KU keyCertSign+cRLSign critical, SKI.
    let rt = c.x509_text(&root);
    assert!(
        rt.contains("X509v3 Basic Constraints: critical\n                CA:TRUE\n"),
        "{rt}"
    );
    assert!(
        rt.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"),
        "{rt}"
    );
    assert!(rt.contains("X509v3 Subject Key Identifier"), "{rt}");
    // Intermediate profile: pathlen 0, name constraints, CDP, AKI = root SKI bytes.
    let it = c.x509_text(&int);
    assert!(it.contains("CA:TRUE, pathlen:0"), "{it}");
    assert!(it.contains("X509v3 Name Constraints: critical"), "{it}");
    assert!(
        it.contains("DNS:cluster1.example.org") && it.contains("DNS:svc.cluster.local"),
        "{it}"
    );
    assert!(it.contains("URI:cluster1.example.org"), "{it}");
    assert!(it.contains("IP:127.0.0.0/255.0.0.0"), "{it}");
    assert!(it.contains("URI:http://pki.example.org/root.crl"), "{it}");
    let root_cert = fleetca::lint::parse(&der_of(&root)).expect("root");
    let int_cert = fleetca::lint::parse(&der_of(&int)).expect("int");
    assert!(fleetca::lint::errors(&fleetca::lint::check(&int_cert, Some(&root_cert))).is_empty());
    let ski = fleetca::lint::subject_key_id(&root_cert).expect("ski");
    let ski_hex = ski
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        it.contains(&format!(
            "X509v3 Authority Key Identifier: \n                {ski_hex}"
        )),
        "AKI copies root SKI {ski_hex}:\n{it}"
    );

    // Revoke and publish the root CRL; OpenSSL verifies it and lists the serial.
    let serial = c.serial(&int);
    ok(&mut c.cmd(&["revoke", "--serial", &serial, "--reason", "keyCompromise"]));
    let out = ok(&mut c.cmd(&["crl"]));
    assert!(out.contains("root CRL #1"), "{out}");
    let crl_pem = c.dir().join("root.crl.pem");
    let crl_text = ok(openssl(c.hsm.path())
        .args(["crl", "-noout", "-text", "-CAfile"])
        .arg(&root)
        .arg("-in")
        .arg(&crl_pem));
    assert!(crl_text.contains("verify OK"), "{crl_text}");
    assert!(
        crl_text.contains(&format!("Serial Number: {serial}")),
        "{crl_text}"
    );
    assert!(crl_text.contains("Key Compromise"), "{crl_text}");
    assert!(
        crl_text.contains(&format!(
            "X509v3 Authority Key Identifier: \n                {ski_hex}"
        )),
        "{crl_text}"
    );
    // DER form too, as served over HTTP.
    ok(openssl(c.hsm.path())
        .args(["crl", "-noout", "-inform", "DER", "-CAfile"])
        .arg(&root)
        .arg("-in")
        .arg(c.dir().join("root.crl")));
    // A second CRL has a higher number.
    ok(&mut c.cmd(&["crl"]));
    let crl2 = ok(openssl(c.hsm.path())
        .args(["crl", "-noout", "-crlnumber", "-inform", "DER", "-in"])
        .arg(c.dir().join("root.crl")));
    assert!(
        crl2.contains("crlNumber=0x02") || crl2.contains("crlNumber=02"),
        "{crl2}"
    );
    // The revoked intermediate now fails verification with the CRL.
    let o = openssl(c.hsm.path())
        .args(["verify", "-crl_check", "-CAfile"])
        .arg(&root)
        .arg("-CRLfile")
        .arg(&crl_pem)
        .arg(&int)
        .output()
        .expect("openssl");
    assert!(
        !o.status.success() && text(&o).contains("certificate revoked"),
        "{}",
        text(&o)
    );

    // pkilint: no finding at WARNING or above on root, intermediate and CRL.
    pkilint_clean("lint_pkix_cert", &[], &root);
    pkilint_clean("lint_pkix_cert", &[], &int);
    pkilint_clean("lint_crl", &["-t", "ARL", "-p", "PKIX"], &crl_pem);

    // The root key is on the token, sensitive and never extractable (pkcs11-tool's view).
    require("pkcs11-tool", "apt-get install opensc");
    let objects = ok(c
        .hsm
        .command("pkcs11-tool")
        .env("PKCS11_TEST_PIN", c.hsm.pin("fleetca-root"))
        .args([
            "--module",
            SOFTHSM_MODULE,
            "--token-label",
            "fleetca-root",
            "--login",
            "--pin",
            "env:PKCS11_TEST_PIN",
            "--list-objects",
            "--type",
            "privkey",
        ]));
    assert!(objects.contains("label:      fleetca-root"), "{objects}");
    assert!(
        objects.contains("sensitive") && objects.contains("never extractable"),
        "{objects}"
    );
    assert!(!objects.contains("  extractable"), "{objects}");

    // The transcript verifies.
    let out = ok(&mut c.cmd(&["transcript", "verify"]));
    assert!(out.contains("transcript OK: 5 entries"), "{out}");
    // show lists the revoked intermediate.
    let out = ok(&mut c.cmd(&["show"]));
    assert!(out.contains("REVOKED"), "{out}");
}

#[test]
fn tampered_transcript_is_detected_and_named() {
    let c = Ceremony::new();
    c.init(&[]);
    let csr = c.csr("cluster1", &[]);
    c.sign(&csr, "cluster1", &[]);
    ok(&mut c.cmd(&["crl"]));
    let path = c.dir().join("transcript.jsonl");
    let original = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines.len(), 3);

    let write = |l: &[String]| std::fs::write(&path, l.join("\n") + "\n").expect("write");
    let owned: Vec<String> = lines.iter().map(|s| s.to_string()).collect();

    let mut edited = owned.clone();
    edited[1] = edited[1].replace("\"alice\"", "\"mallory\"");
    write(&edited);
    let out = fails(&mut c.cmd(&["transcript", "verify"]));
    assert!(out.contains("entry 2 (line 2) was edited"), "{out}");

    let mut dropped = owned.clone();
    dropped.remove(1);
    write(&dropped);
    let out = fails(&mut c.cmd(&["transcript", "verify"]));
    assert!(out.contains("entry 3 (line 2) does not follow"), "{out}");

    let mut reordered = owned.clone();
    reordered.swap(0, 1);
    write(&reordered);
    let out = fails(&mut c.cmd(&["transcript", "verify"]));
    assert!(out.contains("entry 2 (line 1) does not follow"), "{out}");

    let mut truncated = owned.clone();
    truncated.pop();
    write(&truncated);
    let out = fails(&mut c.cmd(&["transcript", "verify"]));
    assert!(out.contains("entries were dropped from the end"), "{out}");

    write(&owned);
    ok(&mut c.cmd(&["transcript", "verify"]));
}

#[test]
fn bad_input_gets_clear_errors() {
    let c = Ceremony::new();
    c.init(&[]);

    // A CSR whose signature is broken: flip the last byte of the DER.
    let csr = c.csr("broken", &[]);
    ok(openssl(c.hsm.path()).args(["req", "-in"]).arg(&csr).args([
        "-outform",
        "DER",
        "-out",
        "broken.der",
    ]));
    let path = c.hsm.path().join("broken.der");
    let mut bytes = std::fs::read(&path).expect("der");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    let out = fails(&mut c.cmd(&[
        "sign-intermediate",
        "--csr",
        path.to_str().expect("utf8"),
        "--cluster",
        "broken",
        "--yes",
    ]));
    assert!(out.contains("signature does not verify"), "{out}");

    // Garbage instead of a CSR.
    std::fs::write(c.hsm.path().join("garbage.csr"), b"not a csr").expect("write");
    let out = fails(&mut c.cmd(&[
        "sign-intermediate",
        "--csr",
        "garbage.csr",
        "--cluster",
        "x",
        "--yes",
    ]));
    assert!(out.contains("CSR garbage.csr refused"), "{out}");

    // A CSR asking for CA:true with pathlen 5: the profile wins (pathlen 0).
    let csr = c.csr(
        "greedy",
        &[
            "basicConstraints=critical,CA:TRUE,pathlen:5",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment",
        ],
    );
    let out = c.sign(&csr, "greedy", &[]);
    assert!(
        out.contains("pathlen:5") && out.contains("the intermediate profile decides"),
        "{out}"
    );
    let t = c.x509_text(&c.intermediate("greedy"));
    assert!(
        t.contains("CA:TRUE, pathlen:0") && !t.contains("pathlen:5"),
        "{t}"
    );
    assert!(!t.contains("Key Encipherment"), "{t}");

    // Wrong PIN.
    std::fs::write(c.hsm.path().join("wrong.pin"), "000000\n").expect("write");
    let csr = c.csr("cluster2", &[]);
    let mut cmd = c.cmd(&[
        "sign-intermediate",
        "--csr",
        csr.to_str().expect("utf8"),
        "--cluster",
        "cluster2",
        "--yes",
    ]);
    cmd.arg("--pin-file").arg(c.hsm.path().join("wrong.pin"));
    let out = fails(&mut cmd);
    assert!(out.contains("wrong PIN"), "{out}");
    assert!(!out.contains("000000"), "the PIN is never printed: {out}");

    // Missing module.
    let mut cmd = c.cmd(&["crl"]);
    cmd.args(["--module", "/nonexistent/libpkcs11.so"]);
    let out = fails(&mut cmd);
    assert!(
        out.contains("cannot load PKCS#11 module /nonexistent/libpkcs11.so"),
        "{out}"
    );

    // Unknown token label.
    let mut cmd = c.cmd(&["crl"]);
    cmd.args(["--token", "no-such-token"]);
    let out = fails(&mut cmd);
    assert!(
        out.contains("no PKCS#11 token labelled \"no-such-token\""),
        "{out}"
    );
    assert!(
        out.contains("fleetca-root"),
        "lists the tokens present: {out}"
    );

    // Unset PIN variable.
    let mut cmd = c.hsm.command(bin("fleetca-ceremony"));
    cmd.env("FLEETCA_OPERATOR", "alice")
        .env_remove("FLEETCA_ROOT_PIN")
        .arg("--dir")
        .arg(c.dir())
        .arg("crl");
    let out = fails(&mut cmd);
    assert!(out.contains("FLEETCA_ROOT_PIN is not set"), "{out}");

    // Revoking a serial this root never signed; an unknown reason.
    let out = fails(&mut c.cmd(&["revoke", "--serial", "01", "--reason", "keyCompromise"]));
    assert!(out.contains("was not signed in this ceremony"), "{out}");
    let serial = c.serial(&c.intermediate("greedy"));
    let out = fails(&mut c.cmd(&["revoke", "--serial", &serial, "--reason", "because"]));
    assert!(out.contains("unknown reason"), "{out}");

    // No operator named.
    let mut cmd = c.cmd(&["crl"]);
    cmd.env_remove("FLEETCA_OPERATOR");
    let out = fails(&mut cmd);
    assert!(out.contains("--operator"), "{out}");

    // A second init in the same directory is refused; outputs are never overwritten.
    let out = fails(&mut c.cmd(&["init"]));
    assert!(out.contains("already holds a ceremony"), "{out}");
}

#[test]
fn confirmation_is_required_without_yes() {
    let c = Ceremony::new();
    c.init(&[]);
    let csr = c.csr("cluster1", &[]);
    let mut cmd = c.cmd(&[
        "sign-intermediate",
        "--csr",
        csr.to_str().expect("utf8"),
        "--cluster",
        "cluster1",
    ]);
    cmd.stdin(std::process::Stdio::null());
    let out = fails(&mut cmd);
    assert!(
        out.contains("About to sign") && out.contains("not confirmed"),
        "{out}"
    );
    assert!(!c.intermediate("cluster1").exists());

    let mut cmd = c.cmd(&[
        "sign-intermediate",
        "--csr",
        csr.to_str().expect("utf8"),
        "--cluster",
        "cluster1",
    ]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"yes\n")
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", text(&o));
    assert!(c.intermediate("cluster1").exists());
}

/// FIELD-CASES C29: UTCTime through 2049, GeneralizedTime from 2050, in certificates and CRLs.
#[test]
fn c29_time_encodings_around_2050() {
    let c = Ceremony::new();
    c.init(&[
        "--not-before",
        "2025-06-01T00:00:00Z",
        "--not-after",
        "2055-06-01T00:00:00Z",
    ]);
    let root_der = der_of(&c.root_pem());
    assert!(
        root_der.windows(15).any(|w| w == b"20550601000000Z"),
        "root notAfter is GeneralizedTime"
    );
    assert!(
        root_der.windows(13).any(|w| w == b"250601000000Z"),
        "root notBefore is UTCTime"
    );
    let end = ok(openssl(c.hsm.path())
        .args(["x509", "-noout", "-enddate", "-in"])
        .arg(c.root_pem()));
    assert!(end.contains("2055"), "{end}");

    let a = c.csr("a", &[]);
    c.sign(&a, "a", &["--not-after", "2049-12-31T23:59:59Z"]);
    let a_der = der_of(&c.intermediate("a"));
    assert!(
        a_der.windows(15).any(|w| w == b"\x17\x0d491231235959Z"),
        "2049-12-31T23:59:59Z is UTCTime"
    );
    let b = c.csr("b", &[]);
    c.sign(&b, "b", &["--not-after", "2050-01-01T00:00:00Z"]);
    let b_der = der_of(&c.intermediate("b"));
    assert!(
        b_der.windows(17).any(|w| w == b"\x18\x0f20500101000000Z"),
        "2050-01-01 is GeneralizedTime"
    );
    for f in [c.intermediate("a"), c.intermediate("b")] {
        ok(openssl(c.hsm.path())
            .args(["verify", "-x509_strict", "-CAfile"])
            .arg(c.root_pem())
            .arg(&f));
    }
    // A notAfter past the root's is clamped to it.
    let late = c.csr("late", &[]);
    let out = c.sign(&late, "late", &["--not-after", "2060-01-01T00:00:00Z"]);
    assert!(out.contains("clamped"), "{out}");
    let late_der = der_of(&c.intermediate("late"));
    assert!(late_der.windows(15).any(|w| w == b"20550601000000Z"));

    // A CRL whose nextUpdate is in 2050 or later uses GeneralizedTime there.
    let days = (time::macros::datetime!(2050-06-01 0:00 UTC) - time::OffsetDateTime::now_utc())
        .whole_days();
    ok(&mut c.cmd(&["crl", "--next-update-days", &days.to_string()]));
    let crl = std::fs::read(c.dir().join("root.crl")).expect("crl");
    assert!(
        crl.windows(6).any(|w| w == b"\x18\x0f2050"),
        "nextUpdate in 2050 is GeneralizedTime"
    );
    assert!(
        crl.windows(2).any(|w| w == b"\x17\x0d"),
        "thisUpdate (before 2050) is UTCTime"
    );
}

/// FIELD-CASES C30: constrained intermediate; a leaf outside the permitted subtree fails with
/// OpenSSL error 47.
#[test]
fn c30_name_constraints_enforced_by_openssl() {
    let c = Ceremony::new();
    c.init(&[]);
    // The intermediate's key is a software key here so the test can sign leaves with it,
    // bypassing issuance policy (as FIELD-CASES C30 asks).
    let int_key = fleetca_hsm::SoftwareKey::generate(fleetca_hsm::KeyType::EcP256).expect("key");
    let signer = fleetca_hsm::RcgenSigner::new(&int_key).expect("signer");
    let csr = rcgen::CertificateParams::default()
        .serialize_request(&signer)
        .expect("csr");
    let csr_path = c.hsm.path().join("c30.csr");
    std::fs::write(&csr_path, csr.pem().expect("pem")).expect("write");
    c.sign(
        &csr_path,
        "cluster1",
        &["--permit-dns", "cluster1.example.org"],
    );
    let int_pem = std::fs::read_to_string(c.intermediate("cluster1")).expect("int");
    let issuer = rcgen::Issuer::from_ca_cert_pem(&int_pem, &signer).expect("issuer");
    for (name, expect_ok) in [
        ("app.cluster1.example.org", true),
        ("app.cluster2.example.org", false),
    ] {
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf = rcgen::CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .signed_by(&leaf_key, &issuer)
            .expect("leaf");
        let leaf_path = c.hsm.path().join(format!("{name}.pem"));
        std::fs::write(&leaf_path, leaf.pem()).expect("write");
        let o = openssl(c.hsm.path())
            .args(["verify", "-CAfile"])
            .arg(c.root_pem())
            .arg("-untrusted")
            .arg(c.intermediate("cluster1"))
            .arg(&leaf_path)
            .output()
            .expect("openssl");
        if expect_ok {
            assert!(o.status.success(), "{name}: {}", text(&o));
        } else {
            let t = text(&o);
            assert!(
                !o.status.success() && t.contains("error 47"),
                "{name} must fail with error 47 (permitted subtree violation): {t}"
            );
        }
    }
}
