//! The import progress bar: a spinner with a row count and rate on stderr, only when stderr is a
//! terminal (scripts and `--json` get none).

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use muster_engine::Progress;

#[derive(Clone)]
pub struct ImportProgress {
    bar: Arc<ProgressBar>,
}

impl ImportProgress {
    pub fn new(visible: bool) -> ImportProgress {
        let bar = ProgressBar::with_draw_target(
            None,
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {human_pos} rows checked ({rate}, {elapsed})")
        {
            // indicatif's own {per_sec} prints four decimals; whole rows per second read better.
            let style = style.with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} rows/s", state.per_sec());
                },
            );
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        ImportProgress { bar: Arc::new(bar) }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for ImportProgress {
    fn rows_done(&self, rows: u64) {
        self.bar.set_position(rows);
    }
}
