//! The engine and its scanners: how a message is taken apart and every
//! piece of it matched.
//!
//! An [`Engine`] is everything compiled — signatures, limits, attachment
//! policy — and never changes once built. It is `Send + Sync` and shared
//! as `Arc<Engine>`; reloading means building a new one and swapping the
//! `Arc`, while scans in flight finish on the old one. Each thread makes a
//! [`Scanner`], which owns the scratch buffers a scan decodes into, so a
//! scanner that has warmed up allocates little beyond the report.
//!
//! ```
//! use filter::EngineBuilder;
//!
//! let engine = EngineBuilder::new().build();
//! let mut scanner = engine.scanner();
//! let clean = scanner.scan(b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n");
//! assert!(!clean.infected());
//!
//! // The default database knows the EICAR test file, whatever wraps it.
//! let eicar = ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"].concat();
//! let report = scanner.scan(eicar.as_bytes());
//! assert_eq!(report.name(), Some("Win.Test.EICAR_HDB-1"));
//! ```
//!
//! # What a scan looks at
//!
//! [`Scanner::scan`] decides, as clamscan does, whether the input is a mail
//! message or a file. A message is matched whole (ClamAV target types 0 and
//! 4), then walked with [`crate::mime`]: every leaf part is decoded
//! (base64, quoted-printable, uuencode, yEnc, BinHex) into a scratch buffer
//! and scanned as a file, and a transfer-encoded `message/rfc822` part is
//! decoded and scanned as a message in its own right. Alternate readings of
//! ambiguous parts are scanned too: a part that one client would show and
//! another would not is still scanned.
//!
//! A file is looked up by hash (after the `.fp` allow-list, which clears it
//! and everything inside it), matched against every body and logical
//! signature for its sniffed type, matched again in its normalised text or
//! HTML form (target types 7 and 3), checked against the attachment policy,
//! and, if it is a zip, gzip, bzip2, tar or TNEF container, opened: each
//! member is checked against the `.cdb` container signatures and scanned as
//! a file in turn.
//!
//! # Limits
//!
//! Depth (MIME nesting and containers together), decoded bytes per object
//! and per scan, container members and compression ratio all come from
//! [`Limits`]. Reaching one never makes the input look clean: the report
//! gets a [`DetectionKind::Limit`] detection named as ClamAV names them
//! (`Heuristics.Limits.Exceeded.MaxRecursion`, `…MaxScanSize`,
//! `…MaxFileSize`, `…MaxFiles`) or `Heuristics.Limits.CompressionRatio`.
//!
//! # Many messages at once
//!
//! Where messages can wait for each other — a queue, a mailbox, a corpus —
//! [`Scanner::scan_many`] takes a slice of them and gives each the report
//! [`Scanner::scan`] would. The spam rules then run rule by rule across a
//! batch of up to [`BATCH`] messages instead of message by message, so a
//! large rule set's compiled data is read into the caches once per batch:
//! with SpamAssassin's stock rules, about a quarter less CPU time per
//! message.
//!
//! ```
//! use filter::EngineBuilder;
//!
//! let engine = EngineBuilder::new().build();
//! let mut scanner = engine.scanner();
//! let mail: &[&[u8]] = &[
//!     b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n",
//!     b"From: b@example.com\r\nSubject: lunch\r\n\r\nat noon?\r\n",
//! ];
//! let reports = scanner.scan_many(mail);
//! assert_eq!(reports, mail.iter().map(|m| scanner.scan(m)).collect::<Vec<_>>());
//! ```
//!
//! # Memory and the allocator
//!
//! The library allocates through the program's global allocator and never
//! picks one. With SpamAssassin's stock rules a scanning process holds
//! about 200 MB, mostly small blocks of compiled rules, and a scan is
//! bound by cache and TLB misses more than by instructions, so the
//! allocator shows: `filterscan` links mimalloc and turns its transparent
//! huge pages off (with them the kernel zeroes two megabytes at each first
//! touch, about a tenth of the CPU time). A program that links mimalloc
//! can do the same with its `no_thp` feature or `MIMALLOC_ALLOW_THP=0`.

use std::path::Path;
use std::sync::Arc;

use crate::Limits;
use crate::container::{self, Bounds, Kind, LimitHit, Member};
use crate::decode::{self, inline};
use crate::defect::Defects;
use crate::mime::{Decoder, Message, PartKind};
use crate::report::{Detection, DetectionKind, Report};
use crate::sig::db::{LoadError, LoadReport, Loader};
use crate::sig::pe::{self, Layout};
use crate::sig::policy::{Attachment, Policy};
use crate::sig::{self, Context, Digests, Scratch, Signatures, View, normalize};
use crate::sniff::{self, FileType};
use crate::spam::bayes::SharedModel;
use crate::spam::dns::Answer;
use crate::spam::rules::Outcome;
use crate::spam::{
    self, Features,
    rules::{Parser, Rules, ScoreSet, Scratch as RuleScratch},
    verdict::{Actions, Symbol, Verdict},
};

/// Most detections one report keeps; the rest are counted in
/// [`Report::objects`] only.
const MAX_DETECTIONS: usize = 64;

/// Objects this small are not matched at all, as clamscan skips them: no
/// signature is meaningful in five bytes.
const TINY: usize = 5;

/// Messages [`Scanner::scan_many`] runs the spam rules on together.
/// Scanning the public corpus with the stock SpamAssassin rules
/// (`filterscan scan`, loading included), batches of 32, 64 and 128 took
/// 25%, 26% and 28% off the median CPU time of one message at a time, and
/// the process grew from 269 MB to 305, 328 and 362 MB: each message of a
/// batch keeps its rendered view meanwhile.
pub const BATCH: usize = 64;

/// Past the first message of a batch, a message larger than this does not
/// leave its rendered view's buffers behind in the scanner.
const KEEP_BATCH_BUFFERS: usize = 256 << 10;

/// Builds an [`Engine`] from database files, bytes and settings.
pub struct EngineBuilder {
    loader: Loader,
    limits: Limits,
    policy: Option<Policy>,
    defaults: bool,
    rules: Option<Parser>,
    actions: Actions,
    bayes: Option<Arc<SharedModel>>,
    net: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder::new()
    }
}

impl EngineBuilder {
    /// Embedded defaults on, default limits; the policy follows the
    /// defaults unless set.
    pub fn new() -> EngineBuilder {
        EngineBuilder {
            loader: Loader::new(),
            limits: Limits::default(),
            policy: None,
            defaults: true,
            rules: None,
            actions: Actions::default(),
            bayes: None,
            net: false,
        }
    }

    /// Network tests on: the rules' DNS blocklist tests (`check_rbl`,
    /// `check_rbl_sub`, `check_uridnsbl`) run, and scores come from
    /// SpamAssassin's network score set. The engine still does no I/O: a
    /// scan lists the names to look up in the verdict
    /// ([`Verdict::queries`](crate::spam::verdict::Verdict::queries)), and
    /// [`Scanner::resolve`] takes the answers. Default: off.
    pub fn net(mut self, on: bool) -> EngineBuilder {
        self.net = on;
        self
    }

    /// Whether the embedded default database (EICAR) and, unless
    /// [`EngineBuilder::policy`] says otherwise, the attachment-policy
    /// heuristics are on. Default: on.
    pub fn defaults(mut self, on: bool) -> EngineBuilder {
        self.defaults = on;
        self
    }

    /// Strict loading: the first bad line is an error.
    pub fn strict(mut self, strict: bool) -> EngineBuilder {
        self.loader = self.loader.strict(strict);
        self
    }

    /// Scan limits.
    pub fn limits(mut self, limits: Limits) -> EngineBuilder {
        self.limits = limits;
        self
    }

    /// Attachment policy (overrides the one the defaults imply).
    pub fn policy(mut self, policy: Policy) -> EngineBuilder {
        self.policy = Some(policy);
        self
    }

    /// Loads a database file or directory.
    pub fn load_path(&mut self, path: &Path) -> Result<&mut EngineBuilder, LoadError> {
        self.loader.load_path(path)?;
        Ok(self)
    }

    /// Loads one database file from bytes; `name`'s extension gives its type.
    pub fn load_bytes(
        &mut self,
        name: &str,
        bytes: &[u8],
    ) -> Result<&mut EngineBuilder, LoadError> {
        self.loader.load_bytes(name, bytes)?;
        Ok(self)
    }

    /// Loads SpamAssassin rules from a `.cf` file or a directory of them.
    /// Once any rules are loaded, the embedded default rules are not used.
    pub fn rules_path(&mut self, path: &Path) -> std::io::Result<&mut EngineBuilder> {
        self.rules
            .get_or_insert_with(Parser::new)
            .parse_path(path)?;
        Ok(self)
    }

    /// Loads SpamAssassin rules from text; `name` labels its lines in the
    /// load report.
    pub fn rules_str(&mut self, name: &str, text: &str) -> &mut EngineBuilder {
        self.rules
            .get_or_insert_with(Parser::new)
            .parse_str(name, text);
        self
    }

    /// Action thresholds for the spam verdict.
    pub fn actions(mut self, actions: Actions) -> EngineBuilder {
        self.actions = actions;
        self
    }

    /// Classifies every message with the Bayes model `shared` holds at the
    /// time of the scan: the probability goes into the verdict and drives
    /// the `BAYES_*` rules (`check_bayes`), and the rules' scores come from
    /// SpamAssassin's Bayes score set. Learning publishes new snapshots
    /// into `shared`; the engine picks them up without being rebuilt.
    pub fn bayes(mut self, shared: Arc<SharedModel>) -> EngineBuilder {
        self.bayes = Some(shared);
        self
    }

    /// Compiles everything.
    pub fn build(mut self) -> Arc<Engine> {
        let config = match self.rules.take() {
            Some(p) => Some(p.finish()),
            None if self.defaults => {
                let mut p = Parser::new();
                p.parse_str("default.cf", spam::DEFAULT_RULES);
                Some(p.finish())
            }
            None => None,
        };
        let score_set = ScoreSet::new(self.net, self.bayes.is_some());
        let rules = config.map(|c| Rules::compile(&c, score_set));
        if self.defaults {
            // The embedded lines are ours and always load.
            let _ = sig::default::load(&mut self.loader);
        }
        let policy = self.policy.unwrap_or(if self.defaults {
            Policy::default()
        } else {
            Policy::off()
        });
        Arc::new(Engine {
            sigs: Signatures::compile(self.loader.finish()),
            limits: self.limits,
            policy,
            rules,
            actions: self.actions,
            bayes: self.bayes,
        })
    }
}

/// The verdict of a rule outcome.
fn verdict_of(rules: &Rules, outcome: Outcome, actions: &Actions) -> Verdict {
    let symbols = outcome
        .hits
        .iter()
        .map(|h| {
            let r = &rules.rules()[h.rule as usize];
            Symbol {
                name: r.name.clone(),
                score: h.score,
                description: r.description.clone(),
                count: h.count,
                area: r.area(),
            }
        })
        .collect();
    let mut v = Verdict::new(symbols, rules.required_score(), actions);
    v.budget_exhausted = outcome.budget_exhausted;
    v.dns = outcome.dns;
    v
}

/// Everything compiled; immutable, `Send + Sync`, shared as `Arc<Engine>`.
#[derive(Debug)]
pub struct Engine {
    sigs: Signatures,
    limits: Limits,
    policy: Policy,
    rules: Option<Rules>,
    actions: Actions,
    bayes: Option<Arc<SharedModel>>,
}

impl Engine {
    /// A scanner for one thread.
    pub fn scanner(self: &Arc<Engine>) -> Scanner {
        Scanner {
            engine: Arc::clone(self),
            bufs: Vec::new(),
            norm: Vec::new(),
            scratch: Scratch::new(),
            features: Vec::new(),
            rule_scratch: Vec::new(),
            tokens: Vec::new(),
        }
    }

    /// The compiled spam rules, if any.
    pub fn rules(&self) -> Option<&Rules> {
        self.rules.as_ref()
    }

    /// The action thresholds.
    pub fn actions(&self) -> &Actions {
        &self.actions
    }

    /// What the load found: counts, errors, unsupported lines.
    pub fn load_report(&self) -> &LoadReport {
        self.sigs.report()
    }

    /// The compiled signatures.
    pub fn signatures(&self) -> &Signatures {
        &self.sigs
    }

    /// The limits scans run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The attachment policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// Per-thread scanner: owns the scratch buffers.
pub struct Scanner {
    engine: Arc<Engine>,
    /// One decode buffer per depth.
    bufs: Vec<Vec<u8>>,
    norm: Vec<u8>,
    scratch: Scratch,
    /// One rendered view and one rule scratch per message of a batch.
    features: Vec<Features>,
    rule_scratch: Vec<RuleScratch>,
    tokens: Vec<u64>,
}

/// What is known about an object besides its bytes.
#[derive(Clone, Copy)]
struct Object<'a> {
    /// File name, if any.
    name: Option<&'a str>,
    /// Declared media type, if any.
    declared: Option<&'a str>,
    /// ClamAV type of the innermost container.
    container: Option<&'static str>,
    /// Inside an archive.
    in_archive: bool,
    /// An attachment or member (the policy applies), not the input itself.
    attached: bool,
    /// A MIME leaf: the walker has already taken its inline uuencode, yEnc
    /// and BinHex blocks out as parts of their own.
    from_mime: bool,
}

/// One scan's running state.
struct Job {
    report: Report,
    /// Bytes the scan may still expand to.
    left: u64,
    /// Where we are, as `part/member/…`.
    path: String,
}

impl Job {
    fn detect(&mut self, name: &str, kind: DetectionKind) {
        if self.report.detections.len() >= MAX_DETECTIONS
            || self
                .report
                .detections
                .iter()
                .any(|d| d.name == name && d.location == self.path)
        {
            return;
        }
        self.report.detections.push(Detection {
            name: name.to_string(),
            kind,
            location: self.path.clone(),
        });
    }

    /// Appends `/segment` to the path (written in place, no temporary
    /// string) and returns the mark [`Job::leave`] goes back to.
    fn enter(&mut self, segment: impl std::fmt::Display) -> usize {
        use std::fmt::Write as _;
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('/');
        }
        let _ = write!(self.path, "{segment}");
        len
    }

    /// Enters a member or block: its name, or `#position` when it has none.
    fn enter_named(&mut self, name: Option<&str>, position: usize) -> usize {
        match name {
            Some(n) if !n.is_empty() => self.enter(n),
            _ => self.enter(format_args!("#{position}")),
        }
    }

    fn leave(&mut self, len: usize) {
        self.path.truncate(len);
    }
}

impl Scanner {
    /// The engine this scanner uses.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Scans `data` as a mail message if it looks like one, else as a file
    /// (the way an attachment is scanned), as clamscan does.
    pub fn scan(&mut self, data: &[u8]) -> Report {
        if looks_like_mail(data) {
            self.scan_message(data)
        } else {
            self.scan_file(data)
        }
    }

    /// Scans `data` as a mail message.
    pub fn scan_message(&mut self, data: &[u8]) -> Report {
        let mut job = self.job();
        self.message(&mut job, data, 0);
        let mut report = job.report;
        report.spam = self.spam(&[data]).pop().flatten();
        report
    }

    /// Scans each of `inputs` as [`Scanner::scan`] would, and gives the
    /// same reports in the same order.
    ///
    /// The spam rules run on the messages of a batch together
    /// ([`Rules::check_many`]): rule by rule rather than message by
    /// message, so each rule's compiled data is read from memory once per
    /// batch. With the stock SpamAssassin rules that takes about a quarter
    /// off the time per message, with the embedded default rules an
    /// eighth. The inputs are taken [`BATCH`] at a time, and the scanner
    /// keeps one rendered view per message of a batch, so its memory grows
    /// with the batch, not with `inputs`.
    pub fn scan_many(&mut self, inputs: &[&[u8]]) -> Vec<Report> {
        let inputs: Vec<(&[u8], bool)> = inputs.iter().map(|&d| (d, looks_like_mail(d))).collect();
        self.scan_batch(&inputs)
    }

    /// [`Scanner::scan_many`] where each input says whether it is mail
    /// (scanned as [`Scanner::scan_message`] scans) or a file.
    pub(crate) fn scan_batch(&mut self, inputs: &[(&[u8], bool)]) -> Vec<Report> {
        let mut reports = Vec::with_capacity(inputs.len());
        // The chunk's messages, and where their reports are.
        let (mut datas, mut at) = (Vec::new(), Vec::new());
        for chunk in inputs.chunks(BATCH) {
            datas.clear();
            at.clear();
            for &(data, is_mail) in chunk {
                if is_mail {
                    let mut job = self.job();
                    self.message(&mut job, data, 0);
                    datas.push(data);
                    at.push(reports.len());
                    reports.push(job.report);
                } else {
                    reports.push(self.scan_file(data));
                }
            }
            for (&i, v) in at.iter().zip(self.spam(&datas)) {
                reports[i].spam = v;
            }
        }
        reports
    }

    /// Runs the spam rules on each message, if the engine has any.
    fn spam(&mut self, datas: &[&[u8]]) -> Vec<Option<Verdict>> {
        let engine = Arc::clone(&self.engine);
        let Some(rules) = engine.rules.as_ref() else {
            return datas.iter().map(|_| None).collect();
        };
        let msgs: Vec<Message<'_>> = datas
            .iter()
            .map(|d| Message::parse_with(d, &engine.limits))
            .collect();
        if self.features.len() < msgs.len() {
            self.features.resize_with(msgs.len(), Features::default);
        }
        for (msg, features) in msgs.iter().zip(self.features.iter_mut()) {
            features.build(msg, &engine.limits);
            if let Some(shared) = &engine.bayes {
                shared.tokenizer().tokens_of(msg, &mut self.tokens);
                features.bayes = Some(shared.current().classify(&self.tokens));
            }
        }
        let items: Vec<(&Message<'_>, &Features)> = msgs.iter().zip(&self.features).collect();
        let outcomes = rules.check_many(&items, &mut self.rule_scratch);
        let verdicts = outcomes
            .into_iter()
            .zip(&self.features)
            .map(|(outcome, features)| {
                let mut v = verdict_of(rules, outcome, &engine.actions);
                v.bayes = features.bayes;
                Some(v)
            })
            .collect();
        // Each view and rule scratch keeps its buffers for the next
        // message, sized for the largest it has held. The first does so
        // as a scanner of one message at a time does; the others let go
        // of what a large message made them hold, so a scanner that once
        // saw a batch of large messages does not keep 64 times their size.
        for (i, data) in datas.iter().enumerate().skip(1) {
            if data.len() > KEEP_BATCH_BUFFERS {
                self.features[i] = Features::default();
                if let Some(scratch) = self.rule_scratch.get_mut(i) {
                    *scratch = RuleScratch::default();
                }
            }
        }
        verdicts
    }

    /// Finishes a report's DNS blocklist tests with the A records that
    /// came back for its verdict's [`queries`](Verdict::queries) (names
    /// not answered count as not listed). The verdict is made anew: the
    /// blocklist rules the answers satisfy hit, metas that read them run
    /// again, and the score, action and headers follow. A report without
    /// pending DNS work (an engine without [`EngineBuilder::net`], or one
    /// resolved already) is left as it is.
    pub fn resolve(&mut self, report: &mut Report, answers: &[Answer]) {
        let engine = Arc::clone(&self.engine);
        let (Some(rules), Some(v)) = (engine.rules.as_ref(), report.spam.as_mut()) else {
            return;
        };
        let Some(pending) = v.dns.take() else {
            return;
        };
        let outcome = Outcome {
            budget_exhausted: v.budget_exhausted,
            dns: Some(pending),
            ..Outcome::default()
        };
        if self.rule_scratch.is_empty() {
            self.rule_scratch.push(RuleScratch::default());
        }
        let out = rules.resolve(&outcome, answers, &mut self.rule_scratch[0]);
        let bayes = v.bayes;
        *v = verdict_of(rules, out, &engine.actions);
        v.bayes = bayes;
        v.dns = None;
    }

    /// Scans `data` as a file: hashes, bodies, containers.
    pub fn scan_file(&mut self, data: &[u8]) -> Report {
        let mut job = self.job();
        let top = Object {
            name: None,
            declared: None,
            container: None,
            in_archive: false,
            attached: false,
            from_mime: false,
        };
        self.object(&mut job, data, top, 0);
        job.report
    }

    fn job(&self) -> Job {
        Job {
            report: Report::default(),
            left: self.engine.limits.max_decoded_total as u64,
            path: String::new(),
        }
    }

    fn take_buf(&mut self, depth: usize) -> Vec<u8> {
        if self.bufs.len() <= depth {
            self.bufs.resize_with(depth + 1, Vec::new);
        }
        std::mem::take(&mut self.bufs[depth])
    }

    fn put_buf(&mut self, depth: usize, mut buf: Vec<u8>) {
        // Keep warm buffers, but not a huge one from an odd message.
        if buf.capacity() > 64 << 20 {
            buf = Vec::new();
        }
        buf.clear();
        self.bufs[depth] = buf;
    }

    /// Whether `depth` is past the limit; reports it once if so.
    fn too_deep(&self, job: &mut Job, depth: usize) -> bool {
        let max = self.engine.limits.max_depth.min(crate::mime::MAX_DEPTH_CAP);
        if depth > max {
            job.detect(
                "Heuristics.Limits.Exceeded.MaxRecursion",
                DetectionKind::Limit,
            );
            return true;
        }
        false
    }

    /// Counts `data` and looks it up by hash (each digest computed once).
    /// Returns false when the `.fp`/`.sfp` allow-list clears it, and with it
    /// everything inside it.
    fn hashed(&self, job: &mut Job, data: &[u8]) -> bool {
        job.report.objects += 1;
        job.report.bytes += data.len() as u64;
        let mut digests = Digests::default();
        if self.engine.sigs.allowed(data, &mut digests) {
            return false;
        }
        if let Some(name) = self.engine.sigs.hash(data, &mut digests) {
            job.detect(name, DetectionKind::Signature);
        }
        true
    }

    /// Matches one buffer in one view and records the names found.
    fn matchers(&mut self, job: &mut Job, data: &[u8], ctx: &Context<'_>) {
        let engine = Arc::clone(&self.engine);
        let mut found = Vec::new();
        let truncated = engine.sigs.scan(data, ctx, &mut self.scratch, &mut found);
        for name in found {
            job.detect(name, DetectionKind::Signature);
        }
        if truncated {
            job.detect(
                "Heuristics.Limits.Exceeded.MaxScanTime",
                DetectionKind::Limit,
            );
        }
    }

    /// Scans a mail message: whole, then part by part.
    fn message(&mut self, job: &mut Job, data: &[u8], depth: usize) {
        if self.too_deep(job, depth) {
            return;
        }
        let engine = Arc::clone(&self.engine);
        if !self.hashed(job, data) {
            return;
        }
        let layout = Layout::default();
        let ctx = Context {
            view: View::Mail,
            container: None,
            layout: &layout,
        };
        self.matchers(job, data, &ctx);

        let mut limits = engine.limits.clone();
        limits.max_decoded_total = job.left.min(limits.max_decoded_total as u64) as usize;
        let msg = Message::parse_with(data, &limits);
        let mut decoder = Decoder::new(&limits);
        let mut defects = msg.defects();
        let mut buf = self.take_buf(depth);
        for (idx, part) in msg.walk() {
            if part.kind != PartKind::Leaf {
                continue;
            }
            defects |= part.defects;
            defects |= decoder.decode(&msg, part, &mut buf);
            let filename = msg.filename(part);
            let declared = part.content_type();
            let mark = job.enter(idx);
            if part.is_type("message") && !buf.is_empty() {
                // A transfer-encoded message/rfc822: a message in its own right.
                self.message(job, &buf, depth + 1);
            } else {
                let obj = Object {
                    name: filename.as_deref(),
                    declared: Some(&declared),
                    container: Some("CL_TYPE_MAIL"),
                    in_archive: false,
                    attached: filename.is_some() || !part.is_type("text"),
                    from_mime: true,
                };
                self.object(job, &buf, obj, depth + 1);
            }
            job.leave(mark);
        }
        job.left = job
            .left
            .saturating_sub((limits.max_decoded_total - decoder.remaining()) as u64);
        self.put_buf(depth, buf);
        job.report.defects |= defects;
        if defects.contains(Defects::DECODED_SIZE_LIMIT) {
            job.detect(
                "Heuristics.Limits.Exceeded.MaxScanSize",
                DetectionKind::Limit,
            );
        }
        if defects.contains(Defects::NESTING_LIMIT) {
            job.detect(
                "Heuristics.Limits.Exceeded.MaxRecursion",
                DetectionKind::Limit,
            );
        }
        if defects.contains(Defects::PART_LIMIT) {
            job.detect("Heuristics.Limits.Exceeded.MaxFiles", DetectionKind::Limit);
        }
    }

    /// Scans one file, attachment or member.
    fn object(&mut self, job: &mut Job, data: &[u8], obj: Object<'_>, depth: usize) {
        if self.too_deep(job, depth) {
            return;
        }
        if data.len() <= TINY {
            job.report.objects += 1;
            job.report.bytes += data.len() as u64;
            return;
        }
        let engine = Arc::clone(&self.engine);
        if !self.hashed(job, data) {
            return;
        }
        let ft = sniff::sniff(data);
        let layout = if matches!(ft, FileType::Pe | FileType::Elf | FileType::MachO) {
            pe::parse(data).unwrap_or_default()
        } else {
            Layout::default()
        };
        if let Some(name) = engine.sigs.section_hash(data, &layout) {
            job.detect(name, DetectionKind::Signature);
        }
        let ctx = Context {
            view: View::Raw(ft),
            container: obj.container,
            layout: &layout,
        };
        self.matchers(job, data, &ctx);

        // Normalised views for target types 7 and 3.
        let view = match ft {
            FileType::Text | FileType::Script => Some(View::Text),
            FileType::Html => Some(View::Html),
            _ => None,
        };
        if let Some(view) = view {
            let mut norm = std::mem::take(&mut self.norm);
            if view == View::Html {
                normalize::html(data, &mut norm);
            } else {
                normalize::text(data, &mut norm);
            }
            let ctx = Context { view, ..ctx };
            self.matchers(job, &norm, &ctx);
            self.norm = norm;
        }

        if obj.attached {
            let a = Attachment {
                name: obj.name,
                declared: obj.declared,
                sniffed: ft,
                in_archive: obj.in_archive,
            };
            let mut tripped = Vec::new();
            engine.policy.check(&a, &mut tripped);
            for name in tripped {
                job.detect(name, DetectionKind::Heuristic);
            }
        }

        if let Some(kind) = Kind::of(ft) {
            self.container(job, data, kind, depth);
        } else if obj.attached && ft == FileType::Text && looks_like_mail(data) {
            // An attached or archived message (`.eml`), read as one.
            self.message(job, data, depth + 1);
        } else if ft == FileType::Text && !obj.from_mime {
            self.inline_blocks(job, data, depth);
        }
    }

    /// Decodes and scans the uuencode, yEnc and BinHex blocks of a text
    /// file that did not come through the MIME walker (a saved `.uue`, a
    /// member of an archive), as clamscan does.
    fn inline_blocks(&mut self, job: &mut Job, data: &[u8], depth: usize) {
        let mut blocks = Vec::new();
        let more = inline::scan(data, &mut blocks, self.engine.limits.max_members);
        let mut buf = self.take_buf(depth);
        for (k, b) in blocks.iter().enumerate() {
            let limit = (self.engine.limits.max_decoded_part as u64).min(job.left) as usize;
            buf.clear();
            let defects =
                decode::decode(b.kind.encoding(), &data[b.range.clone()], &mut buf, limit);
            job.report.defects |= defects;
            job.left = job.left.saturating_sub(buf.len() as u64);
            let name = b
                .name
                .clone()
                .map(|r| String::from_utf8_lossy(&data[r]).into_owned());
            let mark = job.enter_named(name.as_deref(), k + 1);
            let obj = Object {
                name: name.as_deref(),
                declared: None,
                container: None,
                in_archive: false,
                attached: true,
                from_mime: false,
            };
            self.object(job, &buf, obj, depth + 1);
            job.leave(mark);
            if defects.contains(Defects::DECODED_SIZE_LIMIT) {
                job.detect(
                    "Heuristics.Limits.Exceeded.MaxFileSize",
                    DetectionKind::Limit,
                );
            }
        }
        self.put_buf(depth, buf);
        if more {
            job.detect("Heuristics.Limits.Exceeded.MaxFiles", DetectionKind::Limit);
        }
    }

    /// Opens a container and scans every member.
    fn container(&mut self, job: &mut Job, data: &[u8], kind: Kind, depth: usize) {
        let engine = Arc::clone(&self.engine);
        let mut bounds = Bounds::from_limits(&engine.limits);
        bounds.max_total = bounds.max_total.min(job.left);
        let mut scratch = self.take_buf(depth);
        let container_type = kind.clamav_name();
        let size = data.len() as u64;
        let outcome = container::open(
            kind,
            data,
            &bounds,
            &mut scratch,
            &mut |m: &Member<'_>, bytes: &[u8]| {
                let name = String::from_utf8_lossy(m.name);
                let mark = job.enter_named(Some(&name), m.position);
                for cdb in engine.sigs.containers() {
                    if sig::container_matches(cdb, container_type, size, m) {
                        job.detect(&cdb.name, DetectionKind::Signature);
                    }
                }
                if !m.encrypted {
                    let obj = Object {
                        name: (!name.is_empty()).then_some(&*name),
                        declared: None,
                        container: Some(container_type),
                        in_archive: true,
                        attached: true,
                        from_mime: false,
                    };
                    self.object(job, bytes, obj, depth + 1);
                }
                job.leave(mark);
            },
        );
        self.put_buf(depth, scratch);
        job.left = job.left.saturating_sub(outcome.expanded);
        if outcome.encrypted
            && let Some(name) = engine.policy.encrypted_name(kind)
        {
            job.detect(name, DetectionKind::Heuristic);
        }
        if outcome.overlapping {
            // Members sharing compressed bytes: the non-recursive zip-bomb
            // trick, which no honest writer produces (ClamAV's name).
            job.detect("Heuristics.Zip.OverlappingFiles", DetectionKind::Heuristic);
        }
        match outcome.limit {
            None => {}
            Some(LimitHit::Members) => {
                job.detect("Heuristics.Limits.Exceeded.MaxFiles", DetectionKind::Limit)
            }
            Some(LimitHit::MemberSize) => job.detect(
                "Heuristics.Limits.Exceeded.MaxFileSize",
                DetectionKind::Limit,
            ),
            Some(LimitHit::Total) => job.detect(
                "Heuristics.Limits.Exceeded.MaxScanSize",
                DetectionKind::Limit,
            ),
            Some(LimitHit::Ratio) => {
                job.detect("Heuristics.Limits.CompressionRatio", DetectionKind::Limit)
            }
        }
    }
}

/// Whether `data` starts like a mail message: an mbox `From ` line, or a
/// header block whose first lines are fields and which names at least one
/// field every mail has (From, Received, Return-Path, …).
pub fn looks_like_mail(data: &[u8]) -> bool {
    if data.starts_with(b"From ") {
        return true;
    }
    const KNOWN: &[&[u8]] = &[
        b"received",
        b"return-path",
        b"from",
        b"to",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"delivered-to",
        b"content-type",
        b"x-mailer",
        b"reply-to",
    ];
    let mut known = 0;
    let mut fields = 0;
    let head = &data[..data.len().min(4096)];
    for line in head.split(|&b| b == b'\n').take(32) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if fields == 0 {
                return false;
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
            return false;
        }
        fields += 1;
        if KNOWN.iter().any(|k| name.eq_ignore_ascii_case(k)) {
            known += 1;
        }
    }
    fields >= 2 && known >= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_lets_go_of_large_messages_buffers() {
        let small = b"From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\nhello\r\n".to_vec();
        let mut large = b"From: a@b\r\nTo: c@d\r\nSubject: big\r\n\r\n".to_vec();
        while large.len() <= KEEP_BATCH_BUFFERS {
            large.extend_from_slice(b"a line of plain words in a large message\r\n");
        }
        let engine = EngineBuilder::new().build();
        let mut scanner = engine.scanner();
        let reports = scanner.scan_many(&[&large, &small, &large]);
        assert_eq!(reports.len(), 3);
        assert!(reports.iter().all(|r| r.spam.is_some()));
        let held = |s: &Scanner, i: usize| s.features[i].body.buf.capacity();
        // The first view keeps its buffers, as a scanner of one message
        // does; the large third lets go of its; the small second keeps.
        assert!(held(&scanner, 0) > 0);
        assert!(held(&scanner, 1) > 0);
        assert_eq!(held(&scanner, 2), 0);
        assert_eq!(scanner.scan_many(&[&small, &large])[1], reports[2]);
    }

    /// A panic in the middle of the rules (one made on purpose in a body
    /// rule, once the message's candidates are computed and the scratch
    /// is half filled) leaves the scanner as good as new: the next
    /// messages, the failed one among them, get the reports a fresh
    /// scanner gives them. The C boundary turns the panic into `LF_PANIC`
    /// (`capi::tests::a_panic_becomes_a_status`).
    #[test]
    fn a_panic_mid_scan_leaves_the_scanner_clean() {
        use crate::spam::rules::eval::PANIC_IN_TEXT;
        let spam = "From: a@b\r\nTo: c@d\r\nSubject: cheap\r\nMessage-ID: <1@b>\r\n\r\n\
                    Buy viagra now: cheap pills, click here!\r\n";
        let ham = b"From: a@b\r\nTo: c@d\r\nSubject: lunch\r\n\r\nSee you at noon.\r\n";
        let engine = EngineBuilder::new().build();
        let fresh = |m: &[u8]| engine.scanner().scan_message(m);
        let mut scanner = engine.scanner();
        let before = scanner.scan_message(spam.as_bytes());
        assert!(before.spam.as_ref().is_some_and(|v| !v.symbols.is_empty()));
        PANIC_IN_TEXT.with(|p| p.set(true));
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scanner.scan_message(spam.as_bytes())
        }));
        assert!(failed.is_err());
        assert!(!PANIC_IN_TEXT.with(|p| p.get()), "a text rule ran");
        assert_eq!(scanner.scan_message(ham), fresh(ham));
        let after = scanner.scan_message(spam.as_bytes());
        assert_eq!(after, fresh(spam.as_bytes()));
        assert_eq!(after, before);
    }

    #[test]
    fn mail_is_told_from_files() {
        assert!(looks_like_mail(
            b"From someone Sat Jan  3 01:05:34 1996\nX: y\n\nbody"
        ));
        assert!(looks_like_mail(
            b"Received: from x\r\n\tby y\r\nSubject: hi\r\n\r\nbody"
        ));
        assert!(looks_like_mail(b"X-Spam: no\nFrom: a@b\n\nhi"));
        // one field is not a header block
        assert!(!looks_like_mail(b"Subject: hi\n\nbody"));
        // fields, but none every mail has
        assert!(!looks_like_mail(b"Name: x\nVersion: 1\n\n"));
        assert!(!looks_like_mail(b"MZ\x90\x00\x03"));
        assert!(!looks_like_mail(b"hello world: this is text\nand: more\n"));
        assert!(!looks_like_mail(b""));
    }

    #[test]
    fn nesting_past_the_limit_is_flagged_not_clean() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let engine = EngineBuilder::new().defaults(false).limits(limits).build();
        // A base64 message/rfc822 inside a base64 message/rfc822 … five deep.
        let mut msg = b"From: a@b\r\nTo: c@d\r\nSubject: inner\r\n\r\nhello\r\n".to_vec();
        for _ in 0..5 {
            let mut enc = Vec::new();
            crate::decode::base64::encode(&msg, &mut enc);
            let mut outer = b"From: a@b\r\nTo: c@d\r\nContent-Type: message/rfc822\r\n\
                Content-Transfer-Encoding: base64\r\n\r\n"
                .to_vec();
            outer.extend_from_slice(&enc);
            msg = outer;
        }
        let r = engine.scanner().scan(&msg);
        assert_eq!(r.name(), Some("Heuristics.Limits.Exceeded.MaxRecursion"));
        assert_eq!(r.detections[0].kind, DetectionKind::Limit);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn names(r: &Report) -> Vec<&str> {
        r.detections.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn every_scan_limit_is_a_named_detection() {
        let scan = |limits: Limits, data: &[u8]| {
            let engine = EngineBuilder::new().defaults(false).limits(limits).build();
            engine.scanner().scan(data)
        };
        // A gzip bomb: 4 MiB of zeros in a few KiB.
        let bomb = gzip(&vec![0u8; 4 << 20]);
        let r = scan(
            Limits {
                max_ratio: 10,
                ..Limits::default()
            },
            &bomb,
        );
        assert!(
            names(&r).contains(&"Heuristics.Limits.CompressionRatio"),
            "{r:?}"
        );
        // A member larger than one object may be.
        let r = scan(
            Limits {
                max_decoded_part: 1 << 20,
                ..Limits::default()
            },
            &bomb,
        );
        assert!(
            names(&r).contains(&"Heuristics.Limits.Exceeded.MaxFileSize"),
            "{r:?}"
        );
        // More than the whole scan may expand to.
        let r = scan(
            Limits {
                max_decoded_total: 1 << 20,
                ..Limits::default()
            },
            &bomb,
        );
        assert!(
            names(&r).contains(&"Heuristics.Limits.Exceeded.MaxScanSize"),
            "{r:?}"
        );
        // A message decoding past its total.
        let mut msg = b"From: a@b\r\nTo: c@d\r\nContent-Type: application/octet-stream\r\n\
            Content-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
        crate::decode::base64::encode(&[7u8; 64 << 10], &mut msg);
        let r = scan(
            Limits {
                max_decoded_total: 1 << 10,
                ..Limits::default()
            },
            &msg,
        );
        assert!(
            names(&r).contains(&"Heuristics.Limits.Exceeded.MaxScanSize"),
            "{r:?}"
        );
        assert!(r.detections.iter().all(|d| d.kind == DetectionKind::Limit));
    }

    #[test]
    fn the_matcher_work_bound_is_a_named_detection() {
        // Many `*` patterns whose first half occurs everywhere: each is
        // verified over the whole buffer, which the work bound cuts short.
        let mut ndb = String::new();
        for i in 0..40 {
            ndb.push_str(&format!("W{i}:0:*:4141414141*4242\n"));
        }
        let mut b = EngineBuilder::new().defaults(false);
        b.load_bytes("w.ndb", ndb.as_bytes()).unwrap();
        let data = b"AAAA".repeat(64 << 10);
        let r = b.build().scanner().scan(&data);
        assert_eq!(
            names(&r),
            ["Heuristics.Limits.Exceeded.MaxScanTime"],
            "{r:?}"
        );
    }
}
