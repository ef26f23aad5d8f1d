-- (c) The GTUBE message is flagged as spam: X-Spam-Flag: YES, X-Spam-Status
-- "Yes, ..." listing GTUBE; accepted (reject_score is off by default).
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
expect_spam(conn, send_message(conn, gtube_message()), "gtube")
mt.disconnect(conn)
pass("GTUBE flagged: X-Spam-Flag: YES")
