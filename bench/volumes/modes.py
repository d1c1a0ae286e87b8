"""The two cache modes every fio suite runs in.

- cached: every system may keep data in the kernel's page cache, and the
  timed write workloads send no FLUSH unless --fsync N is given.
- durable: nothing relies on the page cache for reads or writes (O_DIRECT
  where the system has it), and the write workloads send a FLUSH (fio
  fsync) every 32 writes (--fsync N overrides the 32).

The fill that precedes the timed workloads ends with one fsync in both
modes, so the timed runs start from data the system has made durable.
"""

from dataclasses import dataclass, replace

DURABLE_FSYNC_EVERY = 32


@dataclass(frozen=True)
class Mode:
    name: str
    local_direct: bool        # fio direct= on the local file
    qemu_cache: str           # qemu-nbd --cache=
    qemu_aio: tuple           # qemu-nbd --aio= values to try, in order
    nbdkit_cache: str         # nbdkit file plugin cache=
    strata_volume_io: str     # strata server --volume-io
    default_fsync_every: int  # fio fsync=N on write workloads unless --fsync N

    def fsync_every(self, override):
        """fio fsync=N for the timed write workloads; `override` is --fsync (None if not given)."""
        return self.default_fsync_every if override is None else override

    def summary(self):
        return (f"local fio direct={1 if self.local_direct else 0}; "
                f"qemu-nbd --cache={self.qemu_cache}; nbdkit cache={self.nbdkit_cache}; "
                f"strata --volume-io {self.strata_volume_io}")


CACHED = Mode("cached", local_direct=False, qemu_cache="writeback", qemu_aio=("io_uring", "threads"),
              nbdkit_cache="default", strata_volume_io="buffered", default_fsync_every=0)
# qemu's aio=native needs O_DIRECT, which cache=none gives.
DURABLE = Mode("durable", local_direct=True, qemu_cache="none", qemu_aio=("io_uring", "native"),
               nbdkit_cache="none", strata_volume_io="direct", default_fsync_every=DURABLE_FSYNC_EVERY)

MODES = {m.name: m for m in (CACHED, DURABLE)}
ORDER = ("cached", "durable")


def set_strata_durable_io(volume_io):
    """--strata-durable-io: Strata's --volume-io in the durable mode (direct by
    default; buffered is durable too, since every FLUSH syncs)."""
    MODES["durable"] = replace(DURABLE, strata_volume_io=volume_io)
