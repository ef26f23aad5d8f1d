//! Turning command-line paths into messages: files, mbox files, Maildir
//! folders and directory trees.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where the bytes of one input file come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`).
    Stdin,
    /// A file on disk.
    File(PathBuf),
}

impl Source {
    /// How the source is named in the output.
    pub fn label(&self) -> String {
        match self {
            Source::Stdin => "-".to_string(),
            Source::File(p) => p.to_string_lossy().into_owned(),
        }
    }
}

/// Expands one command-line path into the files it names, in a
/// deterministic order. Errors met on the way (unreadable directories) are
/// returned alongside whatever could be listed.
pub fn expand(arg: &Path) -> (Vec<Source>, Vec<(PathBuf, io::Error)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    if arg.as_os_str() == "-" {
        files.push(Source::Stdin);
        return (files, errors);
    }
    match fs::metadata(arg) {
        Err(e) => errors.push((arg.to_path_buf(), e)),
        Ok(m) if m.is_dir() => {
            if is_maildir(arg) {
                maildir(arg, &mut files, &mut errors);
            } else {
                walk(arg, &mut files, &mut errors);
            }
        }
        // A named FIFO or device is read as given: the user asked for it.
        Ok(_) => files.push(Source::File(arg.to_path_buf())),
    }
    (files, errors)
}

/// True when `dir` has `cur`, `new` and `tmp` subdirectories.
pub fn is_maildir(dir: &Path) -> bool {
    ["cur", "new", "tmp"].iter().all(|s| dir.join(s).is_dir())
}

/// The messages of a Maildir: the regular files in `cur` then `new`, each
/// sorted by name. Files whose name starts with a dot are skipped, as the
/// Maildir convention asks.
fn maildir(dir: &Path, files: &mut Vec<Source>, errors: &mut Vec<(PathBuf, io::Error)>) {
    for sub in ["cur", "new"] {
        let sub = dir.join(sub);
        let mut entries = match sorted_entries(&sub) {
            Ok(e) => e,
            Err(e) => {
                errors.push((sub, e));
                continue;
            }
        };
        entries.retain(|p| {
            !p.file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
        });
        for p in entries {
            if is_regular_file(&p) {
                files.push(Source::File(p));
            }
        }
    }
}

/// Every regular file under `dir`, recursively, sorted by name at each
/// level. Maildir folders met on the way are read as Maildirs. Symbolic
/// links to files are followed; symbolic links to directories are not, so
/// that a link loop cannot make the walk endless.
fn walk(dir: &Path, files: &mut Vec<Source>, errors: &mut Vec<(PathBuf, io::Error)>) {
    let entries = match sorted_entries(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push((dir.to_path_buf(), e));
            return;
        }
    };
    for p in entries {
        let ft = match fs::symlink_metadata(&p) {
            Ok(m) => m.file_type(),
            Err(e) => {
                errors.push((p, e));
                continue;
            }
        };
        if ft.is_dir() {
            if is_maildir(&p) {
                maildir(&p, files, errors);
            } else {
                walk(&p, files, errors);
            }
        } else if ft.is_file() || (ft.is_symlink() && is_regular_file(&p)) {
            files.push(Source::File(p));
        }
    }
}

fn is_regular_file(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file())
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        out.push(e?.path());
    }
    out.sort();
    Ok(out)
}

/// True when `data` looks like an mbox file: its first line starts with
/// `From `.
pub fn is_mbox(data: &[u8]) -> bool {
    data.starts_with(b"From ")
}

/// Splits an mbox into its messages, leniently as mutt does: every line
/// that starts with `From ` begins a new message, whether or not a blank
/// line precedes it. Each message keeps its `From ` line (the walker skips
/// it), loses the blank line that separated it from the next one, and has
/// its body lines unquoted one level (`>From ` becomes `From `, `>>From `
/// becomes `>From `).
pub fn split_mbox(data: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = vec![0];
    starts.extend(memchr::memmem::find_iter(data, b"\nFrom ").map(|i| i + 1));
    let mut out = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let last = n + 1 == starts.len();
        let end = starts.get(n + 1).copied().unwrap_or(data.len());
        let mut chunk = &data[start..end];
        if !last {
            chunk = strip_separator(chunk);
        }
        out.push(unquote(chunk));
    }
    out
}

/// Drops the blank line that separates a message from the next `From `.
fn strip_separator(chunk: &[u8]) -> &[u8] {
    if chunk.ends_with(b"\r\n\r\n") || chunk.ends_with(b"\n\r\n") {
        &chunk[..chunk.len() - 2]
    } else if chunk.ends_with(b"\n\n") {
        &chunk[..chunk.len() - 1]
    } else {
        chunk
    }
}

/// Copies a message, removing one `>` from body lines that match `>+From `.
/// Only lines starting with `>` are looked at.
fn unquote(msg: &[u8]) -> Vec<u8> {
    let body = header_end(msg);
    let mut out = Vec::with_capacity(msg.len());
    let mut copied = 0;
    let first = (msg.get(body) == Some(&b'>')).then_some(body);
    let rest = memchr::memmem::find_iter(&msg[body..], b"\n>").map(|i| body + i + 1);
    for at in first.into_iter().chain(rest) {
        let gts = msg[at..].iter().take_while(|&&b| b == b'>').count();
        if msg[at + gts..].starts_with(b"From ") {
            out.extend_from_slice(&msg[copied..at]);
            copied = at + 1;
        }
    }
    out.extend_from_slice(&msg[copied..]);
    out
}

/// Offset of the first body byte: just past the first empty line (LF or
/// CRLF) after the first line, or the end when there is none.
pub fn header_end(msg: &[u8]) -> usize {
    let lf = memchr::memmem::find(msg, b"\n\n").map(|i| i + 2);
    let crlf = memchr::memmem::find(msg, b"\n\r\n").map(|i| i + 3);
    match (lf, crlf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(msg.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_unquotes() {
        let mbox = b"From a\nSubject: 1\n\nhello\n>From here\n>>From there\n\nFrom b\nSubject: 2\n\nbody\nFrom c\n\nx\n";
        let msgs = split_mbox(mbox);
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            msgs[0],
            b"From a\nSubject: 1\n\nhello\nFrom here\n>From there\n"
        );
        assert_eq!(msgs[1], b"From b\nSubject: 2\n\nbody\n");
        assert_eq!(msgs[2], b"From c\n\nx\n");
    }

    #[test]
    fn header_lines_are_not_unquoted() {
        let msgs = split_mbox(b"From a\n>From: x\n\n>From y\n");
        assert_eq!(msgs, [b"From a\n>From: x\n\nFrom y\n".to_vec()]);
    }

    #[test]
    fn crlf_separator() {
        let msgs = split_mbox(b"From a\r\nS: 1\r\n\r\nx\r\n\r\nFrom b\r\n\r\ny\r\n");
        assert_eq!(msgs[0], b"From a\r\nS: 1\r\n\r\nx\r\n");
        assert_eq!(msgs[1], b"From b\r\n\r\ny\r\n");
    }

    /// The splitter as first written, a line at a time: the oracle.
    fn naive_split(data: &[u8]) -> Vec<Vec<u8>> {
        let mut starts = vec![0];
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' && data[i + 1..].starts_with(b"From ") {
                starts.push(i + 1);
            }
        }
        let mut out = Vec::new();
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(data.len());
            let mut chunk = &data[start..end];
            if n + 1 < starts.len() {
                chunk = strip_separator(chunk);
            }
            let mut body = chunk.len();
            let mut pos = 0;
            for line in chunk.split_inclusive(|&b| b == b'\n') {
                pos += line.len();
                if pos > line.len() && (line == b"\n" || line == b"\r\n") {
                    body = pos;
                    break;
                }
            }
            let mut msg = chunk[..body].to_vec();
            for line in chunk[body..].split_inclusive(|&b| b == b'\n') {
                let gts = line.iter().take_while(|&&b| b == b'>').count();
                let quoted = gts > 0 && line[gts..].starts_with(b"From ");
                msg.extend_from_slice(if quoted { &line[1..] } else { line });
            }
            out.push(msg);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn split_agrees_with_the_line_by_line_oracle(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b"From "[..], b"\n", b"\r\n", b">", b">>From ", b"x", b"From: y", b" ",
                ]),
                0..40,
            )
        ) {
            let data: Vec<u8> = parts.concat();
            proptest::prop_assert_eq!(split_mbox(&data), naive_split(&data));
        }
    }
}
