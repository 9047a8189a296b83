#!/usr/bin/env python3
"""Helpers for make-sample-org.

  docx_tool.py reference BASE OUT --header TEXT --footer TEXT
      Build a pandoc reference.docx from pandoc's default one (BASE): A4 page,
      Arial body text, bordered tables, a running page header with TEXT and a
      footer with TEXT followed by "Page N of M" fields.
      Needs python3-docx.

  docx_tool.py props DOCX --title T --subject S --author A --date YYYY-MM-DD
                   [--version V] [--custom NAME=TEXT ...] [--custom-date NAME=YYYY-MM-DD ...]
      Rewrite docProps/core.xml of a DOCX in place (title, subject, creator,
      created/modified dates, cp:version when given) and docProps/custom.xml
      (Word custom properties: --custom as text (vt:lpwstr), --custom-date as a
      date (vt:filetime), in the order given), and re-zip it with fixed
      timestamps so that the output is byte-for-byte reproducible. Standard
      library only.

  docx_tool.py columns DOCX --marker TEXT --num N
      Lay out everything after the paragraph whose whole text is TEXT in N
      newspaper columns: that paragraph becomes a continuous section break
      (one column above it, N columns below). Needs python3-docx.
"""
import argparse
import re
import sys
import zipfile
from xml.sax.saxutils import escape


def cmd_reference(a):
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    d = docx.Document(a.base)
    for s in d.sections:
        s.page_width, s.page_height = Mm(210), Mm(297)
        s.left_margin = s.right_margin = Mm(22)
        s.top_margin, s.bottom_margin = Mm(25), Mm(22)
        s.header_distance = s.footer_distance = Mm(10)

        hp = s.header.paragraphs[0]
        hp.text = ""
        r = hp.add_run(a.header)
        r.font.size = Pt(8)
        r.font.color.rgb = RGBColor(0x55, 0x5F, 0x6B)
        hp.alignment = WD_ALIGN_PARAGRAPH.RIGHT

        fp = s.footer.paragraphs[0]
        fp.text = ""
        fp.alignment = WD_ALIGN_PARAGRAPH.CENTER

        def run(text):
            rr = fp.add_run(text)
            rr.font.size = Pt(8)
            return rr

        def field(instr):
            for kind in ("begin", None, "separate", "1", "end"):
                rr = run("")
                if kind is None:
                    it = OxmlElement("w:instrText")
                    it.set(qn("xml:space"), "preserve")
                    it.text = " %s " % instr
                    rr._r.append(it)
                elif kind == "1":
                    rr.text = "1"
                else:
                    fc = OxmlElement("w:fldChar")
                    fc.set(qn("w:fldCharType"), kind)
                    rr._r.append(fc)

        run(a.footer + "    Page ")
        field("PAGE")
        run(" of ")
        field("NUMPAGES")

    styles = d.styles
    for name in ("Normal", "Body Text", "First Paragraph", "Compact",
                 "Heading 1", "Heading 2", "Heading 3", "Title"):
        try:
            st = styles[name]
        except KeyError:
            continue
        st.font.name = "Arial"
        rpr = st.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = OxmlElement("w:rFonts")
            rpr.insert(0, rfonts)
        for att in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            rfonts.set(qn(att), "Arial")
        for att in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            if rfonts.get(qn(att)) is not None:
                del rfonts.attrib[qn(att)]
        if name.startswith("Heading") or name == "Title":
            st.font.color.rgb = RGBColor(0x1B, 0x2A, 0x4A)
    for name in ("Normal", "Body Text", "First Paragraph", "Compact"):
        try:
            styles[name].font.size = Pt(10)
        except KeyError:
            pass

    # Give pandoc's "Table" style visible grid borders.
    try:
        tst = styles["Table"]
        tblpr = tst.element.find(qn("w:tblPr"))
        if tblpr is None:
            tblpr = OxmlElement("w:tblPr")
            tst.element.append(tblpr)
        old = tblpr.find(qn("w:tblBorders"))
        if old is not None:
            tblpr.remove(old)
        borders = OxmlElement("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            e = OxmlElement("w:" + edge)
            e.set(qn("w:val"), "single")
            e.set(qn("w:sz"), "4")
            e.set(qn("w:space"), "0")
            e.set(qn("w:color"), "8A96A3")
            borders.append(e)
        tblpr.append(borders)
    except KeyError:
        pass

    d.core_properties.author = "Northwind Lending Ltd"
    d.save(a.out)


def cmd_props(a):
    date = a.date + "T09:00:00Z"
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:title>%s</dc:title><dc:subject>%s</dc:subject><dc:creator>%s</dc:creator>"
        "<cp:lastModifiedBy>%s</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">%s</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">%s</dcterms:modified>'
        "%s"
        "</cp:coreProperties>"
    ) % (escape(a.title), escape(a.subject), escape(a.author), escape(a.author), date, date,
         "<cp:version>%s</cp:version>" % escape(a.version) if a.version else "")
    custom = custom_xml(a.custom, a.custom_date)

    with zipfile.ZipFile(a.docx) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    names = [n for n, _ in entries]
    if "docProps/core.xml" not in names:
        entries.append(("docProps/core.xml", b""))
    if "docProps/custom.xml" not in names and (a.custom or a.custom_date):
        sys.exit("props: %s has no docProps/custom.xml part to fill" % a.docx)
    # [Content_Types].xml must stay first.
    entries.sort(key=lambda e: (e[0] != "[Content_Types].xml", names.index(e[0]) if e[0] in names else 1e9))
    with zipfile.ZipFile(a.docx, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in entries:
            if n == "docProps/core.xml":
                data = core.encode("utf-8")
            elif n == "docProps/custom.xml":
                data = custom.encode("utf-8")
            info = zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)


def custom_xml(texts, dates):
    """docProps/custom.xml with text and date properties (pid from 2, as Word does)."""
    props = []
    for kind, items in (("text", texts or []), ("date", dates or [])):
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or not name:
                sys.exit("custom property must be NAME=VALUE: %r" % item)
            if kind == "date":
                if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                    sys.exit("--custom-date value must be YYYY-MM-DD: %r" % item)
                props.append((name, "<vt:filetime>%sT00:00:00Z</vt:filetime>" % value))
            else:
                props.append((name, "<vt:lpwstr>%s</vt:lpwstr>" % escape(value)))
    body = "".join(
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="%d" name="%s">%s</property>'
        % (i + 2, escape(name, {'"': "&quot;"}), v) for i, (name, v) in enumerate(props))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">%s</Properties>' % body)


def cmd_columns(a):
    import copy
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document(a.docx)
    body = d.element.body
    marker = None
    for p in body.iterchildren(qn("w:p")):
        if "".join(t.text or "" for t in p.iter(qn("w:t"))).strip() == a.marker:
            marker = p
            break
    if marker is None:
        sys.exit("columns: marker paragraph %r not found" % a.marker)
    final = body.find(qn("w:sectPr"))
    # The section above the marker: a copy of the page set-up with one column.
    first = copy.deepcopy(final)
    for c in first.findall(qn("w:cols")):
        first.remove(c)
    cols1 = OxmlElement("w:cols")
    cols1.set(qn("w:space"), "708")
    first.append(cols1)
    for r in list(marker):
        marker.remove(r)
    ppr = OxmlElement("w:pPr")
    ppr.append(first)
    marker.append(ppr)
    # The last section: continuous, N columns with a rule between them.
    for c in final.findall(qn("w:cols")) + final.findall(qn("w:type")):
        final.remove(c)
    typ = OxmlElement("w:type")
    typ.set(qn("w:val"), "continuous")
    final.insert(0, typ)
    cols = OxmlElement("w:cols")
    cols.set(qn("w:num"), str(a.num))
    cols.set(qn("w:space"), "567")
    cols.set(qn("w:sep"), "1")
    pgmar = final.find(qn("w:pgMar"))
    (pgmar if pgmar is not None else final[-1]).addnext(cols)
    d.save(a.docx)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reference")
    r.add_argument("base")
    r.add_argument("out")
    r.add_argument("--header", required=True)
    r.add_argument("--footer", required=True)
    q = sub.add_parser("props")
    q.add_argument("docx")
    q.add_argument("--title", required=True)
    q.add_argument("--subject", default="")
    q.add_argument("--author", default="Northwind Lending Ltd")
    q.add_argument("--date", required=True)
    q.add_argument("--version", default="")
    q.add_argument("--custom", action="append", default=[], metavar="NAME=TEXT")
    q.add_argument("--custom-date", action="append", default=[], metavar="NAME=YYYY-MM-DD")
    c = sub.add_parser("columns")
    c.add_argument("docx")
    c.add_argument("--marker", required=True)
    c.add_argument("--num", type=int, default=2)
    a = p.parse_args()
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", getattr(a, "date", "2024-01-01")):
        sys.exit("--date must be YYYY-MM-DD")
    {"reference": cmd_reference, "props": cmd_props, "columns": cmd_columns}[a.cmd](a)


if __name__ == "__main__":
    main()
