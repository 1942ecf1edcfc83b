#!/usr/bin/env python3
"""CLI peers for the benchmark: libvips' `vipsthumbnail` and ImageMagick's `convert`, one process
per output, as a shell script using them would. Same line protocol as pillow_worker.py:

Request:  {"input", "outDir", "variants": [{name,width,format,quality}]} | {"cmd": "rss"} | {"cmd": "exit"}
Response: {"ms", "cpuMs", "outputs": [...]} | {"peakRssKiB", "getrusageMaxRssKiB"} (largest child so far) | {"error"}

Usage: cli_worker.py vipsthumbnail|imagemagick BINARY
Timed: the wall time of running every command, one after another, and the CPU time of those
children (getrusage RUSAGE_CHILDREN), so process start-up is included: it is part of the method.
Memory: the peak resident set of each child, read at its exit (peak_memory.run_measured), not
RUSAGE_CHILDREN's maxrss, which counts this worker's own pages copied into each child by fork.
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

from peak_memory import run_measured
from protocol import serve


def run_checked(command):
    """Runs one command, raises CalledProcessError (with its stderr) when it fails; returns the
    child's peak resident KiB."""
    with tempfile.TemporaryFile() as stderr:
        code, peak = run_measured(command, stderr=stderr)
        if code != 0:
            stderr.seek(0)
            raise subprocess.CalledProcessError(code, command, stderr=stderr.read())
    if peak is None:
        raise RuntimeError("%s exited without a peak memory figure (its exit was not traced)" % command[0])
    return peak


def vips_command(binary, source, variant, target):
    # "WIDTHx>" bounds the width only and never enlarges; vipsthumbnail auto-rotates from EXIF.
    if variant["format"] == "webp":
        options = "[Q=%d,effort=4,strip]" % variant["quality"]
    else:
        options = "[Q=%d,strip,background=255]" % variant["quality"]
    return [binary, source, "--size", "%dx>" % variant["width"], "-o", target + options]


def magick_command(binary, source, variant, target):
    command = [binary, source, "-auto-orient", "-resize", "%dx>" % variant["width"], "-strip", "-quality", str(variant["quality"])]
    if variant["format"] == "webp":
        command += ["-define", "webp:method=4"]
    else:
        command += ["-background", "white", "-flatten"]
    return command + [target]


def main():
    tool, binary = sys.argv[1], sys.argv[2]
    build = vips_command if tool == "vipsthumbnail" else magick_command
    largest_child = {"kib": 0}

    def handle(request):
        commands, targets = [], []
        for variant in request["variants"]:
            ext = "jpg" if variant["format"] == "jpeg" else variant["format"]
            target = os.path.abspath(os.path.join(request["outDir"], variant["name"] + "." + ext))
            targets.append((variant, target))
            commands.append(build(binary, os.path.abspath(request["input"]), variant, target))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall0 = time.perf_counter()
        for command in commands:
            largest_child["kib"] = max(largest_child["kib"], run_checked(command))
        wall = time.perf_counter() - wall0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        outputs = [{"name": v["name"], "file": t, "bytes": os.path.getsize(t)} for v, t in targets]
        return {"ms": wall * 1000, "cpuMs": cpu * 1000, "outputs": outputs}

    def describe_error(err):
        if isinstance(err, subprocess.CalledProcessError):
            return "%s failed: %s" % (err.cmd[0], (err.stderr or b"").decode(errors="replace").strip()[:300])
        return None

    serve(handle, lambda: largest_child["kib"], describe_error, resource.RUSAGE_CHILDREN)


if __name__ == "__main__":
    main()
