//! Audit chain throughput on SQLite, against a baseline measured in the same run.
//!
//! Run: `cargo bench -p pdp-storage-sqlite --bench audit [-- EVENTS]` (default 200 000).
//!
//! - append: EVENTS events from 512 concurrent tasks through the batching `Appender`; each task
//!   waits for its event to be committed (WAL, synchronous=NORMAL) before sending the next.
//! - baseline append: the same rows inserted by plain batched INSERTs of 512 rows, with no
//!   hashing and no chain.
//! - verify: read the whole chain back and recompute every link (what `pdp audit verify` does).
//! - baseline read: read the same rows back without verifying.
//! - verify (memory): recompute the links of events already in memory: the hashing cost alone.

use std::sync::Arc;
use std::time::Instant;

use pdp_audit::appender::Appender;
use pdp_audit::{HashAlg, NewEvent, Outcome, Verifier};
use pdp_storage::{Storage, StorageSink};

use sqlx::Connection;

fn event(i: usize) -> NewEvent {
    NewEvent {
        actor: format!("user{}", i % 500),
        actor_id: Some((i % 500) as i64),
        org_id: Some((i % 40) as i64),
        role: "org_data_officer".into(),
        action: "share.view".into(),
        object: format!("dataset:{}/record:{i}", i % 300),
        purpose: "办理不动产登记业务核验".into(),
        outcome: Outcome::Success,
        request_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        detail: r#"{"grant":17,"rows":1}"#.into(),
    }
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>12.0}", n as f64 / secs)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    println!("| measurement ({n} events, SQLite WAL) | events/s |");
    println!("|---|---:|");

    for alg in [HashAlg::Sha256, HashAlg::Sm3] {
        let url = format!("sqlite://{}", dir.path().join(format!("audit-{}.db", alg.as_str())).display());
        let storage: Arc<dyn Storage> = Arc::new(pdp_storage_sqlite::connect(&url, 4, alg).await.unwrap());
        let appender = Appender::spawn(Arc::new(StorageSink(storage.clone())), 512);
        let tasks = 512;
        let t = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|k| {
                let app = appender.clone();
                tokio::spawn(async move {
                    for i in (k..n).step_by(tasks) {
                        app.append(event(i)).await.unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        let append_s = t.elapsed().as_secs_f64();
        println!("| append via Appender, {} | {} |", alg.as_str(), rate(n, append_s));

        let t = Instant::now();
        let report = pdp_storage::verify_chain(storage.as_ref(), None).await.unwrap().unwrap();
        assert_eq!(report.events as usize, n);
        println!("| verify from SQLite, {} | {} |", alg.as_str(), rate(n, t.elapsed().as_secs_f64()));

        let mut all = Vec::with_capacity(n);
        let mut after = 0;
        loop {
            let page = storage.audit_after(after, 50_000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.seq;
            all.extend(page);
        }
        let t = Instant::now();
        let mut v = Verifier::new([]);
        for e in &all {
            v.push(e).unwrap();
        }
        println!("| verify in memory (hashing only), {} | {} |", alg.as_str(), rate(n, t.elapsed().as_secs_f64()));
    }

    // Baseline: the same rows, plain batched inserts and a plain read, no chain.
    let url = format!("sqlite://{}", dir.path().join("baseline.db").display());
    let opts: sqlx::sqlite::SqliteConnectOptions = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
    let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::query("CREATE TABLE ev (seq INTEGER PRIMARY KEY, at_micros INTEGER, actor TEXT, actor_id INTEGER, org_id INTEGER, role TEXT, action TEXT, object TEXT, purpose TEXT, outcome TEXT, request_hash TEXT, detail TEXT)")
        .execute(&mut c)
        .await
        .unwrap();
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(512) {
        let mut tx = c.begin().await.unwrap();
        for &i in chunk {
            let e = event(i);
            sqlx::query("INSERT INTO ev (seq, at_micros, actor, actor_id, org_id, role, action, object, purpose, outcome, request_hash, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)")
                .bind(i as i64 + 1).bind(0i64).bind(&e.actor).bind(e.actor_id).bind(e.org_id).bind(&e.role).bind(&e.action)
                .bind(&e.object).bind(&e.purpose).bind(e.outcome.as_str()).bind(&e.request_hash).bind(&e.detail)
                .execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    println!("| baseline: plain batched INSERT, no chain | {} |", rate(n, t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let rows = sqlx::query("SELECT * FROM ev ORDER BY seq").fetch_all(&mut c).await.unwrap();
    assert_eq!(rows.len(), n);
    println!("| baseline: plain read of all rows, no verification | {} |", rate(n, t.elapsed().as_secs_f64()));
}
