-- Run against a milter started with -o reject_score=20 -o quarantine_score=0
-- -o max_message_size=8K: GTUBE is rejected as spam (550 5.7.1, no header
-- added), a clean message (score 0) is quarantined and still gets its
-- headers, EICAR is rejected, and a message larger than 8K is rejected as
-- not scanned in full (on_limit = reject, the default).
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
local reply = send_message(conn, gtube_message())
check(reply == SMFIR_REPLYCODE, "gtube with reject_score: rejected (reply " .. tostring(reply) .. ")")
check(not mt.eom_check(conn, MT_HDRADD), "gtube with reject_score: no header added")
check(not mt.eom_check(conn, MT_QUARANTINE), "gtube with reject_score: not quarantined")
expect_clean(conn, send_message(conn, clean_message()), "clean with quarantine_score=0")
check(mt.eom_check(conn, MT_QUARANTINE), "clean with quarantine_score=0: quarantined")
expect_virus(conn, send_message(conn, eicar_message()), "eicar with options")
local big = clean_message()
big.body = string.rep("All work and no play makes Jack a dull boy.\r\n", 400)
reply = send_message(conn, big)
check(reply == SMFIR_REPLYCODE, "message over max_message_size: rejected (reply " .. tostring(reply) .. ")")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
    "Message could not be scanned in full: Heuristics.Limits.Exceeded.MaxScanSize"),
    "message over max_message_size: 550 5.7.1 not scanned in full")
expect_clean(conn, send_message(conn, clean_message()), "clean after an oversized message")
mt.disconnect(conn)
pass("reject_score rejects GTUBE, quarantine_score quarantines, max_message_size + on_limit")
