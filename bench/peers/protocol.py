"""The line protocol every bench peer worker speaks (bench/workers/protocol.ts): one JSON request
per line on stdin, one JSON reply per line on stdout. {"cmd":"rss"} asks for the peak RSS in KiB
(VmHWM, peak_memory.py: from the process's own exec on, never the parent's) and, only for
contrast in the report, getrusage's ru_maxrss (which Linux carries over from the parent),
{"cmd":"exit"} ends the worker, anything else is a resize request for `handle`."""
import json
import resource
import sys

from peak_memory import own_peak_kib


def serve(handle, peak_kib=own_peak_kib, describe_error=None, getrusage_of=resource.RUSAGE_SELF):
    """Answers requests until stdin closes or {"cmd":"exit"}. `handle(request)` returns the reply
    of a resize request; `peak_kib()` is the peak RSS to report (default this worker's own);
    `describe_error(err)` may turn an exception into an error text (default: type and message);
    `getrusage_of` says whose ru_maxrss goes with it (this worker's, or its children's)."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("cmd") == "rss":
                reply = {"peakRssKiB": peak_kib(), "getrusageMaxRssKiB": resource.getrusage(getrusage_of).ru_maxrss}
            elif request.get("cmd") == "exit":
                return
            else:
                reply = handle(request)
        except Exception as err:  # a peer failure is reported, never fatal to the benchmark
            text = describe_error(err) if describe_error else None
            reply = {"error": text or "%s: %s" % (type(err).__name__, err)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
