//! Scanning messages and printing what was found, as text or JSON.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use filter::Limits;
use filter::defect::Defects;
use filter::mime::{Decoder, Message, Origin, Part, PartKind};
use serde_json::{Value, json};

use crate::extract;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One block of lines per message.
    Text,
    /// One JSON document for the whole run.
    Json,
}

/// What is reported for one part.
struct PartInfo {
    index: usize,
    parent: Option<u32>,
    depth: u32,
    content_type: String,
    kind: &'static str,
    origin: &'static str,
    alternate: bool,
    encoding: &'static str,
    charset: Option<String>,
    filename: Option<String>,
    boundary: Option<String>,
    size: usize,
    decoded_size: Option<usize>,
    sniffed: Option<&'static str>,
    defects: Defects,
    extracted: Option<String>,
}

/// Scans messages one at a time and streams the report to `out`.
pub struct Scanner<W: Write> {
    out: W,
    format: Format,
    limits: Limits,
    extract: Option<PathBuf>,
    /// Messages scanned so far; also the `msg<N>` of extracted files.
    seq: usize,
    parts: usize,
    /// For each defect, the number of messages that show it.
    defect_counts: BTreeMap<&'static str, u64>,
    failed: bool,
    scratch: Vec<u8>,
}

impl<W: Write> Scanner<W> {
    /// A scanner writing to `out`; extracts leaves into `extract` if given
    /// (the directory must exist).
    pub fn new(out: W, format: Format, limits: Limits, extract: Option<PathBuf>) -> Self {
        Scanner {
            out,
            format,
            limits,
            extract,
            seq: 0,
            parts: 0,
            defect_counts: BTreeMap::new(),
            failed: false,
            scratch: Vec::new(),
        }
    }

    /// True when some extraction failed.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Writes what comes before the first message.
    pub fn begin(&mut self) -> io::Result<()> {
        if self.format == Format::Json {
            self.out.write_all(b"{\"messages\":[")?;
        }
        Ok(())
    }

    /// Scans one message: `path` is where it came from and `index` its
    /// 1-based position in an mbox file.
    pub fn message(&mut self, path: &str, index: Option<usize>, data: &[u8]) -> io::Result<()> {
        self.seq += 1;
        let msg = Message::parse_with(data, &self.limits);
        let mut decoder = Decoder::new(&self.limits);
        let mut parts = Vec::with_capacity(msg.parts().len());
        self.walk(&msg, &mut decoder, None, 0, &mut parts);
        let all = parts.iter().fold(msg.defects(), |d, p| d | p.defects);
        self.parts += parts.len();
        for name in all.names() {
            *self.defect_counts.entry(name).or_default() += 1;
        }
        match self.format {
            Format::Text => self.text(path, index, all, &parts),
            Format::Json => self.json(path, index, all, &msg, &parts),
        }
    }

    /// Describes every part of `msg` into `out`, numbering them in output
    /// order. A transfer-encoded message/rfc822 leaf is decoded and its
    /// message walked beneath it, as mail clients show it, within the depth
    /// limit.
    fn walk(
        &mut self,
        msg: &Message<'_>,
        decoder: &mut Decoder,
        parent: Option<usize>,
        depth: u32,
        out: &mut Vec<PartInfo>,
    ) {
        // Where each part of `msg` landed in `out`; parents come first.
        let mut at = vec![0usize; msg.parts().len()];
        for (index, p) in msg.walk() {
            at[index] = out.len();
            let mut info = self.part(msg, out.len(), p, decoder);
            info.defects |= p.defects;
            info.parent = p
                .parent
                .map(|q| at[q as usize] as u32)
                .or(parent.map(|q| q as u32));
            info.depth += depth;
            out.push(info);
            let nested = p.kind == PartKind::Leaf
                && p.is_type("message")
                && !p.encoding.is_identity()
                && ((info_depth(out) + 1) as usize) < self.limits.max_depth;
            if nested {
                let inner = self.scratch.clone();
                let inner_msg = Message::parse_with(&inner, &self.limits);
                let at = out.len() - 1;
                self.walk(&inner_msg, decoder, Some(at), out[at].depth + 1, out);
            }
        }
    }

    /// Describes one part, decoding (and extracting) it if it is a leaf.
    fn part(
        &mut self,
        msg: &Message<'_>,
        index: usize,
        p: &Part<'_>,
        decoder: &mut Decoder,
    ) -> PartInfo {
        let filename = msg.filename(p).map(|n| n.into_owned());
        let mut info = PartInfo {
            index,
            parent: p.parent,
            depth: p.depth,
            content_type: p.content_type(),
            kind: match p.kind {
                PartKind::Multipart => "multipart",
                PartKind::Message => "message",
                PartKind::Leaf => "leaf",
            },
            origin: origin_name(p.origin),
            alternate: p.alternate,
            encoding: p.encoding.name(),
            charset: p
                .charset
                .as_deref()
                .map(|c| String::from_utf8_lossy(c).into_owned()),
            filename,
            boundary: p
                .boundary
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
            size: p.body.len(),
            decoded_size: None,
            sniffed: None,
            defects: Defects::empty(),
            extracted: None,
        };
        if p.kind != PartKind::Leaf {
            return info;
        }
        info.defects = decoder.decode(msg, p, &mut self.scratch);
        let sniffed = filter::sniff::sniff(&self.scratch).name();
        info.decoded_size = Some(self.scratch.len());
        info.sniffed = Some(sniffed);
        if let Some(dir) = &self.extract {
            let name = info.filename.as_deref();
            match extract::write_part(dir, self.seq, index, name, sniffed, &self.scratch) {
                Ok(path) => {
                    info.extracted = path.file_name().map(|n| n.to_string_lossy().into_owned());
                }
                Err(e) => {
                    crate::complain(&dir.to_string_lossy(), &e);
                    self.failed = true;
                }
            }
        }
        info
    }

    fn text(
        &mut self,
        path: &str,
        index: Option<usize>,
        all: Defects,
        parts: &[PartInfo],
    ) -> io::Result<()> {
        let out = &mut self.out;
        if self.seq > 1 {
            writeln!(out)?;
        }
        write!(out, "{}", path.escape_debug())?;
        if let Some(i) = index {
            write!(out, "#{i}")?;
        }
        writeln!(out)?;
        if all.is_empty() {
            writeln!(out, "  defects: none")?;
        } else {
            writeln!(out, "  defects: {all}")?;
        }
        for p in parts {
            let indent = 2 * (p.depth as usize + 1);
            write!(
                out,
                "{:indent$}[{}] {} {}",
                "",
                p.index,
                escape(&p.content_type),
                p.kind
            )?;
            if p.origin != "mime" {
                write!(out, " {}", p.origin)?;
            }
            if p.alternate && p.origin != "alternate" {
                write!(out, " (alternate)")?;
            }
            write!(out, " {}", p.encoding)?;
            if let Some(n) = &p.filename {
                write!(out, " name=\"{}\"", escape(n))?;
            }
            write!(out, " size={}", p.size)?;
            if let Some(d) = p.decoded_size {
                write!(out, " decoded={d}")?;
            }
            if let Some(s) = p.sniffed {
                write!(out, " sniffed={s}")?;
            }
            if let Some(c) = &p.charset {
                write!(out, " charset={}", escape(c))?;
            }
            if !p.defects.is_empty() {
                write!(out, " defects={}", p.defects)?;
            }
            if let Some(x) = &p.extracted {
                write!(out, " -> {}", escape(x))?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    fn json(
        &mut self,
        path: &str,
        index: Option<usize>,
        all: Defects,
        msg: &Message<'_>,
        parts: &[PartInfo],
    ) -> io::Result<()> {
        let root = msg.root();
        let header = |name: &str| -> Value {
            match msg.header_text(root, name) {
                Some(t) => Value::String(t.into_owned()),
                None => Value::Null,
            }
        };
        let extracting = self.extract.is_some();
        let parts: Vec<Value> = parts
            .iter()
            .map(|p| {
                let mut v = json!({
                    "index": p.index,
                    "parent": p.parent,
                    "depth": p.depth,
                    "content_type": p.content_type,
                    "kind": p.kind,
                    "origin": p.origin,
                    "alternate": p.alternate,
                    "encoding": p.encoding,
                    "charset": p.charset,
                    "filename": p.filename,
                    "boundary": p.boundary,
                    "size": p.size,
                    "decoded_size": p.decoded_size,
                    "sniffed": p.sniffed,
                    "defects": p.defects.names().collect::<Vec<_>>(),
                });
                if extracting {
                    v["extracted"] = json!(p.extracted);
                }
                v
            })
            .collect();
        let m = json!({
            "path": path,
            "index": index,
            "seq": self.seq,
            "defects": all.names().collect::<Vec<_>>(),
            "headers": {
                "subject": header("subject"),
                "from": header("from"),
                "to": header("to"),
                "date": header("date"),
                "message_id": header("message-id"),
            },
            "parts": parts,
        });
        if self.seq > 1 {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, &m).map_err(io::Error::other)
    }

    /// Writes the summary and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let summary = json!({
                    "messages": self.seq,
                    "parts": self.parts,
                    "defects": self.defect_counts,
                });
                self.out.write_all(b"\n],\"summary\":")?;
                serde_json::to_writer(&mut self.out, &summary).map_err(io::Error::other)?;
                self.out.write_all(b"}\n")?;
            }
            Format::Text => {
                if self.seq > 0 {
                    writeln!(self.out)?;
                }
                write!(self.out, "{} messages, {} parts", self.seq, self.parts)?;
                if !self.defect_counts.is_empty() {
                    write!(self.out, "; messages with defects:")?;
                    for (name, n) in &self.defect_counts {
                        write!(self.out, " {name}={n}")?;
                    }
                }
                writeln!(self.out)?;
            }
        }
        self.out.flush()
    }
}

fn info_depth(out: &[PartInfo]) -> u32 {
    out.last().map_or(0, |p| p.depth)
}

fn origin_name(o: Origin) -> &'static str {
    use filter::decode::inline::InlineKind;
    match o {
        Origin::Mime => "mime",
        Origin::Inline(InlineKind::Uuencode) => "inline-uuencode",
        Origin::Inline(InlineKind::Yenc) => "inline-yenc",
        Origin::Inline(InlineKind::BinHex) => "inline-binhex",
        Origin::Alternate => "alternate",
        Origin::Overflow => "overflow",
    }
}

/// Escapes control, format and non-printable characters (bidirectional
/// overrides included) so that hostile names cannot rewrite the terminal.
fn escape(s: &str) -> String {
    s.escape_debug().to_string()
}
