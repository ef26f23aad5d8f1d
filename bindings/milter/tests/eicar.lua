-- (b) A message with the EICAR test file as a base64 attachment is rejected
-- with 550 5.7.1 and the virus name.
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
expect_virus(conn, send_message(conn, eicar_message()), "eicar")
mt.disconnect(conn)
pass("EICAR attachment rejected: 550 5.7.1 Virus found: Win.Test.EICAR_HDB-1")
