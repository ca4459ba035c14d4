//! CRL generation benchmark for issue 4: encode and sign a CRL with 1,000,000 revoked entries
//! and print entries per second and bytes per entry.
//!
//! Plain `std::time`, no criterion, and no `[[bench]]` entry needed: run it as an ignored test
//! of this bench target, in release mode:
//!
//! ```text
//! cargo test --release -p fleetca --bench crl -- --ignored --nocapture
//! ```
//!
//! `FLEETCA_BENCH_ENTRIES` changes the entry count; `FLEETCA_BENCH_OUT=DIR` writes `crl.der`
//! and `issuer.pem` there, for checking with `openssl crl -inform DER -CAfile issuer.pem`.
use std::time::Instant;

use fleetca::crl::{encode_tbs, sign_crl, CrlIssuer, CrlParams, RevokedCert};
use fleetca::profile::RootProfile;
use fleetca::serial::Serial;
use fleetca_hsm::{KeyType, RcgenSigner, Signer, SoftwareKey};
use time::{Duration, OffsetDateTime};

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn crl_one_million_entries() {
    let entries: usize = std::env::var("FLEETCA_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let now = OffsetDateTime::now_utc();
    let key = SoftwareKey::generate(KeyType::EcP256).expect("key");
    let signer = RcgenSigner::new(&key).expect("rcgen");
    let cert = RootProfile {
        common_name: "fleetca bench CA".into(),
        organization: Some("Example Org".into()),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(365),
        serial: Serial::random().expect("serial"),
    }
    .params(&key.public_key().spki_der)
    .expect("params")
    .self_signed(&signer)
    .expect("cert");
    let issuer = CrlIssuer::from_certificate_der(cert.der()).expect("issuer");

    // fleetca's own serials (16 random octets); one entry in ten with keyCompromise, the rest
    // unspecified; revocation times spread over the last 90 days.
    let revoked: Vec<RevokedCert> = (0..entries)
        .map(|i| RevokedCert {
            serial: Serial::random().expect("serial"),
            revocation_date: now - Duration::seconds((i % 7_776_000) as i64),
            reason: (i % 10 == 0).then_some(1),
        })
        .collect();
    let params = CrlParams {
        issuer: &issuer,
        key_type: key.key_type(),
        this_update: now,
        next_update: now + Duration::days(7),
        crl_number: 1,
        issuing_distribution_point: Some("http://crl.example.org/bench.crl"),
        revoked: &revoked,
    };

    let start = Instant::now();
    let tbs = encode_tbs(&params).expect("encode");
    let encoded = start.elapsed();
    let crl = sign_crl(&tbs, &key).expect("sign");
    let total = start.elapsed();

    let empty = encode_tbs(&CrlParams {
        revoked: &[],
        ..params
    })
    .expect("empty");
    let per_entry = (tbs.len() - empty.len()) as f64 / entries as f64;
    let secs = total.as_secs_f64();
    println!(
        "crl: {entries} entries, {} bytes ({per_entry:.2} bytes/entry); encode {:.3} s, \
         encode+sign {secs:.3} s = {:.0} entries/s ({:.3} s per 100,000)",
        crl.len(),
        encoded.as_secs_f64(),
        entries as f64 / secs,
        secs * 100_000.0 / entries as f64,
    );
    if let Ok(dir) = std::env::var("FLEETCA_BENCH_OUT") {
        let dir = std::path::Path::new(&dir);
        std::fs::write(dir.join("crl.der"), &crl).expect("write crl");
        std::fs::write(
            dir.join("issuer.pem"),
            fleetca::pem::encode("CERTIFICATE", cert.der()),
        )
        .expect("write issuer");
    }
}
