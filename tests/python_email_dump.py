#!/usr/bin/env python3
"""Dump the MIME tree Python's `email` package sees, for differential tests.

Usage: python_email_dump.py [FILE ...]   (no arguments: one path per stdin line)

For every file, one JSON line:

    {"path": P, "parts": [PART, ...]}          or  {"path": P, "error": "..."}

with the parts in depth-first order (the order of Message.walk()), each

    {"depth": D, "ct": get_content_type(), "mp": is_multipart(),
     "fn": get_filename() or null, "cte": raw Content-Transfer-Encoding or null,
     "len": N, "md5": HEX,          # get_payload(decode=True); null for multiparts
     "rawlen": N, "rawmd5": HEX}    # the undecoded body bytes; null for multiparts

The message is read with BytesParser(policy=compat32).parsebytes(), so an
mbox `From ` line becomes the unixfrom, 8-bit bytes survive
(surrogateescape) and line endings are left as they are.
"""

import hashlib
import json
import sys
from email import policy
from email.parser import BytesParser


def digest(b):
    if b is None:
        return None, None
    if isinstance(b, str):
        b = b.encode("ascii", "surrogateescape")
    return len(b), hashlib.md5(b).hexdigest()


def raw_payload(part):
    p = part._payload
    if isinstance(p, str):
        return p.encode("ascii", "surrogateescape")
    return p


def visit(part, depth, out):
    try:
        fn = part.get_filename()
    except Exception:  # a broken RFC 2231 parameter, say
        fn = None
    if fn is not None and not isinstance(fn, str):
        fn = str(fn)
    cte = part.get("content-transfer-encoding")
    mp = part.is_multipart()
    rec = {
        "depth": depth,
        "ct": part.get_content_type(),
        "mp": mp,
        "fn": fn,
        "cte": None if cte is None else str(cte),
    }
    if mp:
        rec.update({"len": None, "md5": None, "rawlen": None, "rawmd5": None})
    else:
        try:
            n, h = digest(part.get_payload(decode=True))
        except Exception:
            n, h = None, None
        rn, rh = digest(raw_payload(part))
        rec.update({"len": n, "md5": h, "rawlen": rn, "rawmd5": rh})
    out.append(rec)
    if mp:
        for child in part.get_payload():
            visit(child, depth + 1, out)


def dump(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        # parsebytes, not parse(fp): parse() reads through a TextIOWrapper in
        # universal-newlines mode, which rewrites every CR and CRLF into LF
        # before the parser sees them, so no CRLF body would survive intact.
        msg = BytesParser(policy=policy.compat32).parsebytes(data)
        parts = []
        visit(msg, 0, parts)
        return {"path": path, "parts": parts}
    except Exception as e:  # never stop the whole run for one message
        return {"path": path, "error": repr(e)}


def main():
    paths = sys.argv[1:] or [l.rstrip("\n") for l in sys.stdin if l.strip()]
    w = sys.stdout
    for p in paths:
        w.write(json.dumps(dump(p), ensure_ascii=True))
        w.write("\n")


if __name__ == "__main__":
    main()
