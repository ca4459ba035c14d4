//! Fleet-wide revocation seen by real relying-party tools against a real `fleetca serve`:
//! `openssl ocsp` (POST and GET, with and without nonce, SHA-1 and SHA-256 CertIDs, delegated
//! and intermediate-signed responses), `openssl verify -crl_check_all` with the fetched CRLs,
//! pkilint on every CRL and OCSP response, `fleetca revoke` by serial, key, name and cluster
//! across two clusters, ACME revokeCert through lego, and a SIGKILL right after a revocation.
//!
//! No timing is measured: where a change has to become visible, the test polls for at most
//! about two seconds in 100 ms steps.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use common::fleet::*;
use common::*;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};

/// Longest any one external tool may run before the test fails (a wedged peer must not hang).
const LIMIT: Duration = Duration::from_secs(120);

const OID_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const OID_CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
const OID_IDP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const OID_CDP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_OCSP_NOCHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// The fixed OCSPResponse for `malformedRequest` (RFC 6960 §4.2.1).
const MALFORMED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x01];
/// The fixed OCSPResponse for `unauthorized`.
const UNAUTHORIZED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x06];

// ---------------------------------------------------------------------------------------------
// Running things

/// Runs `cmd` (bounded by LIMIT) and returns (success, stdout+stderr).
fn run(cmd: &mut Command) -> (bool, String) {
    let o = output_within(cmd, LIMIT);
    (o.status.success(), text(&o))
}

/// Runs `cmd`, asserting success; returns stdout+stderr.
fn run_ok(cmd: &mut Command) -> String {
    let (okay, t) = run(cmd);
    assert!(okay, "{cmd:?} failed:\n{t}");
    assert!(!t.contains("panicked"), "{cmd:?} panicked:\n{t}");
    t
}

/// Runs `cmd`, asserting success; returns stdout only (for JSON).
fn stdout_ok(cmd: &mut Command) -> String {
    let o = output_within(cmd, LIMIT);
    assert!(o.status.success(), "{cmd:?} failed:\n{}", text(&o));
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

/// A fresh directory for one test's artefacts.
fn work(f: &Fleet, name: &str) -> PathBuf {
    let d = f.dir().join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// Polls `check` every 100 ms, at most 20 times (about two seconds), until it says done;
/// returns its last text, or fails with it.
fn poll(what: &str, mut check: impl FnMut() -> (bool, String)) -> String {
    let mut last = String::new();
    for _ in 0..20 {
        let (done, t) = check();
        if done {
            return t;
        }
        last = t;
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within ~2 s; last seen:\n{last}");
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

/// `fleetca revoke ARGS --json`, parsed.
fn revoke_json(f: &Fleet, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["revoke"];
    a.extend_from_slice(args);
    a.push("--json");
    json(&stdout_ok(&mut f.fleetca(&a)))
}

fn json_serials(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("serial string").to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Issuing through ACME with lego

fn lego(f: &Fleet, eab: &Eab, cluster: &str, path: &Path) -> Command {
    require("lego", "apt-get install lego");
    let mut c = Command::new("lego");
    c.current_dir(f.dir())
        .env("LEGO_CA_CERTIFICATES", f.root_pem())
        .args([
            "--server",
            &f.directory(cluster),
            "--accept-tos",
            "--email",
            "ops@example.org",
        ])
        .arg("--path")
        .arg(path)
        .args(["--eab", "--kid", &eab.kid, "--hmac", &eab.hmac]);
    c
}

fn lego_run(c: &mut Command, f: &Fleet) {
    c.args([
        "--http",
        "--http.port",
        &format!("127.0.0.1:{}", f.http01_port),
        "run",
    ]);
}

/// Extracts the first certificate of lego's bundle into `out`.
fn leaf_from_bundle(f: &Fleet, crt: &Path, out: &Path) {
    run_ok(
        openssl(&f.dir())
            .arg("x509")
            .arg("-in")
            .arg(crt)
            .arg("-out")
            .arg(out),
    );
}

/// lego path for one cluster (lego keys its account files by host, so one path per cluster).
fn lego_path(dir: &Path, cluster: &str) -> PathBuf {
    dir.join(format!("lego-{cluster}"))
}

/// Issues `name` in `cluster` with a key lego makes; returns the leaf PEM.
fn issue(f: &Fleet, eab: &Eab, cluster: &str, dir: &Path, name: &str) -> PathBuf {
    let path = lego_path(dir, cluster);
    let mut c = lego(f, eab, cluster, &path);
    c.args(["--domains", name]);
    lego_run(&mut c, f);
    run_ok(&mut c);
    let leaf = dir.join(format!("{cluster}-{name}.pem"));
    leaf_from_bundle(f, &path.join(format!("certificates/{name}.crt")), &leaf);
    leaf
}

/// Issues `name` in `cluster` for the key in `key` (a CSR made with `openssl req`, sent with
/// lego `--csr`); returns the leaf PEM.
fn issue_for_key(
    f: &Fleet,
    eab: &Eab,
    cluster: &str,
    dir: &Path,
    key: &Path,
    name: &str,
) -> PathBuf {
    let csr = dir.join(format!("{cluster}-{name}.csr"));
    run_ok(
        openssl(dir)
            .args(["req", "-new", "-key"])
            .arg(key)
            .args(["-subj", &format!("/CN={name}")])
            .args(["-addext", &format!("subjectAltName=DNS:{name}")])
            .arg("-out")
            .arg(&csr),
    );
    let path = lego_path(dir, cluster);
    let mut c = lego(f, eab, cluster, &path);
    c.arg("--csr").arg(&csr);
    lego_run(&mut c, f);
    run_ok(&mut c);
    let leaf = dir.join(format!("{cluster}-{name}.pem"));
    leaf_from_bundle(f, &path.join(format!("certificates/{name}.crt")), &leaf);
    leaf
}

// ---------------------------------------------------------------------------------------------
// Certificates

fn cert_der(pem: &Path) -> Vec<u8> {
    let bytes = std::fs::read(pem).expect("read PEM");
    fleetca::pem::decode_one("CERTIFICATE", &bytes).expect("PEM certificate")
}

fn cert(pem: &Path) -> x509_cert::Certificate {
    x509_cert::Certificate::from_der(&cert_der(pem)).expect("DER certificate")
}

/// The serial as fleetca writes it (lower-case hex, no leading zero octet).
fn serial_of(pem: &Path) -> String {
    fleetca::serial::Serial::from_der_content(cert(pem).tbs_certificate.serial_number.as_bytes())
        .to_hex()
}

fn extension(c: &x509_cert::Certificate, oid: ObjectIdentifier) -> Option<Vec<u8>> {
    c.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes().to_vec())
}

fn intermediate(f: &Fleet, cluster: &str) -> PathBuf {
    f.dir()
        .join(format!("ceremony/intermediates/{cluster}.pem"))
}

fn ski(pem: &Path) -> Vec<u8> {
    let v = extension(&cert(pem), OID_SKI).expect("SKI");
    x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(&v)
        .expect("SKI DER")
        .0
        .as_bytes()
        .to_vec()
}

/// The URI bytes of every fullName in a DistributionPointName.
fn full_name_uris(dpn: &x509_cert::ext::pkix::name::DistributionPointName) -> Vec<Vec<u8>> {
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    match dpn {
        DistributionPointName::FullName(names) => names
            .iter()
            .filter_map(|n| match n {
                GeneralName::UniformResourceIdentifier(u) => Some(u.as_bytes().to_vec()),
                _ => None,
            })
            .collect(),
        DistributionPointName::NameRelativeToCRLIssuer(_) => vec![],
    }
}

fn cdp_uris(pem: &Path) -> Vec<Vec<u8>> {
    let v = extension(&cert(pem), OID_CDP).expect("CDP");
    x509_cert::ext::pkix::CrlDistributionPoints::from_der(&v)
        .expect("CDP DER")
        .0
        .iter()
        .filter_map(|dp| dp.distribution_point.as_ref())
        .flat_map(full_name_uris)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP

fn public_url(f: &Fleet, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", f.public_port)
}

struct Http {
    status: u16,
    content_type: String,
    cache_control: Option<String>,
    body: Vec<u8>,
}

fn http(mut r: ureq::http::Response<ureq::Body>) -> Http {
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = r.status().as_u16();
    let content_type = header("content-type").unwrap_or_default();
    let cache_control = header("cache-control");
    let body = r.body_mut().read_to_vec().expect("read body");
    Http {
        status,
        content_type,
        cache_control,
        body,
    }
}

fn http_get(f: &Fleet, path: &str) -> Http {
    http(
        f.agent()
            .get(&public_url(f, path))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}")),
    )
}

fn ocsp_post(f: &Fleet, cluster: &str, body: &[u8]) -> Http {
    http(
        f.agent()
            .post(&public_url(f, &format!("/ocsp/{cluster}")))
            .header("Content-Type", "application/ocsp-request")
            .send(body)
            .unwrap_or_else(|e| panic!("POST /ocsp/{cluster}: {e}")),
    )
}

/// RFC 6960 Appendix A.1: base64, then URL-encoded (`/`, `+`, `=` escaped).
fn get_path_segment(req: &[u8]) -> (String, String) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(req);
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    (b64, encoded)
}

// ---------------------------------------------------------------------------------------------
// OCSP with openssl

/// `openssl ocsp EXTRA… -issuer INT -cert LEAF -url …/ocsp/CLUSTER -CAfile ROOT` (POST).
fn ocsp(f: &Fleet, cluster: &str, leaf: &Path, extra: &[&str]) -> String {
    let url = public_url(f, &format!("/ocsp/{cluster}"));
    // EXTRA first: a digest option (-sha256) must come before -cert.
    let (_, t) = run(openssl(&f.dir())
        .arg("ocsp")
        .args(extra)
        .arg("-issuer")
        .arg(intermediate(f, cluster))
        .arg("-cert")
        .arg(leaf)
        .args(["-url", &url, "-CAfile"])
        .arg(f.root_pem()));
    t
}

/// Asserts a verified `good` for `leaf`.
fn assert_good(t: &str, leaf: &Path) {
    assert!(t.contains("Response verify OK"), "{t}");
    let name = leaf.display().to_string();
    assert!(t.contains(&format!("{name}: good")), "{name} good:\n{t}");
}

/// Polls `openssl ocsp` (with nonce, and again without) until `leaf` is revoked; asserts the
/// response verified and, when given, the reason. Returns the text of the nonce query.
fn await_revoked(f: &Fleet, cluster: &str, leaf: &Path, reason: Option<&str>) -> String {
    let name = leaf.display().to_string();
    let mut out = String::new();
    for extra in [&[][..], &["-no_nonce"][..]] {
        let t = poll(&format!("OCSP revoked for {name} ({extra:?})"), || {
            let t = ocsp(f, cluster, leaf, extra);
            (t.contains(&format!("{name}: revoked")), t)
        });
        assert!(t.contains("Response verify OK"), "{t}");
        match reason {
            Some(r) => assert!(t.contains(&format!("Reason: {r}")), "reason {r}:\n{t}"),
            None => assert!(!t.contains("Reason:"), "no reason for unspecified:\n{t}"),
        }
        if out.is_empty() {
            out = t;
        }
    }
    out
}

/// `openssl ocsp -respin RESP -issuer INT -cert LEAF -no_nonce -CAfile ROOT`: verifies a
/// response fetched by other means and prints its status.
fn ocsp_respin(f: &Fleet, cluster: &str, leaf: &Path, resp: &Path) -> String {
    run(openssl(&f.dir())
        .arg("ocsp")
        .arg("-respin")
        .arg(resp)
        .arg("-issuer")
        .arg(intermediate(f, cluster))
        .arg("-cert")
        .arg(leaf)
        .arg("-no_nonce")
        .arg("-CAfile")
        .arg(f.root_pem()))
    .1
}

/// `openssl ocsp -reqin REQ -respin RESP -issuer INT -CAfile ROOT` (no `-cert`, so the request
/// is the one sent): verifies the response and checks its nonce against the request's.
fn ocsp_nonce_check(f: &Fleet, cluster: &str, req: &Path, resp: &Path) -> String {
    run(openssl(&f.dir())
        .arg("ocsp")
        .arg("-reqin")
        .arg(req)
        .arg("-respin")
        .arg(resp)
        .arg("-issuer")
        .arg(intermediate(f, cluster))
        .arg("-CAfile")
        .arg(f.root_pem()))
    .1
}

fn assert_nonce_echoed(t: &str) {
    assert!(t.contains("Response verify OK"), "{t}");
    assert!(!t.contains("WARNING: no nonce in response"), "{t}");
    assert!(!t.contains("Nonce Verify error"), "{t}");
}

/// `openssl ocsp -reqout OUT -issuer INT -cert LEAF EXTRA…`: a request, not sent.
fn make_request(f: &Fleet, cluster: &str, leaf: &Path, out: &Path, extra: &[&str]) -> Vec<u8> {
    run_ok(
        openssl(&f.dir())
            .args(["ocsp", "-issuer"])
            .arg(intermediate(f, cluster))
            .arg("-cert")
            .arg(leaf)
            .arg("-reqout")
            .arg(out)
            .args(extra),
    );
    std::fs::read(out).expect("request")
}

/// The request in `template` with its extensions replaced by one nonce of `value`
/// (extnValue = OCTET STRING wrapping the nonce octets, as RFC 9654 has it).
fn with_nonce(template: &[u8], value: &[u8]) -> Vec<u8> {
    let mut req = x509_ocsp::OcspRequest::from_der(template).expect("request DER");
    let inner = OctetString::new(value)
        .expect("nonce")
        .to_der()
        .expect("DER");
    req.tbs_request.request_extensions = Some(vec![x509_cert::ext::Extension {
        extn_id: OID_NONCE,
        critical: false,
        extn_value: OctetString::new(inner).expect("extnValue"),
    }]);
    req.to_der().expect("request DER")
}

fn random(len: usize) -> Vec<u8> {
    use ring::rand::SecureRandom as _;
    let mut v = vec![0u8; len];
    ring::rand::SystemRandom::new()
        .fill(&mut v)
        .expect("random");
    v
}

/// The BasicOCSPResponse of a successful OCSPResponse.
fn basic(resp: &[u8]) -> x509_ocsp::BasicOcspResponse {
    let r = x509_ocsp::OcspResponse::from_der(resp).expect("OCSPResponse DER");
    assert_eq!(
        r.response_status,
        x509_ocsp::OcspResponseStatus::Successful,
        "{resp:02x?}"
    );
    let bytes = r.response_bytes.expect("responseBytes");
    x509_ocsp::BasicOcspResponse::from_der(bytes.response.as_bytes()).expect("BasicOCSPResponse")
}

fn request_nonce_der(req: &[u8]) -> Vec<u8> {
    let r = x509_ocsp::OcspRequest::from_der(req).expect("request DER");
    r.tbs_request
        .request_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == OID_NONCE)
        .expect("request nonce")
        .to_der()
        .expect("DER")
}

fn response_nonce_der(resp: &[u8]) -> Option<Vec<u8>> {
    basic(resp)
        .tbs_response_data
        .response_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == OID_NONCE)
        .map(|e| e.to_der().expect("DER"))
}

fn sha1(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

fn responder_key_hash(b: &x509_ocsp::BasicOcspResponse) -> Vec<u8> {
    match &b.tbs_response_data.responder_id {
        x509_ocsp::ResponderId::ByKey(k) => k.as_bytes().to_vec(),
        x509_ocsp::ResponderId::ByName(n) => panic!("responderID byName {n}; RFC 5019 wants byKey"),
    }
}

fn spki_bits(c: &x509_cert::Certificate) -> Vec<u8> {
    c.tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec()
}

// ---------------------------------------------------------------------------------------------
// CRLs

struct Crl {
    parsed: x509_cert::crl::CertificateList,
}

impl Crl {
    fn parse(der: Vec<u8>) -> Self {
        let parsed = x509_cert::crl::CertificateList::from_der(&der).expect("CRL DER");
        Self { parsed }
    }

    fn ext(&self, oid: ObjectIdentifier) -> Option<&x509_cert::ext::Extension> {
        self.parsed
            .tbs_cert_list
            .crl_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid)
    }

    fn number(&self) -> u128 {
        let e = self.ext(OID_CRL_NUMBER).expect("CRL number");
        assert!(!e.critical, "CRL number is non-critical");
        let n = der::asn1::Uint::from_der(e.extn_value.as_bytes()).expect("CRL number INTEGER");
        assert!(n.as_bytes().len() <= 20, "CRL number ≤ 20 octets");
        n.as_bytes()
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
    }

    /// Entries: serial (fleetca hex), reason code if present, and whether the entry has a
    /// crlEntryExtensions element at all.
    fn entries(&self) -> Vec<(String, Option<u8>, bool)> {
        self.parsed
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| {
                let serial =
                    fleetca::serial::Serial::from_der_content(r.serial_number.as_bytes()).to_hex();
                let reason = r
                    .crl_entry_extensions
                    .iter()
                    .flatten()
                    .find(|e| e.extn_id == OID_CRL_REASON)
                    .map(|e| {
                        let v = e.extn_value.as_bytes();
                        assert_eq!(v.len(), 3, "reasonCode is ENUMERATED: {v:02x?}");
                        assert_eq!(&v[..2], &[0x0a, 0x01], "{v:02x?}");
                        v[2]
                    });
                (serial, reason, r.crl_entry_extensions.is_some())
            })
            .collect()
    }

    fn entry(&self, serial: &str) -> Option<(Option<u8>, bool)> {
        self.entries()
            .into_iter()
            .find(|(s, _, _)| s == serial)
            .map(|(_, r, e)| (r, e))
    }
}

/// Fetches `/crl/NAME.crl`, checks the HTTP side, saves it as `dir/FILE` and parses it.
fn fetch_crl(f: &Fleet, name: &str, dir: &Path, file: &str) -> Crl {
    let r = http_get(f, &format!("/crl/{name}.crl"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/pkix-crl");
    std::fs::write(dir.join(file), &r.body).expect("write CRL");
    Crl::parse(r.body)
}

/// Polls the cluster CRL until `check` accepts it.
fn await_crl(
    f: &Fleet,
    cluster: &str,
    dir: &Path,
    file: &str,
    what: &str,
    check: impl Fn(&Crl) -> bool,
) -> Crl {
    let mut found = None;
    poll(what, || {
        let crl = fetch_crl(f, cluster, dir, file);
        let done = check(&crl);
        let t = format!("entries {:?}, number {}", crl.entries(), crl.number());
        if done {
            found = Some(crl);
        }
        (done, t)
    });
    found.expect("CRL")
}

/// `openssl crl -inform DER -text`, asserting it parses.
fn crl_text(f: &Fleet, der_file: &Path) -> String {
    run_ok(
        openssl(&f.dir())
            .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
            .arg(der_file),
    )
}

/// Runs the root CRL ceremony and publishes the result to the running server.
fn publish_root_crl(f: &Fleet) {
    f.ceremony(&["crl"]);
    let out = run_ok(&mut f.fleetca(&["crl", "publish-root", "ceremony/root.crl"]));
    assert!(out.contains("root CRL published"), "{out}");
}

/// Fetches the cluster CRL and the root CRL, converts them to PEM and runs
/// `openssl verify -crl_check_all -CAfile ROOT -untrusted INT -CRLfile CRLS LEAF`.
fn verify_with_crls(f: &Fleet, cluster: &str, leaf: &Path, dir: &Path) -> (bool, String) {
    let mut pem = String::new();
    for name in [cluster, "root"] {
        let file = format!("verify-{name}.der");
        fetch_crl(f, name, dir, &file);
        pem.push_str(&run_ok(
            openssl(dir).args(["crl", "-inform", "DER", "-in", &file]),
        ));
    }
    let crls = dir.join("verify-crls.pem");
    std::fs::write(&crls, pem).expect("write CRLs");
    run(openssl(dir)
        .args(["verify", "-crl_check_all", "-CAfile"])
        .arg(f.root_pem())
        .arg("-untrusted")
        .arg(intermediate(f, cluster))
        .arg("-CRLfile")
        .arg(&crls)
        .arg(leaf))
}

fn assert_verify_ok(f: &Fleet, cluster: &str, leaf: &Path, dir: &Path) {
    let (okay, t) = verify_with_crls(f, cluster, leaf, dir);
    assert!(okay && t.contains(": OK"), "{t}");
}

fn assert_verify_revoked(f: &Fleet, cluster: &str, leaf: &Path, dir: &Path) {
    let (okay, t) = verify_with_crls(f, cluster, leaf, dir);
    assert!(!okay, "a revoked leaf must not verify:\n{t}");
    assert!(
        t.contains("error 23 at 0 depth lookup: certificate revoked"),
        "{t}"
    );
    assert!(
        !t.contains("error 3 at") && !t.contains("error 44 at"),
        "unable to get CRL / different CRL scope:\n{t}"
    );
}

fn lint_crl(file: &Path) {
    pkilint_clean("lint_crl", &["-t", "CRL", "-p", "PKIX"], file);
}

fn lint_ocsp(file: &Path) {
    pkilint_clean("lint_ocsp_response", &[], file);
}

// ---------------------------------------------------------------------------------------------
// Tests

/// Item 1, C24 and pkilint: an ACME leaf is `good`, then `revoked` (keyCompromise) right after
/// `fleetca revoke --serial`; `openssl verify -crl_check_all` accepts the good leaf and rejects
/// the revoked one with error 23; CRL number, AKI and IDP as C24 wants, across a regeneration
/// and a restart.
#[test]
fn acme_leaf_good_then_revoked_by_serial_in_ocsp_and_crls() {
    let mut f = Fleet::new();
    f.start();
    let dir = work(&f, "t-serial");
    let eab = f.account("payments", &[]);
    let good = issue(&f, &eab, "cluster1", &dir, "api.payments.svc.cluster.local");
    let bad = issue(&f, &eab, "cluster1", &dir, "web.payments.svc.cluster.local");
    let third = issue(&f, &eab, "cluster1", &dir, "db.payments.svc.cluster.local");
    publish_root_crl(&f);

    // Before: both good over OCSP (with nonce and without; the latter fills the cache).
    for leaf in [&good, &bad] {
        assert_good(&ocsp(&f, "cluster1", leaf, &[]), leaf);
        assert_good(&ocsp(&f, "cluster1", leaf, &["-no_nonce"]), leaf);
    }
    let resp = dir.join("good.ocsp.der");
    let t = ocsp(
        &f,
        "cluster1",
        &bad,
        &["-no_nonce", "-respout", &resp.display().to_string()],
    );
    assert_good(&t, &bad);
    lint_ocsp(&resp);
    assert_verify_ok(&f, "cluster1", &good, &dir);
    assert_verify_ok(&f, "cluster1", &bad, &dir);

    // C24: AKI = the intermediate's SKI, IDP critical and byte-identical to the leaf's CDP.
    let crl0 = fetch_crl(&f, "cluster1", &dir, "crl0.der");
    lint_crl(&dir.join("crl0.der"));
    let aki = crl0.ext(OID_AKI).expect("CRL AKI");
    let aki = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes())
        .expect("AKI DER");
    assert_eq!(
        aki.key_identifier.expect("AKI keyIdentifier").as_bytes(),
        ski(&intermediate(&f, "cluster1")).as_slice(),
        "CRL AKI = intermediate SKI"
    );
    let idp = crl0.ext(OID_IDP).expect("IDP");
    assert!(idp.critical, "IDP is critical");
    let idp =
        x509_cert::ext::pkix::crl::IssuingDistributionPoint::from_der(idp.extn_value.as_bytes())
            .expect("IDP DER");
    assert!(
        !idp.only_contains_user_certs && !idp.only_contains_ca_certs,
        "no onlyContains* scope"
    );
    let idp_uris = full_name_uris(idp.distribution_point.as_ref().expect("IDP fullName"));
    let expected = public_url(&f, "/crl/cluster1.crl").into_bytes();
    assert_eq!(idp_uris, vec![expected.clone()], "IDP URI");
    for leaf in [&good, &bad, &third] {
        assert_eq!(cdp_uris(leaf), vec![expected.clone()], "CDP of {leaf:?}");
    }

    // Revoke by serial.
    let serial = serial_of(&bad);
    let out = run_ok(&mut f.fleetca(&["revoke", "--serial", &serial, "--reason", "keyCompromise"]));
    assert!(out.contains(&serial), "{out}");
    await_revoked(&f, "cluster1", &bad, Some("keyCompromise"));
    assert_good(&ocsp(&f, "cluster1", &good, &["-no_nonce"]), &good);
    let resp = dir.join("revoked.ocsp.der");
    let t = ocsp(
        &f,
        "cluster1",
        &bad,
        &["-no_nonce", "-respout", &resp.display().to_string()],
    );
    assert!(t.contains("Reason: keyCompromise"), "{t}");
    lint_ocsp(&resp);

    let crl1 = await_crl(&f, "cluster1", &dir, "crl1.der", "CRL lists it", |c| {
        c.entry(&serial).is_some()
    });
    assert_eq!(crl1.entry(&serial), Some((Some(1), true)), "reasonCode 1");
    assert!(crl1.number() > crl0.number(), "CRL number increases");
    let t = crl_text(&f, &dir.join("crl1.der"));
    assert!(t.contains("Key Compromise"), "{t}");
    lint_crl(&dir.join("crl1.der"));
    assert_verify_ok(&f, "cluster1", &good, &dir);
    assert_verify_revoked(&f, "cluster1", &bad, &dir);

    // A forced regeneration (another revocation): the number increases again.
    let serial3 = serial_of(&third);
    run_ok(&mut f.fleetca(&["revoke", "--serial", &serial3]));
    let crl2 = await_crl(&f, "cluster1", &dir, "crl2.der", "CRL lists the 2nd", |c| {
        c.entry(&serial3).is_some()
    });
    assert!(crl2.number() > crl1.number(), "CRL number increases");
    assert_eq!(crl2.entry(&serial), Some((Some(1), true)));
    lint_crl(&dir.join("crl2.der"));

    // And across a restart (the number is persisted).
    f.kill();
    f.start();
    let crl3 = fetch_crl(&f, "cluster1", &dir, "crl3.der");
    assert!(
        crl3.number() > crl2.number(),
        "CRL number after restart {} > {}",
        crl3.number(),
        crl2.number()
    );
    assert!(crl3.entry(&serial).is_some() && crl3.entry(&serial3).is_some());
    assert_verify_ok(&f, "cluster1", &good, &dir);
    assert_verify_revoked(&f, "cluster1", &bad, &dir);
    await_revoked(&f, "cluster1", &bad, Some("keyCompromise"));
}

/// Items 2 and 3, C18, C19, C20: POST and GET, with and without nonce; nonce limits; SHA-1 and
/// SHA-256 CertIDs; the delegated responder; malformed, unknown-issuer, oversized and
/// unknown-serial requests.
#[test]
fn ocsp_get_post_nonces_hashes_delegation_and_errors() {
    let mut f = Fleet::new();
    f.start();
    let dir = work(&f, "t-ocsp");
    let eab = f.account("payments", &[]);
    let leaf = issue(&f, &eab, "cluster1", &dir, "api.payments.svc.cluster.local");
    let int = intermediate(&f, "cluster1");
    let p = |name: &str| dir.join(name);
    let s = |path: &Path| path.display().to_string();

    // POST with openssl's default 16-byte nonce: no warning; without nonce: fine too.
    let t = ocsp(&f, "cluster1", &leaf, &[]);
    assert_good(&t, &leaf);
    assert!(!t.contains("WARNING: no nonce in response"), "{t}");
    assert_good(&ocsp(&f, "cluster1", &leaf, &["-no_nonce"]), &leaf);

    // POST without nonce through ureq: Cache-Control max-age on the (pre-signed) response.
    let req = make_request(&f, "cluster1", &leaf, &p("plain.req"), &["-no_nonce"]);
    let r = ocsp_post(&f, "cluster1", &req);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/ocsp-response");
    let cc = r.cache_control.clone().expect("Cache-Control");
    let max_age: i64 = cc
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("max-age in {cc:?}"));
    assert!(max_age > 0, "{cc}");
    std::fs::write(p("plain.resp"), &r.body).expect("write");
    assert_good(&ocsp_respin(&f, "cluster1", &leaf, &p("plain.resp")), &leaf);
    assert!(response_nonce_der(&r.body).is_none());
    lint_ocsp(&p("plain.resp"));

    // GET without nonce, URL-encoded: same, with Cache-Control.
    let (_, enc) = get_path_segment(&req);
    let r = http_get(&f, &format!("/ocsp/cluster1/{enc}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/ocsp-response");
    assert!(
        r.cache_control
            .as_deref()
            .is_some_and(|c| c.contains("max-age=")),
        "{:?}",
        r.cache_control
    );
    std::fs::write(p("get-plain.resp"), &r.body).expect("write");
    assert_good(
        &ocsp_respin(&f, "cluster1", &leaf, &p("get-plain.resp")),
        &leaf,
    );

    // GET with an openssl nonce request whose base64 needs `%2F`/`%2B` (and `%3D` padding when
    // the length asks for it): the nonce is echoed.
    let mut escaped = None;
    for _ in 0..100 {
        let req = make_request(&f, "cluster1", &leaf, &p("nonce.req"), &[]);
        let (b64, enc) = get_path_segment(&req);
        if b64.contains('/') && b64.contains('+') {
            escaped = Some((req, b64, enc));
            break;
        }
    }
    let (req, b64, enc) = escaped.expect("a nonce request with both + and / in base64");
    assert!(enc.contains("%2F") && enc.contains("%2B"), "{enc}");
    let r = http_get(&f, &format!("/ocsp/cluster1/{enc}"));
    assert_eq!(r.status, 200, "GET {b64}");
    std::fs::write(p("get-nonce.resp"), &r.body).expect("write");
    assert_nonce_echoed(&ocsp_nonce_check(
        &f,
        "cluster1",
        &p("nonce.req"),
        &p("get-nonce.resp"),
    ));
    assert_good(
        &ocsp_respin(&f, "cluster1", &leaf, &p("get-nonce.resp")),
        &leaf,
    );
    assert_eq!(
        response_nonce_der(&r.body),
        Some(request_nonce_der(&req)),
        "nonce extension byte-identical"
    );
    lint_ocsp(&p("get-nonce.resp"));
    // The same request with `=` percent-encoded, if it is padded: make one that is.
    let mut padded = None;
    for len in [16usize, 17, 18] {
        let req = with_nonce(&req, &random(len));
        if req.len() % 3 != 0 {
            padded = Some(req);
            break;
        }
    }
    let padded = padded.expect("a padded request");
    let (b64, enc) = get_path_segment(&padded);
    assert!(b64.ends_with('=') && enc.ends_with("%3D"), "{enc}");
    std::fs::write(p("padded.req"), &padded).expect("write");
    let r = http_get(&f, &format!("/ocsp/cluster1/{enc}"));
    assert_eq!(r.status, 200);
    std::fs::write(p("padded.resp"), &r.body).expect("write");
    assert_nonce_echoed(&ocsp_nonce_check(
        &f,
        "cluster1",
        &p("padded.req"),
        &p("padded.resp"),
    ));
    assert_good(
        &ocsp_respin(&f, "cluster1", &leaf, &p("padded.resp")),
        &leaf,
    );

    // The same padded request with `/`, `+` and `=` left unescaped (as many clients send it).
    let r = http_get(&f, &format!("/ocsp/cluster1/{b64}"));
    assert_eq!(r.status, 200, "raw GET {b64}");
    std::fs::write(p("raw.resp"), &r.body).expect("write");
    assert_nonce_echoed(&ocsp_nonce_check(
        &f,
        "cluster1",
        &p("padded.req"),
        &p("raw.resp"),
    ));
    assert_good(&ocsp_respin(&f, "cluster1", &leaf, &p("raw.resp")), &leaf);

    // A request whose base64 has no `/`, `+` or `=` at all, sent as is. Our leaf's CertID is
    // fixed (issuer hashes, serial), so its base64 may need escapes whatever the nonce; a
    // CertID for an issuer this service does not run is ours to choose: the answer
    // `unauthorized` (not `malformedRequest`) shows the GET path was decoded and parsed.
    let mut clean = None;
    for i in 0..3000 {
        let mut r = x509_ocsp::OcspRequest::from_der(&req).expect("req");
        r.tbs_request.request_extensions = None;
        let id = &mut r.tbs_request.request_list[0].req_cert;
        id.issuer_name_hash = OctetString::new(random(20)).expect("hash");
        id.issuer_key_hash = OctetString::new(random(20)).expect("hash");
        // Serial lengths 15-17 give every DER length mod 3; base64 of a multiple of 3 has no `=`.
        let mut serial = random(15 + i % 3);
        serial[0] = (serial[0] & 0x7f) | 0x01;
        id.serial_number = x509_cert::serial_number::SerialNumber::new(&serial).expect("serial");
        let der = r.to_der().expect("DER");
        let (b64, enc) = get_path_segment(&der);
        if b64 == enc {
            clean = Some((der, b64));
            break;
        }
    }
    let (clean, b64) = clean.expect("a request with plain base64");
    assert!(!b64.contains(['+', '/', '=']), "{b64}");
    let r = http_get(&f, &format!("/ocsp/cluster1/{b64}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, UNAUTHORIZED, "GET {b64}");
    assert_eq!(ocsp_post(&f, "cluster1", &clean).body, UNAUTHORIZED);

    // C20: 32- and 128-byte nonces echoed byte for byte; 0 and 129 bytes are malformedRequest.
    for len in [32usize, 128] {
        let req = with_nonce(&req, &random(len));
        let file = p(&format!("nonce{len}.req"));
        std::fs::write(&file, &req).expect("write");
        let r = ocsp_post(&f, "cluster1", &req);
        assert_eq!(r.status, 200);
        let resp = p(&format!("nonce{len}.resp"));
        std::fs::write(&resp, &r.body).expect("write");
        assert_eq!(
            response_nonce_der(&r.body),
            Some(request_nonce_der(&req)),
            "{len}-byte nonce echoed"
        );
        assert_nonce_echoed(&ocsp_nonce_check(&f, "cluster1", &file, &resp));
        assert_good(&ocsp_respin(&f, "cluster1", &leaf, &resp), &leaf);
    }
    // Two requests with different nonces get different, matching echoes (signed on demand).
    let (a, b) = (random(32), random(32));
    let ra = ocsp_post(&f, "cluster1", &with_nonce(&req, &a)).body;
    let rb = ocsp_post(&f, "cluster1", &with_nonce(&req, &b)).body;
    assert_eq!(
        response_nonce_der(&ra),
        Some(request_nonce_der(&with_nonce(&req, &a)))
    );
    assert_eq!(
        response_nonce_der(&rb),
        Some(request_nonce_der(&with_nonce(&req, &b)))
    );
    for len in [0usize, 129] {
        let req = with_nonce(&req, &random(len));
        let r = ocsp_post(&f, "cluster1", &req);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, MALFORMED, "{len}-byte nonce → malformedRequest");
        let (_, enc) = get_path_segment(&req);
        let r = http_get(&f, &format!("/ocsp/cluster1/{enc}"));
        assert_eq!(r.body, MALFORMED, "GET {len}-byte nonce → malformedRequest");
    }

    // C18: -sha256 works and the response's CertID is the request's, byte for byte; same with
    // the default SHA-1.
    for (flag, name) in [("-sha256", "sha256"), ("-sha1", "sha1")] {
        let reqf = p(&format!("{name}.req"));
        let respf = p(&format!("{name}.resp"));
        let t = ocsp(
            &f,
            "cluster1",
            &leaf,
            &[
                flag,
                "-resp_text",
                "-reqout",
                &s(&reqf),
                "-respout",
                &s(&respf),
            ],
        );
        assert_good(&t, &leaf);
        assert!(t.contains(&format!("Hash Algorithm: {name}")), "{t}");
        let req =
            x509_ocsp::OcspRequest::from_der(&std::fs::read(&reqf).expect("req")).expect("request");
        let resp = basic(&std::fs::read(&respf).expect("resp"));
        assert_eq!(
            resp.tbs_response_data.responses[0]
                .cert_id
                .to_der()
                .expect("DER"),
            req.tbs_request.request_list[0]
                .req_cert
                .to_der()
                .expect("DER"),
            "{name}: CertID echoed"
        );
    }

    // C19: the delegated responder certificate rides in the response; it verifies against the
    // root, has OCSP Signing and OCSP No Check, is issued by the intermediate, and the
    // ResponderID byKey is SHA-1 of its subjectPublicKey.
    let respf = p("delegated.resp");
    let t = ocsp(
        &f,
        "cluster1",
        &leaf,
        &["-resp_text", "-respout", &s(&respf)],
    );
    assert_good(&t, &leaf);
    assert!(
        t.contains("Certificate:"),
        "responder cert in the response:\n{t}"
    );
    assert!(t.contains("OCSP Signing"), "{t}");
    assert!(t.contains("OCSP No Check"), "{t}");
    let der = std::fs::read(&respf).expect("resp");
    let b = basic(&der);
    let certs = b.certs.clone().expect("certs");
    assert_eq!(certs.len(), 1, "one responder certificate");
    let responder = &certs[0];
    assert_eq!(responder_key_hash(&b), sha1(&spki_bits(responder)), "byKey");
    let responder_pem = p("responder.pem");
    std::fs::write(
        &responder_pem,
        fleetca::pem::encode("CERTIFICATE", &responder.to_der().expect("DER")),
    )
    .expect("write");
    let rc = cert(&responder_pem);
    assert_eq!(
        rc.tbs_certificate.issuer,
        cert(&int).tbs_certificate.subject,
        "issued by the intermediate"
    );
    let nocheck = rc
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == OID_OCSP_NOCHECK)
        .expect("id-pkix-ocsp-nocheck");
    assert!(!nocheck.critical);
    assert_eq!(nocheck.extn_value.as_bytes(), &[0x05, 0x00], "NULL");
    let t = run_ok(
        openssl(&dir)
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&responder_pem),
    );
    assert!(
        t.contains("OCSP Signing") && t.contains("OCSP No Check"),
        "{t}"
    );
    let t = run_ok(
        openssl(&dir)
            .args(["verify", "-CAfile"])
            .arg(f.root_pem())
            .arg("-untrusted")
            .arg(&int)
            .args(["-purpose", "ocsphelper"])
            .arg(&responder_pem),
    );
    assert!(t.contains(": OK"), "{t}");
    let t = run(openssl(&dir)
        .args(["ocsp", "-respin"])
        .arg(&respf)
        .arg("-issuer")
        .arg(&int)
        .arg("-CAfile")
        .arg(f.root_pem()))
    .1;
    assert!(t.contains("Response verify OK"), "{t}");
    let t = run(openssl(&dir)
        .args(["ocsp", "-respin"])
        .arg(&respf)
        .arg("-CAfile")
        .arg(f.root_pem())
        .arg("-verify_other")
        .arg(&int)
        .arg("-resp_text"))
    .1;
    assert!(t.contains("Response verify OK"), "{t}");
    lint_ocsp(&respf);

    // Item 3: garbage → malformedRequest (POST and GET); an issuer this service does not run →
    // unauthorized; an oversized body → 413; an unknown serial of our issuer → unknown.
    let r = ocsp_post(&f, "cluster1", b"this is not an OCSP request");
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/ocsp-response");
    assert_eq!(r.body, MALFORMED);
    let r = ocsp_post(&f, "cluster1", &[]);
    assert_eq!(r.body, MALFORMED, "empty body");
    let r = http_get(&f, "/ocsp/cluster1/not-base64!!");
    assert_eq!(r.body, MALFORMED, "GET garbage");
    let mut trailing = req.clone();
    trailing.push(0);
    assert_eq!(ocsp_post(&f, "cluster1", &trailing).body, MALFORMED);

    run_ok(openssl(&dir).args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "other-ca.key",
        "-subj",
        "/CN=Some Other CA",
        "-days",
        "30",
        "-out",
        "other-ca.pem",
    ]));
    let url = public_url(&f, "/ocsp/cluster1");
    let t = run(openssl(&dir).args([
        "ocsp",
        "-issuer",
        "other-ca.pem",
        "-serial",
        "0x1234567890abcdef",
        "-url",
        &url,
        "-reqout",
        "other.req",
        "-no_nonce",
    ]))
    .1;
    assert!(t.contains("unauthorized (6)"), "{t}");
    let other = std::fs::read(p("other.req")).expect("req");
    assert_eq!(ocsp_post(&f, "cluster1", &other).body, UNAUTHORIZED);
    let (_, enc) = get_path_segment(&other);
    assert_eq!(
        http_get(&f, &format!("/ocsp/cluster1/{enc}")).body,
        UNAUTHORIZED
    );

    let r = ocsp_post(&f, "cluster1", &vec![0x30; 5000]);
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    // A valid request padded past 4 KiB with a big non-critical extension is refused too.
    let mut big = x509_ocsp::OcspRequest::from_der(&req).expect("req");
    big.tbs_request.request_extensions = Some(vec![x509_cert::ext::Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.55555.1"),
        critical: false,
        extn_value: OctetString::new(vec![0u8; 5000]).expect("octets"),
    }]);
    let r = ocsp_post(&f, "cluster1", &big.to_der().expect("DER"));
    assert_eq!(r.status, 413);

    let respf = p("unknown.resp");
    let t = run(openssl(&dir)
        .args(["ocsp", "-issuer"])
        .arg(&int)
        .args(["-serial", "0x7a6b5c4d3e2f1011", "-url", &url, "-CAfile"])
        .arg(f.root_pem())
        .args(["-respout", &s(&respf)]))
    .1;
    assert!(t.contains("Response verify OK"), "{t}");
    assert!(t.contains("0x7a6b5c4d3e2f1011: unknown"), "{t}");
    lint_ocsp(&respf);
}

/// Item 4: the same key in two clusters (one `openssl req` key, two CSRs through lego `--csr`);
/// `fleetca revoke --key` lists both with `--dry-run` and revokes both for real; `--name`
/// revokes every certificate naming a service, in both clusters; `--cluster` revokes every leaf
/// under an intermediate and prints the ceremony request for the intermediate.
#[test]
fn revoke_by_key_name_and_cluster_across_two_clusters() {
    let mut f = Fleet::new();
    f.start();
    let dir = work(&f, "t-fleet");
    // A second workload cluster, imported while the server runs.
    f.add_cluster(
        "cluster2",
        &["cluster2.example.org", "svc.cluster.local", "svc"],
    );
    let eab1 = f.account("payments", &[]);
    let eab2 = f.account_in("cluster2", "payments");

    run_ok(openssl(&dir).args([
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "shared.key",
    ]));
    let key = dir.join("shared.key");
    let name = "api.payments.svc.cluster.local";
    let c1 = issue_for_key(&f, &eab1, "cluster1", &dir, &key, name);
    let c2 = issue_for_key(&f, &eab2, "cluster2", &dir, &key, name);
    assert_eq!(
        spki_bits(&cert(&c1)),
        spki_bits(&cert(&c2)),
        "same key in both"
    );
    assert_eq!(
        cdp_uris(&c2),
        vec![public_url(&f, "/crl/cluster2.crl").into_bytes()]
    );
    let (s1, s2) = (serial_of(&c1), serial_of(&c2));
    // Unrelated certificates that must stay good.
    let other1 = issue(
        &f,
        &eab1,
        "cluster1",
        &dir,
        "web.payments.svc.cluster.local",
    );

    assert_good(&ocsp(&f, "cluster1", &c1, &[]), &c1);
    // The cluster imported live answers OCSP too (bounded wait for it to come up).
    poll("OCSP for the live-imported cluster2", || {
        let t = ocsp(&f, "cluster2", &c2, &[]);
        (t.contains(&format!("{}: good", c2.display())), t)
    });
    assert_good(&ocsp(&f, "cluster2", &c2, &[]), &c2);

    // --dry-run lists both and revokes nothing.
    let key_arg = c1.display().to_string();
    let v = revoke_json(
        &f,
        &["--key", &key_arg, "--reason", "keyCompromise", "--dry-run"],
    );
    assert_eq!(v["dry_run"], true, "{v}");
    let mut listed: Vec<(String, String)> = v["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| {
            (
                c["serial"].as_str().expect("serial").to_string(),
                c["cluster"].as_str().expect("cluster").to_string(),
            )
        })
        .collect();
    listed.sort();
    let mut expected = vec![
        (s1.clone(), "cluster1".to_string()),
        (s2.clone(), "cluster2".to_string()),
    ];
    expected.sort();
    assert_eq!(listed, expected, "{v}");
    assert!(v.get("revoked").is_none(), "dry run revokes nothing: {v}");
    assert_good(&ocsp(&f, "cluster1", &c1, &["-no_nonce"]), &c1);
    assert_good(&ocsp(&f, "cluster2", &c2, &["-no_nonce"]), &c2);

    // For real.
    let v = revoke_json(&f, &["--key", &key_arg, "--reason", "keyCompromise"]);
    let mut revoked = json_serials(&v["revoked"]);
    revoked.sort();
    let mut both = vec![s1.clone(), s2.clone()];
    both.sort();
    assert_eq!(revoked, both, "{v}");
    await_revoked(&f, "cluster1", &c1, Some("keyCompromise"));
    await_revoked(&f, "cluster2", &c2, Some("keyCompromise"));
    assert_good(&ocsp(&f, "cluster1", &other1, &[]), &other1);
    let inv = json(&stdout_ok(&mut f.fleetca(&["inventory", "--json"])));
    for s in [&s1, &s2] {
        let c = inv
            .as_array()
            .expect("inventory")
            .iter()
            .find(|c| c["serial"] == s.as_str())
            .unwrap_or_else(|| panic!("{s} in inventory: {inv}"));
        assert_eq!(c["revoked"]["reason"], 1, "{c}");
    }
    let other_serial = serial_of(&other1);
    assert!(
        inv.as_array()
            .expect("inventory")
            .iter()
            .any(|c| c["serial"] == other_serial.as_str() && c["revoked"].is_null()),
        "{inv}"
    );
    // Both clusters' CRLs list theirs.
    await_crl(&f, "cluster1", &dir, "k1.der", "cluster1 CRL", |c| {
        c.entry(&s1) == Some((Some(1), true))
    });
    await_crl(&f, "cluster2", &dir, "k2.der", "cluster2 CRL", |c| {
        c.entry(&s2) == Some((Some(1), true))
    });
    lint_crl(&dir.join("k2.der"));
    // Again: nothing left to revoke, both reported already revoked.
    let v = revoke_json(&f, &["--key", &key_arg, "--reason", "keyCompromise"]);
    assert!(json_serials(&v["revoked"]).is_empty(), "{v}");
    assert_eq!(json_serials(&v["already_revoked"]).len(), 2, "{v}");

    // --name: every certificate naming the service, in both clusters.
    let db = "db.payments.svc.cluster.local";
    let d1 = issue(&f, &eab1, "cluster1", &dir, db);
    let d2 = issue(&f, &eab2, "cluster2", &dir, db);
    let v = revoke_json(&f, &["--name", db, "--reason", "superseded"]);
    let mut revoked = json_serials(&v["revoked"]);
    revoked.sort();
    let mut both = vec![serial_of(&d1), serial_of(&d2)];
    both.sort();
    assert_eq!(revoked, both, "{v}");
    await_revoked(&f, "cluster1", &d1, Some("superseded"));
    await_revoked(&f, "cluster2", &d2, Some("superseded"));
    assert_good(&ocsp(&f, "cluster1", &other1, &[]), &other1);

    // --cluster: every leaf under cluster2's intermediate, and the ceremony request.
    let w2 = issue(
        &f,
        &eab2,
        "cluster2",
        &dir,
        "web.payments.svc.cluster.local",
    );
    let int2 = fleetca::serial::Serial::from_der_content(
        cert(&intermediate(&f, "cluster2"))
            .tbs_certificate
            .serial_number
            .as_bytes(),
    )
    .to_hex();
    // The command to paste at the ceremony (with the ceremony's own --dir, --operator, --pin-file).
    let prefix = format!("fleetca-ceremony --dir CEREMONY-DIR --operator NAME --pin-file ROOT-PIN-FILE revoke --serial {int2}");
    let v = revoke_json(
        &f,
        &[
            "--cluster",
            "cluster2",
            "--reason",
            "cessationOfOperation",
            "--dry-run",
        ],
    );
    let cmd = v["ceremony_request"]["command"]
        .as_str()
        .unwrap_or_else(|| panic!("ceremony_request.command: {v}"));
    assert!(cmd.starts_with(&prefix), "{cmd} starts with {prefix}");
    assert!(v.get("revoked").is_none(), "{v}");
    assert!(
        v["certificates"]
            .as_array()
            .expect("certificates")
            .iter()
            .all(|c| c["cluster"] == "cluster2"),
        "{v}"
    );
    assert_good(&ocsp(&f, "cluster2", &w2, &[]), &w2);
    let v = revoke_json(
        &f,
        &["--cluster", "cluster2", "--reason", "cessationOfOperation"],
    );
    let cmd = v["ceremony_request"]["command"]
        .as_str()
        .unwrap_or_else(|| panic!("ceremony_request.command: {v}"));
    assert!(cmd.starts_with(&prefix), "{cmd} starts with {prefix}");
    assert!(cmd.contains("--reason cessationOfOperation"), "{cmd}");
    assert!(json_serials(&v["revoked"]).contains(&serial_of(&w2)), "{v}");
    assert!(json_serials(&v["already_revoked"]).contains(&s2), "{v}");
    await_revoked(&f, "cluster2", &w2, Some("cessationOfOperation"));
    assert_good(&ocsp(&f, "cluster1", &other1, &[]), &other1);
    // The request the ceremony runs names a real intermediate serial of this root.
    let shown = f.ceremony(&["show"]);
    assert!(shown.to_lowercase().contains(&int2), "{shown}");
}

/// Item 5: `fleetca revoke` returns, the server is SIGKILLed at once and restarted: OCSP says
/// revoked and the CRL lists it.
#[test]
fn revocation_survives_sigkill_right_after_it_is_acknowledged() {
    let mut f = Fleet::new();
    f.start();
    let dir = work(&f, "t-crash");
    let eab = f.account("payments", &[]);
    let leaf = issue(&f, &eab, "cluster1", &dir, "api.payments.svc.cluster.local");
    publish_root_crl(&f);
    // A cached `good` exists before the revocation.
    assert_good(&ocsp(&f, "cluster1", &leaf, &["-no_nonce"]), &leaf);
    let serial = serial_of(&leaf);
    run_ok(&mut f.fleetca(&["revoke", "--serial", &serial, "--reason", "keyCompromise"]));
    f.kill();
    f.start();
    await_revoked(&f, "cluster1", &leaf, Some("keyCompromise"));
    let crl = await_crl(
        &f,
        "cluster1",
        &dir,
        "after.der",
        "CRL after restart",
        |c| c.entry(&serial).is_some(),
    );
    assert_eq!(crl.entry(&serial), Some((Some(1), true)));
    assert_verify_revoked(&f, "cluster1", &leaf, &dir);
    let inv = json(&stdout_ok(&mut f.fleetca(&["inventory", "--json"])));
    assert!(
        inv.as_array()
            .expect("inventory")
            .iter()
            .any(|c| c["serial"] == serial.as_str() && c["revoked"]["reason"] == 1),
        "{inv}"
    );
}

/// C16: ACME revokeCert (lego `revoke --reason 4`, signed with the account's kid) → OCSP
/// revoked/superseded, the next CRL (higher number) lists reasonCode 4; again → alreadyRevoked;
/// reasons 7 and 8 → badRevocationReason.
#[test]
fn acme_revoke_cert_reason_superseded_reaches_ocsp_and_crl() {
    let mut f = Fleet::new();
    f.start();
    let dir = work(&f, "t-acme");
    let eab = f.account("payments", &[]);
    let name = "app.cluster1.example.org";
    let leaf = issue(&f, &eab, "cluster1", &dir, name);
    let serial = serial_of(&leaf);
    assert_good(&ocsp(&f, "cluster1", &leaf, &[]), &leaf);
    let before = fetch_crl(&f, "cluster1", &dir, "before.der");
    assert!(before.entry(&serial).is_none());

    let path = lego_path(&dir, "cluster1");
    let revoke = |reason: &str| {
        let mut c = lego(&f, &eab, "cluster1", &path);
        c.args(["--domains", name, "revoke", "--keep", "--reason", reason]);
        run(&mut c)
    };
    let (okay, t) = revoke("4");
    assert!(okay, "lego revoke --reason 4:\n{t}");
    let t = await_revoked(&f, "cluster1", &leaf, Some("superseded"));
    assert!(t.contains("Revocation Time:"), "{t}");
    // revocationTime is GeneralizedTime close to now.
    let resp = dir.join("acme-revoked.resp");
    ocsp(
        &f,
        "cluster1",
        &leaf,
        &["-no_nonce", "-respout", &resp.display().to_string()],
    );
    let b = basic(&std::fs::read(&resp).expect("resp"));
    match &b.tbs_response_data.responses[0].cert_status {
        x509_ocsp::CertStatus::Revoked(info) => {
            let t = info.revocation_time.0.to_unix_duration().as_secs() as i64;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs() as i64;
            assert!((now - t).abs() < 600, "revocationTime {t} ≈ now {now}");
        }
        other => panic!("revoked expected, got {other:?}"),
    }
    lint_ocsp(&resp);

    let after = await_crl(&f, "cluster1", &dir, "after.der", "CRL lists it", |c| {
        c.entry(&serial).is_some()
    });
    assert_eq!(after.entry(&serial), Some((Some(4), true)), "reasonCode 4");
    assert!(after.number() > before.number(), "CRL number increases");
    let t = crl_text(&f, &dir.join("after.der"));
    assert!(t.contains("Superseded"), "{t}");
    lint_crl(&dir.join("after.der"));

    let (okay, t) = revoke("4");
    assert!(!okay, "second revocation must fail:\n{t}");
    assert!(t.contains("alreadyRevoked"), "{t}");
    for reason in ["7", "8"] {
        let (okay, t) = revoke(reason);
        assert!(!okay, "reason {reason} must fail:\n{t}");
        assert!(t.contains("badRevocationReason"), "reason {reason}:\n{t}");
    }
}

/// C23 and C19 without delegation: a fresh cluster's CRL has no revokedCertificates and
/// parses; after one revocation with reason unspecified, the entry has no crlEntryExtensions;
/// with `ocsp_signer = "intermediate"` the intermediate signs, byKey is its key hash and the
/// response verifies.
#[test]
fn empty_crl_unspecified_entry_and_intermediate_signed_ocsp() {
    let mut f = Fleet::with_extra_config("\n[revocation]\nocsp_signer = \"intermediate\"\n");
    f.start();
    let dir = work(&f, "t-crl");
    let int = intermediate(&f, "cluster1");

    let fresh = fetch_crl(&f, "cluster1", &dir, "fresh.der");
    assert!(
        fresh.parsed.tbs_cert_list.revoked_certificates.is_none(),
        "no revokedCertificates element in an empty CRL"
    );
    assert_eq!(
        fresh.parsed.tbs_cert_list.version,
        x509_cert::Version::V2,
        "v2"
    );
    let t = crl_text(&f, &dir.join("fresh.der"));
    assert!(t.contains("No Revoked Certificates."), "{t}");
    lint_crl(&dir.join("fresh.der"));

    let eab = f.account("payments", &[]);
    let leaf = issue(&f, &eab, "cluster1", &dir, "api.payments.svc.cluster.local");
    let serial = serial_of(&leaf);
    let resp = dir.join("good.resp");
    let t = ocsp(
        &f,
        "cluster1",
        &leaf,
        &["-respout", &resp.display().to_string()],
    );
    assert_good(&t, &leaf);
    let b = basic(&std::fs::read(&resp).expect("resp"));
    assert!(
        b.certs.as_ref().is_none_or(|c| c.is_empty()),
        "no certs when the issuer signs"
    );
    assert_eq!(
        responder_key_hash(&b),
        sha1(&spki_bits(&cert(&int))),
        "byKey = hash of the intermediate's key"
    );
    let t = run(openssl(&dir)
        .args(["ocsp", "-respin"])
        .arg(&resp)
        .arg("-issuer")
        .arg(&int)
        .arg("-CAfile")
        .arg(f.root_pem()))
    .1;
    assert!(t.contains("Response verify OK"), "{t}");
    lint_ocsp(&resp);

    let out = run_ok(&mut f.fleetca(&["revoke", "--serial", &serial]));
    assert!(out.contains(&serial), "{out}");
    await_revoked(&f, "cluster1", &leaf, None);
    let crl = await_crl(&f, "cluster1", &dir, "one.der", "CRL lists it", |c| {
        c.entry(&serial).is_some()
    });
    assert_eq!(crl.entries().len(), 1, "one entry");
    assert_eq!(
        crl.entry(&serial),
        Some((None, false)),
        "unspecified: no reasonCode and no empty crlEntryExtensions"
    );
    assert!(crl.number() > fresh.number());
    let t = crl_text(&f, &dir.join("one.der"));
    assert!(!t.contains("CRL entry extensions"), "{t}");
    assert!(t.contains(&serial.to_uppercase()), "{t}");
    lint_crl(&dir.join("one.der"));
    let resp = dir.join("revoked.resp");
    ocsp(
        &f,
        "cluster1",
        &leaf,
        &["-no_nonce", "-respout", &resp.display().to_string()],
    );
    lint_ocsp(&resp);
}
