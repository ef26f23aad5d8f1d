//! The `.cf` parser. (Stub: owned by the rules-parser helper.)

use super::ast::Config;
use std::path::Path;

/// Reads `.cf` (and `.pre`) files into a [`Config`].
#[derive(Debug, Default)]
pub struct Parser {
    config: Config,
}

impl Parser {
    /// A parser with SpamAssassin 4.0's defaults.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Parses one file's text; `file` names it in [`Skipped`](super::ast::Skipped)
    /// entries and resolves relative `include`s against its directory.
    pub fn parse_str(&mut self, file: &str, text: &str) {
        let _ = (file, text);
    }

    /// Parses a file, or every `*.pre` then `*.cf` file of a directory in
    /// name order, as SpamAssassin reads a rules directory.
    pub fn parse_path(&mut self, path: &Path) -> std::io::Result<()> {
        let _ = path;
        Ok(())
    }

    /// The configuration read so far.
    pub fn finish(self) -> Config {
        self.config
    }
}
