//! The signature engine (essay to come).

pub mod db;
pub mod matcher;
pub mod pattern;
pub mod pe;
pub mod policy;
