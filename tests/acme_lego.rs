//! lego (Debian) against fleetca: EAB registration, a namespace-scoped certificate with no
//! challenge, an http-01 certificate, refusals, and persistence across a restart.
mod common;

use std::process::Command;

use common::fleet::*;
use common::*;

fn lego(f: &Fleet, eab: &Eab, path: &str, domains: &[&str]) -> Command {
    require("lego", "apt-get install lego");
    let mut c = Command::new("lego");
    c.current_dir(f.dir())
        .env("LEGO_CA_CERTIFICATES", f.root_pem())
        .args([
            "--server",
            &f.directory("cluster1"),
            "--accept-tos",
            "--email",
            "ops@example.org",
            "--path",
            path,
        ])
        .args(["--eab", "--kid", &eab.kid, "--hmac", &eab.hmac]);
    for d in domains {
        c.args(["--domains", d]);
    }
    c.args([
        "--http",
        "--http.port",
        &format!("127.0.0.1:{}", f.http01_port),
        "run",
    ]);
    c
}

#[test]
fn lego_issues_verified_certificates_and_refusals_name_the_fix() {
    let mut f = Fleet::new();
    f.start();
    let eab = f.account("payments", &[]);
    // A suffix the intermediate's name constraints forbid is refused when the key is minted.
    let out = fails(&mut f.fleetca(&[
        "account",
        "new",
        "--cluster",
        "cluster1",
        "--namespace",
        "payments",
        "--suffix",
        "example.com",
    ]));
    assert!(
        out.contains("outside cluster cluster1's name constraints"),
        "{out}"
    );

    // In-scope name: authorised by the binding (no challenge), chain verifies, pkilint clean.
    let out = ok(&mut lego(
        &f,
        &eab,
        "lego",
        &["api.payments.svc.cluster.local"],
    ));
    assert!(out.contains("authorization already valid"), "{out}");
    let crt = f
        .dir()
        .join("lego/certificates/api.payments.svc.cluster.local.crt");
    let out = ok(openssl(&f.dir())
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(f.root_pem())
        .arg("-untrusted")
        .arg(&crt)
        .arg(&crt));
    assert!(out.contains(": OK"), "{out}");
    let leaf = f.dir().join("leaf.pem");
    ok(openssl(&f.dir())
        .args(["x509", "-in"])
        .arg(&crt)
        .arg("-out")
        .arg(&leaf));
    pkilint_clean("lint_pkix_cert", &[], &leaf);
    let t = ok(openssl(&f.dir())
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&leaf));
    assert!(
        t.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{t}"
    );
    assert!(t.contains("CA:FALSE"), "{t}");
    // FIELD-CASES C32, second half: lego's CSR has a CN, which is kept (it is a SAN), and the
    // SAN is then not critical.
    assert!(
        t.contains("Subject: CN = api.payments.svc.cluster.local"),
        "{t}"
    );
    assert!(t.contains("X509v3 Subject Alternative Name: \n"), "{t}");
    assert!(
        t.contains(&format!(
            "URI:http://127.0.0.1:{}/crl/cluster1.crl",
            f.public_port
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "OCSP - URI:http://127.0.0.1:{}/ocsp/cluster1",
            f.public_port
        )),
        "{t}"
    );

    // A name outside the namespace scope that needs a real http-01 challenge, served by lego.
    let out = ok(&mut lego(&f, &eab, "lego", &["app.cluster1.example.org"]));
    assert!(out.contains("The server validated our request"), "{out}");

    // Refusals: loopback, unqualified, another namespace: rejectedIdentifier with a hint.
    for (name, hint) in [
        ("localhost", "SVC.payments.svc.cluster.local"),
        ("127.0.0.1", "request the service's name instead"),
        ("api", "api.payments.svc.cluster.local"),
        (
            "api.billing.svc.cluster.local",
            "bound to namespace payments",
        ),
    ] {
        let out = fails_any(&mut lego(&f, &eab, "lego", &[name]));
        assert!(
            out.contains("urn:ietf:params:acme:error:rejectedIdentifier"),
            "{name}: {out}"
        );
        assert!(out.contains(hint), "{name}: {out}");
    }

    // Restart (SIGKILL): the account and certificates are still there; lego renews with the
    // same account (its first request after the restart may get one badNonce and retries).
    f.kill();
    f.start();
    let out = ok(&mut lego(
        &f,
        &eab,
        "lego",
        &["api.payments.svc.cluster.local"],
    ));
    assert!(
        !out.contains("Registering account"),
        "the account is found again: {out}"
    );
    let inv = ok(&mut f.fleetca(&["inventory", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&inv).expect("json");
    let names: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["names"].to_string())
        .collect();
    assert!(
        names
            .iter()
            .filter(|n| n.contains("api.payments.svc.cluster.local"))
            .count()
            >= 2,
        "{inv}"
    );
    assert!(
        names.iter().any(|n| n.contains("app.cluster1.example.org")),
        "{inv}"
    );
    assert!(
        v.as_array()
            .expect("array")
            .iter()
            .any(|c| c["development_only"] == true),
        "the serving certificate is marked: {inv}"
    );

    // SIGTERM: a clean exit that removes the admin socket.
    let status = f.terminate();
    assert!(
        status.success(),
        "fleetca serve exits 0 on SIGTERM: {status:?}\n{}",
        f.log()
    );
    assert!(
        !f.dir().join("data/admin.sock").exists(),
        "the admin socket is removed"
    );
}

/// Runs a command that must fail (any non-zero exit), returning its output.
fn fails_any(cmd: &mut Command) -> String {
    let o = cmd.output().expect("run");
    let t = text(&o);
    assert!(!o.status.success(), "{cmd:?} should have failed:\n{t}");
    t
}
