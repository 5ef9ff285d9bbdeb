//! Accounts' passwords and holds, and sessions' expiry, in SQL both dialects accept (compiled
//! into both crates; see `catalog.rs` for how).

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_storage::*;

use crate::{Store, append_in, backend};

#[async_trait]
impl AccountStore for Store {
    async fn set_password(&self, user_id: i64, hash: &str, must_change: bool, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3")
            .bind(hash)
            .bind(must_change)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Err(StorageError::NotFound(format!("user:{user_id}")));
        }
        append_in(&mut tx, self.alg, vec![audit.with_object(format!("user:{user_id}"))]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn set_disabled(&self, user_id: i64, disabled: bool, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(disabled)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
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
        append_in(&mut tx, self.alg, vec![audit.with_object(format!("user:{user_id}"))]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn end_sessions(&self, user_id: i64, audit: NewEvent) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        append_in(&mut tx, self.alg, vec![audit.with_object(format!("user:{user_id}"))]).await?;
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
