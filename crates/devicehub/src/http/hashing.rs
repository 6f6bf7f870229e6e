//! Password hashing off the async workers, on a fixed set of threads (one per core): a flood
//! of logins waits in a queue instead of starting a thread (and an argon2 block) per request.

use std::sync::Arc;

use foundation::BlockingPool;

use crate::http::problem::ApiError;

/// The hashing threads, shared by every worker as app data.
#[derive(Debug, Clone)]
pub(crate) struct Hashing(Arc<BlockingPool>);

impl Hashing {
    pub(crate) fn start() -> std::io::Result<Hashing> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Hashing(BlockingPool::new("hash", cores)?))
    }

    /// Runs `work` (a hash or a verification) on a hashing thread.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.0.run(None, move |_| work()).await.map_err(|e| ApiError::internal(&e))
    }
}
