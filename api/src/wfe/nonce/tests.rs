use std::sync::Arc;

use super::*;
use crate::acme::{Problem, ProblemType};

fn service() -> NonceService {
    NonceService::new(NonceConfig::default()).expect("nonce service")
}

#[test]
fn service_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<NonceService>();
    assert_send_sync::<Arc<NonceService>>();
}

#[test]
fn nonces_are_unpadded_base64url_with_enough_entropy() {
    let nonces = service();
    let a = nonces.issue();
    let b = nonces.issue();
    assert_ne!(a, b);
    assert_eq!(a.len(), 64);
    assert!(a
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    // The keyed tag alone is 256 bits; the decoded nonce is 48 bytes.
    assert_eq!(b64_decode(&a).map(|v| v.len()), Some(NONCE_LEN));
}

#[test]
fn a_nonce_is_accepted_once() {
    let nonces = service();
    let nonce = nonces.issue();
    assert_eq!(nonces.redeem(&nonce), Ok(()));
    assert_eq!(nonces.redeem(&nonce), Err(NonceError::Used));
    let problem = Problem::from(NonceError::Used);
    assert_eq!(problem.kind, ProblemType::BadNonce);
    assert_eq!(problem.http_status(), 400);
}

#[test]
fn nonces_can_be_redeemed_out_of_order() {
    let nonces = service();
    let issued: Vec<String> = (0..10).map(|_| nonces.issue()).collect();
    for nonce in issued.iter().rev() {
        assert_eq!(nonces.redeem(nonce), Ok(()));
    }
    for nonce in &issued {
        assert_eq!(nonces.redeem(nonce), Err(NonceError::Used));
    }
}

#[test]
fn never_issued_nonce_is_refused() {
    let nonces = service();
    nonces.issue();
    // FIELD-CASES C01 (2).
    assert_eq!(
        nonces.redeem("AAAAAAAAAAAAAAAAAAAAAA"),
        Err(NonceError::Malformed)
    );
    assert_eq!(nonces.redeem(&"A".repeat(64)), Err(NonceError::Unknown));
    assert_eq!(nonces.redeem(""), Err(NonceError::Malformed));
    assert_eq!(nonces.redeem("not base64url!"), Err(NonceError::Malformed));
    for error in [NonceError::Malformed, NonceError::Unknown] {
        assert_eq!(Problem::from(error).kind, ProblemType::BadNonce);
    }
}

#[test]
fn tampered_nonce_is_refused() {
    let nonces = service();
    let nonce = nonces.issue();
    let mut bytes = b64_decode(&nonce).expect("decodes");
    // Bump the counter: the tag no longer matches.
    if let Some(last_counter_byte) = bytes.get_mut(EPOCH_LEN + COUNTER_LEN - 1) {
        *last_counter_byte ^= 1;
    }
    assert_eq!(nonces.redeem(&b64_encode(&bytes)), Err(NonceError::Unknown));
    assert_eq!(
        nonces.redeem(&format!("{nonce}=")),
        Err(NonceError::Malformed)
    );
    assert_eq!(nonces.redeem(&nonce), Ok(()));
}

#[test]
fn nonce_from_another_server_key_is_refused() {
    let ours = service();
    let theirs = service();
    assert_eq!(ours.redeem(&theirs.issue()), Err(NonceError::Unknown));
}

#[test]
fn restart_refuses_old_nonces_and_issues_working_ones() {
    let key = NonceKey::generate(&SystemRandom::new()).expect("key");
    let config = NonceConfig {
        key: Some(key),
        ..NonceConfig::default()
    };
    let before = NonceService::new(config.clone()).expect("first run");
    let unused = before.issue();
    drop(before);

    let after = NonceService::new(config).expect("second run");
    // Same key: recognised as ours but from before the restart. Refused, never replayable.
    assert_eq!(after.redeem(&unused), Err(NonceError::Stale));
    assert_eq!(Problem::from(NonceError::Stale).kind, ProblemType::BadNonce);
    // The retry with the nonce from the badNonce response succeeds.
    let fresh = after.issue();
    assert_eq!(after.redeem(&fresh), Ok(()));

    // Without a persisted key the old nonce is simply unknown; the retry path is the same.
    let fresh_key = service();
    assert_eq!(fresh_key.redeem(&unused), Err(NonceError::Unknown));
}

#[test]
fn memory_is_bounded_and_old_nonces_expire() {
    let nonces = NonceService::new(NonceConfig {
        capacity: 4,
        ..NonceConfig::default()
    })
    .expect("service");
    let old_unused = nonces.issue();
    let issued: Vec<String> = (0..10).map(|_| nonces.issue()).collect();
    for nonce in &issued {
        assert_eq!(nonces.redeem(nonce), Ok(()));
    }
    {
        let window = nonces.window.lock().expect("lock");
        assert_eq!(window.used.len(), 4);
    }
    // Below the floor: refused even though never used.
    assert_eq!(nonces.redeem(&old_unused), Err(NonceError::Used));
    // Evicted nonces stay refused.
    for nonce in &issued {
        assert_eq!(nonces.redeem(nonce), Err(NonceError::Used));
    }
    let newer = nonces.issue();
    assert_eq!(nonces.redeem(&newer), Ok(()));
}

#[test]
fn test_mode_rejects_a_share_of_valid_nonces() {
    let all = NonceService::new(NonceConfig {
        reject_percent: 100,
        ..NonceConfig::default()
    })
    .expect("service");
    for _ in 0..20 {
        let nonce = all.issue();
        assert_eq!(all.redeem(&nonce), Err(NonceError::Rejected));
        // A rejected nonce is spent, like any other.
        assert_eq!(all.redeem(&nonce), Err(NonceError::Used));
    }
    assert_eq!(
        Problem::from(NonceError::Rejected).kind,
        ProblemType::BadNonce
    );

    let half = NonceService::new(NonceConfig {
        reject_percent: 50,
        ..NonceConfig::default()
    })
    .expect("service");
    let rejected = (0..400)
        .filter(|_| half.redeem(&half.issue()).is_err())
        .count();
    // Binomial(400, 0.5): outside 100..300 has probability far below 1e-20.
    assert!((100..300).contains(&rejected), "{rejected}");

    let none = service();
    assert!((0..200).all(|_| none.redeem(&none.issue()).is_ok()));
}

#[test]
fn concurrent_redeem_accepts_each_nonce_exactly_once() {
    let nonces = Arc::new(service());
    let issued: Arc<Vec<String>> = Arc::new((0..200).map(|_| nonces.issue()).collect());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let nonces = Arc::clone(&nonces);
            let issued = Arc::clone(&issued);
            std::thread::spawn(move || issued.iter().filter(|n| nonces.redeem(n).is_ok()).count())
        })
        .collect();
    let accepted: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    assert_eq!(accepted, 200);
}

#[test]
fn keys_are_hidden_in_debug() {
    let key = NonceKey::from_bytes([7; 32]);
    assert_eq!(format!("{key:?}"), "NonceKey(<redacted>)");
    assert_eq!(key.as_bytes(), &[7; 32]);
    let debug = format!("{:?}", service());
    assert!(!debug.contains("key"), "{debug}");
}
