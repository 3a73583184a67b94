//! End-to-end tests of hooks (issues #7 and #12) over real HTTP to the simulator:
//!
//! - `points`: a Rust hook at each of the six points changes a restore as expected.

mod points;
