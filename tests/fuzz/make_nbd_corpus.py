#!/usr/bin/python3
"""Writes the seed corpus of fuzz_nbd_request (tests/fuzz/corpus/nbd_request/).

Each seed is what an NBD client sends, prefixed by the target's mode byte
(see tests/fuzz/fuzz_nbd_request.cc, whose option limit is 1024 bytes): 0x00 for a full handshake, 0x80 | bits
for requests straight away (bit 0 structured replies, bit 1 base:allocation,
bit 2 the read-only export). The exports match the target's fake volumes:
"vol" (256 KiB, data at 8192..16383) and "vol@snap" (read-only). The seeds
follow the message layouts of the NBD spec (doc/proto.md) and the sequences
qemu, libnbd (nbdinfo, nbdcopy) and the Linux client send.

    usage: tests/fuzz/make_nbd_corpus.py [OUT_DIR]
"""

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IHAVEOPT = b"IHAVEOPT"
OPT = dict(export_name=1, abort=2, list=3, starttls=5, info=6, go=7, structured_reply=8,
           list_meta_context=9, set_meta_context=10, extended_headers=11)
CMD = dict(read=0, write=1, disc=2, flush=3, trim=4, cache=5, write_zeroes=6, block_status=7)
FUA, NO_HOLE, DF, REQ_ONE, FAST_ZERO = 1, 2, 4, 8, 16
INFO_EXPORT, INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 0, 1, 2, 3


def option(name, data=b""):
    return IHAVEOPT + struct.pack(">II", OPT[name] if isinstance(name, str) else name, len(data)) + data


def info(name, requests=()):
    return struct.pack(">I", len(name)) + name.encode() + struct.pack(">H", len(requests)) + \
        b"".join(struct.pack(">H", r) for r in requests)


def meta(name, queries):
    out = struct.pack(">I", len(name)) + name.encode() + struct.pack(">I", len(queries))
    for q in queries:
        out += struct.pack(">I", len(q)) + q.encode()
    return out


def request(cmd, offset=0, length=0, flags=0, handle=1, payload=b""):
    return struct.pack(">IHHQQI", 0x25609513, flags, CMD[cmd], handle, offset, length) + payload


def workload():
    """The requests a session sends once in transmission."""
    return b"".join([
        request("write", 0, 4096, handle=1, payload=bytes([0x5A]) * 4096),
        request("write", 100, 50, FUA, handle=2, payload=bytes(range(50))),
        request("read", 0, 32768, handle=3),
        request("read", 4000, 10000, DF, handle=4),
        request("block_status", 0, 65536, handle=5),
        request("block_status", 8192, 65536, REQ_ONE, handle=6),
        request("write_zeroes", 16384, 8192, NO_HOLE, handle=7),
        request("write_zeroes", 0, 262144, FAST_ZERO, handle=8),
        request("trim", 4096, 12288, handle=9),
        request("cache", 0, 4096, handle=10),
        request("flush", handle=11),
        request("read", 262144 - 512, 1024, handle=12),  # past the end: EINVAL
        request("write", 0, 16, 1 << 9, handle=13, payload=b"x" * 16),  # bad flag: EINVAL, payload skipped
        request("disc", handle=14),
    ])


def seeds():
    flags = struct.pack(">I", 3)  # FIXED_NEWSTYLE | NO_ZEROES
    full = b"\x00" + flags
    yield "go_structured_meta", full + option("structured_reply") + \
        option("set_meta_context", meta("vol", ["base:allocation"])) + \
        option("go", info("vol", [INFO_BLOCK_SIZE, INFO_NAME, INFO_DESCRIPTION])) + workload()
    yield "qemu_like", full + option("structured_reply") + \
        option("set_meta_context", meta("vol", ["base:allocation", "qemu:dirty-bitmap:x"])) + \
        option("go", info("vol", [INFO_BLOCK_SIZE])) + workload()
    yield "nbdinfo_list", full + option("structured_reply") + option("list") + \
        option("info", info("vol", [INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE])) + \
        option("list_meta_context", meta("vol", [])) + option("list_meta_context", meta("vol@snap", ["base:"])) + \
        option("info", info("vol@snap")) + option("abort")
    yield "export_name_simple", b"\x00" + struct.pack(">I", 1) + option("list") + option("export_name", b"vol") + workload()
    yield "snapshot_go", full + option("go", info("vol@snap")) + workload()
    yield "odd_options", full + option("starttls") + option("extended_headers") + option(99, b"junk") + \
        option("info", info("missing")) + option("go", b"\x00\x00\x00\x09vol") + \
        option("set_meta_context", meta("vol", ["base:allocation"])) + option("structured_reply", b"x") + \
        option("list", b"x") + option("export_name", b"vol") + workload()
    yield "bad_client_flags", b"\x00" + struct.pack(">I", 0x80000001)
    yield "bad_option_magic", full + b"IHAVEOPX" + struct.pack(">II", 7, 0)
    yield "oversized_option", full + IHAVEOPT + struct.pack(">II", OPT["go"], 2000) + bytes(2000) + \
        option("go", info("vol")) + workload()
    for mode, name in [(0x83, "direct_structured_meta"), (0x81, "direct_structured"), (0x80, "direct_simple"),
                       (0x87, "direct_read_only")]:
        yield name, bytes([mode]) + workload()
    yield "direct_bad_magic", b"\x83" + request("flush", handle=1) + b"\x12\x34\x56\x78" + bytes(24)


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/fuzz/corpus/nbd_request"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds():
        (out / name).write_bytes(data)
        print(f"{out / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
