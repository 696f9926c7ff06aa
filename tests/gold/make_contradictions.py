#!/usr/bin/env python3
"""Write tests/gold/contradictions.csv from the pair list below.

Each pair names its two claim rows by source_id and a substring that occurs in
exactly one claim row of that source's gold CSV (tests/gold/claims/); offsets
and text are copied from that row, and each pair is ordered so that
(source_a, start_a) < (source_b, start_b) (values are swapped with it).
Run make_offsets.py first.  Usage: python3 tests/gold/make_contradictions.py
"""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CLAIMS = os.path.join(HERE, 'claims')
OUT = os.path.join(HERE, 'contradictions.csv')
COLUMNS = ['source_a', 'start_a', 'text_a', 'source_b', 'start_b', 'text_b',
           'scope', 'treatment', 'aspect', 'value_a', 'value_b']

S0, S1, S2, S3, S4 = ('000_b264367ddcdf2a36', '001_5dec5229ba9419a0', '002_7cbb2ce7e6ac9b82',
                      '003_338600020fb02169', '004_7212a01263314b01')
T1, T2, T3, T4, T5 = ('t01_chemical_peels', 't02_hydrafacial', 't03_pore_strips',
                      't04_retinoids', 't05_botox_fraxel')

# (source, substring, value) x 2, treatment, aspect
P = []


def pair(a, b, treatment, aspect):
    P.append((a, b, treatment, aspect))


# --- invasiveness: "non-invasive" vs the procedure creating injuries/punctures/channels
NONINV_MN = (S1, 'is a non-invasive method', 'non_invasive')
for src, sub in [
        (S0, 'The micro injuries to the skin caused by'),
        (S1, 'The idea behind this treatment is to create micro-injury'),
        (S4, 'skin rejuvenation procedure, involves using tiny needles'),
        (S4, 'Skin Trauma: The process of microneedling introduces controlled trauma'),
        (S4, 'skin rejuvenation technique, involves using tiny needles'),
        (S4, 'The micro-injuries created during the procedure'),
        (S4, 'The micro-injuries created by microneedling can also serve'),
        (S4, 'treatment, involves using tiny needles to create micro-injuries in the skin'),
        (S4, 'When the skin is punctured during microneedling'),
        (S4, 'The micro-channels created by the needles'),
        (S4, 'create controlled micro-injuries on the skin'),
        (S4, 'opens up the pores and creates small channels in the skin'),
        (S4, 'Increased Oil Production: The micro-injuries trigger'),
        (S4, "Inflammatory Response: The body's natural inflammatory response to the micro-injuries"),
        (S4, 'bacteria can enter these micro-wounds'),
        (S4, 'Lastly, the inflammatory response triggered by the micro-injuries'),
        (S4, "The body's immune response to the micro-injuries"),
]:
    pair(NONINV_MN, (src, sub, 'minimally_invasive'), 'microneedling', 'invasiveness')
pair((T5, 'completely non-invasive laser', 'non_invasive'),
     (T5, 'creates thousands of microscopic wounds in the skin', 'minimally_invasive'),
     'laser', 'invasiveness')

# --- side_effects: "(virtually) no side effects" / "risk-free" vs a named side effect
VIRT = (S0, 'Microneedling has virtually no side effects', 'minimal')
for sub, val in [
        ('some individuals may experience breakouts after undergoing', 'breakouts'),
        ('Skin Trauma:', 'barrier_disruption,breakouts'),
        ('Increased Oil Production: The micro-injuries', 'clogged_pores'),
        ('Bacterial Introduction:', 'infection,breakouts'),
        ('Inflammatory Response: The body', 'redness,swelling,pimples'),
        ('Hormonal Fluctuations:', 'hormonal_changes,acne'),
        ('there are potential side effects, one of which', 'breakouts'),
        ('One of the primary reasons microneedling can lead to breakouts', 'breakouts'),
        ('This disruption allows for easier penetration', 'acne'),
        ('can also serve as entry points for bacteria', 'bacterial_entry'),
        ('bacteria can enter these micro-wounds', 'infection,inflammation'),
        ('triggered by the micro-injuries can exacerbate acne', 'acne'),
        ('it can also contribute to the redness, swelling, and discomfort', 'redness,swelling,discomfort'),
        ('it is important to be aware of the potential for breakouts', 'breakouts'),
        ('some individuals may experience breakouts following the procedure', 'breakouts'),
        ('this inflammation can sometimes lead to the development of acne', 'acne'),
        ('potentially causing breakouts', 'breakouts'),
        ('they are generally a temporary side effect of the treatment', 'breakouts'),
        ('temporary inconvenience of a few pimples', 'pimples'),
        ('the temporary occurrence of breakouts following the procedure', 'breakouts'),
        ("This can temporarily disrupt the skin's barrier function, allowing bacteria and other", 'barrier_disruption'),
        ('which can clog pores and lead to breakouts', 'clogged_pores,breakouts'),
        ('While breakouts after microneedling are generally temporary and manageable', 'breakouts'),
        ("it's not without its temporary side effects, including breakouts", 'breakouts'),
]:
    pair(VIRT, (S4, sub, val), 'microneedling', 'side_effects')
FRAXEL_FREE = (T5, 'it is risk-free for all skin tones', 'none')
pair((S0, 'may cause hyperpigmentation', 'hyperpigmentation'), FRAXEL_FREE, 'laser', 'side_effects')
pair((S2, 'Avoid picking at scabs:', 'scabs'), FRAXEL_FREE, 'laser', 'side_effects')
pair(FRAXEL_FREE, (T5, 'your skin might feel warm and look pink', 'warmth,redness'), 'laser', 'side_effects')
pair(FRAXEL_FREE, (T5, 'heat-based treatments could make it darker', 'melasma_darkening'), 'laser', 'side_effects')
pair((T5, 'Botox has no side effects', 'none'), (T5, 'small bruises at the injection points', 'bruising'),
     'botox', 'side_effects')
pair((T3, 'have no side effects, even on sensitive skin', 'none'),
     (T4, 'Pore strips can irritate the skin', 'irritation,broken_capillaries'), 'pore_strips', 'side_effects')

# --- pain
pair((S3, 'Microderm is painless', 'painless'),
     (S3, 'make the treatment process slightly painful', 'painful'), 'microdermabrasion', 'pain')
STING = (T2, 'Some clients feel mild stinging', 'painful')
for sub in ['Extract: painless suction', 'No.', 'completely pain-free']:
    pair((T2, sub, 'painless'), STING, 'hydrafacial', 'pain')

# --- downtime
pair((T1, 'A glycolic peel has no downtime', 'none'),
     (T1, 'After a glycolic or TCA peel, expect', 'some'), 'chemical_peel', 'downtime')

# --- pore_size_effect
NOIMPACT = (S3, 'Microderm does not have any direct impact on the size of pores', 'no_effect')
for sub in ['the pore size reduces gradually', 'hence shrinking the pores on the skin',
            'large pores tend to shrink', 'the pores will be unclogged and return to their original form']:
    pair(NOIMPACT, (S3, sub, 'reduces'), 'microdermabrasion', 'effect')
STRIPS_PERM = (T3, 'Our charcoal formula permanently shrinks pores', None)
pair((T3, STRIPS_PERM[1], 'reduces'), (T4, 'They do not make pores any smaller', 'no_effect'),
     'pore_strips', 'effect')

# --- permanence (a universal "nothing/cannot" claim about pores covers pore strips)
for src, sub in [(S2, 'cannot be permanently minimized'),
                 (T4, 'nothing can permanently shrink pores'),
                 (T4, 'the pore refills within days')]:
    pair((T3, STRIPS_PERM[1], 'permanent'), (src, sub, 'not_permanent'), 'pore_strips', 'durability')

# --- setting
pair((T2, 'can only be performed by a trained professional', 'professional_only'),
     (T3, 'give yourself a HydraFacial at home', 'at_home'), 'hydrafacial', 'setting')

# --- sessions
pair((T2, 'One treatment is all it takes', 'single'),
     (T2, 'most clients need a course of three to six sessions', 'multiple'), 'hydrafacial', 'sessions')
pair((S2, 'typically require multiple sessions', 'multiple'),
     (T5, 'One Fraxel session is all you need', 'single'), 'laser', 'sessions')

# --- candidacy
pair((T1, 'Glycolic peels are suitable for all skin types', 'suitable:all'),
     (T1, 'If you have sensitive skin, glycolic peels are not for you', 'unsuitable:sensitive_skin'),
     'chemical_peel', 'candidacy')
pair((T3, 'have no side effects, even on sensitive skin', 'suitable:sensitive_skin'),
     (T4, 'If you have sensitive skin, skip pore strips', 'unsuitable:sensitive_skin'),
     'pore_strips', 'candidacy')

# --- ranking: two different treatments each called best/safest for the same outcome
HF_BEST = (T2, 'It is the best treatment for clogged pores', 'best:clogged_pores')
for sub in ['Microderm is the best option for patients with oily and congested skin',
            'Microderm works best in unclogging clogged pores',
            'Microderm treatment is the best option']:
    P.append(((S3, sub, 'best:clogged_pores'), HF_BEST, 'microdermabrasion|hydrafacial', 'ranking'))
P.append(((S1, 'it is also a safest option available', 'safest:enlarged_pores'),
          (T2, 'It is the best treatment for clogged pores', 'safest:enlarged_pores'),
          'microneedling|hydrafacial', 'ranking'))
P.append(((T1, 'A TCA peel is the best treatment for enlarged pores', 'best:enlarged_pores'),
          (T5, 'Fraxel is the gold standard for enlarged pores', 'best:enlarged_pores'),
          'chemical_peel|laser', 'ranking'))
P.append(((T3, 'They are the best at-home treatment for blackheads', 'best:blackheads_at_home'),
          (T4, 'a retinoid is the best at-home treatment', 'best:blackheads_at_home'),
          'pore_strips|topical', 'ranking'))


def load(sid):
    with open(os.path.join(CLAIMS, sid + '.csv'), encoding='utf-8', newline='') as f:
        return [r for r in csv.DictReader(f) if r['is_claim'] == '1']


def resolve(cache, sid, sub):
    rows = cache.setdefault(sid, load(sid))
    def norm(t):  # labels are typed with plain spaces; the articles may have U+00A0
        return t.replace('\u00a0', ' ')
    hits = [r for r in rows
            if (norm(r['text']) == sub if sub == 'No.' else sub in norm(r['text']))]
    if len(hits) != 1:
        raise SystemExit(f'{sid}: {sub!r} matches {len(hits)} claim rows')
    return hits[0]


def main():
    cache = {}
    out = []
    for (sa, suba, va), (sb, subb, vb), treatment, aspect in P:
        ra, rb = resolve(cache, sa, suba), resolve(cache, sb, subb)
        ka, kb = (sa, int(ra['start'])), (sb, int(rb['start']))
        if kb < ka:
            (sa, ra, va), (sb, rb, vb) = (sb, rb, vb), (sa, ra, va)
            if '|' in treatment:
                treatment = '|'.join(reversed(treatment.split('|')))
        out.append({'source_a': sa, 'start_a': ra['start'], 'text_a': ra['text'],
                    'source_b': sb, 'start_b': rb['start'], 'text_b': rb['text'],
                    'scope': 'within_source' if sa == sb else 'cross_source',
                    'treatment': treatment, 'aspect': aspect, 'value_a': va, 'value_b': vb})
    out.sort(key=lambda d: (d['source_a'], int(d['start_a']), d['source_b'], int(d['start_b']), d['aspect']))
    with open(OUT, 'w', encoding='utf-8', newline='') as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, quoting=csv.QUOTE_MINIMAL, lineterminator='\n')
        w.writeheader()
        w.writerows(out)
    print(f'{len(out)} contradiction pairs written to {OUT}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
