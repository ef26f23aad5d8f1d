//! What a scan found.

use crate::Defects;

/// What kind of rule made a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectionKind {
    /// A database signature (hash, body, logical or container).
    Signature,
    /// An attachment-policy heuristic.
    Heuristic,
    /// A scan limit was reached: the content could not be scanned in full,
    /// so it is not called clean.
    Limit,
}

/// One detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The name, as ClamAV would print it (`Eicar-Signature.UNOFFICIAL`,
    /// `Heuristics.Encrypted.Zip`, …).
    pub name: String,
    /// What made it.
    pub kind: DetectionKind,
    /// Where: part and member path, e.g. `2/invoice.zip/a.exe`; empty for the
    /// whole input.
    pub location: String,
}

/// The result of one scan. Owns everything; borrows nothing from the input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Detections, in the order found.
    pub detections: Vec<Detection>,
    /// Defects of the message and of everything decoded from it.
    pub defects: Defects,
    /// Parts, members and buffers scanned.
    pub objects: u64,
    /// Bytes scanned (each buffer counted once).
    pub bytes: u64,
    /// The spam verdict, for a mail message scanned with rules.
    pub spam: Option<crate::spam::verdict::Verdict>,
}

impl Report {
    /// Whether anything was detected.
    pub fn infected(&self) -> bool {
        !self.detections.is_empty()
    }

    /// The first detection's name (what clamscan prints), if any.
    pub fn name(&self) -> Option<&str> {
        self.detections.first().map(|d| d.name.as_str())
    }
}
