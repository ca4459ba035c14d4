//! RFC 8555 protocol behaviour of `fleetca serve`, driven by the hand-built JWS client in
//! `common::acme_client`: the ACME field cases of ../shared/cases/FIELD-CASES.md (C01–C16),
//! restart persistence, keyChange, deactivation and the request-level refusals of issue 3.
//! Every problem is checked for its status, `application/problem+json`, the exact `type` URN,
//! a detail and a fresh Replay-Nonce (`Resp::problem`).
mod common;

use serde_json::{json, Value};

use common::acme_client::*;
use common::fleet::*;
use common::*;

/// A namespace-scoped name: authorised by the EAB binding, no challenge needed.
const IN_SCOPE: &str = "api.payments.svc.cluster.local";
/// A name that needs http-01 (resolved to 127.0.0.1 by the fleet's config).
const APP: &str = "app.cluster1.example.org";

fn started() -> Fleet {
    let mut f = Fleet::new();
    f.start();
    f
}

/// An account with a fresh key of `alg` on namespace `payments`.
fn account(f: &Fleet, alg: Alg) -> Client {
    Client::registered(f, alg, &f.account("payments", &[]))
}

/// Issues a certificate for `names` (authorised by binding) with `key`; returns
/// (certificate URL, leaf DER).
fn issue(c: &mut Client, names: &[&str], key: &rcgen::KeyPair) -> (String, Vec<u8>) {
    let (url, o) = c.order_dns(names);
    assert_eq!(o["status"], "ready", "{o}");
    let pem = c.finalize_and_download(&url, &o, &csr(key, None, names, &[]));
    let o = c.fetch(&url);
    let cert = o["certificate"].as_str().expect("certificate").to_string();
    (cert, pem_chain(&pem).remove(0))
}

/// The inventory entry for a serial (from `fleetca inventory --json`, over the admin socket).
fn inventory_entry(f: &Fleet, leaf_der: &[u8]) -> Value {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf_der).expect("leaf");
    let serial = cert.tbs_certificate.raw_serial_as_string().replace(':', "");
    let out = ok(&mut f.fleetca(&["inventory", "--json"]));
    let v: Value = serde_json::from_str(&out).expect("inventory JSON");
    v.as_array()
        .expect("array")
        .iter()
        .find(|e| {
            e["serial"].as_str().is_some_and(|s| {
                s.trim_start_matches('0')
                    .eq_ignore_ascii_case(serial.trim_start_matches('0'))
            })
        })
        .unwrap_or_else(|| panic!("serial {serial} not in inventory: {out}"))
        .clone()
}

// ---------------------------------------------------------------------------------------------

/// C01: newNonce answers HEAD (200) and GET (204) with a nonce, `Cache-Control: no-store` and
/// the index link; an unknown nonce is `badNonce` with a fresh nonce that works for the retry;
/// replayed and missing nonces are `badNonce` too.
#[test]
fn c01_bad_nonce_carries_a_fresh_nonce_and_new_nonce_answers_head_and_get() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    let index = format!("<{}>;rel=\"index\"", f.directory("cluster1"));
    let nn = c.url("newNonce");
    for (r, status) in [(c.head(&nn), 200), (c.get(&nn), 204)] {
        assert_eq!(r.status, status, "{r}");
        assert_nonce(&r);
        assert_eq!(r.header("cache-control"), Some("no-store"), "{r}");
        assert!(r.headers_all("link").contains(&index.as_str()), "{r}");
    }

    let url = c.url("newOrder");
    let payload = json!({"identifiers": [{"type": "dns", "value": IN_SCOPE}]});
    let mut h = c.protected(&url);
    h["nonce"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let r = c.post_signed(&url, &h, Some(&payload));
    r.problem(400, "badNonce");

    // The same payload re-signed with the nonce from the error: 201 with a fresh nonce.
    h["nonce"] = json!(r.nonce().expect("nonce"));
    let r = c.post_signed(&url, &h, Some(&payload));
    r.expect(201);
    assert_ne!(r.nonce(), h["nonce"].as_str(), "a new nonce each response");

    // Replaying a spent nonce: badNonce.
    c.post_signed(&url, &h, Some(&payload))
        .problem(400, "badNonce");
    // No nonce at all: badNonce.
    let mut h = c.protected(&url);
    h.as_object_mut().expect("object").remove("nonce");
    c.post_signed(&url, &h, Some(&payload))
        .problem(400, "badNonce");
    // A nonce issued for a HEAD works once.
    let mut h = c.protected(&url);
    h["nonce"] = json!(c.fresh_nonce());
    c.post_signed(&url, &h, Some(&payload)).expect(201);
}

/// C04: a slow signer gives `processing` with an integer Retry-After until the order is
/// `valid`; a failing signer turns the order `invalid` with an error, never `processing`
/// forever.
#[test]
fn c04_processing_orders_have_retry_after_and_reach_a_final_state() {
    let mut f = Fleet::new();
    f.start_with_env(&[("FLEETCA_TEST_SIGNING_DELAY_MS", "5000")]);
    let eab = f.account("payments", &[]);
    let mut c = Client::registered(&f, Alg::Es256, &eab);

    let (url, o) = c.order_dns(&[IN_SCOPE]);
    let r = c.finalize(&o, &csr(&csr_key(), None, &[IN_SCOPE], &[]));
    let fin = r.expect(200);
    match fin["status"].as_str() {
        Some("processing") => {
            let s = r.retry_after().expect("Retry-After on a processing order");
            assert!((1..=5).contains(&s), "{r}");
        }
        Some("valid") => {}
        other => panic!("finalize answers processing or valid, not {other:?}: {r}"),
    }
    let r = c.poll_order(&url);
    let o = r.json();
    assert_eq!(o["status"], "valid", "{r}");
    assert!(o["certificate"].is_string(), "{r}");
    assert!(r.header("retry-after").is_none(), "{r}");

    // The signer fails (slowly, so the order is seen processing first): invalid with an error.
    f.kill();
    f.start_with_env(&[
        ("FLEETCA_TEST_SIGNING_DELAY_MS", "4000"),
        ("FLEETCA_TEST_SIGNING_FAIL", "1"),
    ]);
    c.agent = raw_agent(&f);
    c.nonce = None;
    let (url, o) = c.order_dns(&[IN_SCOPE]);
    let r = c.finalize(&o, &csr(&csr_key(), None, &[IN_SCOPE], &[]));
    let fin = r.expect(200);
    assert!(
        fin["status"] == "processing" || fin["status"] == "invalid",
        "{r}"
    );
    if fin["status"] == "processing" {
        assert!(r.retry_after().is_some(), "{r}");
    }
    let r = c.poll_order(&url);
    let o = r.json();
    assert_eq!(o["status"], "invalid", "{r}");
    assert!(
        o["error"]["type"]
            .as_str()
            .is_some_and(|t| t.starts_with(URN)),
        "an invalid order carries an error problem: {r}"
    );
    assert!(o["error"]["detail"].is_string(), "{r}");
    assert!(o.get("certificate").is_none(), "{r}");
}

/// C05: an order turns `ready` in the same poll in which its last authorization is `valid`;
/// the same account reuses the valid authorization (original `validated` and `expires`); a
/// repeated challenge POST is idempotent; another account gets a fresh pending authorization.
#[test]
fn c05_order_and_authz_transitions_and_reuse() {
    let f = started();
    let http = Http01::start(f.http01_port);
    let mut c = account(&f, Alg::Es256);

    // (a)
    let (url, o) = c.order_dns(&[APP]);
    assert_eq!(o["status"], "pending", "{o}");
    let az_url = o["authorizations"][0].as_str().expect("authz").to_string();
    let az = c.fetch(&az_url);
    assert_eq!(az["status"], "pending", "{az}");
    assert_eq!(az["identifier"], json!({"type": "dns", "value": APP}));
    let ch = az["challenges"]
        .as_array()
        .expect("challenges")
        .iter()
        .find(|c| c["type"] == "http-01")
        .expect("http-01")
        .clone();
    let token = ch["token"].as_str().expect("token");
    http.serve(token, &c.key.key_authorization(token));
    let ch_url = ch["url"].as_str().expect("url").to_string();
    let r = c.post(&ch_url, Some(&json!({})));
    let started = r.expect(200);
    assert!(
        r.headers_all("link")
            .iter()
            .any(|l| l.contains(&format!("<{az_url}>;rel=\"up\""))),
        "{r}"
    );
    assert!(
        ["pending", "processing", "valid"].contains(&started["status"].as_str().unwrap_or("")),
        "{r}"
    );
    let az = c.poll_authz(&az_url);
    assert_eq!(az["status"], "valid", "{az}");
    let o = c.fetch(&url);
    assert_eq!(o["status"], "ready", "ready in the same poll: {o}");
    let validated_ch = az["challenges"]
        .as_array()
        .expect("challenges")
        .iter()
        .find(|c| c["type"] == "http-01")
        .expect("http-01")
        .clone();
    assert_eq!(validated_ch["status"], "valid");
    assert!(validated_ch["validated"].is_string(), "{az}");

    // (c) POST {} again to the valid challenge: 200 with the unchanged challenge (decision:
    // idempotent).
    let again = c.post(&ch_url, Some(&json!({}))).expect(200);
    assert_eq!(again, validated_ch);

    // (b) a second order of the same account reuses the authorization: ready at creation,
    // validated and expires unchanged (reuse never extends the proof).
    let (url2, o2) = c.order_dns(&[APP]);
    assert_eq!(o2["status"], "ready", "{o2}");
    let az2 = c.fetch(o2["authorizations"][0].as_str().expect("authz"));
    assert_eq!(az2["status"], "valid", "{az2}");
    assert_eq!(az2["expires"], az["expires"], "{az2}");
    let ch2 = az2["challenges"]
        .as_array()
        .expect("challenges")
        .iter()
        .find(|c| c["status"] == "valid")
        .unwrap_or_else(|| panic!("the validated challenge is listed: {az2}"));
    assert_eq!(ch2["validated"], validated_ch["validated"], "{az2}");
    // ...and issues without a new challenge.
    let pem = c.finalize_and_download(&url2, &o2, &csr(&csr_key(), None, &[APP], &[]));
    assert_eq!(pem_chain(&pem).len(), 2);

    // (d) another account: a fresh pending authorization, not the first account's.
    let mut d = account(&f, Alg::Es256);
    let (_, o3) = d.order_dns(&[APP]);
    assert_eq!(o3["status"], "pending", "{o3}");
    assert_ne!(o3["authorizations"][0], o["authorizations"][0]);
    let az3 = d.fetch(o3["authorizations"][0].as_str().expect("authz"));
    assert_eq!(az3["status"], "pending", "{az3}");
    // ...and the first account's authorization is not readable by it.
    d.post(&az_url, None).problem(403, "unauthorized");
}

/// C06: EAB re-registration returns the existing account; a bound EAB key cannot bind a
/// second key; errors name what is wrong; the HMAC key works padded and unpadded and the MAC
/// is over the exact ASCII of `protected.payload`.
#[test]
fn c06_eab_reregistration_and_precise_errors() {
    let f = started();
    let d = Client::new(&f, Alg::Es256);
    assert_eq!(d.dir["meta"]["externalAccountRequired"], true, "{}", d.dir);

    let eab = f.account("payments", &[]);
    // (7) the CLI shows the key as unpadded base64url.
    assert!(
        !eab.hmac.contains('=')
            && eab
                .hmac
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{eab:?}"
    );

    // (1)
    let mut a = Client::new(&f, Alg::Es256);
    let r = a.register(&eab);
    let acct = r.expect(201);
    assert_eq!(acct["status"], "valid", "{r}");
    let location = r.location().to_string();
    // (2) exactly the same again: 200 with the existing account.
    a.kid = None;
    let r = a.register(&eab);
    r.expect(200);
    assert_eq!(r.location(), location);
    // (3) onlyReturnExisting without EAB: 200 with the existing account.
    a.kid = None;
    let url = a.url("newAccount");
    let r = a.post(&url, Some(&json!({"onlyReturnExisting": true})));
    r.expect(200);
    assert_eq!(r.location(), location);

    // (4) another key with K1, which is bound to A (decision: 403 unauthorized).
    let mut b = Client::new(&f, Alg::Es256);
    let p = b.register(&eab).problem(403, "unauthorized");
    assert!(
        p["detail"].as_str().unwrap_or("").contains("already bound"),
        "{p}"
    );

    // (5) no EAB: externalAccountRequired.
    let mut c = Client::new(&f, Alg::Es256);
    let url = c.url("newAccount");
    c.post(&url, Some(&json!({"termsOfServiceAgreed": true})))
        .problem(400, "externalAccountRequired");

    // (6) EAB payload is another key; EAB url is another URL: malformed naming the member.
    let eab2 = f.account("payments", &[]);
    let other = AccountKey::generate(Alg::Es256);
    let mut payload = c.new_account_payload(&eab2.kid, &eab2.hmac);
    payload["externalAccountBinding"] = eab_jws(&eab2.kid, &eab2.hmac, &other.jwk(), &url);
    let p = c.post(&url, Some(&payload)).problem(400, "malformed");
    assert!(
        p["detail"].as_str().unwrap_or("").contains("payload"),
        "{p}"
    );
    payload["externalAccountBinding"] =
        eab_jws(&eab2.kid, &eab2.hmac, &c.key.jwk(), &c.url("newOrder"));
    let p = c.post(&url, Some(&payload)).problem(400, "malformed");
    assert!(p["detail"].as_str().unwrap_or("").contains("url"), "{p}");
    // A wrong MAC and an unknown key id: unauthorized.
    let wrong = b64([7u8; 32]);
    c.register_with_hmac(&eab2.kid, &wrong)
        .problem(403, "unauthorized");
    c.register_with_hmac("no-such-eab-kid", &eab2.hmac)
        .problem(403, "unauthorized");

    // (7) the padded form of the same key works (K2 is still unbound after the failures).
    let padded = repad(&eab2.hmac);
    assert!(padded.ends_with('='), "{padded}");
    c.register_with_hmac(&eab2.kid, &padded).expect(201);

    // (7) the MAC covers the exact ASCII sent: an unusual but valid JSON spelling verifies.
    let eab3 = f.account("payments", &[]);
    let mut e = Client::new(&f, Alg::Es256);
    let url = e.url("newAccount");
    let protected = format!(
        "{{ \"url\" : \"{url}\",\n  \"kid\":\"{}\", \"alg\":\"HS256\" }}",
        eab3.kid
    );
    let jwk_text = serde_json::to_string_pretty(&e.key.jwk()).expect("jwk");
    let binding = eab_jws_b64(&eab3.hmac, &b64(protected), &b64(jwk_text));
    e.post(&url, Some(&json!({"externalAccountBinding": binding})))
        .expect(201);
}

/// C07: protected-header rules, Content-Type, and signature/kid failures.
#[test]
fn c07_protected_header_rules() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    let kid = c.kid.clone().expect("kid");
    let url = c.url("newOrder");
    let payload = json!({"identifiers": [{"type": "dns", "value": IN_SCOPE}]});

    // Both jwk and kid.
    let mut h = c.protected(&url);
    h["jwk"] = c.key.jwk();
    c.post_signed(&url, &h, Some(&payload))
        .problem(400, "malformed");

    // kid = the bare account id: never accepted (decision: accountDoesNotExist, 400).
    let mut h = c.protected(&url);
    h["kid"] = json!(kid.rsplit('/').next().expect("id"));
    c.post_signed(&url, &h, Some(&payload))
        .problem(400, "accountDoesNotExist");
    // kid = an account URL that does not exist.
    let mut h = c.protected(&url);
    h["kid"] = json!(format!(
        "{}/AAAAAAAAAAAAAAAAAAAAAA",
        kid.rsplit_once('/').expect("/").0
    ));
    c.post_signed(&url, &h, Some(&payload))
        .problem(400, "accountDoesNotExist");

    // No url.
    let mut h = c.protected(&url);
    h.as_object_mut().expect("object").remove("url");
    c.post_signed(&url, &h, Some(&payload))
        .problem(400, "malformed");
    // url of another endpoint (decision: 403 unauthorized, RFC 8555 §6.4).
    let mut h = c.protected(&url);
    h["url"] = json!(c.url("newAccount"));
    c.post_signed(&url, &h, Some(&payload))
        .problem(403, "unauthorized");

    // newAccount signed with kid; newOrder signed with jwk: malformed.
    let na = c.url("newAccount");
    let h = c.protected(&na);
    assert!(h.get("kid").is_some());
    c.post_signed(&na, &h, Some(&json!({"onlyReturnExisting": true})))
        .problem(400, "malformed");
    let mut h = c.protected(&url);
    h.as_object_mut().expect("object").remove("kid");
    h["jwk"] = c.key.jwk();
    c.post_signed(&url, &h, Some(&payload))
        .problem(400, "malformed");

    // An unprotected `header` member.
    let h = c.protected(&url);
    let mut j = jws(&c.key, &h, payload.to_string().as_bytes());
    j["header"] = json!({"kid": kid});
    c.post_jws(&url, &j).problem(400, "malformed");

    // A tampered payload: the signature no longer verifies.
    let h = c.protected(&url);
    let mut j = jws(&c.key, &h, payload.to_string().as_bytes());
    let evil = json!({"identifiers": [{"type": "dns", "value": "api.billing.svc.cluster.local"}]});
    j["payload"] = json!(b64(evil.to_string()));
    c.post_jws(&url, &j).problem(400, "malformed");

    // Content-Type application/json (and none): 415 with a problem document.
    let h = c.protected(&url);
    let j = jws(&c.key, &h, payload.to_string().as_bytes());
    let body = j.to_string();
    c.post_raw(&url, Some("application/json"), &[], body.as_bytes())
        .problem(415, "malformed");
    c.post_raw(&url, None, &[], body.as_bytes())
        .problem(415, "malformed");

    // After all that, a correct request still works.
    c.post(&url, Some(&payload)).expect(201);
}

/// C09: CN-only CSRs, CN case, CN/SAN mismatch, duplicate identifiers.
#[test]
fn c09_csr_and_order_identifiers() {
    let f = started();
    // Suffix granted, so cluster1.example.org names are authorised by the binding.
    let eab = f.account("payments", &["cluster1.example.org"]);
    let mut c = Client::registered(&f, Alg::Es256, &eab);

    // (a) CN only, no extensionRequest; (b) the CN in mixed case.
    for cn in [APP, "App.Cluster1.Example.ORG"] {
        let (url, o) = c.order_dns(&[APP]);
        assert_eq!(o["status"], "ready", "{o}");
        let pem = c.finalize_and_download(&url, &o, &csr(&csr_key(), Some(cn), &[], &[]));
        let leaf = pem_chain(&pem).remove(0);
        let (dns, ips) = sans(&leaf);
        assert_eq!(dns, vec![APP.to_string()], "{cn}");
        assert!(ips.is_empty());
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf).expect("leaf");
        for cn in cert.subject().iter_common_name() {
            assert_eq!(cn.as_str().expect("CN"), APP, "a kept CN equals a SAN");
        }
    }

    // (c) SAN app…, CN other…: badCSR.
    let (_, o) = c.order_dns(&[APP]);
    let p = c
        .finalize(
            &o,
            &csr(&csr_key(), Some("other.cluster1.example.org"), &[APP], &[]),
        )
        .problem(400, "badCSR");
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or("")
            .contains("other.cluster1.example.org"),
        "{p}"
    );

    // (d) decision: duplicates are removed case-insensitively at newOrder.
    let r = c.new_order(&[
        ("dns", "a.cluster1.example.org"),
        ("dns", "a.cluster1.example.org"),
        ("dns", "B.cluster1.example.org"),
        ("dns", "b.cluster1.example.org"),
    ]);
    let o = r.expect(201);
    let url = r.location().to_string();
    let mut ids: Vec<String> = o["identifiers"]
        .as_array()
        .expect("identifiers")
        .iter()
        .map(|i| {
            assert_eq!(i["type"], "dns");
            i["value"].as_str().expect("value").to_string()
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["a.cluster1.example.org", "b.cluster1.example.org"],
        "{o}"
    );
    assert_eq!(o["authorizations"].as_array().map(Vec::len), Some(2), "{o}");
    let pem = c.finalize_and_download(
        &url,
        &o,
        &csr(
            &csr_key(),
            None,
            &["a.cluster1.example.org", "b.cluster1.example.org"],
            &[],
        ),
    );
    let (mut dns, _) = sans(&pem_chain(&pem)[0]);
    dns.sort();
    assert_eq!(dns, ["a.cluster1.example.org", "b.cluster1.example.org"]);
}

/// C11: IP identifiers (RFC 8738): http-01 (no dns-01), iPAddress SANs of 4 and 16 bytes, no
/// dNSName for the address, IPv6 compared as 16-byte values.
#[test]
fn c11_ip_identifiers() {
    let mut f = Fleet::with_extra_config(
        "\"192.0.2.10\" = \"127.0.0.1\"\n\"2001:db8::10\" = \"127.0.0.1\"",
    );
    f.start();
    let http = Http01::start(f.http01_port);
    let mut c = account(&f, Alg::Es256);

    for (ordered, canonical, csr_ip, cn, bytes) in [
        (
            "192.0.2.10",
            "192.0.2.10",
            "192.0.2.10",
            Some("192.0.2.10"),
            vec![0xC0, 0x00, 0x02, 0x0A],
        ),
        (
            "2001:db8::10",
            "2001:db8::10",
            "2001:0db8:0:0::10",
            None,
            vec![
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            ],
        ),
    ] {
        let r = c.new_order(&[("ip", ordered)]);
        let o = r.expect(201);
        let url = r.location().to_string();
        assert_eq!(
            o["identifiers"],
            json!([{"type": "ip", "value": canonical}]),
            "{o}"
        );
        let az = c.fetch(o["authorizations"][0].as_str().expect("authz"));
        assert_eq!(az["identifier"], json!({"type": "ip", "value": canonical}));
        let types: Vec<&str> = az["challenges"]
            .as_array()
            .expect("challenges")
            .iter()
            .map(|c| c["type"].as_str().expect("type"))
            .collect();
        assert!(types.contains(&"http-01"), "{az}");
        assert!(
            types.iter().all(|t| *t == "http-01" || *t == "tls-alpn-01"),
            "no dns-01 for IP identifiers: {az}"
        );
        let done = c.solve_http01(&o, &http);
        assert_eq!(done[0]["status"], "valid", "{}", done[0]);
        let o = c.fetch(&url);
        assert_eq!(o["status"], "ready", "{o}");
        let pem = c.finalize_and_download(&url, &o, &csr(&csr_key(), cn, &[], &[csr_ip]));
        let (dns, ips) = sans(&pem_chain(&pem)[0]);
        assert_eq!(ips, vec![bytes], "{ordered}");
        assert!(dns.is_empty(), "no dNSName for an IP: {dns:?}");
    }

    // Another spelling of the IPv6 address is the same identifier: shown in RFC 5952 form,
    // and the valid authorization is reused.
    let r = c.new_order(&[("ip", "2001:0db8:0:0::10")]);
    let o = r.expect(201);
    assert_eq!(
        o["identifiers"],
        json!([{"type": "ip", "value": "2001:db8::10"}])
    );
    assert_eq!(o["status"], "ready", "{o}");
}

/// C13: wildcards (authz without `*.`, `wildcard: true`, no http-01), IDNs, bad labels.
#[test]
fn c13_idn_and_wildcard_identifiers() {
    let f = started();
    let eab = f.account("payments", &["cluster1.example.org"]);
    let mut c = Client::registered(&f, Alg::Es256, &eab);
    let wild = "*.app.cluster1.example.org";

    let (_, o) = c.order_dns(&[wild]);
    let az = c.fetch(o["authorizations"][0].as_str().expect("authz"));
    assert_eq!(
        az["identifier"],
        json!({"type": "dns", "value": APP}),
        "{az}"
    );
    assert_eq!(az["wildcard"], true, "{az}");
    // dns-01 only: here the binding authorises it, so no challenge at all; never http-01.
    assert!(
        az["challenges"]
            .as_array()
            .expect("challenges")
            .iter()
            .all(|c| c["type"] == "dns-01"),
        "{az}"
    );

    // Both names: two authorizations told apart by the flag only.
    let (url, o) = c.order_dns(&[APP, wild]);
    let azs: Vec<Value> = o["authorizations"]
        .as_array()
        .expect("authorizations")
        .iter()
        .map(|u| c.fetch(u.as_str().expect("url")))
        .collect();
    assert_eq!(azs.len(), 2, "{o}");
    assert!(
        azs.iter().all(|a| a["identifier"]["value"] == APP),
        "{azs:?}"
    );
    assert_eq!(
        azs.iter().filter(|a| a["wildcard"] == true).count(),
        1,
        "{azs:?}"
    );
    assert!(
        azs.iter()
            .any(|a| a.get("wildcard").is_none() || a["wildcard"] == false),
        "{azs:?}"
    );
    let pem = c.finalize_and_download(&url, &o, &csr(&csr_key(), None, &[APP, wild], &[]));
    let (mut dns, _) = sans(&pem_chain(&pem)[0]);
    dns.sort();
    assert_eq!(dns, [wild, APP]);

    // U-label: rejectedIdentifier.
    c.new_order(&[("dns", "bücher.cluster1.example.org")])
        .problem(400, "rejectedIdentifier");
    // A-label: accepted, byte for byte in the SAN.
    let alabel = "xn--bcher-kva.cluster1.example.org";
    let (url, o) = c.order_dns(&[alabel]);
    let pem = c.finalize_and_download(&url, &o, &csr(&csr_key(), None, &[alabel], &[]));
    assert_eq!(sans(&pem_chain(&pem)[0]).0, [alabel]);
    // Multi-label and partial wildcards, empty labels.
    for bad in [
        "*.*.cluster1.example.org",
        "f*.cluster1.example.org",
        "app..cluster1.example.org",
    ] {
        let p = c
            .new_order(&[("dns", bad)])
            .problem(400, "rejectedIdentifier");
        assert!(
            p["detail"].as_str().unwrap_or("").contains(bad),
            "{bad}: {p}"
        );
    }
}

/// C14: unacceptable CSRs are 400 `badCSR`/`badPublicKey` naming the rule; the order stays
/// `ready` (decision) so that a corrected CSR can be sent.
#[test]
fn c14_bad_csrs_are_4xx_with_a_reason() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    let (url, o) = c.order_dns(&[IN_SCOPE]);
    let cases: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        (
            "RSA-1024",
            vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                "key.pem",
            ],
            "-sha256",
            "2048",
        ),
        (
            "RSA-2048 e=3",
            vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-pkeyopt",
                "rsa_keygen_pubexp:3",
                "-out",
                "key.pem",
            ],
            "-sha256",
            "exponent",
        ),
        (
            "secp256k1",
            vec![
                "ecparam",
                "-name",
                "secp256k1",
                "-genkey",
                "-noout",
                "-out",
                "key.pem",
            ],
            "-sha256",
            "P-256",
        ),
        (
            "P-192",
            vec![
                "ecparam",
                "-name",
                "prime192v1",
                "-genkey",
                "-noout",
                "-out",
                "key.pem",
            ],
            "-sha256",
            "P-256",
        ),
        (
            "Ed448",
            vec!["genpkey", "-algorithm", "ED448", "-out", "key.pem"],
            "",
            "Ed25519",
        ),
        (
            "SHA-1",
            vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "key.pem",
            ],
            "-sha1",
            "SHA-1",
        ),
    ];
    for (what, keygen, digest, rule) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let der = openssl_csr(dir.path(), &keygen, IN_SCOPE, digest);
        let r = c.finalize(&o, &der);
        assert!(r.status == 400, "{what}: {r}");
        let kind = r.json()["type"].as_str().unwrap_or("").to_string();
        let p = if kind.ends_with("badPublicKey") {
            r.problem(400, "badPublicKey")
        } else {
            r.problem(400, "badCSR")
        };
        assert!(
            p["detail"].as_str().unwrap_or("").contains(rule),
            "{what}: the detail names the rule ({rule}): {p}"
        );
        assert_eq!(
            c.fetch(&url)["status"],
            "ready",
            "{what}: the order stays ready"
        );
    }
    // A broken self-signature (last byte of the signature flipped).
    let mut der = csr(&csr_key(), None, &[IN_SCOPE], &[]);
    *der.last_mut().expect("byte") ^= 0x01;
    let p = c.finalize(&o, &der).problem(400, "badCSR");
    assert!(
        p["detail"].as_str().unwrap_or("").contains("signature"),
        "{p}"
    );
    assert_eq!(c.fetch(&url)["status"], "ready");
    // Not a CSR at all.
    c.finalize(&o, b"not a CSR").problem(400, "badCSR");

    // The corrected CSR is accepted on the same order.
    let pem = c.finalize_and_download(&url, &o, &csr(&csr_key(), None, &[IN_SCOPE], &[]));
    assert_eq!(pem_chain(&pem).len(), 2);
}

/// C15: the certificate is leaf then the cluster intermediate, no root (decision), LF only,
/// nothing after the last END line; the same answer for every Accept; GET is 405 with
/// `Allow: POST` (decision).
#[test]
fn c15_certificate_download_full_chain() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    let (cert_url, leaf) = issue(&mut c, &[IN_SCOPE], &csr_key());

    let mut bodies = Vec::new();
    for accept in [Some("application/pem-certificate-chain"), Some("*/*"), None] {
        let extra: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let r = c.post_as_get_with(&cert_url, &extra);
        assert_eq!(r.status, 200, "{accept:?}: {r}");
        assert_nonce(&r);
        assert_eq!(r.content_type(), "application/pem-certificate-chain", "{r}");
        for l in r.headers_all("link") {
            assert!(
                l.contains("rel=\"index\"") || l.contains("rel=\"alternate\""),
                "only index/alternate links: {l}"
            );
        }
        bodies.push(r.text());
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    let body = &bodies[0];
    assert!(!body.contains('\r'), "LF line endings");
    assert!(body.starts_with("-----BEGIN CERTIFICATE-----\n"), "{body}");
    assert!(
        body.ends_with("-----END CERTIFICATE-----\n"),
        "nothing after the last END line"
    );
    let chain = pem_chain(body);
    assert_eq!(chain.len(), 2, "leaf and intermediate, no root");
    assert_eq!(chain[0], leaf);
    let int_pem = std::fs::read(f.intermediate_pem()).expect("intermediate");
    let int_der = fleetca::pem::decode_one("CERTIFICATE", &int_pem).expect("pem");
    assert_eq!(chain[1], int_der);

    let chain_file = f.dir().join("chain.pem");
    std::fs::write(&chain_file, body).expect("write");
    let out = ok(openssl(&f.dir())
        .args(["verify", "-CAfile"])
        .arg(f.root_pem())
        .arg("-untrusted")
        .arg(&chain_file)
        .arg(&chain_file));
    assert!(out.contains(": OK"), "{out}");

    // Unauthenticated GET: 405, Allow: POST.
    let r = c.get(&cert_url);
    assert_eq!(r.status, 405, "{r}");
    let allow = r.header("allow").unwrap_or("");
    assert!(allow.split(',').any(|m| m.trim() == "POST"), "{r}");
}

/// C16 (ACME side): revokeCert by the account's kid, again (alreadyRevoked), by an unrelated
/// key (unauthorized), by the certificate's own key (decision: recorded as keyCompromise), and
/// with reasons 7 and 8 (badRevocationReason).
#[test]
fn c16_revocation_through_acme() {
    let f = started();
    let mut x = account(&f, Alg::Es256);
    let revoke = x.url("revokeCert");

    // (1) kid, reason 4 (superseded).
    let (_, leaf1) = issue(&mut x, &[IN_SCOPE], &csr_key());
    let req1 = json!({"certificate": b64(&leaf1), "reason": 4});
    let r = x.post(&revoke, Some(&req1));
    assert_eq!(r.status, 200, "{r}");
    assert_nonce(&r);
    assert_eq!(inventory_entry(&f, &leaf1)["revoked"]["reason"], 4);
    // (3) again: alreadyRevoked.
    x.post(&revoke, Some(&req1)).problem(400, "alreadyRevoked");

    // (4) signed with the jwk of an unrelated key: unauthorized.
    let key2 = csr_key();
    let (_, leaf2) = issue(&mut x, &[IN_SCOPE], &key2);
    let req2 = json!({"certificate": b64(&leaf2)});
    let mut u = Client::new(&f, Alg::Es256);
    u.post(&revoke, Some(&req2)).problem(403, "unauthorized");
    assert!(inventory_entry(&f, &leaf2)["revoked"].is_null());
    // Another account's kid: unauthorized too.
    let mut y = account(&f, Alg::Es256);
    y.post(&revoke, Some(&req2)).problem(403, "unauthorized");

    // (5) signed with the certificate's own key as jwk: 200, recorded as keyCompromise (1).
    let mut by_key = Client::with_key(
        &f,
        AccountKey::from_pkcs8(Alg::Es256, &key2.serialize_der()),
    );
    let r = by_key.post(&revoke, Some(&req2));
    assert_eq!(r.status, 200, "{r}");
    assert_nonce(&r);
    assert_eq!(
        inventory_entry(&f, &leaf2)["revoked"]["reason"],
        1,
        "revocation by the certificate key records keyCompromise"
    );

    // (6) reasons 7 (unused) and 8 (removeFromCRL): badRevocationReason.
    let (_, leaf3) = issue(&mut x, &[IN_SCOPE], &csr_key());
    for reason in [7, 8] {
        x.post(
            &revoke,
            Some(&json!({"certificate": b64(&leaf3), "reason": reason})),
        )
        .problem(400, "badRevocationReason");
    }
    assert!(inventory_entry(&f, &leaf3)["revoked"].is_null());
}

/// Restart (SIGKILL): the account and order URLs answer with the same content; a nonce from
/// before the restart gets badNonce with a fresh nonce and the retry succeeds.
#[test]
fn restart_keeps_accounts_and_orders_and_recovers_from_bad_nonce() {
    let mut f = started();
    let mut c = account(&f, Alg::Rs256);
    let kid = c.kid.clone().expect("kid");
    let (order_url, o) = c.order_dns(&[IN_SCOPE]);
    let pem = c.finalize_and_download(&order_url, &o, &csr(&csr_key(), None, &[IN_SCOPE], &[]));
    let acct_before = c.fetch(&kid);
    let order_before = c.fetch(&order_url);
    let cert_url = order_before["certificate"]
        .as_str()
        .expect("cert")
        .to_string();
    let stale = c.fresh_nonce();

    f.kill();
    f.start();
    c.agent = raw_agent(&f);

    let mut h = c.protected(&kid);
    h["nonce"] = json!(stale);
    let r = c.post_signed(&kid, &h, None);
    r.problem(400, "badNonce");
    h["nonce"] = json!(r.nonce().expect("nonce"));
    let r = c.post_signed(&kid, &h, None);
    assert_eq!(r.expect(200), acct_before);
    assert_eq!(r.location(), kid);
    assert_eq!(c.fetch(&order_url), order_before);
    let r = c.post(&cert_url, None);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.text(), pem);
    // The account still orders.
    c.order_dns(&[IN_SCOPE]);
}

/// keyChange (RFC 8555 §7.3.5): the rollover works and the old key stops working; a new key
/// that another account holds is 409 with that account's Location.
#[test]
fn key_change_rolls_over_and_refuses_a_key_in_use() {
    let f = started();
    let mut a = account(&f, Alg::Es256);
    let b = account(&f, Alg::Es384);
    let a_kid = a.kid.clone().expect("kid");
    let kc = a.url("keyChange");
    let before = a.fetch(&a_kid);

    let new = AccountKey::generate(Alg::Es256);
    let inner = jws(
        &new,
        &json!({"alg": "ES256", "jwk": new.jwk(), "url": kc}),
        json!({"account": a_kid, "oldKey": a.key.jwk()})
            .to_string()
            .as_bytes(),
    );
    let r = a.post(&kc, Some(&inner));
    assert_eq!(
        r.expect(200),
        before,
        "the account object, unchanged but for the key"
    );
    assert_eq!(r.location(), a_kid);

    // The old key no longer signs for the account, nor finds it.
    let old = std::mem::replace(&mut a.key, new);
    let mut with_old = Client::with_key(&f, old);
    with_old.kid = Some(a_kid.clone());
    with_old.post(&a_kid, None).problem(400, "malformed");
    with_old.kid = None;
    let na = with_old.url("newAccount");
    with_old
        .post(&na, Some(&json!({"onlyReturnExisting": true})))
        .problem(400, "accountDoesNotExist");
    // The new key does both.
    assert_eq!(a.fetch(&a_kid), before);
    a.kid = None;
    let r = a.post(&na, Some(&json!({"onlyReturnExisting": true})));
    r.expect(200);
    assert_eq!(r.location(), a_kid);
    a.kid = Some(a_kid.clone());

    // Rolling over to B's key: 409 Conflict with B's account URL.
    let inner = jws(
        &b.key,
        &json!({"alg": "ES384", "jwk": b.key.jwk(), "url": kc}),
        json!({"account": a_kid, "oldKey": a.key.jwk()})
            .to_string()
            .as_bytes(),
    );
    let r = a.post(&kc, Some(&inner));
    r.problem(409, "malformed");
    assert_eq!(r.location(), b.kid.as_deref().expect("kid"));
    // The inner JWS signed by a key other than the one it names: refused.
    let other = AccountKey::generate(Alg::Es256);
    let inner = jws(
        &other,
        &json!({"alg": "ES256", "jwk": AccountKey::generate(Alg::Es256).jwk(), "url": kc}),
        json!({"account": a_kid, "oldKey": a.key.jwk()})
            .to_string()
            .as_bytes(),
    );
    a.post(&kc, Some(&inner)).problem(400, "malformed");
    assert_eq!(a.fetch(&a_kid), before);
}

/// Account deactivation (RFC 8555 §7.3.6): then every request with the account is refused.
#[test]
fn deactivated_account_is_unauthorized() {
    let f = started();
    let mut c = account(&f, Alg::EdDsa);
    let kid = c.kid.clone().expect("kid");
    let r = c.post(&kid, Some(&json!({"status": "deactivated"})));
    assert_eq!(r.expect(200)["status"], "deactivated", "{r}");
    c.new_order(&[("dns", IN_SCOPE)])
        .problem(403, "unauthorized");
    c.post(&kid, None).problem(403, "unauthorized");
}

/// A body over 64 KiB: 413 with a problem document.
#[test]
fn oversized_body_is_413() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    let url = c.url("newOrder");
    let payload =
        json!({"identifiers": [{"type": "dns", "value": IN_SCOPE}], "pad": "x".repeat(70 * 1024)});
    c.post(&url, Some(&payload)).problem(413, "malformed");
    c.post(
        &url,
        Some(&json!({"identifiers": [{"type": "dns", "value": IN_SCOPE}]})),
    )
    .expect(201);
}

/// cert-manager's first call: newAccount with onlyReturnExisting and no EAB for a key the
/// server does not know (RS256, its default) is 400 accountDoesNotExist, not an EAB error.
#[test]
fn only_return_existing_for_an_unknown_key_is_account_does_not_exist() {
    let f = started();
    let mut c = Client::new(&f, Alg::Rs256);
    let url = c.url("newAccount");
    c.post(&url, Some(&json!({"onlyReturnExisting": true})))
        .problem(400, "accountDoesNotExist");
    // Then it registers with EAB (HS256, unpadded key).
    c.register(&f.account("payments", &[])).expect(201);
}

/// `alg: none` and a MAC algorithm on account requests: badSignatureAlgorithm listing the
/// supported algorithms.
#[test]
fn alg_none_and_hs256_are_bad_signature_algorithm() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    let kid = c.kid.clone().expect("kid");
    let na = c.url("newAccount");
    let no = c.url("newOrder");
    let order = json!({"identifiers": [{"type": "dns", "value": IN_SCOPE}]});
    let fresh = AccountKey::generate(Alg::Es256);
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"0123456789abcdef0123456789abcdef");

    for (url, key_member, payload) in [
        (
            &na,
            json!({"jwk": fresh.jwk()}),
            json!({"onlyReturnExisting": true}),
        ),
        (&no, json!({"kid": kid}), order.clone()),
    ] {
        for alg in ["none", "HS256"] {
            let mut h = json!({"alg": alg, "nonce": c.take_nonce(), "url": url});
            for (k, v) in key_member.as_object().expect("object") {
                h[k] = v.clone();
            }
            let p64 = b64(h.to_string());
            let b64p = b64(payload.to_string());
            let sig = match alg {
                "none" => String::new(),
                _ => b64(ring::hmac::sign(&hmac, format!("{p64}.{b64p}").as_bytes())),
            };
            let j = json!({"protected": p64, "payload": b64p, "signature": sig});
            let p = c.post_jws(url, &j).problem(400, "badSignatureAlgorithm");
            let algs = p["algorithms"].as_array().cloned().unwrap_or_default();
            for a in ["ES256", "ES384", "RS256", "EdDSA"] {
                assert!(algs.contains(&json!(a)), "{alg}: {p}");
            }
        }
    }
}

/// Every supported account key algorithm registers (EAB) and issues.
#[test]
fn every_account_key_algorithm_registers_and_issues() {
    let f = started();
    for alg in Alg::ALL {
        let mut c = account(&f, alg);
        let (url, o) = c.order_dns(&[IN_SCOPE]);
        let pem = c.finalize_and_download(&url, &o, &csr(&csr_key(), None, &[IN_SCOPE], &[]));
        assert_eq!(pem_chain(&pem).len(), 2, "{alg:?}");
    }
}

/// Two finalizes of one ready order sent at the same moment: exactly one signs; the other
/// gets orderNotReady (the ready → processing step is a compare-and-swap).
#[test]
fn concurrent_finalizes_issue_one_certificate() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    let (order_url, o) = c.order_dns(&[IN_SCOPE]);
    assert_eq!(o["status"], "ready", "{o}");
    let finalize = o["finalize"].as_str().expect("finalize").to_string();
    let key = csr_key();
    let body = json!({ "csr": b64(csr(&key, None, &[IN_SCOPE], &[])) }).to_string();
    // Two JWS bodies, each with its own fresh nonce, sent from two threads.
    let bodies: Vec<String> = (0..2)
        .map(|_| {
            let h = c.protected(&finalize);
            jws(&c.key, &h, body.as_bytes()).to_string()
        })
        .collect();
    let agent = raw_agent(&f);
    let results: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|b| {
                let agent = agent.clone();
                let url = finalize.clone();
                s.spawn(move || {
                    let r = agent
                        .post(&url)
                        .header("Content-Type", "application/jose+json")
                        .send(b.as_bytes())
                        .expect("send");
                    r.status().as_u16()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == 200).count(),
        1,
        "exactly one finalize succeeds: {results:?}"
    );
    assert_eq!(
        results.iter().filter(|s| **s == 403).count(),
        1,
        "the other is orderNotReady: {results:?}"
    );
    let done = c.poll_order(&order_url).json();
    assert_eq!(done["status"], "valid", "{done}");
    let inv = ok(&mut f.fleetca(&["inventory", "--json"]));
    let v: Value = serde_json::from_str(&inv).expect("json");
    let issued = v
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["names"].to_string().contains(IN_SCOPE))
        .count();
    assert_eq!(issued, 1, "one certificate, not two: {inv}");
}

/// The serial of a leaf, as lower-case hex without separators.
fn serial_hex(leaf_der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf_der).expect("leaf");
    cert.tbs_certificate
        .raw_serial_as_string()
        .replace(':', "")
        .to_lowercase()
}

/// A revoked certificate stays on the CRL until it expires, then leaves it (RFC 5280 §3.3),
/// so CRLs do not grow forever.
#[test]
fn expired_revoked_certificates_leave_the_crl() {
    let f = started();
    let mut c = account(&f, Alg::Es256);
    // A certificate that expires in 3 seconds.
    let not_after = (time::OffsetDateTime::now_utc() + time::Duration::seconds(3))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let url = c.url("newOrder");
    let r = c.post(
        &url,
        Some(&json!({"identifiers": [{"type": "dns", "value": IN_SCOPE}], "notAfter": not_after})),
    );
    let o = r.expect(201);
    let order_url = r.location().to_string();
    let key = csr_key();
    let pem = c.finalize_and_download(&order_url, &o, &csr(&key, None, &[IN_SCOPE], &[]));
    let short = serial_hex(&pem_chain(&pem).remove(0));
    let (_, long_der) = issue(&mut c, &[IN_SCOPE], &csr_key());
    let long = serial_hex(&long_der);

    let agent = f.agent();
    let crl_url = format!("http://127.0.0.1:{}/crl/cluster1.crl", f.public_port);
    let crl_has = |serial: &str| -> bool {
        let body = agent
            .get(&crl_url)
            .call()
            .expect("crl")
            .into_body()
            .read_to_vec()
            .expect("body");
        let bytes = hex::decode(serial).expect("hex");
        body.windows(bytes.len()).any(|w| w == bytes.as_slice())
    };
    let wait_for = |what: &dyn Fn() -> bool| {
        (0..50).any(|_| {
            what() || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                false
            }
        })
    };

    ok(&mut f.fleetca(&["revoke", "--serial", &short, "--reason", "keyCompromise"]));
    assert!(
        wait_for(&|| crl_has(&short)),
        "the revoked, unexpired certificate is on the CRL"
    );
    std::thread::sleep(std::time::Duration::from_secs(4));
    // The next CRL (signed for another revocation) no longer lists the expired one.
    ok(&mut f.fleetca(&["revoke", "--serial", &long, "--reason", "superseded"]));
    assert!(
        wait_for(&|| crl_has(&long)),
        "the new revocation is on the CRL"
    );
    assert!(!crl_has(&short), "the expired certificate has left the CRL");
}
