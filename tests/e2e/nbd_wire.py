"""NBD helpers for the volume tests: raw protocol, libnbd, client tools.

The raw side speaks the fixed newstyle handshake and the transmission phase
byte by byte (NetworkBlockDevice/nbd doc/proto.md), so a test can send what no
real client would: garbage, unknown options, out-of-range or oversized
requests, writes to a read-only export. Everything big-endian.

The libnbd side (`connect`, `read_all`, `pattern`) is how the other tests
read and write volumes like a well-behaved client; `run_tool` runs qemu-img,
qemu-io, nbdinfo, nbdcopy and fio and shows their output when they fail.
"""

import errno
import socket
import struct
import subprocess

import nbd

# Handshake.
NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
OPT_REPLY_MAGIC = 0x3E889045565A9
FLAG_FIXED_NEWSTYLE = 1
FLAG_NO_ZEROES = 2
FLAG_C_FIXED_NEWSTYLE = 1
FLAG_C_NO_ZEROES = 2

OPT_EXPORT_NAME = 1
OPT_ABORT = 2
OPT_LIST = 3
OPT_STARTTLS = 5
OPT_INFO = 6
OPT_GO = 7
OPT_STRUCTURED_REPLY = 8
OPT_LIST_META_CONTEXT = 9
OPT_SET_META_CONTEXT = 10

REP_ACK = 1
REP_SERVER = 2
REP_INFO = 3
REP_META_CONTEXT = 4
REP_ERR_UNSUP = 0x80000001
REP_ERR_POLICY = 0x80000002
REP_ERR_INVALID = 0x80000003
REP_ERR_PLATFORM = 0x80000004
REP_ERR_TLS_REQD = 0x80000005
REP_ERR_UNKNOWN = 0x80000006
REP_ERR_SHUTDOWN = 0x80000007
REP_ERR_BLOCK_SIZE_REQD = 0x80000008
REP_ERR_TOO_BIG = 0x80000009

INFO_EXPORT = 0
INFO_NAME = 1
INFO_DESCRIPTION = 2
INFO_BLOCK_SIZE = 3

# Transmission flags.
TF_HAS_FLAGS = 1 << 0
TF_READ_ONLY = 1 << 1
TF_SEND_FLUSH = 1 << 2
TF_SEND_FUA = 1 << 3
TF_SEND_TRIM = 1 << 5
TF_SEND_WRITE_ZEROES = 1 << 6
TF_SEND_DF = 1 << 7
TF_CAN_MULTI_CONN = 1 << 8

# Transmission phase.
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698
STRUCTURED_REPLY_MAGIC = 0x668E33EF

CMD_READ = 0
CMD_WRITE = 1
CMD_DISC = 2
CMD_FLUSH = 3
CMD_TRIM = 4
CMD_WRITE_ZEROES = 6
CMD_BLOCK_STATUS = 7

CMD_FLAG_FUA = 1 << 0
CMD_FLAG_NO_HOLE = 1 << 1
CMD_FLAG_DF = 1 << 2
CMD_FLAG_REQ_ONE = 1 << 3

REPLY_FLAG_DONE = 1
REPLY_TYPE_NONE = 0
REPLY_TYPE_OFFSET_DATA = 1
REPLY_TYPE_OFFSET_HOLE = 2
REPLY_TYPE_BLOCK_STATUS = 5
REPLY_TYPE_ERROR = (1 << 15) + 1
REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2

# NBD error numbers (the spec's values, which match Linux errno).
EPERM = 1
EIO = 5
ENOMEM = 12
EINVAL = 22
ENOSPC = 28
EOVERFLOW = 75
ENOTSUP = 95
ESHUTDOWN = 108

REPLY_TIMEOUT_S = 20


class Closed(Exception):
    """The server closed (or reset) the connection."""


class OptionError(Exception):
    def __init__(self, reply_type, message):
        super().__init__(f"option reply {reply_type:#x}: {message!r}")
        self.reply_type = reply_type
        self.message = message


def open_socket(port=None, unix_path=None, timeout_s=REPLY_TIMEOUT_S):
    if unix_path:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout_s)
        s.connect(str(unix_path))
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n):
    chunks = []
    while n > 0:
        try:
            chunk = sock.recv(min(n, 1 << 20))
        except (ConnectionResetError, BrokenPipeError) as e:
            raise Closed(str(e)) from e
        if not chunk:
            raise Closed("EOF")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def send(sock, data):
    """sendall that turns a reset/broken pipe into Closed."""
    try:
        sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError) as e:
        raise Closed(str(e)) from e


def send_ignoring_reset(sock, data):
    """Sends what the peer accepts; a server that closes early is fine here."""
    try:
        sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass


def is_closed(sock, timeout_s=REPLY_TIMEOUT_S):
    """True if the server closes the connection (EOF or reset) within timeout_s,
    discarding anything it sends first; False if it is still open then."""
    sock.settimeout(timeout_s)
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


# --- handshake ---------------------------------------------------------------

def read_greeting(sock):
    """Reads NBDMAGIC, IHAVEOPT and the handshake flags; returns the flags."""
    magic, opt_magic, flags = struct.unpack(">QQH", recv_exact(sock, 18))
    assert magic == NBDMAGIC, f"greeting magic {magic:#x}"
    assert opt_magic == IHAVEOPT, f"not fixed newstyle: second magic {opt_magic:#x}"
    return flags


def handshake(sock, client_flags=FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES):
    flags = read_greeting(sock)
    assert flags & FLAG_FIXED_NEWSTYLE, f"server handshake flags {flags:#x} lack FIXED_NEWSTYLE"
    send(sock, struct.pack(">I", client_flags))
    return flags


def send_option(sock, option, data=b"", length=None):
    length = len(data) if length is None else length
    send(sock, struct.pack(">QII", IHAVEOPT, option, length) + data)


def read_option_reply(sock):
    """(option, reply_type, data) of one option reply."""
    magic, option, reply_type, length = struct.unpack(">QIII", recv_exact(sock, 20))
    assert magic == OPT_REPLY_MAGIC, f"option reply magic {magic:#x}"
    return option, reply_type, recv_exact(sock, length)


def option_replies(sock, option, data=b""):
    """Sends one option; returns every reply up to and including the final
    one (an ACK or an error)."""
    send_option(sock, option, data)
    replies = []
    while True:
        got_option, reply_type, payload = read_option_reply(sock)
        assert got_option == option, f"reply for option {got_option}, expected {option}"
        replies.append((reply_type, payload))
        if reply_type == REP_ACK or reply_type & 0x80000000:
            return replies


def final_reply_type(replies):
    return replies[-1][0]


def list_exports(sock):
    replies = option_replies(sock, OPT_LIST)
    if final_reply_type(replies) != REP_ACK:
        raise OptionError(replies[-1][0], replies[-1][1])
    names = []
    for reply_type, payload in replies[:-1]:
        assert reply_type == REP_SERVER, f"NBD_OPT_LIST reply type {reply_type:#x}"
        (n,) = struct.unpack_from(">I", payload)
        names.append(payload[4:4 + n].decode())
    return names


def go_payload(name, info_requests=(INFO_BLOCK_SIZE,)):
    raw = name.encode()
    return (struct.pack(">I", len(raw)) + raw + struct.pack(">H", len(info_requests))
            + b"".join(struct.pack(">H", i) for i in info_requests))


class ExportInfo:
    def __init__(self):
        self.size_bytes = None
        self.flags = None
        self.block_sizes = None  # (minimum, preferred, maximum)
        self.name = None
        self.description = None

    @property
    def read_only(self):
        return bool(self.flags & TF_READ_ONLY)


def info_or_go(sock, option, name, info_requests=(INFO_BLOCK_SIZE,)):
    """NBD_OPT_INFO or NBD_OPT_GO; returns ExportInfo, raises OptionError."""
    replies = option_replies(sock, option, go_payload(name, info_requests))
    reply_type, payload = replies[-1]
    if reply_type != REP_ACK:
        raise OptionError(reply_type, payload)
    info = ExportInfo()
    for reply_type, payload in replies[:-1]:
        assert reply_type == REP_INFO, f"unexpected reply {reply_type:#x} to option {option}"
        (kind,) = struct.unpack_from(">H", payload)
        if kind == INFO_EXPORT:
            info.size_bytes, info.flags = struct.unpack_from(">QH", payload, 2)
        elif kind == INFO_BLOCK_SIZE:
            info.block_sizes = struct.unpack_from(">III", payload, 2)
        elif kind == INFO_NAME:
            info.name = payload[2:].decode()
        elif kind == INFO_DESCRIPTION:
            info.description = payload[2:].decode()
    assert info.size_bytes is not None, "no NBD_INFO_EXPORT before NBD_REP_ACK"
    return info


def negotiate_structured(sock):
    replies = option_replies(sock, OPT_STRUCTURED_REPLY)
    assert final_reply_type(replies) == REP_ACK, f"STRUCTURED_REPLY answered {replies}"


def meta_context_payload(name, queries):
    raw = name.encode()
    out = struct.pack(">I", len(raw)) + raw + struct.pack(">I", len(queries))
    for q in queries:
        out += struct.pack(">I", len(q)) + q.encode()
    return out


def set_meta_context(sock, name, queries=("base:allocation",)):
    """Returns {context_name: id} of what the server selected."""
    replies = option_replies(sock, OPT_SET_META_CONTEXT, meta_context_payload(name, queries))
    if final_reply_type(replies) != REP_ACK:
        raise OptionError(replies[-1][0], replies[-1][1])
    out = {}
    for reply_type, payload in replies[:-1]:
        assert reply_type == REP_META_CONTEXT
        (context_id,) = struct.unpack_from(">I", payload)
        out[payload[4:].decode()] = context_id
    return out


# --- transmission ------------------------------------------------------------

class Reply:
    def __init__(self, handle):
        self.handle = handle
        self.error = 0
        self.message = b""
        self.data = {}        # offset -> bytes (structured) or {request offset: bytes}
        self.holes = []       # (offset, length)
        self.extents = []     # (context_id, [(length, flags), ...])
        self.chunks = []      # (type, flags)

    def tiling_problem(self, offset, length):
        """None if the data and hole chunks cover [offset, offset+length)
        exactly once, else what is wrong (structured READ replies only)."""
        pieces = sorted([(off, len(d), "data") for off, d in self.data.items()]
                        + [(off, n, "hole") for off, n in self.holes])
        pos = offset
        for off, n, kind in pieces:
            if n == 0:
                return f"an empty {kind} chunk at {off}"
            if off != pos:
                return f"{'gap' if off > pos else 'overlap'} at {pos}: next chunk is {kind} at {off}"
            pos += n
        if pos != offset + length:
            return f"chunks end at {pos}, the request at {offset + length}"
        return None

    def read_bytes(self, offset, length):
        """The bytes a READ reply carried for [offset, offset+length), holes as zeros."""
        out = bytearray(length)
        for off, data in self.data.items():
            out[off - offset:off - offset + len(data)] = data
        return bytes(out)


class Session:
    """A raw transmission-phase connection: send requests, read their replies."""

    def __init__(self, sock, info, structured):
        self.sock = sock
        self.info = info
        self.structured = structured
        self.next_handle = 1
        self.pending = {}  # handle -> (command, offset, length)
        self.partial = {}  # handle -> Reply still waiting for its DONE chunk

    def request(self, command, offset=0, length=0, flags=0, data=b"", handle=None, magic=REQUEST_MAGIC):
        if handle is None:
            handle = self.next_handle
            self.next_handle += 1
        header = struct.pack(">IHHQQI", magic, flags, command, handle, offset, length)
        self.pending[handle] = (command, offset, length)
        send(self.sock, header + data)
        return handle

    def reply(self):
        """Reads until one reply is whole (all chunks of a structured one) and
        returns it. Chunks of different replies may interleave (the spec
        allows it); partial ones are kept until their DONE chunk."""
        while True:
            (magic,) = struct.unpack(">I", recv_exact(self.sock, 4))
            if magic == SIMPLE_REPLY_MAGIC:
                error, handle = struct.unpack(">IQ", recv_exact(self.sock, 12))
                assert handle in self.pending, f"simple reply for unknown handle {handle}"
                assert handle not in self.partial, f"simple reply for handle {handle} after structured chunks"
                reply = Reply(handle)
                reply.error = error
                command, offset, length = self.pending.pop(handle)
                if command == CMD_READ and error == 0:
                    assert not self.structured, "a simple reply to READ after structured replies were negotiated"
                    reply.data[offset] = recv_exact(self.sock, length)
                return reply
            assert magic == STRUCTURED_REPLY_MAGIC, f"reply magic {magic:#x}"
            assert self.structured, "a structured reply that was never negotiated"
            flags, kind, handle, length = struct.unpack(">HHQI", recv_exact(self.sock, 16))
            assert handle in self.pending, f"structured chunk for unknown handle {handle}"
            reply = self.partial.setdefault(handle, Reply(handle))
            payload = recv_exact(self.sock, length)
            reply.chunks.append((kind, flags))
            self._take_chunk(reply, kind, payload)
            if flags & REPLY_FLAG_DONE:
                del self.partial[handle]
                self.pending.pop(handle)
                return reply

    @staticmethod
    def _take_chunk(reply, kind, payload):
        if kind == REPLY_TYPE_OFFSET_DATA:
            (off,) = struct.unpack_from(">Q", payload)
            reply.data[off] = payload[8:]
        elif kind == REPLY_TYPE_OFFSET_HOLE:
            reply.holes.append(struct.unpack_from(">QI", payload))
        elif kind == REPLY_TYPE_BLOCK_STATUS:
            (context_id,) = struct.unpack_from(">I", payload)
            pairs = [struct.unpack_from(">II", payload, i) for i in range(4, len(payload), 8)]
            reply.extents.append((context_id, pairs))
        elif kind in (REPLY_TYPE_ERROR, REPLY_TYPE_ERROR_OFFSET):
            error, n = struct.unpack_from(">IH", payload)
            reply.error = error
            reply.message = payload[6:6 + n]
        elif kind != REPLY_TYPE_NONE:
            raise AssertionError(f"unknown structured reply chunk type {kind}")

    def call(self, command, offset=0, length=0, flags=0, data=b""):
        handle = self.request(command, offset, length, flags, data)
        reply = self.reply()
        assert reply.handle == handle, f"reply handle {reply.handle}, expected {handle}"
        return reply

    def read(self, offset, length, flags=0):
        reply = self.call(CMD_READ, offset, length, flags)
        if self.structured and reply.error == 0:
            problem = reply.tiling_problem(offset, length)
            assert problem is None, f"READ {offset}+{length}: {problem}"
        return reply.error, (reply.read_bytes(offset, length) if reply.error == 0 else None)

    def write(self, offset, data, flags=0):
        return self.call(CMD_WRITE, offset, len(data), flags, data).error

    def flush(self):
        return self.call(CMD_FLUSH).error

    def disconnect(self):
        send_ignoring_reset(self.sock, struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_DISC, 0, 0, 0))
        self.sock.close()


def open_session(port=None, export="", unix_path=None, structured=True, meta_contexts=()):
    """Handshake, optional structured replies and meta contexts, then NBD_OPT_GO."""
    sock = open_socket(port, unix_path)
    handshake(sock)
    if structured:
        negotiate_structured(sock)
    if meta_contexts:
        set_meta_context(sock, export, meta_contexts)
    info = info_or_go(sock, OPT_GO, export)
    return Session(sock, info, structured)


def errno_name(code):
    return errno.errorcode.get(code, str(code))


# --- libnbd helpers ------------------------------------------------------------

def connect(port, export, unix_path=None):
    """A libnbd handle on `export` (TCP loopback, or a unix socket)."""
    h = nbd.NBD()
    h.set_export_name(export)
    h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    if unix_path:
        h.connect_unix(str(unix_path))
    else:
        h.connect_tcp("127.0.0.1", str(port))
    return h


def close(h):
    """Sends NBD_CMD_DISC and closes the socket (python libnbd has no close())."""
    try:
        h.shutdown()
    except nbd.Error:
        pass


def pattern(seed, length):
    """Deterministic, non-repeating-looking bytes for a seed (fast for MiBs)."""
    block = bytearray()
    x = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & ((1 << 64) - 1)
    while len(block) < 4096:
        x ^= (x << 13) & ((1 << 64) - 1)
        x ^= x >> 7
        x ^= (x << 17) & ((1 << 64) - 1)
        block += x.to_bytes(8, "little")
    whole, rest = divmod(length, 4096)
    # Each 4 KiB block starts with (seed, block number), so no two blocks match.
    out = bytearray()
    for i in range(whole):
        out += struct.pack("<QQ", seed, i) + block[16:]
    out += (struct.pack("<QQ", seed, whole) + block[16:])[:rest]
    return bytes(out)




def allocation_map(h, offset=0, length=None):
    """[(offset, length, flags)] of base:allocation over [offset, offset+length)."""
    length = h.get_size() - offset if length is None else length
    out = []
    pos = offset
    while pos < offset + length:
        def on_extents(context, start, entries, err):
            if context == nbd.CONTEXT_BASE_ALLOCATION:
                got.extend(zip(entries[0::2], entries[1::2]))
            return 0
        got = []
        h.block_status(min(offset + length - pos, 1 << 30), pos, on_extents)
        assert got, f"no base:allocation extents at {pos}"
        for n, flags in got:
            n = min(n, offset + length - pos)
            if n <= 0:
                break
            if out and out[-1][2] == flags and out[-1][0] + out[-1][1] == pos:
                out[-1] = (out[-1][0], out[-1][1] + n, flags)
            else:
                out.append((pos, n, flags))
            pos += n
    return out


def read_all(h, offset=0, length=None, chunk_bytes=16 << 20):
    """pread of [offset, offset+length) in chunks (libnbd caps one request at 64 MiB)."""
    length = h.get_size() - offset if length is None else length
    out = bytearray()
    while len(out) < length:
        n = min(chunk_bytes, length - len(out))
        out += h.pread(n, offset + len(out))
    return bytes(out)


def run_tool(cmd, timeout_s=120, check=True, **kwargs):
    """Runs a client tool (qemu-img, nbdinfo, fio, ...); on failure the
    assertion shows its command line and output."""
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout_s, **kwargs)
    if check:
        assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                                      f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc
