#!/usr/bin/env python3
"""Pillow peer for the benchmark: a long-lived worker speaking one JSON object per line.

Request:  {"input": path, "outDir": dir, "variants": [{name,width,format,quality}], "draft": bool}
          or {"cmd": "rss"} (peak RSS of this process, KiB) or {"cmd": "exit"}.
Response: {"ms": wall ms, "cpuMs": process CPU ms, "outputs": [{name,file,bytes,width,height}]}
          or {"error": message}.

What it does is what a Pillow user writes: open the bytes, optionally draft() toward the largest
variant (JPEG DCT scaling, decodes at 1/2, 1/4 or 1/8 while staying >= the requested size),
auto-orient from EXIF, then for each variant thumbnail() with LANCZOS (Pillow's reducing_gap=2.0
default for thumbnail) and save WebP (method 4, Pillow's default) or JPEG (flattened onto white).
Metadata is not copied (Pillow writes EXIF/ICC only when asked). Timed: bytes in memory -> encoded
bytes in memory; file reads and writes are outside the timing, as for every in-process peer.
"""
import io
import os
import sys
import time

from PIL import Image, ImageOps

from protocol import serve

LANCZOS = getattr(Image, "Resampling", Image).LANCZOS


def fit_inside(width, height, box_width):
    """Width-bound 'inside' fit that never enlarges, rounding as sharp does."""
    if width <= box_width:
        return width, height
    return box_width, max(1, round(height * box_width / width))


def render(data, variants, use_draft):
    image = Image.open(io.BytesIO(data))
    orientation = image.getexif().get(0x0112, 1)
    stored_w, stored_h = image.size
    swapped = orientation in (5, 6, 7, 8)
    shown_w, shown_h = (stored_h, stored_w) if swapped else (stored_w, stored_h)
    largest = max(v["width"] for v in variants)
    target_w, target_h = fit_inside(shown_w, shown_h, largest)
    if use_draft and image.format == "JPEG":
        # draft() works on the stored orientation: ask for the swapped box when EXIF rotates.
        mode = "RGB" if image.mode in ("RGB", "YCbCr") else image.mode
        image.draft(mode, (target_h, target_w) if swapped else (target_w, target_h))
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    outputs = []
    for variant in variants:
        w, h = fit_inside(shown_w, shown_h, variant["width"])
        frame = image.copy()
        frame.thumbnail((w, h), LANCZOS)
        if frame.size != (w, h):
            frame = frame.resize((w, h), LANCZOS)
        buffer = io.BytesIO()
        if variant["format"] == "webp":
            frame.save(buffer, format="WEBP", quality=variant["quality"], method=4)
        elif variant["format"] == "jpeg":
            if frame.mode == "RGBA":
                flat = Image.new("RGB", frame.size, (255, 255, 255))
                flat.paste(frame, mask=frame.getchannel("A"))
                frame = flat
            frame.save(buffer, format="JPEG", quality=variant["quality"])
        else:
            raise ValueError("unsupported format " + variant["format"])
        outputs.append((variant, frame.size, buffer.getvalue()))
    return outputs


def handle(request):
    with open(request["input"], "rb") as handle_:
        data = handle_.read()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rendered = render(data, request["variants"], bool(request.get("draft")))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    outputs = []
    for variant, size, encoded in rendered:
        ext = "jpg" if variant["format"] == "jpeg" else variant["format"]
        file = os.path.join(request["outDir"], variant["name"] + "." + ext)
        with open(file, "wb") as out:
            out.write(encoded)
        outputs.append({"name": variant["name"], "file": file, "bytes": len(encoded), "width": size[0], "height": size[1]})
    return {"ms": wall * 1000, "cpuMs": cpu * 1000, "outputs": outputs}


def main():
    serve(handle)


if __name__ == "__main__":
    main()
