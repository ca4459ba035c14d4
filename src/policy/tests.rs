use super::*;

fn scope() -> Scope {
    Scope {
        namespace: "payments".into(),
        suffixes: vec!["pay.cluster1.example.org".into()],
        cluster_domain: "cluster.local".into(),
    }
}

fn constraints() -> Constraints {
    Constraints {
        permitted_dns: vec![
            "cluster1.example.org".into(),
            "svc.cluster.local".into(),
            "svc".into(),
        ],
        excluded_ip: crate::profile::loopback_exclusions(),
    }
}

fn dns(s: &str) -> Result<Authorization, Refusal> {
    check(&Identifier::Dns(s.into()), &scope(), &constraints())
}

fn ip(s: &str) -> Result<Authorization, Refusal> {
    check(
        &Identifier::Ip(s.parse().expect("ip")),
        &scope(),
        &constraints(),
    )
}

#[test]
fn loopback_and_unspecified_are_refused() {
    for n in [
        "localhost",
        "api.localhost",
        "localhost.localdomain",
        "127.0.0.1",
    ] {
        assert!(matches!(dns(n), Err(Refusal::Loopback(_))), "{n}");
    }
    for a in [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "0.0.0.0",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:0.0.0.0",
    ] {
        assert!(matches!(ip(a), Err(Refusal::Loopback(_))), "{a}");
    }
    let why = Refusal::Loopback("localhost".into()).explain(&scope());
    assert!(why.contains("SVC.payments.svc.cluster.local"), "{why}");
}

#[test]
fn unqualified_names_get_a_hint() {
    let r = dns("api").expect_err("refused");
    assert!(matches!(r, Refusal::Unqualified(_)));
    assert!(r
        .explain(&scope())
        .contains("api.payments.svc.cluster.local"));
}

#[test]
fn namespace_scope() {
    assert_eq!(
        dns("api.payments.svc.cluster.local"),
        Ok(Authorization::ByBinding)
    );
    assert_eq!(dns("api.payments.svc"), Ok(Authorization::ByBinding));
    assert_eq!(
        dns("*.payments.svc.cluster.local"),
        Ok(Authorization::ByBinding)
    );
    assert_eq!(
        dns("pod-0.api.payments.svc.cluster.local"),
        Ok(Authorization::ByBinding)
    );
    let r = dns("api.billing.svc.cluster.local").expect_err("other ns");
    assert_eq!(
        r,
        Refusal::OtherNamespace {
            name: "api.billing.svc.cluster.local".into(),
            namespace: "billing".into()
        }
    );
    assert!(r.explain(&scope()).contains("bound to namespace payments"));
    assert!(matches!(
        dns("payments.svc.cluster.local"),
        Err(Refusal::OutsideScope(_))
    ));
}

#[test]
fn suffixes_challenges_and_constraints() {
    assert_eq!(
        dns("web.pay.cluster1.example.org"),
        Ok(Authorization::ByBinding)
    );
    assert_eq!(
        dns("app.cluster1.example.org"),
        Ok(Authorization::NeedsChallenge)
    );
    assert!(matches!(
        dns("*.cluster1.example.org"),
        Err(Refusal::Wildcard(_))
    ));
    assert!(matches!(
        dns("app.cluster2.example.org"),
        Err(Refusal::OutsideConstraints(_))
    ));
    assert_eq!(ip("10.1.2.3"), Ok(Authorization::NeedsChallenge));
    // "xcluster1.example.org" is not under "cluster1.example.org"
    assert!(matches!(
        dns("xcluster1.example.org"),
        Err(Refusal::OutsideConstraints(_))
    ));
}

#[test]
fn syntax() {
    for n in [
        "UPPER.example.org",
        "a..b",
        "-a.example.org",
        "a_b.example.org",
        "a.*.example.org",
        "trailing.dot.",
    ] {
        assert!(matches!(dns(n), Err(Refusal::Malformed(_))), "{n}");
    }
    assert!(matches!(dns("10.0.0.1"), Err(Refusal::Malformed(_))));
}

#[test]
fn addresses_in_disguise_are_refused() {
    for a in ["::7f00:1", "64:ff9b::7f00:1", "0.1.2.3", "::ffff:0.0.0.1"] {
        assert!(matches!(ip(a), Err(Refusal::Loopback(_))), "{a}");
    }
    for a in [
        "169.254.169.254",
        "fe80::1",
        "224.0.0.1",
        "255.255.255.255",
        "ff02::1",
    ] {
        assert!(matches!(ip(a), Err(Refusal::Malformed(_))), "{a}");
    }
    for n in ["127.1", "0x7f.1", "app.cluster1.0x1"] {
        assert!(dns(n).is_err(), "{n}");
    }
    assert_eq!(ip("192.0.2.10"), Ok(Authorization::NeedsChallenge));
}
