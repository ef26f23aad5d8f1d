//! Where a message came from: the Received chain, the trust boundary, and
//! the zombie/botnet checks on the first untrusted relay (issue 7; work in
//! progress).
