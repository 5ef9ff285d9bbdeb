//! Batched, durable appends for events that are not part of a larger transaction (data
//! access, logins, denials).
//!
//! A single task owns the end of the chain and writes whatever events have queued up in one
//! transaction, so throughput grows with load while every caller still waits for its own event
//! to be durable: `append` returns only after the commit, and returns an error if the commit
//! failed, so the caller can refuse the action it was about to perform.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::{AuditEvent, NewEvent};

/// Where batches go: implemented by the storage backends.
#[async_trait::async_trait]
pub trait AuditSink: Send + Sync + 'static {
    /// Appends all events in one transaction, in order, returning them as stored.
    async fn append_batch(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>, String>;
}

/// The audit event could not be written; the action it records must not go ahead.
#[derive(Debug, Clone, thiserror::Error)]
#[error("audit log unavailable: {0}")]
pub struct AppendError(pub String);

type Job = (NewEvent, oneshot::Sender<Result<AuditEvent, AppendError>>);

/// A cheap, cloneable handle to the appending task.
#[derive(Clone)]
pub struct Appender {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Appender")
    }
}

impl Appender {
    /// Starts the appending task on the current Tokio runtime.
    pub fn spawn(sink: Arc<dyn AuditSink>, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<Job>(max_batch * 4);
        tokio::spawn(async move {
            let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
            while rx.recv_many(&mut jobs, max_batch).await > 0 {
                let (events, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
                match sink.append_batch(events).await {
                    Ok(stored) => {
                        for (reply, ev) in replies.into_iter().zip(stored) {
                            let _ = reply.send(Ok(ev));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "audit batch could not be written");
                        for reply in replies {
                            let _ = reply.send(Err(AppendError(e.clone())));
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    /// Appends one event and waits until it is durable.
    pub async fn append(&self, event: NewEvent) -> Result<AuditEvent, AppendError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((event, reply)).await.map_err(|_| AppendError("appender stopped".into()))?;
        rx.await.map_err(|_| AppendError("appender stopped".into()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChainHead, HashAlg, chain_next};
    use std::sync::Mutex;

    struct MemSink {
        head: Mutex<ChainHead>,
        batches: Mutex<Vec<usize>>,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl AuditSink for MemSink {
        async fn append_batch(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>, String> {
            if self.fail {
                return Err("disk full".into());
            }
            self.batches.lock().unwrap().push(events.len());
            let mut head = self.head.lock().unwrap();
            Ok(events
                .into_iter()
                .map(|e| {
                    let ae = chain_next(&head, HashAlg::Sha256, 0, e);
                    *head = ChainHead { seq: ae.seq, hash: ae.hash.clone() };
                    ae
                })
                .collect())
        }
    }

    /// covers: R-SEC-03 (concurrent appends are batched and each caller gets its own event)
    #[tokio::test]
    async fn batches_concurrent_appends() {
        let sink = Arc::new(MemSink { head: Mutex::new(ChainHead::genesis()), batches: Mutex::default(), fail: false });
        let app = Appender::spawn(sink.clone(), 64);
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move { app.append(NewEvent::system("t", &format!("o:{i}"))).await })
            })
            .collect();
        let mut seqs = Vec::new();
        for (i, h) in handles.into_iter().enumerate() {
            let ev = h.await.unwrap().unwrap();
            assert_eq!(ev.event.object, format!("o:{i}"));
            seqs.push(ev.seq);
        }
        seqs.sort();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
        assert_eq!(sink.batches.lock().unwrap().iter().sum::<usize>(), 200);
    }

    /// covers: R-SEC-03 (a failed write is reported to the caller, never swallowed)
    #[tokio::test]
    async fn failed_write_is_an_error() {
        let sink = Arc::new(MemSink { head: Mutex::new(ChainHead::genesis()), batches: Mutex::default(), fail: true });
        let app = Appender::spawn(sink, 8);
        assert!(app.append(NewEvent::system("t", "o")).await.is_err());
    }
}
