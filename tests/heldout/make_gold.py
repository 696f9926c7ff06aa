#!/usr/bin/env python3
"""Build tests/heldout/gold/<stem>.csv from tests/heldout/labels/<stem>.lab.

Reuses the parsing/locating logic of tests/gold/make_offsets.py (imported, not modified):
offsets are str indices into open(path, encoding='utf-8-sig', newline='').read(), found with
str.find from a moving cursor; text is taken from the article and asserted == decoded[start:end].
Run from the repository root: python3 tests/heldout/make_gold.py
"""
import csv, importlib.util, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    'make_offsets', os.path.join(HERE, '..', 'gold', 'make_offsets.py'))
mo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mo)

ARTICLES, LABELS, GOLD = (os.path.join(HERE, d) for d in ('articles', 'labels', 'gold'))


def main():
    os.makedirs(GOLD, exist_ok=True)
    for f in sorted(os.listdir(LABELS)):
        if not f.endswith('.lab'):
            continue
        sid = f[:-4]
        decoded = mo.read_source(os.path.join(ARTICLES, sid + '.txt'))
        cursor, rows = 0, []
        for n, kind, label, text in mo.parse_labels(os.path.join(LABELS, f)):
            span = mo.locate(decoded, text, cursor)
            assert span, (f, n, text)
            start, end = span
            # nothing visible skipped between units except list bullets
            gap = decoded[cursor:start]
            assert re.fullmatch(r'[\s\-]*', gap), (f, n, gap)
            row = {'source_id': sid, 'start': start, 'end': end, 'kind': mo.KINDS[kind],
                   'text': decoded[start:end]}
            if label == '-':
                row.update(is_claim=0, treatment='', claim_type='', certainty='', negated='')
            else:
                t, ct, c, neg = label.split('/')
                row.update(is_claim=1, treatment=t, claim_type=ct, certainty=mo.CERT[c], negated=int(neg))
            assert decoded[start:end] == row['text'] == row['text'].strip()
            rows.append(row)
            cursor = end
        assert not decoded[cursor:].strip(), (f, 'text left after last unit')
        with open(os.path.join(GOLD, sid + '.csv'), 'w', encoding='utf-8', newline='') as out:
            w = csv.DictWriter(out, fieldnames=mo.COLUMNS, lineterminator='\n')
            w.writeheader()
            w.writerows(rows)
        print(f'{sid}: {len(rows)} rows, {sum(r["is_claim"] for r in rows)} claims')


if __name__ == '__main__':
    sys.exit(main())
