//! Accounts' passwords and holds, and sessions' expiry.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_storage::*;

use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::{Conn, Dialect, SqlStore, backend};

#[async_trait]
impl<D: Dialect> AccountStore for SqlStore<D>
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
    async fn set_password(&self, user_id: i64, hash: &str, must_change: bool, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3")
            .bind(hash)
            .bind(must_change)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)
            .map(|r| D::rows_affected(&r))?;
        if n == 0 {
            return Err(StorageError::NotFound(format!("user:{user_id}")));
        }
        self.append_in(&mut tx, vec![audit.with_object(format!("user:{user_id}"))]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn set_disabled(&self, user_id: i64, disabled: bool, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(disabled)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)
            .map(|r| D::rows_affected(&r))?;
        if n == 0 {
            return Err(StorageError::NotFound(format!("user:{user_id}")));
        }
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        self.append_in(&mut tx, vec![audit.with_object(format!("user:{user_id}"))]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn end_sessions(&self, user_id: i64, audit: NewEvent) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)
            .map(|r| D::rows_affected(&r))?;
        self.append_in(&mut tx, vec![audit.with_object(format!("user:{user_id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }

    async fn touch_session(&self, token_hash: &str, expires_at_micros: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
            .bind(expires_at_micros)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
