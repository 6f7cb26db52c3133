//! Progress bars for long command-line work (simulate, verify, download, trustee decrypt), on
//! standard error and only when it is a terminal: scripts and tests see none.
use indicatif::{ProgressBar, ProgressStyle};

/// A bar for `total` items named `label` (a spinner with a count when the total is unknown).
pub fn bar(label: &'static str, total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(t) => (
            ProgressBar::new(t),
            "{msg:>12} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {eta} left)",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{msg:>12} {spinner} {human_pos} ({per_sec})",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label);
    bar
}

/// A bar for bytes transferred.
pub fn bytes(label: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} {spinner} {binary_bytes} ({binary_bytes_per_sec})")
    {
        bar.set_style(style);
    }
    bar.set_message(label);
    bar
}
