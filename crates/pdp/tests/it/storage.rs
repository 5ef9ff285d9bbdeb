//! The storage contract, in process: what every backend of the `Storage` trait promises the code
//! above it, run against the backend of this run (SQLite, or PostgreSQL under
//! `TEST_POSTGRES_URL`) without the server in between.

use std::sync::Arc;

use pdp_audit::{HashAlg, NewEvent};
use pdp_domain::org::{OrgKind, RegionLevel};
use pdp_domain::sharing::DemandStatus;
use pdp_domain::subject::{BoundSubject, SubjectKind};
use pdp_storage::{DemandChange, NewDemand, NewOrganisation, NewRegion, NewUser, Storage, StorageError};

use crate::server::{Backend, backend};

/// A fresh store of the run's backend (a temporary SQLite file, or a PostgreSQL schema of its
/// own), with the raw SQL connection string the test may use behind its back.
struct Store {
    storage: Arc<dyn Storage>,
    backend: Backend,
    schema: String,
    _dir: tempfile::TempDir,
}

impl Store {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend();
        let schema = format!(
            "c_{}_{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000
        );
        let storage: Arc<dyn Storage> = match &backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("pdp.db").display());
                Arc::new(pdp_storage_sqlite::connect(&url, 4, HashAlg::Sha256).await.unwrap())
            }
            Backend::Postgres(url) => {
                Arc::new(pdp_storage_postgres::connect(url, Some(&schema), 4, HashAlg::Sha256).await.unwrap())
            }
        };
        Self { storage, backend, schema, _dir: dir }
    }

    /// Runs SQL on the store's database directly, as a corrupted or hand-edited database would.
    async fn exec(&self, sql: &str) {
        use sqlx::Connection;
        match &self.backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", self._dir.path().join("pdp.db").display());
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.unwrap();
            }
            Backend::Postgres(url) => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                let path = format!("SET search_path TO {}", self.schema);
                sqlx::query(sqlx::AssertSqlSafe(path)).execute(&mut c).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.unwrap();
            }
        }
    }

    async fn drop_schema(&self) {
        if let Backend::Postgres(url) = &self.backend {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
        }
    }
}

/// How many events the chain holds.
async fn events(st: &dyn Storage) -> i64 {
    st.audit_head().await.unwrap().seq
}

fn event(action: &str) -> NewEvent {
    NewEvent::system(action, "")
}

/// internals, no requirement (the storage contract: every change is written with its audit
/// event in one transaction, and a change refused leaves no event; a step of a state machine is
/// compare-and-set on the state it starts from, so of two concurrent steps one is a conflict; a
/// stored value that no longer reads is an error naming its table, row and column, never a
/// default; the chain of everything written verifies)
#[tokio::test]
async fn the_storage_contract_holds_on_this_backend() {
    let s = Store::open().await;
    let st = s.storage.as_ref();
    let b = s.backend.name();

    // A change and its event, together.
    let before = events(st).await;
    let city = st
        .create_region(
            NewRegion { code: "350100".into(), name: "临江市".into(), level: RegionLevel::City, parent_id: None },
            event("region.create"),
        )
        .await
        .unwrap();
    assert_eq!(events(st).await, before + 1, "{b}: one change, one event");
    // A refused change (the same code again) writes no event.
    let again = st
        .create_region(
            NewRegion { code: "350100".into(), name: "重复".into(), level: RegionLevel::City, parent_id: None },
            event("region.create"),
        )
        .await;
    assert!(matches!(again, Err(StorageError::Conflict(_))), "{b}: {again:?}");
    assert_eq!(events(st).await, before + 1, "{b}: nothing recorded for a refused change");

    // Compare-and-set: the second of two steps from the same state is a conflict.
    let org = st
        .create_org(
            NewOrganisation {
                name: "临江市数据局".into(),
                credit_code: "11350100MB0000000X".into(),
                kind: OrgKind::DataAuthority,
                region_id: city.id,
                parent_id: None,
            },
            event("org.create"),
        )
        .await
        .unwrap();
    let user = st
        .create_user(
            NewUser {
                username: "contract".into(),
                display_name: "测试".into(),
                password_hash: "not a hash".into(),
                org_id: Some(org.id),
                roles: vec![],
                must_change_password: false,
                claimed: None,
            },
            event("user.create"),
        )
        .await
        .unwrap();
    let demand = st
        .create_demand(
            NewDemand {
                requester_org_id: org.id,
                requester_user_id: user.id,
                requester_name: "测试".into(),
                title: "企业用电量".into(),
                description: "按月".into(),
                purpose: "监测".into(),
            },
            event("share.demand.create"),
        )
        .await
        .unwrap();
    let step = || DemandChange {
        from: DemandStatus::Open,
        to: DemandStatus::Assigned,
        provider_org_id: Some(org.id),
        entry_id: None,
        response: "请研究提供".into(),
    };
    let (one, two) = tokio::join!(
        st.change_demand(demand.id, step(), event("share.demand.assign")),
        st.change_demand(demand.id, step(), event("share.demand.assign"))
    );
    assert!(one.is_ok() != two.is_ok(), "{b}: exactly one step wins: {one:?} / {two:?}");
    assert!(matches!(one.as_ref().err().or(two.as_ref().err()), Some(StorageError::Conflict(_))), "{b}");
    let stored = st.get_demand(demand.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DemandStatus::Assigned, "{b}");

    // An unreadable stored value is an error that names where it is.
    s.exec(&format!("UPDATE share_demands SET status = 'lost' WHERE id = {}", demand.id)).await;
    match st.get_demand(demand.id).await {
        Err(StorageError::Backend(why)) => {
            assert!(why.contains("share_demands") && why.contains("status") && why.contains("lost"), "{b}: {why}");
        }
        other => panic!("{b}: an unreadable status must be an error, got {other:?}"),
    }
    assert!(st.list_demands().await.is_err(), "{b}: a list holding it fails too, rather than skip or guess");

    // A bound identifier round-trips in its normal form; one account per identifier; a stored
    // identifier that no longer parses is an error, not an unbound account.
    let bound = BoundSubject::parse(SubjectKind::Person, "350102199003070012").unwrap();
    st.set_user_subject(user.id, Some(&bound), event("user.subject.bind")).await.unwrap();
    assert_eq!(st.get_user(user.id).await.unwrap().unwrap().subject, Some(bound.clone()), "{b}");
    let other = st
        .create_user(
            NewUser {
                username: "contract2".into(),
                display_name: "测试".into(),
                password_hash: "not a hash".into(),
                org_id: None,
                roles: vec![],
                must_change_password: false,
                claimed: None,
            },
            event("user.create"),
        )
        .await
        .unwrap();
    let taken = st.set_user_subject(other.id, Some(&bound), event("user.subject.bind")).await;
    assert!(matches!(taken, Err(StorageError::Conflict(_))), "{b}: {taken:?}");
    s.exec(&format!("UPDATE users SET subject_id = '350102199003070011' WHERE id = {}", user.id)).await;
    match st.get_user(user.id).await {
        Err(StorageError::Backend(why)) => {
            assert!(why.contains("users") && why.contains("subject_id") && !why.contains("199003070011"), "{b}: {why}");
        }
        other => panic!("{b}: an unreadable identifier must be an error, got {other:?}"),
    }
    st.set_user_subject(user.id, None, event("user.subject.unbind")).await.unwrap();
    assert_eq!(st.get_user(user.id).await.unwrap().unwrap().subject, None, "{b}");

    // Everything written is one intact chain.
    let report = pdp_storage::verify_chain(st, None).await.unwrap();
    assert!(report.is_ok(), "{b}: {report:?}");
    s.drop_schema().await;
}

/// internals, no requirement (the storage contract for the audit chain: writers appending at
/// once extend one chain, never a fork; an access batch records its events, each naming its
/// grant, with the journal segment it came from, in one transaction; the audit search finds an
/// actor by a part of its name and an object by a part of it, with the dialect's own substring
/// function)
#[tokio::test]
async fn the_audit_chain_holds_under_concurrent_writers_on_this_backend() {
    let s = Store::open().await;
    let st = s.storage.clone();
    let b = s.backend.name();
    let before = events(st.as_ref()).await;

    // Eight writers at once, ten events each.
    let writers = (0..8).map(|w| {
        let st = st.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                let mut e = event("test.concurrent");
                e.actor = format!("writer-{w}");
                e.object = format!("item:{w}-{i}");
                st.append_audit(vec![e]).await.unwrap();
            }
        })
    });
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(events(st.as_ref()).await, before + 80, "{b}: every event, once");

    // An access batch: its events take the grant as their object, and the segment is recorded.
    let access =
        |grant_id: i64| pdp_storage::AccessRecord { grant_id, accesses: 1, rows: 3, audit: event("share.access.view") };
    st.record_accesses(vec![access(41), access(42), access(41)], Some("segment-0007")).await.unwrap();
    assert_eq!(events(st.as_ref()).await, before + 83, "{b}");
    assert_eq!(st.last_journal_segment().await.unwrap().as_deref(), Some("segment-0007"), "{b}");
    let q = pdp_storage::AuditQuery { object: Some("grant:4".into()), limit: Some(10), ..Default::default() };
    let found = st.search_audit(&q).await.unwrap();
    let objects: Vec<&str> = found.iter().map(|e| e.event.object.as_str()).collect();
    assert_eq!(objects, ["grant:41", "grant:42", "grant:41"], "{b}: newest first, each naming its grant");

    // A part of an actor's name finds its events, and only its.
    let q = pdp_storage::AuditQuery { actor: Some("ter-3".into()), limit: Some(100), ..Default::default() };
    let found = st.search_audit(&q).await.unwrap();
    assert_eq!(found.len(), 10, "{b}");
    assert!(found.iter().all(|e| e.event.actor == "writer-3"), "{b}");

    let report = pdp_storage::verify_chain(st.as_ref(), None).await.unwrap();
    assert!(report.is_ok(), "{b}: one intact chain: {report:?}");
    s.drop_schema().await;
}
