#!/usr/bin/python3
"""Writes the seed corpus of fuzz_pgwire_decoder (tests/fuzz/corpus/pgwire_decoder/).

Each seed is what a PostgreSQL client sends, prefixed by the target's mode
byte (see tests/fuzz/fuzz_pgwire_decoder.cc): bits 0-1 the auth method
(0 trust, 1 scram-sha-256, 2 md5; user "alice", password "pw"), bit 2 a
loopback client, bit 3 fed in small pieces, bit 4 a canned trust startup
first. The statements are those the fake engine understands
(src/pgwire/tests/fake_engine.h). Message layouts follow the PostgreSQL
manual's "Message Formats"; the SCRAM and md5 answers are computed for the
target's fixed salts and nonces, so the seeds reach the serving phase.

    usage: tests/fuzz/make_pgwire_corpus.py [OUT_DIR]
"""

import base64
import hashlib
import hmac
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TRUST, SCRAM, MD5 = 0, 1, 2
LOOPBACK, PIECES, CANNED = 4, 8, 16


def msg(t, body=b""):
    return t.encode() + struct.pack(">I", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def startup(params, version=196608):
    body = struct.pack(">I", version) + b"".join(cstr(k) + cstr(v) for k, v in params) + b"\0"
    return struct.pack(">I", len(body) + 4) + body


def query(sql):
    return msg("Q", cstr(sql))


def parse(name, sql, oids=()):
    return msg("P", cstr(name) + cstr(sql) + struct.pack(">H", len(oids)) + b"".join(struct.pack(">I", o) for o in oids))


def bind(portal, stmt, pformats=(), values=(), rformats=()):
    b = cstr(portal) + cstr(stmt) + struct.pack(">H", len(pformats)) + b"".join(struct.pack(">h", f) for f in pformats)
    b += struct.pack(">H", len(values))
    for v in values:
        b += struct.pack(">i", -1) if v is None else struct.pack(">I", len(v)) + v
    b += struct.pack(">H", len(rformats)) + b"".join(struct.pack(">h", f) for f in rformats)
    return msg("B", b)


def describe(what, name):
    return msg("D", what.encode() + cstr(name))


def execute(portal, rows=0):
    return msg("E", cstr(portal) + struct.pack(">I", rows))


SYNC = msg("S")
USER = [("user", "alice"), ("database", "db"), ("application_name", "fuzz")]


def fixed(n, f):
    return bytes(f(i) & 0xFF for i in range(n))


def scram_login():
    """The whole SCRAM exchange for alice/pw with the target's fixed salt and nonce."""
    salt = fixed(16, lambda i: i * 7 + 1)
    server_nonce = base64.b64encode(fixed(18, lambda i: i + 3)).decode()
    client_nonce = "fuzzclientnonce"
    first_bare = f"n=,r={client_nonce}"
    nonce = client_nonce + server_nonce
    server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i=4096"
    without_proof = f"c=biws,r={nonce}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    salted = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    signature = hmac.new(stored, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    initial = ("n,," + first_bare).encode()
    return (startup(USER) + msg("p", cstr("SCRAM-SHA-256") + struct.pack(">I", len(initial)) + initial) +
            msg("p", f"{without_proof},p={base64.b64encode(proof).decode()}".encode()))


def md5_login():
    salt = fixed(4, lambda i: i + 3)
    inner = hashlib.md5(b"pw" + b"alice").hexdigest().encode()
    return startup(USER) + msg("p", cstr("md5" + hashlib.md5(inner + salt).hexdigest()))


def numeric(ndigits, weight, sign, dscale, digits):
    return struct.pack(">hhHh", ndigits, weight, sign, dscale) + b"".join(struct.pack(">h", d) for d in digits)


SEEDS = {
    "simple_query": (CANNED | LOOPBACK, query("select ints 5") + query("") + query("select ints 1; insert x; fail")),
    "ssl_then_startup": (LOOPBACK, struct.pack(">II", 8, 80877103) + startup(USER) + query("select types")),
    "gss_ssl_startup": (LOOPBACK | PIECES, struct.pack(">II", 8, 80877104) + struct.pack(">II", 8, 80877103) +
                        startup(USER) + query("select ints 3")),
    "cancel_request": (0, struct.pack(">IIii", 16, 80877102, 1000, 12345)),
    "bad_version": (LOOPBACK, startup(USER, version=0x00020000)),
    "newer_minor": (LOOPBACK, startup(USER + [("_pq_.x", "1")], version=196610) + query("select ints 1")),
    "remote_no_users": (0, startup(USER)),
    "scram": (SCRAM, scram_login() + query("select ints 2")),
    "scram_pieces": (SCRAM | PIECES, scram_login() + parse("", "echo $1", [23]) +
                     bind("", "", [1], [struct.pack(">i", 7)], [1]) + execute("") + SYNC),
    "md5": (MD5 | LOOPBACK, md5_login() + query("select ints 2")),
    "extended": (CANNED | LOOPBACK, parse("s", "select ints 5") + describe("S", "s") + bind("p", "s") +
                 describe("P", "p") + execute("p", 2) + execute("p", 2) + execute("p") + SYNC +
                 msg("C", b"S" + cstr("s")) + SYNC),
    "binary_params": (CANNED | LOOPBACK, parse("e", "echo $1 $2 $3 $4 $5 $6", [23, 20, 1700, 1082, 1114, 25]) +
                      bind("", "e", [1, 1, 1, 1, 1, 0],
                           [struct.pack(">i", -5), struct.pack(">q", 1 << 40), numeric(2, 0, 0x4000, 2, [12, 3400]),
                            struct.pack(">i", -1), struct.pack(">q", -1000000), None],
                           [1, 1, 1, 1, 1, 0]) + execute("") + SYNC),
    "binary_types": (CANNED | LOOPBACK, parse("", "select types") + bind("", "", (), (), [1] * 14 + [0]) +
                     execute("") + SYNC),
    "errors": (CANNED | LOOPBACK, bind("", "missing") + execute("x") + SYNC + describe("P", "nope") + SYNC +
               parse("", "fail") + bind("", "") + execute("") + SYNC + msg("d", b"data") + query("select ints 1")),
    "copy_in": (CANNED | LOOPBACK, query("copy in") + msg("d", b"1\ta\n2\t") + msg("d", b"b\n") + msg("c") +
                query("copy in csv") + msg("d", b"1,2\n") + msg("f", cstr("stop")) +
                parse("", "copy in") + bind("", "") + execute("") + msg("d", b"x\ty\n") + msg("c") + SYNC),
    "copy_out": (CANNED | LOOPBACK, query("copy out 50") + parse("", "copy out 3") + bind("", "") + execute("") + SYNC),
    "transactions": (CANNED | LOOPBACK, query("begin") + query("fail") + query("select ints 1") + query("rollback") +
                     query("set application_name = 'f'")),
    "cursors": (CANNED | LOOPBACK, query("begin; declare c binary for select ints 9; fetch 2 c; move 1 c") +
                parse("f", "fetch abs 6 c") + bind("", "f", rformats=(1,)) + describe("P", "") + execute("") +
                parse("", "select ints 4") + bind("p", "") + execute("p", 1) + query("fetch all p; close all") +
                query("declare h hold for select ints 3; commit") + query("fetch 1 h; close h") + SYNC),
    "oversized": (CANNED | LOOPBACK, b"Q" + struct.pack(">I", 1 << 30)),
    "terminate": (CANNED | LOOPBACK, query("select ints 1") + msg("X") + query("select ints 2")),
    "unknown_type": (CANNED | LOOPBACK, msg("~", b"?")),
}


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/fuzz/corpus/pgwire_decoder"
    out.mkdir(parents=True, exist_ok=True)
    for name, (mode, data) in SEEDS.items():
        (out / name).write_bytes(bytes([mode]) + data)
    print(f"wrote {len(SEEDS)} seeds to {out}")


if __name__ == "__main__":
    main()
