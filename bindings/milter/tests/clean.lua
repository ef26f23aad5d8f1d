-- (a) A clean message is accepted, and X-Spam-Status and X-Virus-Scanned
-- are added (X-Spam-Flag is not).
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
expect_clean(conn, send_message(conn, clean_message()), "clean")
mt.disconnect(conn)
pass("clean message accepted, headers added")
