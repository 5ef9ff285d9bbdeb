//! Writing audit rows. The chain itself (its head and the hashes) is `SqlStore::append_in`;
//! this is only the insert.

use pdp_audit::AuditEvent;
use pdp_storage::Result;
use sqlx::{Database, Encode, Executor, IntoArguments, Transaction, Type};

use crate::{Conn, Dialect, backend};

/// Inserts chained events in order. Many rows per statement: the group commit of the access
/// path hands in hundreds of events at once, and one statement per event would cost a round
/// trip each. 15 values a row, 64 rows: 960 parameters, well under both databases' limits.
pub(crate) async fn insert_events<D: Dialect>(tx: &mut Transaction<'static, D::Db>, events: &[AuditEvent]) -> Result<()>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> f64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> bool: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> String: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Vec<u8>: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q [u8]: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Option<i64>: Encode<'q, D::Db>,
    for<'q> Option<f64>: Encode<'q, D::Db>,
    for<'q> Option<String>: Encode<'q, D::Db>,
    for<'q> Option<&'q str>: Encode<'q, D::Db>,
{
    for chunk in events.chunks(64) {
        let mut q = sqlx::QueryBuilder::<D::Db>::new(
            "INSERT INTO audit_events (seq, at_micros, actor, actor_id, org_id, role, action, object, purpose, outcome, request_hash, detail, alg, prev_hash, hash) ",
        );
        q.push_values(chunk, |mut b, ae| {
            b.push_bind(ae.seq)
                .push_bind(ae.at_micros)
                .push_bind(ae.event.actor.clone())
                .push_bind(ae.event.actor_id)
                .push_bind(ae.event.org_id)
                .push_bind(ae.event.role.clone())
                .push_bind(ae.event.action.clone())
                .push_bind(ae.event.object.clone())
                .push_bind(ae.event.purpose.clone())
                .push_bind(ae.event.outcome.as_str())
                .push_bind(ae.event.request_hash.clone())
                .push_bind(ae.event.detail.clone())
                .push_bind(ae.alg.clone())
                .push_bind(ae.prev_hash.clone())
                .push_bind(ae.hash.clone());
        });
        q.build().execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(())
}
