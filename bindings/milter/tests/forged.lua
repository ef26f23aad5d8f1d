-- (f) Forged X-Spam-Flag/X-Spam-Status fields in a clean message are
-- removed (strip_headers = yes) and replaced by ours.
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
local m = clean_message()
m.headers[#m.headers + 1] = { "X-Spam-Flag", "NO" }
m.headers[#m.headers + 1] = { "X-Spam-Status", "No, score=-100" }
m.headers[#m.headers + 1] = { "X-Spam-Status", "No, score=-99" }
expect_clean(conn, send_message(conn, m), "forged headers")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag"), "forged X-Spam-Flag removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Status"), "forged X-Spam-Status removed")
mt.disconnect(conn)
pass("forged X-Spam-* fields removed")
