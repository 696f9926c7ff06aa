#!/usr/bin/env python3
"""Validate the hand-labelled gold under tests/gold/ (Python 3.11 stdlib only).

Run from the repository root:  python3 tests/gold/check_gold.py
Exits 1 and lists every problem found, 0 when all checks pass.

Checks
  * every claims CSV parses, has the exact header, is UTF-8 with '\\n' line ends
    and is byte-identical to what csv.QUOTE_MINIMAL would write for its rows;
  * every row: text == decoded[start:end] (decoded = utf-8-sig, newline=''),
    no outer whitespace, allowed kind / is_claim / treatment / claim_type /
    certainty / negated, non-claims have empty label fields;
  * rows are in document order and do not overlap;
  * coverage: every visible character of the article lies in some row
    (between rows only whitespace, markup, or the conjunction/punctuation
    dropped when a sentence was split into clauses);
  * HTML: no row inside <head>/<title>/<style>/<script>, spans begin and end on
    visible characters; Markdown: spans exclude heading/bullet/emphasis markers
    at their edges;
  * every article has a gold CSV and every CSV an article; own test articles
    are 250-600 visible words and tests/articles/README.md exists;
  * contradictions.csv: exact header, allowed scope/aspect/values/treatment,
    (source_a, start_a) < (source_b, start_b), scope matches the sources,
    each endpoint is a row with is_claim=1 (same source, start and text),
    no duplicate pairs.
Seeds are read from $CLAIMS_SEEDS_DIR or the repository's data/raw.
"""
import csv
import html
import io
import os
from pathlib import Path
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLAIMS_DIR = os.path.join(HERE, 'claims')
CONTRA = os.path.join(HERE, 'contradictions.csv')
ARTICLES = os.path.join(ROOT, 'tests', 'articles')
SEEDS = os.environ.get('CLAIMS_SEEDS_DIR', str(Path(__file__).resolve().parents[2] / 'data' / 'raw'))

CLAIM_COLUMNS = ['source_id', 'start', 'end', 'kind', 'text', 'is_claim',
                 'treatment', 'claim_type', 'certainty', 'negated']
CONTRA_COLUMNS = ['source_a', 'start_a', 'text_a', 'source_b', 'start_b', 'text_b',
                  'scope', 'treatment', 'aspect', 'value_a', 'value_b']
KINDS = {'heading', 'list_item', 'sentence'}
# Canonical ids from docs/claims-guide.md, plus ids added under its
# "the table grows" rule (see tests/gold/LABELLING.md): ipl.
TREATMENTS = {'microneedling', 'microdermabrasion', 'laser', 'chemical_peel', 'botox',
              'photodynamic_therapy', 'topical', 'home_care', 'hydrafacial',
              'pore_strips', 'none', 'ipl'}
CLAIM_TYPES = ['safety', 'comparative', 'durability', 'efficacy', 'candidacy',
               'regimen', 'mechanism', 'advice', 'etiology']
CERTAINTY = {'absolute', 'hedged', 'conditional'}
SCOPES = {'within_source', 'cross_source'}
SLUG = r'[a-z0-9]+(?:_[a-z0-9]+)*'
ASPECT_VALUES = {
    'side_effects': re.compile(rf'none|minimal|{SLUG}(?:,{SLUG})*'),
    'pain': re.compile(r'painless|painful'),
    'downtime': re.compile(r'none|some'),
    'invasiveness': re.compile(r'non_invasive|minimally_invasive|invasive'),
    'effect': re.compile(r'reduces|no_effect|enlarges'),
    'durability': re.compile(r'permanent|not_permanent'),
    'setting': re.compile(r'at_home|professional_only'),
    'sessions': re.compile(rf'single|multiple|{SLUG}'),
    'candidacy': re.compile(rf'(?:suitable|unsuitable):{SLUG}'),
    'ranking': re.compile(rf'(?:best|safest|most_successful):{SLUG}'),
}
CONNECTORS = {'and', 'but', 'or', 'as', 'so', 'hence', 'while', 'although', 'though', 'yet'}

problems = []


def problem(msg):
    problems.append(msg)


def read_source(path):
    with open(path, encoding='utf-8-sig', newline='') as f:
        return f.read()


def article_paths():
    paths = {}
    for d in (SEEDS, ARTICLES):
        if not os.path.isdir(d):
            problem(f'missing article directory {d}')
            continue
        for name in sorted(os.listdir(d)):
            stem, ext = os.path.splitext(name)
            if stem.upper() == 'README':
                continue
            if ext in ('.txt', '.md', '.html'):
                if stem in paths:
                    problem(f'duplicate source_id {stem}')
                paths[stem] = os.path.join(d, name)
    return paths


def invisible_mask(decoded, ext):
    """Characters that are markup, not visible text (for coverage/edges)."""
    mask = bytearray(len(decoded))

    def cover(a, b):
        for i in range(a, b):
            mask[i] = 1
    if ext == '.html':
        for m in re.finditer(r'(?is)<head\b.*?</head>|<(script|style|title)\b.*?</\1>', decoded):
            cover(m.start(), m.end())
        for m in re.finditer(r'(?s)<!--.*?-->|<[^>]*>', decoded):
            cover(m.start(), m.end())
        for m in re.finditer(r'&nbsp;', decoded):
            cover(m.start(), m.end())
    elif ext == '.md':
        for m in re.finditer(r'(?m)^[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d+\.[ \t]+|>[ \t]*)', decoded):
            cover(m.start(), m.end())
        for m in re.finditer(r'\]\([^)\s]*\)', decoded):
            cover(m.start(), m.end())
        for m in re.finditer(r'\*{1,2}|_{2}|\[', decoded):
            cover(m.start(), m.end())
    return mask


def load_claims(path):
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        content = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        problem(f'{path}: not UTF-8 ({e})')
        return None
    if content.startswith('\ufeff'):
        problem(f'{path}: has a BOM')
        content = content[1:]
    if '\r' in content:
        problem(f'{path}: contains \\r (line ends must be \\n)')
    rows = list(csv.reader(io.StringIO(content, newline='')))
    if not rows or rows[0] != CLAIM_COLUMNS:
        problem(f'{path}: header is {rows[0] if rows else None}, expected {CLAIM_COLUMNS}')
        return None
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator='\n')
    w.writerows(rows)
    if buf.getvalue() != content:
        problem(f'{path}: not byte-identical to csv.QUOTE_MINIMAL output with \\n line ends')
    out = []
    for n, r in enumerate(rows[1:], 2):
        if len(r) != len(CLAIM_COLUMNS):
            problem(f'{path}:{n}: {len(r)} fields')
            continue
        out.append((n, dict(zip(CLAIM_COLUMNS, r))))
    return out


def check_claims(sid, src, path):
    decoded = read_source(src)
    ext = os.path.splitext(src)[1]
    mask = invisible_mask(decoded, ext)
    rows = load_claims(path)
    if rows is None:
        return []
    good = []
    prev_end = 0
    body = decoded.find('<body') if ext == '.html' else 0
    spans = []
    for n, r in rows:
        where = f'{path}:{n}'
        if r['source_id'] != sid:
            problem(f'{where}: source_id {r["source_id"]!r} != file stem {sid!r}')
        try:
            start, end = int(r['start']), int(r['end'])
        except ValueError:
            problem(f'{where}: start/end not integers')
            continue
        if str(start) != r['start'] or str(end) != r['end']:
            problem(f'{where}: start/end not plain integers')
        if not (0 <= start < end <= len(decoded)):
            problem(f'{where}: bad span {start}-{end}')
            continue
        if decoded[start:end] != r['text']:
            problem(f'{where}: text != decoded[{start}:{end}] ({decoded[start:end]!r} vs {r["text"]!r})')
        if r['text'] != r['text'].strip():
            problem(f'{where}: text has leading/trailing whitespace')
        if mask[start] or mask[end - 1]:
            problem(f'{where}: span starts or ends on markup: {r["text"]!r}')
        if ext == '.html' and start < body:
            problem(f'{where}: span before <body> (title/style/script must not be labelled)')
        if start < prev_end:
            problem(f'{where}: out of document order or overlapping previous row')
        prev_end = max(prev_end, end)
        spans.append((start, end))
        if r['kind'] not in KINDS:
            problem(f'{where}: kind {r["kind"]!r}')
        if r['is_claim'] == '1':
            if r['treatment'] not in TREATMENTS:
                problem(f'{where}: treatment {r["treatment"]!r}')
            if r['claim_type'] not in CLAIM_TYPES:
                problem(f'{where}: claim_type {r["claim_type"]!r}')
            if r['certainty'] not in CERTAINTY:
                problem(f'{where}: certainty {r["certainty"]!r}')
            if r['negated'] not in ('0', '1'):
                problem(f'{where}: negated {r["negated"]!r}')
        elif r['is_claim'] == '0':
            if any(r[k] for k in ('treatment', 'claim_type', 'certainty', 'negated')):
                problem(f'{where}: non-claim with label fields set')
        else:
            problem(f'{where}: is_claim {r["is_claim"]!r}')
        good.append(r)
    # coverage: everything visible outside row spans must be whitespace or a
    # clause connector left out when a sentence was split
    covered = bytearray(len(decoded))
    for a, b in spans:
        for i in range(a, b):
            covered[i] = 1
    gap = []
    gaps = []
    for i, ch in enumerate(decoded):
        if covered[i] or mask[i]:
            if gap:
                gaps.append((gap[0][0], ''.join(c for _, c in gap)))
                gap = []
            continue
        gap.append((i, ch))
    if gap:
        gaps.append((gap[0][0], ''.join(c for _, c in gap)))
    for pos, text in gaps:
        if ext == '.html':
            text = html.unescape(text)
        words = re.sub(r'[\s,;:.]+', ' ', text).split()
        leftover = [w for w in words if w.lower() not in CONNECTORS]
        if leftover:
            problem(f'{path}: visible text at offset {pos} has no row: {text.strip()[:80]!r}')
    return good


def visible_word_count(path):
    t = read_source(path)
    if path.endswith('.html'):
        t = re.sub(r'(?is)<head\b.*?</head>|<(script|style|title)\b.*?</\1>', ' ', t)
        t = html.unescape(re.sub(r'<[^>]+>', ' ', t))
    if path.endswith('.md'):
        t = re.sub(r'\]\([^)]*\)', ' ', t)
    return len(re.findall(r"[\w’'-]+", t))


def check_contradictions(claims_by_source):
    index = {}
    for sid, rows in claims_by_source.items():
        for r in rows:
            index[(sid, r['start'])] = r
    if not os.path.exists(CONTRA):
        problem(f'missing {CONTRA}')
        return
    with open(CONTRA, 'rb') as f:
        content = f.read().decode('utf-8')
    if '\r' in content:
        problem(f'{CONTRA}: contains \\r')
    rows = list(csv.reader(io.StringIO(content, newline='')))
    if not rows or rows[0] != CONTRA_COLUMNS:
        problem(f'{CONTRA}: header {rows[0] if rows else None}')
        return
    seen = set()
    for n, r in enumerate(rows[1:], 2):
        where = f'{CONTRA}:{n}'
        if len(r) != len(CONTRA_COLUMNS):
            problem(f'{where}: {len(r)} fields')
            continue
        d = dict(zip(CONTRA_COLUMNS, r))
        for side in ('a', 'b'):
            key = (d[f'source_{side}'], d[f'start_{side}'])
            row = index.get(key)
            if row is None:
                problem(f'{where}: endpoint {side} {key} is not a gold row')
                continue
            if row['text'] != d[f'text_{side}']:
                problem(f'{where}: text_{side} differs from gold row text {row["text"]!r}')
            if row['is_claim'] != '1':
                problem(f'{where}: endpoint {side} {key} is not a claim')
        try:
            ka = (d['source_a'], int(d['start_a']))
            kb = (d['source_b'], int(d['start_b']))
        except ValueError:
            problem(f'{where}: start not an integer')
            continue
        if not ka < kb:
            problem(f'{where}: pair not ordered (source_a, start_a) < (source_b, start_b)')
        if (ka, kb, d['aspect']) in seen:
            problem(f'{where}: duplicate pair for aspect {d["aspect"]}')
        seen.add((ka, kb, d['aspect']))
        want = 'within_source' if d['source_a'] == d['source_b'] else 'cross_source'
        if d['scope'] not in SCOPES or d['scope'] != want:
            problem(f'{where}: scope {d["scope"]!r}, expected {want}')
        aspect = d['aspect']
        if aspect not in ASPECT_VALUES:
            problem(f'{where}: aspect {aspect!r}')
            continue
        for side in ('a', 'b'):
            if not ASPECT_VALUES[aspect].fullmatch(d[f'value_{side}']):
                problem(f'{where}: value_{side} {d[f"value_{side}"]!r} not allowed for {aspect}')
        if d['value_a'] == d['value_b'] and aspect != 'ranking':
            problem(f'{where}: value_a == value_b ({d["value_a"]!r})')
        treats = d['treatment'].split('|')
        if aspect == 'ranking':
            if len(treats) != 2 or treats[0] == treats[1]:
                problem(f'{where}: ranking treatment must be "a_id|b_id" of two different ids')
        elif len(treats) != 1:
            problem(f'{where}: treatment must be one id')
        for t in treats:
            if t not in TREATMENTS or t == 'none':
                problem(f'{where}: treatment {t!r}')


def main():
    paths = article_paths()
    csvs = sorted(f for f in os.listdir(CLAIMS_DIR) if f.endswith('.csv')) if os.path.isdir(CLAIMS_DIR) else []
    if not csvs:
        problem(f'no claims CSVs in {CLAIMS_DIR}')
    stems = {f[:-4] for f in csvs}
    for sid in paths:
        if sid not in stems:
            problem(f'article {sid} has no gold CSV')
    claims_by_source = {}
    counts = []
    for f in csvs:
        sid = f[:-4]
        if sid not in paths:
            problem(f'{f}: no article with source_id {sid}')
            continue
        rows = check_claims(sid, paths[sid], os.path.join(CLAIMS_DIR, f))
        claims_by_source[sid] = rows
        counts.append((sid, len(rows), sum(r['is_claim'] == '1' for r in rows)))
    own = [p for s, p in paths.items() if os.path.dirname(p) == ARTICLES]
    if len(own) < 4:
        problem(f'only {len(own)} own test articles in {ARTICLES}')
    for p in own:
        wc = visible_word_count(p)
        if not 250 <= wc <= 600:
            problem(f'{p}: {wc} visible words, expected 250-600')
    if not os.path.exists(os.path.join(ARTICLES, 'README.md')):
        problem('tests/articles/README.md missing')
    check_contradictions(claims_by_source)
    for sid, n, c in counts:
        print(f'{sid}: {n} units, {c} claims')
    if problems:
        print(f'\n{len(problems)} problem(s):', file=sys.stderr)
        for p in problems:
            print('  ' + p, file=sys.stderr)
        return 1
    print('gold OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
