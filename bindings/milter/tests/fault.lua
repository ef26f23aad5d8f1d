-- The on_error policy, against a test build of the milter
-- (-DLF_MILTER_FAULT_INJECTION): a message carrying the header field
-- X-Libfilter-Test-Fault makes the end of message call libfilter wrongly,
-- so that a real lf_ error is handled. Run with -D EXPECT=tempfail, accept
-- or reject (the milter's on_error). The connection survives: the next
-- message is scanned normally.
dofile(TESTDIR .. "/common.lua")
if EXPECT == nil then error("run with -D EXPECT=tempfail|accept|reject") end
local conn = open_conn()
local m = clean_message()
m.headers[#m.headers + 1] = { "X-Libfilter-Test-Fault", "eom" }
local reply = send_message(conn, m)
if EXPECT == "tempfail" then
    check(reply == SMFIR_REPLYCODE, "on_error=tempfail: a reply code (reply " .. tostring(reply) .. ")")
    check(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.0", "Temporary content scanner failure"),
        "on_error=tempfail: 451 4.3.0")
elseif EXPECT == "reject" then
    check(reply == SMFIR_REPLYCODE, "on_error=reject: a reply code (reply " .. tostring(reply) .. ")")
    check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "Message content rejected: scanner error"),
        "on_error=reject: 550 5.7.1")
else
    check(reply == SMFIR_ACCEPT, "on_error=accept: accepted (reply " .. tostring(reply) .. ")")
    check(not mt.eom_check(conn, MT_HDRADD), "on_error=accept: unscanned, no header added")
end
expect_clean(conn, send_message(conn, clean_message()), "the next message after a failure")
expect_virus(conn, send_message(conn, eicar_message()), "eicar after a failure")
mt.disconnect(conn)
pass("on_error=" .. EXPECT .. ": internal error handled, the connection goes on")
