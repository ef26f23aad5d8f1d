-- A connection stays open across a reload: scripts/milter-tests.sh sends
-- SIGHUP after the first message (while this script sleeps); the next
-- messages on the same connection are still scanned (on the engine the
-- connection started with) and nothing is dropped.
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
expect_clean(conn, send_message(conn, clean_message()), "before the reload")
mt.sleep(4)
expect_virus(conn, send_message(conn, eicar_message()), "eicar after the reload")
expect_spam(conn, send_message(conn, gtube_message()), "gtube after the reload")
expect_clean(conn, send_message(conn, clean_message()), "clean after the reload")
mt.disconnect(conn)
pass("one connection across a SIGHUP reload: 4 messages, none dropped")
