//! A fixed set of threads for blocking work (database calls, password hashing): a burst of
//! requests waits in a queue instead of starting a thread each, so the server's threads and
//! memory stay bounded however many requests arrive at once.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

const PENDING: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

/// Why work given to a [`BlockingPool`] produced no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlockingError {
    /// No thread took the work up within the allowed wait; it will never run.
    #[error("no worker thread was free in time")]
    NotStarted,
    /// The work panicked (the thread survives).
    #[error("the work panicked")]
    Panicked,
    /// The pool's threads are gone.
    #[error("the worker threads are gone")]
    Closed,
}

/// A fixed number of named threads that run closures from one queue.
#[derive(Debug)]
pub struct BlockingPool {
    sender: mpsc::Sender<Job>,
}

impl BlockingPool {
    /// Starts `threads` threads (at least one) named `name-N`.
    pub fn new(name: &str, threads: usize) -> std::io::Result<Arc<BlockingPool>> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            thread::Builder::new().name(format!("{name}-{index}")).spawn(move || {
                loop {
                    let next = match receiver.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })?;
        }
        Ok(Arc::new(BlockingPool { sender }))
    }

    /// Runs `work` on one of the threads and waits for its result. `work` is told how long it
    /// waited in the queue. With `start_within`, work that no thread has taken up by then is
    /// dropped unrun and [`BlockingError::NotStarted`] returned; work that has started always
    /// runs to its end and its result is returned.
    pub async fn run<T: Send + 'static>(
        &self,
        start_within: Option<Duration>,
        work: impl FnOnce(Duration) -> T + Send + 'static,
    ) -> Result<T, BlockingError> {
        let state = Arc::new(AtomicU8::new(PENDING));
        let (done, mut result) = oneshot::channel();
        let queued_at = Instant::now();
        let job_state = Arc::clone(&state);
        let job: Job = Box::new(move || {
            if job_state
                .compare_exchange(PENDING, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                let outcome = catch_unwind(AssertUnwindSafe(|| work(queued_at.elapsed())));
                if let Ok(value) = outcome {
                    let _ = done.send(value);
                }
            }
        });
        self.sender.send(job).map_err(|_| BlockingError::Closed)?;
        if let Some(limit) = start_within {
            if let Ok(outcome) = tokio::time::timeout(limit, &mut result).await {
                return outcome.map_err(|_| BlockingError::Panicked);
            }
            let abandoned = state
                .compare_exchange(PENDING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if abandoned {
                return Err(BlockingError::NotStarted);
            }
        }
        result.await.map_err(|_| BlockingError::Panicked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    #[test]
    fn runs_work_and_survives_a_panic() {
        let pool = BlockingPool::new("t", 1).unwrap();
        runtime().block_on(async {
            assert_eq!(pool.run(None, |_| 2 + 2).await, Ok(4));
            let panicked = pool.run(None, |_| -> u8 { panic!("boom") }).await;
            assert_eq!(panicked, Err(BlockingError::Panicked));
            assert_eq!(pool.run(None, |_| "still here").await, Ok("still here"));
        });
    }

    #[test]
    fn work_not_started_in_time_never_runs() {
        let pool = BlockingPool::new("t", 1).unwrap();
        let ran = Arc::new(AtomicU8::new(0));
        runtime().block_on(async {
            let busy = pool.run(None, |_| thread::sleep(Duration::from_millis(300)));
            let flag = Arc::clone(&ran);
            let late = pool.run(Some(Duration::from_millis(50)), move |_| {
                flag.store(1, Ordering::SeqCst);
            });
            let (busy, late) = tokio::join!(busy, late);
            assert_eq!((busy, late), (Ok(()), Err(BlockingError::NotStarted)));
            // The queue moves on past the dropped work.
            let waited = pool.run(None, |waited| waited).await.unwrap();
            assert!(waited < Duration::from_secs(1));
        });
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_burst_queues_on_two_threads() {
        let pool = BlockingPool::new("t", 2).unwrap();
        let sum = runtime().block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..100_u64 {
                let pool = Arc::clone(&pool);
                set.spawn(async move { pool.run(Some(Duration::from_secs(10)), move |_| i).await });
            }
            let mut sum = 0;
            while let Some(done) = set.join_next().await {
                sum += done.unwrap().unwrap();
            }
            sum
        });
        assert_eq!(sum, (0..100).sum::<u64>());
    }
}
