"""Peak memory of benchmark processes, the Python side of bench/peak-memory.ts (same method):
VmHWM from /proc/<pid>/status, the kernel's high-water mark of the resident set of one address
space. It starts at the process's own exec, unlike getrusage's ru_maxrss, which Linux carries
across fork and exec: a child of a large parent reports at least the parent's resident size.

`own_peak_kib()` is a worker's own peak. `run_measured(command)` runs a child to completion and
reads its VmHWM at the last moment its address space exists: the child is traced (ptrace
PTRACE_O_TRACEEXIT), so the kernel stops it on its way out, before it releases its memory, and
the figure is exact, not a poll that can miss a peak just before exit. Linux only."""
import ctypes
import os
import signal
import subprocess

PTRACE_TRACEME = 0
PTRACE_CONT = 7
PTRACE_SETOPTIONS = 0x4200
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40
PTRACE_O_EXITKILL = 0x100000  # the child dies with its tracer, never left stopped
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_libc.ptrace.restype = ctypes.c_long


def vm_hwm_kib(pid="self"):
    """VmHWM of /proc/<pid>/status in KiB; None when the process (or its address space) is gone."""
    try:
        with open("/proc/%s/status" % pid) as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def own_peak_kib():
    """Peak resident set of this process since its exec, in KiB."""
    return vm_hwm_kib("self")


def _ptrace(request, pid, data=0):
    if _libc.ptrace(request, pid, None, ctypes.c_void_p(data)) == -1:
        err = ctypes.get_errno()
        raise OSError(err, "ptrace(%d) on %d: %s" % (request, pid, os.strerror(err)))


def _trace_me():
    # Runs in the child between fork and exec: the exec then stops it with SIGTRAP for us.
    _ptrace(PTRACE_TRACEME, 0)


def run_measured(command, stdout=subprocess.DEVNULL, stderr=None):
    """Runs `command` to completion; returns (exit code or -signal, peak resident KiB of the
    program it ran). A program that execs another is measured as the last one (VmHWM restarts at
    exec); processes it starts are not counted. Raises OSError when the kernel refuses ptrace
    (seccomp or kernel.yama.ptrace_scope = 3)."""
    child = subprocess.Popen(command, stdout=stdout, stderr=stderr, preexec_fn=_trace_me)
    peak = None
    started = False
    try:
        while True:
            _, status = os.waitpid(child.pid, 0)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                child.returncode = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
                return child.returncode, peak
            stop_signal, event = os.WSTOPSIG(status), status >> 16
            forward = 0
            if stop_signal == signal.SIGTRAP and event == PTRACE_EVENT_EXIT:
                peak = vm_hwm_kib(child.pid)
            elif stop_signal == signal.SIGTRAP and not started:
                # The stop after the first exec: from now on exits and later execs are events.
                _ptrace(PTRACE_SETOPTIONS, child.pid, PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)
                started = True
            elif not (stop_signal == signal.SIGTRAP and event == PTRACE_EVENT_EXEC):
                forward = stop_signal  # a signal for the program itself: deliver it
            _ptrace(PTRACE_CONT, child.pid, forward)
    except BaseException:
        if child.returncode is None:
            child.kill()
            os.waitpid(child.pid, 0)
            child.returncode = -signal.SIGKILL
        raise
