#!/usr/bin/env python3
"""OCR ground truth of one page of a PDF, for make-sample-org.

  scan_truth.py PDF PAGE COLUMNS > TRUTH.txt

Prints the text of the page in reading order as pdftotext (without -layout)
gives it, with the form feed and trailing blank lines removed. For a page
laid out in COLUMNS > 1 newspaper columns below a full-width top part, the
page is cut into regions that are read one after the other: the top part
(running header, title), each column from left to right, then the running
footer. Within a region pdftotext's reading order is kept. Needs pdftotext.
"""
import re
import subprocess
import sys

BOTTOM_MARGIN = 22 / 25.4 * 72    # pt, as set by docx_tool.py reference
TOP_MARGIN = 25 / 25.4 * 72


def pdftotext(pdf, page, *crop):
    args = ["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page)]
    if crop:
        x, y, w, h = (int(round(v)) for v in crop)
        args += ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
    out = subprocess.run(args + [pdf, "-"], capture_output=True, check=True).stdout.decode("utf-8")
    return out.replace("\f", "").rstrip("\n") + "\n"


def main():
    pdf, page, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if cols <= 1:
        sys.stdout.write(pdftotext(pdf, page))
        return
    bbox = subprocess.run(["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), pdf, "-"],
                          capture_output=True, check=True).stdout.decode("utf-8")
    m = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', bbox)
    pw, ph = float(m.group(1)), float(m.group(2))
    blocks = [tuple(float(v) for v in b) for b in re.findall(
        r'<block xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">', bbox)]
    body = [b for b in blocks if b[1] > TOP_MARGIN - 2 and b[3] < ph - BOTTOM_MARGIN + 2]
    colw = pw / cols
    # The columns start at the top of the highest block that lies wholly inside
    # a column other than the first.
    inner = [b for b in body if b[0] >= colw - 1]
    if not inner:
        sys.exit("scan_truth: no text in column 2 on page %d" % page)
    top = min(b[1] for b in inner) - 4
    foot = min([b[1] for b in blocks if b[1] >= ph - BOTTOM_MARGIN - 2] + [ph]) - 2
    parts = [pdftotext(pdf, page, 0, 0, pw, top)]
    for c in range(cols):
        parts.append(pdftotext(pdf, page, c * colw, top, colw, foot - top))
    parts.append(pdftotext(pdf, page, 0, foot, pw, ph - foot))
    sys.stdout.write("\n".join(p for p in parts if p.strip()))


if __name__ == "__main__":
    main()
