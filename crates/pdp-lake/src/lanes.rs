//! A load's files written on threads of their own, the data files on several at once (R-AGG-02).
//!
//! Encoding Parquet (statistics, dictionaries, Snappy) is the largest single piece of a load's
//! work. With one writer on the load's task, that one thread was busy for three quarters of the
//! 10M-row benchmark's time while the reader and the validators waited for it, and the quarantine
//! file's JSON was encoded on the same thread. So a load writes through two kinds of [`Worker`]:
//!
//! - [`Lanes`]: one writer of data files ([`DataFiles`]) per lane, each on a blocking thread, taking
//!   runs of exactly one row group's rows in turn. Each lane writes files of its own and hands
//!   back their `Add` actions; the load commits all of them in its one Delta commit, so the
//!   version a reader sees is as atomic as before. A load of less than one row group uses the
//!   first lane only and writes one file. A large load's rows are in the table in runs of a row
//!   group rather than in file order; a Delta table promises no row order, and DataFusion reads
//!   a table's files in parallel anyway.
//! - the quarantine file's writer (see `Lake::load`), which also turns refused rows into their
//!   JSON columns.
//!
//! A worker runs its loop with `Handle::block_on` on a thread from Tokio's blocking pool, so the
//! CPU-bound encoding never holds up the runtime's workers (in the server, HTTP requests).

use std::future::Future;

use datafusion::arrow::record_batch::RecordBatch;
use deltalake::kernel::Add;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::datafile::DataFiles;
use crate::{LakeError, Result};

/// Items a worker may have queued: enough to keep it busy while the next one is made, few
/// enough that memory stays bounded (a data lane's item is up to one chunk of rows).
const QUEUE: usize = 2;

/// A loop over items, on a blocking thread of its own, with a result at the end.
pub(crate) struct Worker<T, R> {
    tx: mpsc::Sender<Message<T>>,
    task: Option<JoinHandle<Result<R>>>,
    /// Whether the end of the input was sent.
    ended: bool,
}

enum Message<T> {
    Item(T),
    End,
}

/// A worker's input. The input ends either with [`Worker::end`] or [`Worker::finish`], after
/// which the loop finishes its files, or because the load gave up (the worker was dropped):
/// then [`Feed::next`] fails, so the loop leaves unfinished what nobody will commit.
pub(crate) struct Feed<T>(mpsc::Receiver<Message<T>>);

impl<T> Feed<T> {
    /// The next item, `None` at the end of the input.
    pub(crate) async fn next(&mut self) -> Result<Option<T>> {
        match self.0.recv().await {
            Some(Message::Item(item)) => Ok(Some(item)),
            Some(Message::End) => Ok(None),
            None => Err(LakeError::Io("the load was given up".into())),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Worker<T, R> {
    /// Starts `body` on its own thread with the items to come.
    pub(crate) fn start<F, Fut>(body: F) -> Self
    where
        F: FnOnce(Feed<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R>>,
    {
        let (tx, rx) = mpsc::channel(QUEUE);
        let handle = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || handle.block_on(body(Feed(rx))));
        Self { tx, task: Some(task), ended: false }
    }

    /// Hands over one item. A worker that stopped (its loop failed) stops the load with its
    /// error.
    pub(crate) async fn send(&mut self, item: T) -> Result<()> {
        self.message(Message::Item(item)).await
    }

    async fn message(&mut self, message: Message<T>) -> Result<()> {
        if self.tx.send(message).await.is_ok() {
            return Ok(());
        }
        match self.task.take() {
            Some(task) => match joined(task.await) {
                Err(e) => Err(e),
                Ok(_) => Err(LakeError::Io("a writer of the load ended before its input".into())),
            },
            None => Err(LakeError::Io("a writer of the load has stopped".into())),
        }
    }

    /// Ends the input, so the loop can finish while the caller does other things (ends other
    /// workers, say); [`Worker::finish`] then waits for its result.
    pub(crate) async fn end(&mut self) -> Result<()> {
        self.message(Message::End).await?;
        self.ended = true;
        Ok(())
    }

    /// Ends the input (unless [`Worker::end`] did) and waits for the loop's result.
    pub(crate) async fn finish(mut self) -> Result<R> {
        if !self.ended {
            self.end().await?;
        }
        match self.task.take() {
            Some(task) => joined(task.await),
            None => Err(LakeError::Io("a writer of the load has stopped".into())),
        }
    }
}

fn joined<R>(r: std::result::Result<Result<R>, tokio::task::JoinError>) -> Result<R> {
    r.map_err(|e| LakeError::Io(format!("a writer thread of the load failed: {e}")))?
}

/// The data files of one load, written by several lanes (see the module's documentation).
pub(crate) struct Lanes {
    /// Writers of lanes not started yet; a lane starts with its first run of rows.
    idle: Vec<DataFiles>,
    running: Vec<Worker<RecordBatch, Vec<Add>>>,
    /// The lane of the run being filled, and how many rows it has.
    current: usize,
    in_run: usize,
    /// Rows per run: the writers' row group size, so each run is one whole row group.
    run_rows: usize,
}

impl Lanes {
    /// Lanes over `writers` (one each; at least one), each written `run_rows` rows at a time.
    pub(crate) fn new(writers: Vec<DataFiles>, run_rows: usize) -> Self {
        assert!(!writers.is_empty() && run_rows > 0, "lanes need a writer and a run length");
        let mut idle = writers;
        // Lanes start in order, and `pop` takes from the end.
        idle.reverse();
        Self { idle, running: Vec::new(), current: 0, in_run: 0, run_rows }
    }

    /// How many lanes a load uses on this machine: one per core, at most four (each holds a
    /// row group in memory while it encodes it).
    pub(crate) fn for_this_machine() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
    }

    fn lanes(&self) -> usize {
        self.running.len() + self.idle.len()
    }

    /// Writes a batch, split where a run of rows ends.
    pub(crate) async fn write(&mut self, mut batch: RecordBatch) -> Result<()> {
        while batch.num_rows() > 0 {
            let take = (self.run_rows - self.in_run).min(batch.num_rows());
            let part = batch.slice(0, take);
            batch = batch.slice(take, batch.num_rows() - take);
            if self.current == self.running.len() {
                let mut writer = self.idle.pop().expect("a lane not yet started");
                self.running.push(Worker::start(move |mut feed: Feed<RecordBatch>| async move {
                    while let Some(batch) = feed.next().await? {
                        writer.write(batch).await?;
                    }
                    writer.finish().await
                }));
            }
            self.running[self.current].send(part).await?;
            self.in_run += take;
            if self.in_run == self.run_rows {
                self.in_run = 0;
                self.current = (self.current + 1) % self.lanes();
            }
        }
        Ok(())
    }

    /// Closes every lane's files and returns their `Add` actions, lane by lane. Every lane is
    /// told to finish before any is waited for, so their last row groups are encoded at once.
    pub(crate) async fn finish(mut self) -> Result<Vec<Add>> {
        for lane in &mut self.running {
            lane.end().await?;
        }
        let mut adds = Vec::new();
        for lane in self.running {
            adds.extend(lane.finish().await?);
        }
        Ok(adds)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::parquet::file::properties::WriterProperties;
    use deltalake::DeltaTable;
    use deltalake::kernel::{DataType as D, PrimitiveType, StructField};

    use super::*;

    const RUN: usize = 10;

    async fn table(dir: &std::path::Path) -> DeltaTable {
        let url = url::Url::from_directory_path(dir).expect("absolute path");
        DeltaTable::try_from_url(url)
            .await
            .expect("table url")
            .create()
            .with_columns([StructField::new("n", D::Primitive(PrimitiveType::Long), true)])
            .await
            .expect("create the table")
    }

    fn lanes(table: &DeltaTable, count: usize) -> Lanes {
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(RUN)).build();
        let writers = (0..count)
            .map(|_| DataFiles::for_table(table, schema(), props.clone(), u64::MAX, &[]).expect("writer"))
            .collect();
        Lanes::new(writers, RUN)
    }

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]))
    }

    fn batch(range: std::ops::Range<i64>) -> RecordBatch {
        RecordBatch::try_new(schema(), vec![Arc::new(Int64Array::from_iter_values(range))]).expect("batch")
    }

    /// The values of each row group of each file the `adds` name, file by file.
    fn row_groups(dir: &std::path::Path, adds: &[Add]) -> Vec<Vec<Vec<i64>>> {
        adds.iter()
            .map(|add| {
                let file = std::fs::File::open(dir.join(&add.path)).expect("data file");
                let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
                let groups = builder.metadata().num_row_groups();
                (0..groups)
                    .map(|g| {
                        let file = std::fs::File::open(dir.join(&add.path)).expect("data file");
                        ParquetRecordBatchReaderBuilder::try_new(file)
                            .expect("parquet")
                            .with_row_groups(vec![g])
                            .build()
                            .expect("reader")
                            .flat_map(|b| {
                                let b = b.expect("batch");
                                let n = b.column(0).as_any().downcast_ref::<Int64Array>().expect("int64").clone();
                                (0..n.len()).map(move |i| n.value(i)).collect::<Vec<_>>()
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    /// internals, no requirement (every accepted row is written once, in whole row groups of file order)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_of_a_row_group_go_to_the_lanes_in_turn_and_every_row_is_written_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = table(dir.path()).await;
        let mut lanes = lanes(&table, 3);
        // Batches of 7 rows, so runs of 10 are cut across batches.
        for start in (0..95).step_by(7) {
            lanes.write(batch(start..(start + 7).min(95))).await.expect("write");
        }
        let adds = lanes.finish().await.expect("finish");
        assert_eq!(adds.len(), 3, "one file per lane");
        let files = row_groups(dir.path(), &adds);
        let mut seen: Vec<i64> = Vec::new();
        for (lane, groups) in files.iter().enumerate() {
            for (k, group) in groups.iter().enumerate() {
                // Lane `lane` takes runs lane, lane + 3, lane + 6, ... of 10 rows each.
                let first = ((k * 3 + lane) * RUN) as i64;
                let expected: Vec<i64> = (first..(first + RUN as i64).min(95)).collect();
                assert_eq!(group, &expected, "row group {k} of lane {lane}");
                seen.extend(group);
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..95).collect::<Vec<i64>>(), "every row once");
    }

    /// internals, no requirement (a small load stays one file; a current-thread runtime, as in tests of
    /// the lake, drives the lanes too)
    #[tokio::test]
    async fn less_than_a_run_is_one_file_of_the_first_lane() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = table(dir.path()).await;
        let mut lanes = lanes(&table, 2);
        lanes.write(batch(0..4)).await.expect("write");
        lanes.write(batch(4..9)).await.expect("write");
        let adds = lanes.finish().await.expect("finish");
        assert_eq!(adds.len(), 1);
        assert_eq!(row_groups(dir.path(), &adds), vec![vec![(0..9).collect::<Vec<i64>>()]]);
    }

    /// internals, no requirement (a load given up commits nothing: its lanes stop without an error
    /// escaping and finish no file)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lanes_dropped_unfinished_leave_no_finished_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = table(dir.path()).await;
        let mut lanes = lanes(&table, 2);
        lanes.write(batch(0..25)).await.expect("write");
        let worker_tasks: Vec<_> = lanes.running.iter_mut().filter_map(|w| w.task.take()).collect();
        drop(lanes);
        for task in worker_tasks {
            let ended = task.await.expect("the lane's thread does not panic");
            assert!(ended.is_err(), "a lane whose input was dropped reports it was given up");
        }
        let parquet_files = std::fs::read_dir(dir.path())
            .expect("table dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
            .count();
        assert_eq!(parquet_files, 0, "no finished data file");
    }
}
