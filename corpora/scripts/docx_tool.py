#!/usr/bin/env python3
"""Helpers for make-sample-org.

  docx_tool.py reference BASE OUT --header TEXT --footer TEXT
      Build a pandoc reference.docx from pandoc's default one (BASE): A4 page,
      Arial body text, bordered tables, a running page header with TEXT and a
      footer with TEXT followed by "Page N of M" fields.
      Needs python3-docx.

  docx_tool.py props DOCX --title T --subject S --author A --date YYYY-MM-DD
      Rewrite docProps/core.xml of a DOCX in place (title, subject, creator,
      created/modified dates) and re-zip it with fixed timestamps so that the
      output is byte-for-byte reproducible. Standard library only.
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
        "</cp:coreProperties>"
    ) % (escape(a.title), escape(a.subject), escape(a.author), escape(a.author), date, date)

    with zipfile.ZipFile(a.docx) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    names = [n for n, _ in entries]
    if "docProps/core.xml" not in names:
        entries.append(("docProps/core.xml", b""))
    # [Content_Types].xml must stay first.
    entries.sort(key=lambda e: (e[0] != "[Content_Types].xml", names.index(e[0]) if e[0] in names else 1e9))
    with zipfile.ZipFile(a.docx, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in entries:
            if n == "docProps/core.xml":
                data = core.encode("utf-8")
            info = zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)


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
    a = p.parse_args()
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", getattr(a, "date", "2024-01-01")):
        sys.exit("--date must be YYYY-MM-DD")
    {"reference": cmd_reference, "props": cmd_props}[a.cmd](a)


if __name__ == "__main__":
    main()
