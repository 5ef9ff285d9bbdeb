//! Batched, durable appends for events that are not part of a larger transaction (data
//! access, logins, denials), and the group commit they are built on.
//!
//! A single task owns the end of the chain and writes whatever events have queued up in one
//! transaction, so throughput grows with load while every caller still waits for its own event
//! to be durable: `append` returns only after the commit, and returns an error if the commit
//! failed, so the caller can refuse the action it was about to perform.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::{AuditEvent, NewEvent};

/// Where batches go: implemented by the storage backends. `I` is what callers hand in, `O`
/// what each gets back once the batch is durable (one `O` per `I`, in order).
#[async_trait::async_trait]
pub trait BatchSink<I, O>: Send + Sync + 'static {
    /// Writes all items in one transaction, in order, returning one result per item.
    async fn write_batch(&self, items: Vec<I>) -> Result<Vec<O>, String>;
}

/// The sink of audit events.
pub trait AuditSink: BatchSink<NewEvent, AuditEvent> {}
impl<T: BatchSink<NewEvent, AuditEvent>> AuditSink for T {}

/// The audit event could not be written; the action it records must not go ahead.
#[derive(Debug, Clone, thiserror::Error)]
#[error("audit log unavailable: {0}")]
pub struct AppendError(pub String);

type Job<I, O> = (I, oneshot::Sender<Result<O, AppendError>>);

/// Group commit: a single task owns the writes and commits whatever has queued up while the
/// previous batch was being written, so one transaction (one fsync) serves many callers under
/// load and a lone caller waits for nothing but its own write.
pub struct GroupCommit<I, O> {
    tx: mpsc::Sender<Job<I, O>>,
}

impl<I, O> Clone for GroupCommit<I, O> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone() }
    }
}

impl<I, O> std::fmt::Debug for GroupCommit<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl<I: Send + 'static, O: Send + 'static> GroupCommit<I, O> {
    /// Starts the writing task on the current Tokio runtime; at most `max_batch` items go into
    /// one transaction.
    pub fn spawn(sink: Arc<dyn BatchSink<I, O>>, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<Job<I, O>>(max_batch * 4);
        tokio::spawn(async move {
            let mut jobs: Vec<Job<I, O>> = Vec::with_capacity(max_batch);
            while rx.recv_many(&mut jobs, max_batch).await > 0 {
                let (items, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
                let n = items.len();
                match sink.write_batch(items).await {
                    Ok(stored) if stored.len() == n => {
                        for (reply, out) in replies.into_iter().zip(stored) {
                            let _ = reply.send(Ok(out));
                        }
                    }
                    result => {
                        let e = match result {
                            Err(e) => e,
                            Ok(stored) => format!("the sink returned {} results for {n} items", stored.len()),
                        };
                        tracing::error!(error = %e, "batch could not be written");
                        for reply in replies {
                            let _ = reply.send(Err(AppendError(e.clone())));
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    /// Hands in one item and waits until the batch holding it is durable.
    pub async fn submit(&self, item: I) -> Result<O, AppendError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((item, reply)).await.map_err(|_| AppendError("writer stopped".into()))?;
        rx.await.map_err(|_| AppendError("writer stopped".into()))?
    }
}

/// A cheap, cloneable handle to the task appending audit events.
#[derive(Clone, Debug)]
pub struct Appender {
    inner: GroupCommit<NewEvent, AuditEvent>,
}

impl Appender {
    /// Starts the appending task on the current Tokio runtime.
    pub fn spawn<S: AuditSink>(sink: Arc<S>, max_batch: usize) -> Self {
        Self { inner: GroupCommit::spawn(sink, max_batch) }
    }

    /// Appends one event and waits until it is durable.
    pub async fn append(&self, event: NewEvent) -> Result<AuditEvent, AppendError> {
        self.inner.submit(event).await
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
    impl BatchSink<NewEvent, AuditEvent> for MemSink {
        async fn write_batch(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>, String> {
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
