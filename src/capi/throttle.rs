//! The C face of [`crate::throttle`] (issue 7; work in progress).
