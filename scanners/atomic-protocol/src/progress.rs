//! Progress on stderr: only when stderr is a terminal, and only once the work has taken more
//! than [`QUIET_FOR`]; the line is rewritten in place and erased at the end. Nothing is ever
//! printed to stdout, which carries the documents.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a run stays silent before showing progress.
pub const QUIET_FOR: Duration = Duration::from_secs(1);
const REDRAW_EVERY: Duration = Duration::from_millis(200);

struct State {
    done: AtomicUsize,
    finished: AtomicBool,
}

/// A progress line over `total` subjects.
pub struct Progress {
    state: Arc<State>,
    painter: Option<JoinHandle<()>>,
}

impl Progress {
    /// Shows progress only if `wanted` and stderr is a terminal.
    pub fn start(label: &str, total: usize, wanted: bool) -> Progress {
        let state = Arc::new(State {
            done: AtomicUsize::new(0),
            finished: AtomicBool::new(false),
        });
        let painter = if wanted && std::io::stderr().is_terminal() {
            let state = Arc::clone(&state);
            let label = label.to_string();
            Some(std::thread::spawn(move || paint(&label, total, &state)))
        } else {
            None
        };
        Progress { state, painter }
    }

    /// A progress that never shows (tests, atomic mode).
    pub fn hidden() -> Progress {
        Progress::start("", 0, false)
    }

    pub fn subject_done(&self) {
        self.state.done.fetch_add(1, Ordering::SeqCst);
    }

    /// Stop and erase the line.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.state.finished.store(true, Ordering::SeqCst);
        if let Some(painter) = self.painter.take() {
            let _ = painter.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

fn paint(label: &str, total: usize, state: &State) {
    let started = Instant::now();
    let mut shown = false;
    while !state.finished.load(Ordering::SeqCst) {
        std::thread::sleep(REDRAW_EVERY);
        if started.elapsed() < QUIET_FOR {
            continue;
        }
        let done = state.done.load(Ordering::SeqCst);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K{label}: {done} of {total} subject{} scanned, {}s",
            if total == 1 { "" } else { "s" },
            started.elapsed().as_secs()
        );
        let _ = err.flush();
        shown = true;
    }
    if shown {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
    }
}
