//! SQL trace (cargo feature `sql-trace`, for development and benchmarks only): every statement
//! each pooled connection runs is appended to a file, one line each, as
//! `SQL -- binds: [VALUES]`. `cargo xtask bench` replays these statements to measure the
//! database's own limit. The bound values include password and token hashes, so release builds
//! for production leave the feature off and the option does not exist there.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    path::Path,
    sync::{Arc, Mutex},
};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// The shared trace file.
#[derive(Debug, Clone)]
pub(crate) struct TraceSink {
    file: Arc<Mutex<File>>,
}

impl TraceSink {
    /// Opens `path` for appending (created when missing).
    pub(crate) fn open(path: &Path) -> std::io::Result<TraceSink> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(TraceSink { file: Arc::new(Mutex::new(file)) })
    }

    /// An instrumentation for one connection that writes its statements to this sink.
    pub(crate) fn instrumentation(&self) -> impl Instrumentation {
        let sink = self.clone();
        move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                sink.write(&query.to_string().replace('\n', " "));
            }
        }
    }

    fn write(&self, line: &str) {
        if let Ok(mut file) = self.file.lock() {
            // A trace is best effort: a full disk must not fail the query it describes.
            let _ = writeln!(file, "{line}");
        }
    }
}
