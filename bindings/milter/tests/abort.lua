-- (e) A message aborted in the middle (after part of a body holding EICAR),
-- then the next message on the same connection: it is scanned alone and
-- accepted; then a virus is still found on the same connection.
dofile(TESTDIR .. "/common.lua")
local conn = open_conn()
local bad = eicar_message()
send_until_body(conn, bad.from, bad.rcpts, bad.headers, bad.body)
check(mt.abort(conn) == nil, "mt.abort")
expect_clean(conn, send_message(conn, clean_message()), "clean after abort")
-- Abort right after the headers, twice in a row.
local m = clean_message()
send_until_body(conn, m.from, m.rcpts, m.headers, "")
check(mt.abort(conn) == nil, "mt.abort 2")
send_until_body(conn, bad.from, bad.rcpts, bad.headers, "")
check(mt.abort(conn) == nil, "mt.abort 3")
expect_virus(conn, send_message(conn, eicar_message()), "eicar after aborts")
expect_clean(conn, send_message(conn, clean_message()), "clean at the end")
mt.disconnect(conn)
pass("abort mid-message, then the next messages on the same connection")
