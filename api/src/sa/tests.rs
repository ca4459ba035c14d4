use super::*;

fn store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SledStore::open(&dir.path().join("db")).expect("open");
    (dir, s)
}

fn eab(kid: &str) -> EabRecord {
    EabRecord {
        kid: kid.into(),
        hmac_key: "k".into(),
        cluster: "c".into(),
        namespace: "ns".into(),
        suffixes: vec![],
        account_id: None,
        created: 0,
    }
}

#[test]
fn round_trip_insert_new_and_list() {
    let (_d, s) = store();
    assert!(s.insert_new(&eab("a")).expect("insert"));
    assert!(
        !s.insert_new(&eab("a")).expect("insert"),
        "second insert with the same key fails"
    );
    s.save(&eab("b")).expect("save");
    let got: EabRecord = s.load("a").expect("load").expect("present");
    assert_eq!(got.namespace, "ns");
    assert_eq!(s.list::<EabRecord>("").expect("list").len(), 2);
    assert!(s.load::<EabRecord>("zzz").expect("load").is_none());
    s.flush().expect("flush");
}

#[test]
fn survives_reopen_and_second_process_is_locked_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let s = SledStore::open(&path).expect("open");
        s.save(&eab("persist")).expect("save");
        s.flush().expect("flush");
    }
    let s = SledStore::open(&path).expect("reopen");
    assert!(s.load::<EabRecord>("persist").expect("load").is_some());
}
