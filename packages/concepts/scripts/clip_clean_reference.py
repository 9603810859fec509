"""Reference outputs of OpenAI CLIP's text cleaning for src/clean-text.test.ts.

CLIP's simple_tokenizer cleans text as whitespace_clean(basic_clean(text)): ftfy.fix_text, html.unescape
twice, strip, then every whitespace run to one space, strip. This script applies exactly that (ftfy 6.3.1
with its defaults) to hostile samples and prints JSON. Needs ftfy (pip install ftfy==6.3.1).

Run: python3 packages/concepts/scripts/clip_clean_reference.py > packages/concepts/src/fixtures/clip-clean.json
"""
import html
import json
import re

import ftfy

SAMPLES = [
    "rock &amp; roll dancing",
    "rock &amp;amp; roll",
    "fish &amp chips",
    "a <b> &amp; c",
    "this&not that",
    "caf&eacute; &#233; &#x00e9; &#128512;",
    "&lt;3 &gt; &quot;x&quot; &apos;y&apos; &nbsp;z",
    "don\u2019t stop",
    "\u2018single\u2019 \u201cdouble\u201d \u201elow\u201f \u02bcmodifier",
    "\ufb01shing \ufb02ying \ufb00ort \ufb03x \ufb04y \ufb06op \u0133s \u01c6ungla",
    "\uff46\uff55\uff4c\uff4c\u3000\uff37\uff49\uff44\uff54\uff48\uff01 \uff11\uff12\uff13",
    "half \uff76\uff80\uff76\uff85",
    "r\u00c3\u00a9sum\u00c3\u00a9 writing",
    "it\u00e2\u20ac\u2122s",
    "\u00c3\u00a2\u00e2\u201a\u00ac\u00e2\u201e\u00a2 double",
    "na\u00c3\u00afve caf\u00c3\u00a9",
    "r\u00e9sum\u00e9 writing",
    "c1 \u0080 \u0093quoted\u0094 \u0085",
    "tab\tnew\nline\r\ncr\rnbsp\u00a0ideo\u3000end",
    "  leading and trailing  ",
    "\x1b[31mred\x1b[0m text",
    "ctrl\x00\x07\x0b\x7f\ufeff\u206a\ufffc chars",
    "line\u2028sep\u2029para",
    "file sep\x1c\x1d\x1e\x1fend",
    "e\u0301 combining",
    "\U0001f3c0 basketball",
    "passing American football (in game)",
    "Ni\u00f1o \u00fcber \u00c5ngstr\u00f6m",
    "\u0394\u03b5\u03bb\u03c4\u03b1 \u0436\u0443\u043a \u65e5\u672c\u8a9e",
]

out = []
for s in SAMPLES:
    basic = html.unescape(html.unescape(ftfy.fix_text(s))).strip()
    clean = re.sub(r"\s+", " ", basic).strip()
    out.append({"text": s, "clean": clean})
print(json.dumps({"source": "scripts/clip_clean_reference.py, ftfy " + ftfy.__version__, "cases": out}, ensure_ascii=True, indent=1))
