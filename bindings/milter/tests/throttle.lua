-- The throttle (throttle = yes), against a milter started with
--   -o throttle=yes -o throttle_host=3/2/0/0 -o throttle_net=0/0/0/0
--   -o throttle_delay=50 -o throttle_tempfail=200 -o throttle_zombie=80
--   -o "throttle_exempt=198.51.100.0/24 2001:db8::/32"
-- (scripts/milter-tests.sh): three connections a window per client, two
-- messages; beyond that a delay of 50 ms per event over the limit, and a
-- temporary failure at twice a limit; a client whose mail is nearly all
-- spam is escalated one step.
dofile(TESTDIR .. "/common.lua")

-- Opens a connection from IP; returns it and the connect reply.
local function connect_from(ip)
    local conn = mt.connect(SOCKET, 40, 0.25)
    check(conn ~= nil, "mt.connect(" .. SOCKET .. ")")
    check(mt.conninfo(conn, "host.example.net", ip) == nil, "mt.conninfo")
    return conn, mt.getreply(conn)
end

-- (a) A client that connects too often: accepted three times, delayed on
-- the 4th and 5th, tempfailed from the 6th (twice the limit).
local often = "192.0.2.55"
for i = 1, 5 do
    local conn, reply = connect_from(often)
    check(reply == SMFIR_CONTINUE, "connection " .. i .. " from " .. often .. " goes on (reply " .. tostring(reply) .. ")")
    mt.disconnect(conn)
end
for i = 6, 7 do
    local conn, reply = connect_from(often)
    check(reply == SMFIR_TEMPFAIL, "connection " .. i .. " from " .. often .. " is tempfailed (reply " .. tostring(reply) .. ")")
    mt.disconnect(conn)
end
-- Another client (another /24 too) is not affected.
local conn, reply = connect_from("198.51.100.20")
check(reply == SMFIR_CONTINUE, "another client connects")
mt.disconnect(conn)

-- (b) A zombie: all its mail is spam. Two messages are within the limit;
-- the third puts it over (a delay), and all spam escalates that to a
-- temporary failure: its next MAIL FROM gets 450 4.7.1.
local zombie = "203.0.113.66"
conn, reply = connect_from(zombie)
check(reply == SMFIR_CONTINUE, "zombie connects")
check(mt.helo(conn, "zombie.example.net") == nil, "mt.helo")
check(mt.getreply(conn) == SMFIR_CONTINUE, "helo reply")
for i = 1, 3 do
    expect_spam(conn, send_message(conn, gtube_message()), "zombie message " .. i)
end
mt.macro(conn, SMFIC_MAIL, "i", "TESTQID")
check(mt.mailfrom(conn, "<zombie@example.net>") == nil, "mt.mailfrom")
reply = mt.getreply(conn)
check(reply == SMFIR_REPLYCODE, "zombie's 4th MAIL FROM gets a reply code (reply " .. tostring(reply) .. ")")
mt.disconnect(conn)

-- (c) A client with the same volume of clean mail is only delayed: its
-- 4th MAIL FROM goes on (after the tar pit).
local relay = "203.0.113.25"
conn, reply = connect_from(relay)
check(reply == SMFIR_CONTINUE, "relay connects")
check(mt.helo(conn, "relay.example.net") == nil, "mt.helo")
check(mt.getreply(conn) == SMFIR_CONTINUE, "helo reply")
for i = 1, 4 do
    expect_clean(conn, send_message(conn, clean_message()), "relay message " .. i)
end
mt.disconnect(conn)

-- (d) An exempt client (throttle_exempt = 198.51.100.0/24, ...) is never
-- counted: eight connections in a row all go on.
for i = 1, 8 do
    conn, reply = connect_from("198.51.100.30")
    check(reply == SMFIR_CONTINUE, "exempt connection " .. i .. " goes on (reply " .. tostring(reply) .. ")")
    mt.disconnect(conn)
end
pass("throttle: too many connections tempfailed, a zombie tempfailed at MAIL FROM, clean mail only delayed, exempt networks not counted")
