#!/usr/bin/env python3
"""Set document-control metadata in a PDF, for make-sample-org.

  pdf_meta.py PDF [--info KEY=VALUE ...] [--xmp PREFIX:NAME=VALUE ...]

--info   sets an entry of the document information dictionary (/Title or a
         custom key such as /Owner, /Version, /NextReview, /Classification).
--xmp    writes an XMP metadata packet (replacing any other) with dc:title taken
         from /Title and the property PREFIX:NAME for each --xmp. Prefixes: dc,
         pdfx (Adobe's namespace for custom info keys) and nwdoc (Northwind's own
         document-control namespace, NWDOC_NS below).

The file is rewritten in place (make-sample-org then gives it a deterministic
/ID with qpdf). Needs pikepdf (apt-get install python3-pikepdf).
"""
import argparse
import sys
from xml.sax.saxutils import escape

import pikepdf

NWDOC_NS = "https://ns.northwind-lending.example/doc-control/1.0/"
PDFX_NS = "http://ns.adobe.com/pdfx/1.3/"


def pair(s):
    k, sep, v = s.partition("=")
    if not sep or not k:
        raise argparse.ArgumentTypeError("expected KEY=VALUE, got %r" % s)
    return k, v


def xmp_packet(docinfo, props):
    """A plain XMP packet: dc:title (and pdf:Producer) from the info dictionary
    plus the given properties, written by hand so that it is reproducible."""
    title = str(docinfo.get("/Title", ""))
    lines = []
    for k, v in props:
        prefix, _, name = k.partition(":")
        if prefix not in ("dc", "pdfx", "nwdoc") or not name:
            sys.exit("pdf_meta: unknown XMP property %r (use dc:, pdfx: or nwdoc:)" % k)
        if k == "dc:title":
            title = v
            continue
        lines.append("    <%s>%s</%s>" % (k, escape(v), k))
    if "/Producer" in docinfo:
        lines.insert(0, "    <pdf:Producer>%s</pdf:Producer>" % escape(str(docinfo["/Producer"])))
    xml = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"\n'
        '    xmlns:pdfx="%s"\n'
        '    xmlns:nwdoc="%s">\n'
        '    <dc:format>application/pdf</dc:format>\n'
        '    <dc:title><rdf:Alt><rdf:li xml:lang="x-default">%s</rdf:li></rdf:Alt></dc:title>\n'
        '%s\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>') % (PDFX_NS, NWDOC_NS, escape(title), "\n".join(lines))
    return xml.encode("utf-8")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("pdf")
    p.add_argument("--info", type=pair, action="append", default=[])
    p.add_argument("--xmp", type=pair, action="append", default=[])
    a = p.parse_args()

    with pikepdf.open(a.pdf, allow_overwriting_input=True) as pdf:
        for k, v in a.info:
            pdf.docinfo[pikepdf.Name("/" + k.lstrip("/"))] = v
        if a.xmp:
            pdf.Root.Metadata = pdf.make_stream(xmp_packet(pdf.docinfo, a.xmp))
            pdf.Root.Metadata.Type = pikepdf.Name.Metadata
            pdf.Root.Metadata.Subtype = pikepdf.Name.XML
        pdf.save(a.pdf, fix_metadata_version=False)


if __name__ == "__main__":
    main()
