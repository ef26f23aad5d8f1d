-- Shared helpers for the miltertest(8) scripts of libfilter-milter.
--
-- Run as:  miltertest -D SOCKET=unix:/path/to/sock -D TESTDIR=dir -s dir/NAME.lua
-- (scripts/milter-tests.sh does). SOCKET is libmilter's syntax:
-- unix:PATH or inet:PORT@127.0.0.1.
--
-- The EICAR and GTUBE test strings are built here from pieces at run time:
-- no file of the repository holds either whole.

if SOCKET == nil then error("run with -D SOCKET=unix:PATH or inet:PORT@HOST") end

-- miltertest exits 1 without printing a script's error: say it first.
function check(cond, what)
    if not cond then
        mt.echo("FAIL " .. what)
        error("FAIL: " .. what, 2)
    end
end

function eicar()
    return table.concat({ "X5O!P%@AP[4\\PZX5", "4(P^)7CC)7}$", "EICAR-", "STANDARD-",
        "ANTIVIRUS-", "TEST-", "FILE!$H+H*" })
end

function gtube()
    return table.concat({ "XJS*C4JDBQADN1.NSBN3*2IDNEN*", "GTUBE-", "STANDARD-",
        "ANTI-UBE-", "TEST-", "EMAIL*C.34X" })
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Base64 with 76-character lines ending in CRLF.
function base64(s)
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = s:byte(i, i + 2)
        local n = (a << 16) | ((b or 0) << 8) | (c or 0)
        local q = {}
        for k = 3, 0, -1 do
            local idx = (n >> (6 * k)) & 63
            q[#q + 1] = b64chars:sub(idx + 1, idx + 1)
        end
        if c == nil then q[4] = "=" end
        if b == nil then q[3] = "=" end
        out[#out + 1] = table.concat(q)
    end
    local joined = table.concat(out)
    local lines = {}
    for i = 1, #joined, 76 do lines[#lines + 1] = joined:sub(i, i + 75) end
    return table.concat(lines, "\r\n") .. "\r\n"
end

-- Opens a milter connection and sends the connection facts and HELO.
function open_conn()
    local conn = mt.connect(SOCKET, 40, 0.25)
    check(conn ~= nil, "mt.connect(" .. SOCKET .. ")")
    check(mt.conninfo(conn, "client.example.net", "192.0.2.7") == nil, "mt.conninfo")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "conninfo reply")
    check(mt.helo(conn, "client.example.net") == nil, "mt.helo")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "helo reply")
    return conn
end

-- Sends one message up to the end of the body, not the end of message.
-- HEADERS is a list of {name, value}; BODY a string with CRLF line ends,
-- sent in chunks of at most 700 bytes.
function send_until_body(conn, from, rcpts, headers, body)
    mt.macro(conn, SMFIC_MAIL, "i", "TESTQID")
    check(mt.mailfrom(conn, "<" .. from .. ">") == nil, "mt.mailfrom")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "mailfrom reply")
    for _, r in ipairs(rcpts) do
        check(mt.rcptto(conn, "<" .. r .. ">") == nil, "mt.rcptto")
        check(mt.getreply(conn) == SMFIR_CONTINUE, "rcptto reply")
    end
    for _, h in ipairs(headers) do
        check(mt.header(conn, h[1], h[2]) == nil, "mt.header " .. h[1])
        check(mt.getreply(conn) == SMFIR_CONTINUE, "header reply " .. h[1])
    end
    check(mt.eoh(conn) == nil, "mt.eoh")
    check(mt.getreply(conn) == SMFIR_CONTINUE, "eoh reply")
    for i = 1, #body, 700 do
        check(mt.bodystring(conn, body:sub(i, i + 699)) == nil, "mt.bodystring")
        check(mt.getreply(conn) == SMFIR_CONTINUE, "body reply")
    end
end

-- Sends a whole message and returns the filter's end-of-message reply.
function send_message(conn, msg)
    send_until_body(conn, msg.from, msg.rcpts, msg.headers, msg.body)
    check(mt.eom(conn) == nil, "mt.eom")
    return mt.getreply(conn)
end

local function std_headers(subject, extra)
    local h = {
        { "From", "Alice Example <alice@example.net>" },
        { "To", "Bob Example <bob@example.com>" },
        { "Subject", subject },
        { "Date", "Sat, 28 Nov 2026 10:00:00 +0000" },
        { "Message-ID", "<" .. tostring(math.random(1, 1000000000)) .. "@example.net>" },
        { "MIME-Version", "1.0" },
    }
    for _, x in ipairs(extra or {}) do h[#h + 1] = x end
    return h
end

function clean_message()
    return {
        from = "alice@example.net",
        rcpts = { "bob@example.com" },
        headers = std_headers("Minutes of Tuesday's meeting",
            { { "Content-Type", "text/plain; charset=us-ascii" } }),
        body = "Hi Bob,\r\n\r\nhere are the minutes of Tuesday's meeting. We agreed to move\r\n" ..
            "the release to the first week of December and to review the open\r\n" ..
            "issues on Thursday.\r\n\r\nThanks,\r\nAlice\r\n",
    }
end

function eicar_message()
    local boundary = "=_boundary_7f3a"
    return {
        from = "mallory@example.org",
        rcpts = { "bob@example.com" },
        headers = std_headers("Invoice attached",
            { { "Content-Type", "multipart/mixed; boundary=\"" .. boundary .. "\"" } }),
        body = "--" .. boundary .. "\r\n" ..
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n" ..
            "Please find the invoice attached.\r\n\r\n" ..
            "--" .. boundary .. "\r\n" ..
            "Content-Type: application/octet-stream; name=\"invoice.com\"\r\n" ..
            "Content-Disposition: attachment; filename=\"invoice.com\"\r\n" ..
            "Content-Transfer-Encoding: base64\r\n\r\n" ..
            base64(eicar()) .. "\r\n" ..
            "--" .. boundary .. "--\r\n",
    }
end

function gtube_message()
    return {
        from = "spammer@example.org",
        rcpts = { "bob@example.com" },
        headers = std_headers("Cheap watches",
            { { "Content-Type", "text/plain; charset=us-ascii" } }),
        body = "This is the GTUBE, the generic test for unsolicited bulk email.\r\n\r\n" ..
            gtube() .. "\r\n\r\nIf your spam filter supports it, it should flag this message.\r\n",
    }
end

-- Asserts the end-of-message outcome of a clean, accepted message.
function expect_clean(conn, reply, what)
    check(reply == SMFIR_ACCEPT, what .. ": accepted (reply " .. tostring(reply) .. ")")
    check(mt.eom_check(conn, MT_HDRADD, "X-Spam-Status"), what .. ": X-Spam-Status added")
    check(mt.eom_check(conn, MT_HDRADD, "X-Virus-Scanned"), what .. ": X-Virus-Scanned added")
    check(not mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag"), what .. ": no X-Spam-Flag")
    local status = mt.getheader(conn, "X-Spam-Status", 0)
    check(status ~= nil and status:sub(1, 3) == "No,", what .. ": X-Spam-Status No, got " .. tostring(status))
    local scanned = mt.getheader(conn, "X-Virus-Scanned", 0)
    check(scanned ~= nil and scanned:sub(1, 10) == "libfilter ", what .. ": X-Virus-Scanned libfilter VERSION, got " .. tostring(scanned))
end

function expect_virus(conn, reply, what)
    check(reply == SMFIR_REPLYCODE, what .. ": rejected with a reply code (reply " .. tostring(reply) .. ")")
    -- miltertest compares the whole reply ("CODE ESC TEXT"), so the
    -- three-argument form is the one that can match.
    check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "Virus found: Win.Test.EICAR_HDB-1"),
        what .. ": reply 550 5.7.1 Virus found: Win.Test.EICAR_HDB-1")
    check(not mt.eom_check(conn, MT_HDRADD), what .. ": no header added to a rejected message")
end

function expect_spam(conn, reply, what)
    check(reply == SMFIR_ACCEPT, what .. ": accepted and tagged (reply " .. tostring(reply) .. ")")
    check(mt.eom_check(conn, MT_HDRADD, "X-Spam-Flag", "YES"), what .. ": X-Spam-Flag: YES added")
    check(mt.eom_check(conn, MT_HDRADD, "X-Spam-Status"), what .. ": X-Spam-Status added")
    local status = mt.getheader(conn, "X-Spam-Status", 0)
    check(status ~= nil and status:sub(1, 4) == "Yes,", what .. ": X-Spam-Status Yes, got " .. tostring(status))
    check(status:find("GTUBE", 1, true) ~= nil, what .. ": the GTUBE rule is listed")
end

function pass(name)
    mt.echo("ok   " .. name)
end
