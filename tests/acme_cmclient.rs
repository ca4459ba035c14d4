//! cmclient (`../shared/tools/cmclient`: golang.org/x/crypto/acme driven exactly as
//! cert-manager's ACME issuer drives it) against fleetca: account lookup without EAB, EAB
//! registration, already-valid authorizations, finalize, PEM chain, RSA and EC keys, several
//! certificates with one account, revocation, `ip` identifiers, refusals, and the Issuer
//! manifest printed by `fleetca account new`.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::fleet::*;
use common::*;

/// The longest one cmclient run may take before it is killed.
const LIMIT: Duration = Duration::from_secs(120);

/// cmclient, built once per test process into this target dir with the shared build script.
fn cmclient_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let shared = root().join("../shared");
            let script = shared.join("tools/cmclient/build.sh");
            assert!(
                script.is_file(),
                "{} is missing: cmclient lives in the shared directory beside the repository \
                 (clone it as ../shared next to {})",
                script.display(),
                root().display()
            );
            // target/debug/deps/test-binary -> target/cmclient
            let exe = std::env::current_exe().expect("current_exe");
            let target = exe.ancestors().nth(3).expect("target dir").join("cmclient");
            let mut c = Command::new("bash");
            c.arg(&script).arg(&target);
            let out = output_within(&mut c, Duration::from_secs(600));
            assert!(
                out.status.success() && target.is_file(),
                "building cmclient failed (it needs golang-go and golang-golang-x-crypto-dev):\n{}",
                text(&out)
            );
            target
        })
        .clone()
}

/// cmclient against `f`'s cluster1 directory for `names` (comma-separated), with a fresh EAB
/// key for namespace `payments`: cmclient makes a new account key on every run, as a new
/// cert-manager Issuer does, and an EAB key binds one account only.
fn cmclient(f: &Fleet, names: &str) -> Command {
    cmclient_with(f, &f.account("payments", &[]), names)
}

/// cmclient with a given EAB key.
fn cmclient_with(f: &Fleet, eab: &Eab, names: &str) -> Command {
    let mut c = Command::new(cmclient_bin());
    c.current_dir(f.dir())
        .args(["-dir", &f.directory("cluster1")])
        .arg("-cacert")
        .arg(f.root_pem())
        .args([
            "-eab-kid",
            &eab.kid,
            "-eab-hmac",
            &eab.hmac,
            "-names",
            names,
        ]);
    c
}

/// Runs cmclient; returns its exit success and its JSON line.
fn run(cmd: &mut Command) -> (bool, serde_json::Value) {
    let o = output_within(cmd, LIMIT);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| panic!("{cmd:?} printed no JSON line:\n{}", text(&o)));
    let v: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}: {line:?}\n{}", text(&o)));
    (o.status.success(), v)
}

/// Runs cmclient, asserting success and `ok: true`.
fn succeeds(cmd: &mut Command) -> serde_json::Value {
    let (success, v) = run(cmd);
    assert!(success && v["ok"] == true, "{cmd:?} failed: {v}");
    assert_eq!(v["stage"], "done", "{v}");
    v
}

/// Runs cmclient, asserting failure and `ok: false`.
fn fails_with(cmd: &mut Command) -> serde_json::Value {
    let (success, v) = run(cmd);
    assert!(
        !success && v["ok"] == false,
        "{cmd:?} should have failed: {v}"
    );
    v
}

fn normal_serial(s: &str) -> String {
    s.to_ascii_lowercase().trim_start_matches('0').to_string()
}

/// The inventory entry for `serial` (hex, any case or padding).
fn inventory_entry(f: &Fleet, serial: &str) -> serde_json::Value {
    let inv = ok(&mut f.fleetca(&["inventory", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&inv).expect("inventory json");
    let want = normal_serial(serial);
    v.as_array()
        .expect("array")
        .iter()
        .find(|c| c["serial"].as_str().map(normal_serial).as_deref() == Some(want.as_str()))
        .unwrap_or_else(|| panic!("serial {serial} is in the inventory: {inv}"))
        .clone()
}

/// `openssl x509 -text` of the first certificate in `pem`.
fn x509_text(f: &Fleet, pem: &Path) -> String {
    ok(openssl(&f.dir())
        .args(["x509", "-noout", "-text", "-in"])
        .arg(pem))
}

#[test]
fn cmclient_issues_like_cert_manager() {
    let mut f = Fleet::new();
    f.start();

    // Default run: RSA 2048 CSR (cert-manager's default), lookup without EAB answered
    // accountDoesNotExist, EAB registration, lookup again, authorizations already valid (no
    // solver), finalize, a PEM chain of leaf and intermediate verified up to the root.
    let chain = f.dir().join("chain.pem");
    let mut c = cmclient(&f, "api.payments.svc.cluster.local");
    c.arg("-trust").arg(f.root_pem()).arg("-out").arg(&chain);
    let v = succeeds(&mut c);
    assert_eq!(v["chain_len"], 2, "{v}");
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(
        v["names"],
        serde_json::json!(["api.payments.svc.cluster.local"]),
        "{v}"
    );
    let pem = std::fs::read_to_string(&chain).expect("chain");
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let out = ok(openssl(&f.dir())
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(f.root_pem())
        .arg("-untrusted")
        .arg(&chain)
        .arg(&chain));
    assert!(out.contains(": OK"), "{out}");
    let t = x509_text(&f, &chain);
    assert!(t.contains("Public-Key: (2048 bit)"), "{t}");
    assert!(
        t.contains("Digital Signature, Key Encipherment"),
        "RSA leaves also get keyEncipherment: {t}"
    );
    // FIELD-CASES C32: cert-manager's CSR has an empty subject, so the leaf's subject is an
    // empty SEQUENCE and its SAN is critical (Apple platforms refuse it otherwise); pkilint agrees.
    assert!(
        t.contains("Subject: \n") || t.contains("Subject:\n"),
        "empty subject: {t}"
    );
    assert!(
        t.contains("X509v3 Subject Alternative Name: critical"),
        "{t}"
    );
    let leaf = f.dir().join("c32-leaf.pem");
    ok(openssl(&f.dir())
        .args(["x509", "-in"])
        .arg(&chain)
        .arg("-out")
        .arg(&leaf));
    pkilint_clean("lint_pkix_cert", &[], &leaf);
    let serial = v["serial"].as_str().expect("serial");
    let entry = inventory_entry(&f, serial);
    assert_eq!(entry["namespace"], "payments", "{entry}");
    assert!(entry["revoked"].is_null(), "{entry}");

    // An EC P-256 certificate key.
    let ec = f.dir().join("ec.pem");
    let mut c = cmclient(&f, "api.payments.svc.cluster.local");
    c.args(["-key", "ec256", "-trust"])
        .arg(f.root_pem())
        .arg("-out")
        .arg(&ec);
    let v = succeeds(&mut c);
    assert_eq!(v["chain_len"], 2, "{v}");
    let t = x509_text(&f, &ec);
    assert!(t.contains("prime256v1"), "{t}");
    assert!(!t.contains("Key Encipherment"), "{t}");

    // Several certificates with one account (no timing asserted).
    let mut c = cmclient(&f, "api.payments.svc.cluster.local");
    c.args(["-n", "5"]);
    let v = succeeds(&mut c);
    assert_eq!(v["count"], 5, "{v}");
    assert_eq!(v["ok"], true, "{v}");

    // Revocation by the account (cmclient sends keyCompromise, RFC 5280 code 1).
    let mut c = cmclient(&f, "api.payments.svc.cluster.local");
    c.arg("-revoke");
    let v = succeeds(&mut c);
    let serial = v["serial"].as_str().expect("serial");
    let entry = inventory_entry(&f, serial);
    assert_eq!(entry["revoked"]["reason"], 1, "{entry}");
}

#[test]
fn cmclient_refusals_ip_identifiers_and_the_issuer_manifest() {
    // The validator must never leave loopback: the cluster-internal address is mapped to
    // 127.0.0.1, where nothing listens on the http-01 port.
    let mut f = Fleet::with_extra_config("\"10.96.0.10\" = \"127.0.0.1\"\n");
    f.start();
    let eab = f.account("payments", &[]);

    // The Issuer manifest: directory URL, EAB key id, the Secret with the HMAC key, and a
    // caBundle that is the root PEM.
    let m = &eab.manifest;
    assert!(
        m.contains(&format!("server: {}", f.directory("cluster1"))),
        "{m}"
    );
    assert!(m.contains("kind: Issuer"), "{m}");
    assert!(m.contains("externalAccountBinding:"), "{m}");
    assert!(m.contains(&format!("keyID: {}", eab.kid)), "{m}");
    assert!(m.contains("kind: Secret"), "{m}");
    assert!(m.contains(&format!("secret: {}", eab.hmac)), "{m}");
    let bundle = m
        .lines()
        .find_map(|l| l.trim().strip_prefix("caBundle:"))
        .unwrap_or_else(|| panic!("no caBundle: {m}"))
        .trim();
    let decoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(bundle)
            .expect("caBundle is base64")
    };
    assert_eq!(
        decoded,
        std::fs::read(f.root_pem()).expect("root"),
        "caBundle is the root PEM"
    );

    // A loopback name is refused at newOrder (the account is registered with this EAB key).
    let v = fails_with(&mut cmclient_with(&f, &eab, "localhost"));
    assert_eq!(v["stage"], "order", "{v}");
    assert_eq!(
        v["problem_type"], "urn:ietf:params:acme:error:rejectedIdentifier",
        "{v}"
    );
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("rejectedIdentifier")),
        "{v}"
    );

    // The EAB key is spent: a second account key (a new Issuer reusing the Secret) is refused.
    let v = fails_with(&mut cmclient_with(
        &f,
        &eab,
        "api.payments.svc.cluster.local",
    ));
    assert_eq!(v["stage"], "register", "{v}");
    assert_eq!(
        v["problem_type"], "urn:ietf:params:acme:error:unauthorized",
        "{v}"
    );

    // An `ip` identifier (RFC 8738) for a cluster-internal address is not authorised by the
    // binding: the server requires http-01 for IPs, so without a solver the authorization is
    // left pending, which cert-manager reports as needing a solver.
    let ip = "10.96.0.10";
    let v = fails_with(&mut cmclient(&f, ip));
    assert_eq!(v["stage"], "authorization", "{v}");
    let err = v["error"].as_str().unwrap_or_default();
    assert!(
        err.contains(&format!("authorization for {ip} is \"pending\"")),
        "{v}"
    );
    assert!(v.get("problem_type").is_none(), "no ACME error yet: {v}");

    // Accepting the http-01 challenge with nothing answering at that address: the
    // authorization becomes invalid and the challenge carries the error.
    let mut c = cmclient(&f, ip);
    c.arg("-accept-challenges");
    let v = fails_with(&mut c);
    assert_eq!(v["stage"], "authorization", "{v}");
    let err = v["error"].as_str().unwrap_or_default();
    assert!(
        err.contains(&format!("acme: authorization error for {ip}")),
        "{v}"
    );
    assert!(err.contains(ip), "the detail names the address: {v}");
    // A validation that cannot connect is `connection` (RFC 8555 §6.7), not incorrectResponse.
    assert!(err.contains("urn:ietf:params:acme:error:connection"), "{v}");
}
