-- (d) Several messages on one connection: each is scanned on its own, so a
-- virus or spam verdict does not leak into the next message.
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
expect_clean(conn, send_message(conn, clean_message()), "message 1 (clean)")
expect_virus(conn, send_message(conn, eicar_message()), "message 2 (eicar)")
expect_clean(conn, send_message(conn, clean_message()), "message 3 (clean after virus)")
expect_spam(conn, send_message(conn, gtube_message()), "message 4 (gtube)")
expect_clean(conn, send_message(conn, clean_message()), "message 5 (clean after spam)")
-- A message with two recipients.
local m = clean_message()
m.rcpts = { "bob@example.com", "carol@example.com" }
expect_clean(conn, send_message(conn, m), "message 6 (two recipients)")
mt.disconnect(conn)
pass("six messages on one connection, each judged on its own")
