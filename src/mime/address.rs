//! STUB — to be written (helper B).

use crate::defect::Defects;

/// One mailbox of an address list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// The display name, decoded to UTF-8.
    pub name: Option<String>,
    /// The addr-spec, as written.
    pub email: String,
    /// The group the mailbox belongs to, if any.
    pub group: Option<String>,
}

/// Parses an address-list field value (it may still contain folding).
pub fn parse_list(value: &[u8]) -> (Vec<Address>, Defects) {
    let _ = value;
    (Vec::new(), Defects::empty())
}
