//! Scan statistics: a mergeable accumulator behind the threat report
//! (issue 7; work in progress).
