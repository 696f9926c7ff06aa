#!/usr/bin/env python3
"""Build the claims gold CSVs from the hand-written label files.

Each tests/gold/labels/<source_id>.lab file lists, in document order, every unit
of visible text of one article as

    kind ¦ label ¦ text

kind is h (heading), l (list_item) or s (sentence, or one clause of a split
sentence); label is "-" for a non-claim, otherwise
treatment/claim_type/certainty/negated with certainty a|h|c
(absolute|hedged|conditional).  The text is written by hand with ordinary
spaces; where the article has a non-breaking space (U+00A0) the space in the
label still matches it.  The CSV always takes its text from the article itself
(decoded[start:end]), so the gold is byte-exact whatever was typed.

Offsets are Python str offsets into
    open(path, encoding='utf-8-sig', newline='').read()
found with str.find from a moving cursor, so a repeated sentence gets the
offsets of its own occurrence.  For HTML the cursor starts at <body so that
<title>, <style> and <script> never match.

Usage (from the repository root):
    python3 tests/gold/make_offsets.py [--seeds DIR]
Seeds default to $CLAIMS_SEEDS_DIR or the repository's data/raw.
"""
import argparse
import csv
import os
from pathlib import Path
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LABELS = os.path.join(HERE, 'labels')
CLAIMS = os.path.join(HERE, 'claims')
ARTICLES = os.path.join(ROOT, 'tests', 'articles')
SEP = ' ¦ '
KINDS = {'h': 'heading', 'l': 'list_item', 's': 'sentence'}
CERT = {'a': 'absolute', 'h': 'hedged', 'c': 'conditional'}
COLUMNS = ['source_id', 'start', 'end', 'kind', 'text', 'is_claim',
           'treatment', 'claim_type', 'certainty', 'negated']


def read_source(path):
    with open(path, encoding='utf-8-sig', newline='') as f:
        return f.read()


def find_source(source_id, seeds_dir):
    for d in (seeds_dir, ARTICLES):
        for ext in ('.txt', '.md', '.html'):
            p = os.path.join(d, source_id + ext)
            if os.path.exists(p):
                return p
    raise FileNotFoundError(source_id)


def locate(decoded, text, cursor):
    """Return (start, end) of the first occurrence of text at or after cursor."""
    i = decoded.find(text, cursor)
    if i >= 0:
        return i, i + len(text)
    # Tolerate U+00A0 where the label has a plain space.
    pattern = ''.join('[ \u00a0]' if ch == ' ' else re.escape(ch) for ch in text)
    m = re.compile(pattern).search(decoded, cursor)
    if m:
        return m.start(), m.end()
    return None


def parse_labels(path):
    units = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line.strip() or line.startswith('#'):
                continue
            parts = line.split(SEP, 2)
            if len(parts) != 3:
                raise ValueError(f'{path}:{n}: expected "kind{SEP}label{SEP}text"')
            kind, label, text = parts
            units.append((n, kind.strip(), label.strip(), text))
    return units


def build(source_id, seeds_dir):
    src = find_source(source_id, seeds_dir)
    decoded = read_source(src)
    cursor = 0
    if src.endswith('.html'):
        cursor = decoded.index('<body')
    rows = []
    lab = os.path.join(LABELS, source_id + '.lab')
    for n, kind, label, text in parse_labels(lab):
        span = locate(decoded, text, cursor)
        if span is None:
            raise ValueError(f'{lab}:{n}: text not found after offset {cursor}: {text!r}')
        start, end = span
        real = decoded[start:end]
        assert real == real.strip(), (lab, n, 'span has outer whitespace')
        row = {'source_id': source_id, 'start': start, 'end': end,
               'kind': KINDS[kind], 'text': real}
        if label == '-':
            row.update(is_claim=0, treatment='', claim_type='', certainty='', negated='')
        else:
            treatment, ctype, cert, neg = label.split('/')
            row.update(is_claim=1, treatment=treatment, claim_type=ctype,
                       certainty=CERT[cert], negated=int(neg))
        assert decoded[row['start']:row['end']] == row['text']
        rows.append(row)
        cursor = end
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seeds', default=os.environ.get('CLAIMS_SEEDS_DIR', str(Path(__file__).resolve().parents[2] / 'data' / 'raw')))
    args = ap.parse_args()
    os.makedirs(CLAIMS, exist_ok=True)
    ids = sorted(f[:-4] for f in os.listdir(LABELS) if f.endswith('.lab'))
    for sid in ids:
        rows = build(sid, args.seeds)
        out = os.path.join(CLAIMS, sid + '.csv')
        with open(out, 'w', encoding='utf-8', newline='') as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, quoting=csv.QUOTE_MINIMAL,
                               lineterminator='\n')
            w.writeheader()
            w.writerows(rows)
        print(f'{sid}: {len(rows)} rows, {sum(r["is_claim"] for r in rows)} claims')
    return 0


if __name__ == '__main__':
    sys.exit(main())
