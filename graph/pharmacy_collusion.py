"""pharmacy_collusion: prescribers and a pharmacy sharing a flow far beyond what geography explains.

Unit: a prescriber → pharmacy flow. A dispensing billed through a centre where the prescriber
works (`claims.centre_id`; a hospital pharmacy supplying dialysis or chemotherapy drugs its own
physicians prescribed, the *pharmacie à usage intérieur*, Code de la santé publique art. L5126-1)
never left the establishment: it is no flow between a prescriber and a pharmacy and is left out.
Observed, for each home postcode A of the prescriber's patients: how many of them filled its
prescriptions mostly at that pharmacy (a prescriber–patient relation counts once, at its main
pharmacy, however many prescriptions it holds).

Null model: a patient fills a prescription near home, or — when they travelled to see the
prescriber — near the place they were prescribed. So the chance that a patient of prescriber P
from A fills at pharmacy X is the largest of
* X's share of the patients of A that other independent prescribers (working at no centre) of
  P's kind and specialty practising in A prescribed for: how A's residents fill a GP's (or a
  dentist's…) prescriptions near home, shrunk towards the same share for all of A's independent
  prescribers, all the area's prescriptions, the whole region's (a prescriber alone of its kind
  in its town has no yardstick for its town's patients: they are not judged);
* for a pharmacy X at the postcode of one of P's places — a centre it bills through or works at
  (a hospital, a group practice's health centre), the practice it bills through with other
  prescribers (a group practice's company: the `legal_entity_id` of two providers or more), or,
  for a patient who came there from elsewhere, the postcode where it practises privately — X's
  share of the patients that the other prescribers *practising mostly at that postcode* saw at
  that place (all of a centre's or a practice's; those who came from elsewhere, at a postcode;
  and, for a patient who came from elsewhere, those of a centre or a practice who came from
  elsewhere too — a hospital's patients from other towns fill next to it, its own town's near
  home, so that its patients in all, mostly of its town, predicted too few of the former there):
  of those of P's kind and specialty, shrunk towards all of them. A hospital's services differ
  (its HIV service's patients fill next door, its other services' near home: the reference
  service is judged against its own infectiologists), and a GP on call at a health centre once
  a week does not set where the centre's own patients fill; and
* at least the chance that any prescription of the region is filled at X by a patient living
  elsewhere (people travel, fill on holiday, near work),
all computed without P's own patients (leave-one-out). A pharmacy next to a group practice, or
next to a regional hospital whose patients come from everywhere, serves their patients because
of where they are prescribed; mules from other towns, sent by complicit prescribers to one
pharmacy, are explained neither by their homes nor by where others' travelling patients fill.

Per area, the observed count is judged against its expectation: binomial, with the chance's odds
varying between prescribers (its own habits, its street: a prescriber whose patients like a
pharmacy twice as much as others'), a logit-normal variance τ² estimated over all flows and
areas (`graph.stats.logit_tau2`; honest habits are many, colluding flows few); the areas' tail probabilities are
combined with Fisher's method (Fisher, Statistical Methods for Research Workers, 1932), so that
a few mules from each of many towns add up. The test is made twice: on all the prescriber's
patients, and on those it prescribed watched molecules (`services.watch`: mules are recruited
for resalable drugs, and a busy practice's local patients would drown them), the chance being the
same — patients fill watched prescriptions where they fill the others. A third test sees what
no place can: a pharmacy alone in its town fills every prescription made there, a colluding
prescriber's mules as well as honest travellers, so where they fill says nothing; what their
prescriptions are does. Of the flow's patients from another area (`local_prefix`), the count
to whom P prescribed watched molecules *and nothing else* is judged against the share among the
other prescribers of the same kind and specialty (leave-one-out; a class whose others have
fewer than 10 such patients sets none), binomial with the logit-normal τ² of the flows — an
HIV or addiction service's travellers are judged against its peers'. A traveller who honestly
fills a distant GP's prescriptions is that GP's patient and gets what a GP prescribes (the
treating doctor of the coordinated care pathway, Code de la sécurité sociale art. L162-5-3); a
mule is seen only for the resalable molecule — patients travelling far for controlled
substances alone are the first of the red flags a pharmacy is held to (US DEA, Holiday CVS
decision, 77 Fed. Reg. 62316, 2012). Counting every traveller given a watched molecule (as
before 2026-12-01) let a town's honest GPs seeing patients from the next département, given
a watched molecule beside the rest of their care, hide mules. A fourth test narrows the third: of the
same travellers given watched molecules alone, those whom another prescriber of P's class treats
(prescribes them anything that is not only watched molecules: their treating doctor is someone
else), against the same share among the class's other prescribers, judged as the third (a mule
keeps its own GP at home, who prescribes the rest of its care; an honest traveller given a watched
molecule by a distant GP is mostly that GP's own patient — the coordinated care pathway above; a
patient given watched molecules by a second doctor of the same kind is the nomadism the same
controls look for). A fifth test weighs the travellers by how far they came: mules are brought from
towns with no tie to the prescriber's, where an honest traveller comes, mostly, from the towns whose
people come to that town for care (the gravity law of spatial interaction: flows between places
fall with distance, Wilson, Transportation Research 1:253–269, 1967; a health service area is the
set of places whose residents get their care there, Wennberg & Gittelsohn, Science 182:1102–1108,
1973). The claims give no distance, but they give the tie: of the other patients of the traveller's
home postcode (the prescriber's own apart), the share whom any provider of the prescriber's
postcode billed. Of the flow's patients from another postcode given watched molecules alone, each
counts 1 / tie (a tie below 1 % counts as 1 %), against the class's share among its other
prescribers (leave-one-out, as the third test: under the null, being given watched molecules
alone does not depend on how remote a traveller's home is); the weighted count's tail is a binomial of
Kish's effective size (Kish, Survey Sampling, 1965: (Σw)² / Σw², the same mean and variance),
continued to real counts by the incomplete beta function, the share's odds varying between
prescribers by a logit-normal τ². An honest town's watched-alone travellers come from its tied
towns, as its other travellers do, and weigh what they do; a few mules from towns that never come
weigh many. The smallest of the five tail probabilities is kept, times five (Bonferroni).

Several colluders of one pharmacy, each sending it a few mules, add up: a flow judged alone may
stay short of the false-discovery bound over every flow of the region, though the pharmacy's
flows together are far beyond. So the travellers' test is also pooled over each pharmacy's
judged flows (`_pooled_travellers`): the sum of their travellers given watched molecules alone
against the sum of their expectations, each flow's count logit-normal binomial as above, the
sum's tail a negative binomial of the same mean and variance (a moment match); Benjamini–Hochberg
at `fdr` over the pharmacies. A pharmacy beyond names the flows that carry its excess: its flows
furthest beyond their own expectation are taken out one by one (smallest tail first) until what
remains is within `fdr` as a single test — honest prescribers of the same pharmacy stay out. (A
truncated product of the flows' p-values, Zaykin et al., Genet Epidemiol 22:170–185, 2002, was
tried first: at τ = 0.05, three flows at 10⁻³ among 47 give only 10⁻¹·⁷, since chance puts two or
three of 47 below τ. Over the benchmark's worlds it found none of the groups the flows alone
missed at τ = 0.05, and at τ = 0.01 one, with an honest pharmacy of the generator beside it.)

Colluders do not hide each other. Several prescribers of one town sending mules to the same
pharmacy would set each other's yardstick (where the town's other prescribers' travelling
patients fill), and their extreme flows would inflate τ², the honest spread of habits. So the
test is repeated: the flows far beyond the rest in a pass (a tail probability below the
Bonferroni bound 0.05 / flows) are left out of every yardstick and of τ² in the next, until no
flow joins them (at most five passes) — the robust-estimation principle of peer_outlier's
second pass (Hampel et al., Robust Statistics: The Approach Based on Influence Functions, 1986:
a reference estimated without the observations under suspicion). A held flow is still judged,
against the others. Decision: Benjamini–Hochberg at `fdr` over every flow beyond (one of its first four tests
counts more than it predicts, or the fifth does and is the strongest: `_beyond`), in the last
pass, and the flows named by the pooled test of their pharmacy (Benjamini–Hochberg at `fdr` over
pharmacies).
Unknown places: a patient's home, a provider's or a centre's postcode left blank is unknown — neither
the same place as another unknown one nor another place (a traveller). Such a relation is left
out of the tests that need it: of the first two when the patient's home, one of the prescriber's
places or the pharmacy's postcode is unknown (a pharmacy next to a practice of unknown address
would look unexplained), of the three travellers' tests when the home or the prescriber's postcode
is; nor does it set anyone's yardstick there. Each flow's evidence counts its patients of an
unknown home (`unknown_home`) and those left out of the first two tests (`unlocated`), the summary
says how many, and the load report counts the rows without a postcode (`loaders.dataset`).
Before 2026-12-02 a blank postcode was one place, `?`: a GP's own town's patients were travellers
from it, and the one patient of another town who filled next to its practice was unexplained (a
false alert at log10 p −4.8 on a generated region).
Score: the euros of the flow beyond what its tests predict, the largest of (observed − expected
patients) × euros per patient of the flow, and (observed − expected patients with watched
molecules) × euros per such patient, of the watched test and of the three travellers' tests — never
below zero (a flow flagged by the travellers' test alone may fill fewer patients than geography
predicts). One alert per pharmacy
(accused) gathers its flagged prescribers (accused, each answering for its flow) and example
patients (participants, each answering for the watched molecules it collected). Its summary gives
the strongest test that counts more than it predicts (the smallest tail probability of its
flows), or the pooled travellers' test when stronger; every flow's five tests are in the evidence
(`tests`: observed, expected and log10 p, the last two None where the test had no yardstick for
the flow: not judged).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
from scipy import special, stats

from .findings import Findings, euros, make_findings
from .settings import PharmacyCollusionSettings
from .shared import home_unknown
from .stats import (benjamini_hochberg, logit_tau2, logitnormal_binom_logsf, logitnormal_nodes, negbin_logsf,
                    surprise_bits)
from engine import query

# The claims-scale part of every pass, computed once per scan (`_dispensings`): the dispensings on
# a prescription per prescriber, patient (its home postcode) and pharmacy, and each provider's
# claims per centre; the passes then differ only by the flows `held` out.
_CENTRE_CLAIMS = """
SELECT provider_id, centre_id, count(*) AS n FROM claims GROUP BY ALL
"""

# How many of each home area's patients any provider of each postcode billed (`area_seen`), and each
# area's patients (`area_seen` at place NULL): the ties between areas the fifth test weighs travellers by.
# A provider whose postcode is unknown ('?') is at no postcode: it ties no area to any other.
_SEEN = """
WITH b AS (SELECT DISTINCT coalesce(pt.postcode, '?') AS home, coalesce(p.postcode, '?') AS place, c.patient_id
           FROM claims c JOIN providers p ON p.provider_id = c.provider_id LEFT JOIN patients pt USING (patient_id))
SELECT home, place, count(*) AS n FROM b WHERE place <> '?' GROUP BY ALL
UNION ALL SELECT home, NULL, count(DISTINCT patient_id) FROM b GROUP BY ALL
"""

_DISPENSINGS = """
WITH works_at AS (  -- the centres a provider bills through or is affiliated with
    SELECT provider_id, centre_id FROM pc WHERE centre_id IS NOT NULL
    UNION SELECT provider_id, centre_id FROM affiliations WHERE centre_id IS NOT NULL
), d AS (       -- dispensings on a prescription, but not those billed through a centre where the
                -- prescriber works: an establishment's own pharmacy supplying its own prescriptions
    SELECT c.prescriber_id, c.provider_id AS pharmacy, c.patient_id, coalesce(pt.postcode, '?') AS home,
           coalesce(s.watch, false) AS watch
    FROM claims c JOIN providers ph ON c.provider_id = ph.provider_id AND ph.kind = 'pharmacy'
    LEFT JOIN patients pt USING (patient_id) LEFT JOIN services s USING (service_code)
    LEFT JOIN works_at wa ON wa.provider_id = c.prescriber_id AND wa.centre_id = c.centre_id
    WHERE c.prescriber_id IS NOT NULL AND c.prescriber_id <> c.provider_id AND wa.provider_id IS NULL
)   -- n: the dispensings; nw: those of watched molecules
SELECT prescriber_id, patient_id, home, pharmacy, count(*) AS n, count(*) FILTER (WHERE watch) AS nw
FROM d GROUP BY ALL
"""

_RELATIONS = """
WITH own AS (     -- per provider: its claims, those through a centre, and the centre it bills most through
    SELECT provider_id, sum(n) AS n, sum(n) FILTER (WHERE centre_id IS NOT NULL) AS at_centre,
           arg_max(centre_id, (n, centre_id)) FILTER (WHERE centre_id IS NOT NULL) AS centre
    FROM pc GROUP BY provider_id
), who AS (     -- where a prescriber mostly practises: the centre it bills most through, else its postcode
    SELECT x.prescriber_id, coalesce(p.postcode, '?') AS own_postcode,
           coalesce(p.kind, '?') || '|' || coalesce(p.specialty, '') AS class,
           CASE WHEN o.at_centre * 2 > o.n THEN coalesce(ce.postcode, p.postcode, '?')
                ELSE coalesce(p.postcode, '?') END AS postcode,
           coalesce(o.at_centre * 2 <= o.n, true) AS private
    FROM (SELECT DISTINCT prescriber_id FROM dn) x LEFT JOIN providers p ON p.provider_id = x.prescriber_id
    LEFT JOIN own o ON o.provider_id = x.prescriber_id LEFT JOIN centres ce ON ce.centre_id = o.centre
), t0 AS (      -- prescriber, patient and the pharmacy that filled most of its prescriptions for them;
                -- `only_watched`: the prescriber's prescriptions for them are all watched molecules
    SELECT prescriber_id, patient_id, home, arg_max(pharmacy, (n, pharmacy)) AS pharmacy,
           bool_and(nw = n) AS only_watched
    FROM dn GROUP BY ALL
), t AS (       -- `yard`: the relation sets others' yardsticks (its flow is not `held` out in this pass)
    SELECT t0.*, h.pharmacy IS NULL AS yard FROM t0
    LEFT JOIN held h ON h.prescriber_id = t0.prescriber_id AND h.pharmacy = t0.pharmacy
), flows AS (  -- `flow`: the flows numbered in the order of (prescriber_id, pharmacy); `honest`: not held out
    SELECT prescriber_id, pharmacy, row_number() OVER (ORDER BY prescriber_id, pharmacy) - 1 AS flow, yard AS honest
    FROM (SELECT DISTINCT prescriber_id, pharmacy, yard FROM t)
"""

# one row a flow, in the order of `flow`: its prescriber, pharmacy and class, and `rank`, its place in the
# order of (pharmacy, prescriber_id) — the per-area rows' order (`_judge`)
_FLOW_KEYS = _RELATIONS + """
)
SELECT f.flow, f.prescriber_id, f.pharmacy, w.class,
       row_number() OVER (ORDER BY f.pharmacy, f.prescriber_id) - 1 AS rank
FROM flows f JOIN who w USING (prescriber_id)
ORDER BY f.flow
"""

_FLOWS = _RELATIONS + """
), places0 AS ( -- where a prescriber sees patients: its postcode when it practises mostly there,
                -- every centre it bills through or works at (a hospital, a group practice's health
                -- centre), and the practice it bills through with others (a group practice's
                -- company: the legal entity of two prescribers or more); `everyone`: all the
                -- place's patients count, not only those who came from elsewhere
    SELECT prescriber_id, 'postcode:' || own_postcode AS place, own_postcode AS place_postcode,
           false AS centre, false AS everyone
    FROM who WHERE private
    UNION
    SELECT w.prescriber_id, 'centre:' || x.centre_id, coalesce(ce.postcode, '?'), true, true
    FROM who w JOIN (SELECT provider_id, centre_id FROM pc WHERE centre_id IS NOT NULL
                     UNION SELECT provider_id, centre_id FROM affiliations) x ON x.provider_id = w.prescriber_id
    LEFT JOIN centres ce USING (centre_id)
    UNION
    SELECT w.prescriber_id, 'practice:' || p.legal_entity_id, coalesce(p.postcode, '?'), false, true
    FROM who w JOIN providers p ON p.provider_id = w.prescriber_id
    WHERE p.legal_entity_id IN (SELECT legal_entity_id FROM providers WHERE kind <> 'pharmacy'
                                GROUP BY ALL HAVING count(*) >= 2)
), unplaced AS ( -- prescribers one of whose places is at an unknown postcode: where they practise, and so
                  -- who travelled to them and which pharmacies are near them, is unknown
    SELECT DISTINCT prescriber_id FROM places0 WHERE place_postcode = '?'
), places AS (  -- and a centre's or a practice's patients who came to it from elsewhere, apart
                -- (`…:away`): they fill near the place, its own town's patients near home
    SELECT * FROM places0
    UNION
    SELECT prescriber_id, place || ':away', place_postcode, centre, false FROM places0 WHERE everyone
), elsewhere AS ( -- relations of watched molecules alone whose patient gets its other care from another
                  -- prescriber of the same class (its treating doctor is someone else)
    SELECT DISTINCT a.prescriber_id, a.patient_id FROM t0 a JOIN who wa ON wa.prescriber_id = a.prescriber_id
    JOIN t0 b ON b.patient_id = a.patient_id AND b.prescriber_id <> a.prescriber_id AND NOT b.only_watched
    JOIN who wb ON wb.prescriber_id = b.prescriber_id AND wb.class = wa.class
    WHERE a.only_watched
), elsewhere_ph AS (SELECT prescriber_id, pharmacy, home, count(*) AS n FROM t SEMI JOIN elsewhere
                    USING (prescriber_id, patient_id) GROUP BY ALL
), rel AS (SELECT DISTINCT prescriber_id, patient_id, home FROM t           -- the unit of every share
), yrel AS (SELECT DISTINCT prescriber_id, patient_id, home FROM t WHERE yard
), region AS (SELECT pharmacy, count(*) / (SELECT count(*) FROM yrel) AS share FROM t WHERE yard GROUP BY ALL
), away AS (    -- relations filled at a pharmacy by patients living elsewhere than its postcode (both known)
    SELECT t.prescriber_id, t.pharmacy, count(*) AS n FROM t JOIN providers ph ON ph.provider_id = t.pharmacy
    WHERE t.home <> $home_unknown AND coalesce(ph.postcode, '?') <> '?'
      AND t.home <> coalesce(ph.postcode, '?') AND t.yard GROUP BY ALL
), away_all AS (SELECT pharmacy, sum(n) AS n FROM away GROUP BY ALL
), mine_all AS (SELECT prescriber_id, count(*) AS n FROM yrel GROUP BY ALL
), loc AS (     -- relations of independent prescribers (no centre) with patients of their own postcode
    SELECT t.*, who.class FROM t JOIN who USING (prescriber_id)
    WHERE t.yard AND t.home = who.postcode AND t.home <> $home_unknown AND prescriber_id NOT IN (SELECT prescriber_id FROM places WHERE centre)
), class_ph AS (SELECT home, class, pharmacy, count(*) AS n FROM loc GROUP BY ALL
), class_all AS (SELECT home, class, count(*) AS n FROM loc GROUP BY ALL
), locrel AS (SELECT DISTINCT prescriber_id, patient_id, home FROM loc
), local_ph AS (SELECT home, pharmacy, count(*) AS n FROM loc GROUP BY ALL
), local_all AS (SELECT home, count(*) AS n FROM locrel GROUP BY ALL
), mine_local_ph AS (SELECT prescriber_id, pharmacy, home, count(*) AS n FROM loc GROUP BY ALL
), mine_local AS (SELECT prescriber_id, home, count(*) AS n FROM locrel GROUP BY ALL
), seen AS (    -- relations of a place: all those of a centre, those who came from elsewhere to a postcode
    -- of the prescribers who practise mostly at the place's postcode (a GP on call at a health
    -- centre one evening a week does not set where the centre's own patients fill)
    SELECT t.*, pl.place, who.class FROM t JOIN places pl USING (prescriber_id) JOIN who USING (prescriber_id)
    WHERE t.yard AND (pl.everyone OR (t.home <> pl.place_postcode AND t.home <> $home_unknown))
      AND pl.place_postcode = who.postcode AND pl.place_postcode <> '?'
), seenrel AS (SELECT DISTINCT prescriber_id, patient_id, place, class FROM seen
), place_ph AS (SELECT place, pharmacy, count(*) AS n FROM seen GROUP BY ALL
), place_all AS (SELECT place, count(*) AS n FROM seenrel GROUP BY ALL
), place_class_ph AS (SELECT place, class, pharmacy, count(*) AS n FROM seen GROUP BY ALL
), place_class_all AS (SELECT place, class, count(*) AS n FROM seenrel GROUP BY ALL
), mine_place_ph AS (SELECT prescriber_id, place, pharmacy, count(*) AS n FROM seen GROUP BY ALL
), mine_place AS (SELECT prescriber_id, place, count(*) AS n FROM seenrel GROUP BY ALL
), near AS (    -- a pharmacy at the postcode of one of the prescriber's places: its share of the
                -- patients other prescribers of its kind and specialty saw there (a service's
                -- patients fill where its own patients do), shrunk towards all those seen there
    SELECT f.prescriber_id, f.pharmacy, ph.postcode,
           coalesce(max(share) FILTER (WHERE everyone), 0) AS centre_share,
           coalesce(max(share) FILTER (WHERE NOT everyone), 0) AS postcode_share
    FROM (
        SELECT f.prescriber_id, f.pharmacy, pl.everyone,
               (coalesce(pcp.n, 0) - coalesce(mpp.n, 0)
                + (coalesce(pp.n, 0) - coalesce(mpp.n, 0) + coalesce(rg.share, 0))
                  / (coalesce(pa.n, 0) - coalesce(mp.n, 0) + 1))
               / (coalesce(pca.n, 0) - coalesce(mp.n, 0) + 1) AS share
        FROM flows f JOIN providers ph ON ph.provider_id = f.pharmacy
        JOIN who wh ON wh.prescriber_id = f.prescriber_id
        JOIN places pl ON pl.prescriber_id = f.prescriber_id AND pl.place_postcode = ph.postcode
        LEFT JOIN place_class_ph pcp ON pcp.place = pl.place AND pcp.class = wh.class AND pcp.pharmacy = f.pharmacy
        LEFT JOIN place_class_all pca ON pca.place = pl.place AND pca.class = wh.class
        LEFT JOIN place_ph pp ON pp.place = pl.place AND pp.pharmacy = f.pharmacy
        LEFT JOIN place_all pa ON pa.place = pl.place
        LEFT JOIN mine_place_ph mpp ON mpp.prescriber_id = f.prescriber_id AND mpp.place = pl.place
                                   AND mpp.pharmacy = f.pharmacy
        LEFT JOIN mine_place mp ON mp.prescriber_id = f.prescriber_id AND mp.place = pl.place
        LEFT JOIN region rg ON rg.pharmacy = f.pharmacy
    ) x JOIN flows f USING (prescriber_id, pharmacy) JOIN providers ph ON ph.provider_id = f.pharmacy
    GROUP BY ALL
), fl AS (      -- per flow, what does not depend on the home area (joined to the flow's few rows, not to
                -- its per-area rows): the shares near its places, and a floor, the chance that any
                -- relation is filled there from elsewhere
    SELECT f.prescriber_id, f.pharmacy, f.flow, f.honest, nr.postcode AS near_postcode,
           coalesce(nr.centre_share, 0) AS centre_share, nr.postcode_share,
           (coalesce(aa.n, 0) - coalesce(aw.n, 0)) / ((SELECT count(*) FROM yrel) - coalesce(ma.n, 0) + 1) AS floor
    FROM flows f LEFT JOIN near nr USING (prescriber_id, pharmacy)
    LEFT JOIN away_all aa ON aa.pharmacy = f.pharmacy
    LEFT JOIN away aw ON aw.prescriber_id = f.prescriber_id AND aw.pharmacy = f.pharmacy
    LEFT JOIN mine_all ma ON ma.prescriber_id = f.prescriber_id
), mine_area_ph AS (SELECT prescriber_id, pharmacy, home, count(*) AS n FROM t GROUP BY ALL
), mine_area AS (SELECT prescriber_id, home, count(*) AS n FROM rel GROUP BY ALL
), ymine_area_ph AS (SELECT prescriber_id, pharmacy, home, count(*) AS n FROM t WHERE yard GROUP BY ALL
), ymine_area AS (SELECT prescriber_id, home, count(*) AS n FROM yrel GROUP BY ALL
), tw AS (      -- the same, for watched molecules
    SELECT prescriber_id, patient_id, home, arg_max(pharmacy, (n, pharmacy)) AS pharmacy
    FROM (SELECT prescriber_id, patient_id, home, pharmacy, nw AS n FROM dn WHERE nw > 0)
    GROUP BY ALL
), only_ph AS (SELECT prescriber_id, pharmacy, home, count(*) AS n FROM t WHERE only_watched GROUP BY ALL
), watched_ph AS (SELECT prescriber_id, pharmacy, home, count(*) AS n FROM tw GROUP BY ALL
), watched AS (SELECT prescriber_id, home, count(DISTINCT patient_id) AS n FROM tw GROUP BY ALL
), area_ph AS (SELECT home, pharmacy, count(*) AS n FROM t WHERE yard GROUP BY ALL
), area_all AS (SELECT home, count(*) AS n FROM yrel GROUP BY ALL
), home_share AS (   -- the pharmacy's share of the patients of the same area whom prescribers of
                     -- the same kind and specialty practising there saw; one pseudo-relation at its
                     -- share for all prescribers practising there, itself with one at its share of
                     -- all the area's relations, itself with one at its share of the whole region
    SELECT f.prescriber_id, f.pharmacy, f.flow, f.honest, f.near_postcode, f.centre_share, f.postcode_share, f.floor,
           m.home, m.n AS patients, coalesce(mp.n, 0) AS observed, wh.class,
           -- an unknown home or prescriber's postcode is neither the same place nor another: the
           -- relation is no traveller's, nor judged on geography (`located`)
           m.home <> $home_unknown AND wh.postcode <> '?' AND left(m.home, $k) <> left(wh.postcode, $k) AS far,
           m.home <> '?' AND wh.postcode <> '?' AND m.home <> wh.postcode AS away,
           m.home <> $home_unknown AND wh.prescriber_id NOT IN (SELECT prescriber_id FROM unplaced)
               AND f.pharmacy NOT IN (SELECT provider_id FROM providers
                                      WHERE coalesce(postcode, '?') = '?') AS located,
           -- the share of the area's other patients (P's own apart) whom a provider of P's postcode billed
           greatest(coalesce(sn.n, 0) - m.n, 0) / (coalesce(sa.n, 0) - m.n + 1) AS tie,
           coalesce(w.n, 0) AS watched_patients, coalesce(wp.n, 0) AS watched_observed,
           coalesce(op.n, 0) AS only_watched_observed, coalesce(ep.n, 0) AS elsewhere_observed,
           CASE WHEN m.home = wh.postcode AND coalesce(ca.n, 0) - coalesce(ml.n, 0) = 0 THEN 1.0   -- no yardstick
           ELSE (coalesce(cp.n, 0) - coalesce(mlp.n, 0)
                 + (coalesce(lp.n, 0) - coalesce(mlp.n, 0)
                    + (coalesce(ap.n, 0) - coalesce(ymp.n, 0) + coalesce(rg.share, 0))
                      / (coalesce(aa.n, 0) - coalesce(ym.n, 0) + 1))
                   / (coalesce(la.n, 0) - coalesce(ml.n, 0) + 1))
                / (coalesce(ca.n, 0) - coalesce(ml.n, 0) + 1) END AS share
    FROM fl f
    JOIN mine_area m ON m.prescriber_id = f.prescriber_id
    LEFT JOIN mine_area_ph mp ON mp.prescriber_id = f.prescriber_id AND mp.pharmacy = f.pharmacy AND mp.home = m.home
    LEFT JOIN ymine_area ym ON ym.prescriber_id = f.prescriber_id AND ym.home = m.home
    LEFT JOIN ymine_area_ph ymp ON ymp.prescriber_id = f.prescriber_id AND ymp.pharmacy = f.pharmacy
                               AND ymp.home = m.home
    LEFT JOIN watched w ON w.prescriber_id = f.prescriber_id AND w.home = m.home
    LEFT JOIN watched_ph wp ON wp.prescriber_id = f.prescriber_id AND wp.pharmacy = f.pharmacy AND wp.home = m.home
    LEFT JOIN only_ph op ON op.prescriber_id = f.prescriber_id AND op.pharmacy = f.pharmacy AND op.home = m.home
    LEFT JOIN elsewhere_ph ep ON ep.prescriber_id = f.prescriber_id AND ep.pharmacy = f.pharmacy AND ep.home = m.home
    LEFT JOIN local_ph lp ON lp.home = m.home AND lp.pharmacy = f.pharmacy
    LEFT JOIN local_all la ON la.home = m.home
    LEFT JOIN mine_local_ph mlp ON mlp.prescriber_id = f.prescriber_id AND mlp.pharmacy = f.pharmacy AND mlp.home = m.home
    LEFT JOIN mine_local ml ON ml.prescriber_id = f.prescriber_id AND ml.home = m.home
    LEFT JOIN region rg ON rg.pharmacy = f.pharmacy
    LEFT JOIN area_ph ap ON ap.home = m.home AND ap.pharmacy = f.pharmacy
    LEFT JOIN area_all aa ON aa.home = m.home
    JOIN who wh ON wh.prescriber_id = f.prescriber_id
    LEFT JOIN class_ph cp ON cp.home = m.home AND cp.class = wh.class AND cp.pharmacy = f.pharmacy
    LEFT JOIN class_all ca ON ca.home = m.home AND ca.class = wh.class
    LEFT JOIN area_seen sn ON sn.home = m.home AND sn.place = wh.postcode
    LEFT JOIN area_seen sa ON sa.home = m.home AND sa.place IS NULL
), homes AS (   -- each home postcode's rank in the order of the postcodes: the rows' order, made in Python
    SELECT home, row_number() OVER (ORDER BY home) AS home_no FROM (SELECT DISTINCT home FROM dn)
)
SELECT h.flow, h.honest, hn.home_no, h.patients, h.observed, h.watched_patients, h.watched_observed,
       h.only_watched_observed, h.elsewhere_observed, h.far, h.away, h.located, h.home = '?' AS unknown_home,
       h.tie,
       least(1.0, greatest(h.share, h.centre_share,
                           CASE WHEN h.home <> h.near_postcode THEN h.postcode_share ELSE 0 END, h.floor)) AS chance
FROM home_share h JOIN homes hn ON hn.home = h.home
"""

_FIGURES = """
SELECT c.prescriber_id, c.provider_id AS pharmacy, round(sum(c.amount), 2) AS amount,
       round(coalesce(sum(c.amount) FILTER (WHERE s.watch), 0), 2) AS watched_amount,
       -- of the patients whose home and the pharmacy's postcode are known, those of another area
       count(DISTINCT c.patient_id) FILTER (WHERE left(pt.postcode, $k) <> left(ph.postcode, $k)) AS far_patients,
       count(DISTINCT c.patient_id) FILTER (WHERE pt.postcode IS NOT NULL AND ph.postcode IS NOT NULL)
           AS located_patients,
       coalesce(list(DISTINCT c.service_code ORDER BY c.service_code) FILTER (WHERE s.watch), []) AS watched_codes
FROM claims c JOIN f ON c.prescriber_id = f.prescriber_id AND c.provider_id = f.pharmacy
JOIN providers ph ON ph.provider_id = c.provider_id
LEFT JOIN services s USING (service_code) LEFT JOIN patients pt USING (patient_id)
GROUP BY ALL ORDER BY 2, 1
"""

_PATIENTS = """
SELECT c.provider_id AS pharmacy, c.patient_id, bool_or(coalesce(s.watch, false)) AS watch,
       round(coalesce(sum(c.amount) FILTER (WHERE coalesce(s.watch, false)), 0), 2) AS watched_amount
FROM claims c JOIN f ON c.provider_id = f.pharmacy AND c.prescriber_id = f.prescriber_id
LEFT JOIN services s USING (service_code)
GROUP BY ALL ORDER BY 1, 3 DESC, 4 DESC, 2
"""


def detect_pharmacy_collusion(tables: Mapping[str, pa.Table], settings: PharmacyCollusionSettings) -> Findings:
    """One alert per pharmacy with flagged prescriber flows (`pharmacy_collusion:<pharmacy>`).

    Parameters: contract tables `claims`, `providers` (pharmacies, postcodes), `patients` (home
    postcodes; without it every patient is of one unknown area), `services` (watched molecules,
    for the summary); settings. Returns `Findings`; score and `excess_euros` in euros. The
    evidence lists the flows (`flows`: counts, expectations, log10 p; `tests`, the five tests'
    observed, expected and log10 p, None where not judged; `unknown_home` and `unlocated`, the
    patients left out for an unknown place) and, for a pharmacy whose pooled travellers' test is
    beyond, `pharmacy_travellers` (observed, expected, log10_p).

    Example:
        >>> from contract.tables import empty_table, TABLES
        >>> t = {n: empty_table(n) for n in TABLES}
        >>> detect_pharmacy_collusion(t, PharmacyCollusionSettings()).alerts.num_rows
        0
    """
    s = settings
    base = _dispensings(tables)
    flow_keys = _flow_keys(tables, base)
    k = flow_keys.num_rows
    if k == 0:
        return make_findings([], [])
    keys = flow_keys.select(["prescriber_id", "pharmacy"])
    flow, tests, log_p, places = _judge(tables, base, flow_keys, _NONE_HELD, s.local_prefix)
    beyond = _beyond(tests)
    held = np.zeros(k, bool)
    for _ in range(_PASSES):     # flows far beyond the others set nobody's yardstick in the next pass
        more = held | (beyond & (log_p < np.log(_HOLD / k)))
        if (more == held).all():
            break
        held = more
        flow = tests = None      # the last pass's rows and tests, freed before the next pass makes its own
        flow, tests, log_p, places = _judge(tables, base, flow_keys, keys.filter(pa.array(held)), s.local_prefix)
        beyond = _beyond(tests)
    observed, expected = tests[0][1], tests[0][2]
    hit = benjamini_hochberg(log_p, s.fdr) & beyond
    pharmacies, pharmacy_index = np.unique(keys["pharmacy"].to_numpy(zero_copy_only=False), return_inverse=True)
    named, pooled = _pooled_travellers(pharmacy_index, tests[2], s.fdr)
    hit |= named
    pooled = {pharmacies[i]: v for i, v in pooled.items()}
    # the flow's patients of an unknown home (no area, no traveller) and those left out of the tests
    # of geography (their home, the prescriber's place or the pharmacy at an unknown postcode)
    unknown_home, unlocated = places
    f = keys.filter(pa.array(hit)).append_column("observed", pa.array(observed[hit])) \
        .append_column("expected", pa.array(expected[hit])) \
        .append_column("watched_observed", pa.array(tests[1][1][hit])) \
        .append_column("watched_expected", pa.array(tests[1][2][hit])) \
        .append_column("travellers_watched", pa.array(tests[2][1][hit])) \
        .append_column("travellers_expected", pa.array(tests[2][2][hit])) \
        .append_column("elsewhere_watched", pa.array(tests[3][1][hit])) \
        .append_column("elsewhere_expected", pa.array(tests[3][2][hit])) \
        .append_column("remote_watched", pa.array(tests[4][1][hit])) \
        .append_column("remote_expected", pa.array(tests[4][2][hit])).append_column("log_p", pa.array(log_p[hit])) \
        .append_column("unknown_home", pa.array(unknown_home[hit])).append_column("unlocated", pa.array(unlocated[hit]))
    # per flow and test: observed, expected (None when the test had no yardstick for the flow:
    # not judged) and log10 p
    judged = [tests[0][3], tests[1][3], tests[2][3][3], tests[3][3][3], tests[4][3]]
    # and, for the two tests combined over home areas, the counts of the areas beyond their expectation
    per_test = [[{"test": name, "observed": float(x[1][i]), "expected": float(x[2][i]) if j[i] else None,
                  "log10_p": float(x[0][i] / np.log(10)) if j[i] else None}
                 | ({"areas_beyond_observed": float(x[4][0][i]), "areas_beyond_expected": float(x[4][1][i])}
                    if t < 2 else {})
                 for t, ((name, _), x, j) in enumerate(zip(_TESTS, tests, judged))] for i in np.flatnonzero(hit)]
    figures = {(r["prescriber_id"], r["pharmacy"]): r for r in query(
        _FIGURES, {"k": s.local_prefix}, claims=tables["claims"], f=f, providers=tables["providers"],
        services=tables["services"], patients=tables["patients"]).to_pylist()}
    patients = query(_PATIENTS, claims=tables["claims"], services=tables["services"], f=f).to_pylist()
    labels = dict(zip(tables["services"]["service_code"].to_pylist(), tables["services"]["label"].to_pylist()))
    by_pharmacy: dict[str, list[dict]] = {}
    for row, tested in zip(f.to_pylist(), per_test):
        row.update(figures[(row["prescriber_id"], row["pharmacy"])])
        row["tests"] = tested
        per_watched = row["watched_amount"] / max(row["watched_observed"], 1)
        row["excess_amount"] = max(        # the largest excess of the five tests, never below zero
            (row["observed"] - row["expected"]) * row["amount"] / max(row["observed"], 1),
            (row["watched_observed"] - row["watched_expected"]) * per_watched,
            (row["travellers_watched"] - row["travellers_expected"]) * per_watched,
            (row["elsewhere_watched"] - row["elsewhere_expected"]) * per_watched,
            (row["remote_watched"] - row["remote_expected"]) * per_watched, 0.0)
        by_pharmacy.setdefault(row["pharmacy"], []).append(row)
    alerts, entities = [], []
    for pharmacy, flows in by_pharmacy.items():
        aid = f"pharmacy_collusion:{pharmacy}"
        amount, watched = sum(x["amount"] for x in flows), sum(x["watched_amount"] for x in flows)
        far, located = sum(x["far_patients"] for x in flows), sum(x["located_patients"] for x in flows)
        excess = sum(x["excess_amount"] for x in flows)
        said = _strongest(flows, pooled.get(pharmacy))
        unknown = sum(x["unlocated"] for x in flows)
        codes = sorted({c for x in flows for c in x["watched_codes"]})
        names = ", ".join(labels.get(c) or c for c in codes[:4]) or "none"
        alerts.append({
            "alert_id": aid, "pattern": "pharmacy_collusion", "score": excess, "excess_euros": excess,
            "surprise_bits": float(surprise_bits(sum(x["log_p"] for x in flows))),
            "summary": (f"Pharmacy {pharmacy} filled the prescriptions of {len(flows)} prescriber(s): "
                        f"{said}; "
                        + (f"{far / located:.0%} live in another area and " if located else
                           "where they live is unknown and ")
                        + f"{watched / max(amount, 1e-9):.0%} of {euros(amount)} is watched molecules ({names}); "
                        + (f"{unknown:.0f} patient(s) of an unknown location left out of the tests of geography; "
                           if unknown else "")
                        + f"{euros(excess)} beyond what its tests predict."),
            "evidence": {"test": "beta-binomial tail per home postcode, Fisher's combination; travellers' watched "
                                 "share against the class, per flow and pooled over the pharmacy's flows; "
                                 "that of travellers another prescriber of the class treats, per flow; "
                                 "travellers weighed by how remote their homes are, per flow; "
                                 "Benjamini-Hochberg",
                         "fdr": s.fdr,
                         "flows": [{k: x[k] for k in ("prescriber_id", "observed", "expected", "watched_observed",
                                                     "watched_expected", "travellers_watched", "travellers_expected",
                                                     "elsewhere_watched", "elsewhere_expected",
                                                     "remote_watched", "remote_expected",
                                                     "amount", "watched_amount", "far_patients",
                                                     "unknown_home", "unlocated", "tests",
                                                     "watched_codes",
                                                     "excess_amount")} | {"log10_p": x["log_p"] / np.log(10)}
                                   for x in flows],
                         **({"pharmacy_travellers": pooled[pharmacy]} if pharmacy in pooled else {}),
                         "paths": [{"nodes": [f"provider:{x['prescriber_id']}", f"provider:{pharmacy}"],
                                    "rels": ["FLOWS_TO"]} for x in flows]},
        })
        entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": pharmacy, "role": "pharmacy",
                         "standing": "accused"})
        for x in flows:        # a prescriber answers for its own flow
            entities.append({"alert_id": aid, "entity_type": "provider", "entity_id": x["prescriber_id"],
                             "role": "prescriber", "standing": "accused", "excess_euros": x["excess_amount"]})
        for m in [m for m in patients if m["pharmacy"] == pharmacy][: s.max_examples]:
            entities.append({"alert_id": aid, "entity_type": "patient", "entity_id": m["patient_id"],
                             "role": "patient", "standing": "participant", "excess_euros": m["watched_amount"] or 0.0})
    return make_findings(alerts, entities)


# A flow is held out of the yardsticks when its tail probability is below the Bonferroni bound
# _HOLD / flows (as peer_outlier's second pass); the passes stop when no flow joins, at most _PASSES.
_HOLD, _PASSES = 0.05, 5
# A home area's tie to a postcode below 1% weighs its traveller as a hundred: below that, the tie
# is a handful of residents (an area of a few hundred), and one traveller from a town that never
# comes would outweigh every other
_TIE_FLOOR = 0.01
_MIN_TRAVELLERS = 10        # travellers of a class's other prescribers, for its watched share to be a yardstick
_NONE_HELD = pa.table({"prescriber_id": pa.array([], pa.string()), "pharmacy": pa.array([], pa.string())})


# A provider's or a centre's place of no postcode is always unknown: taken as one place, '?', it
# made false alerts (eight on a hand-built region whose providers had no postcode: every town's
# pharmacy next to a place '?' of every prescriber). A home of no postcode: `home_unknown`.


def _unknown(tables: Mapping[str, pa.Table]) -> dict[str, str]:
    """The statements' `home_unknown` parameter (`graph.shared.home_unknown`)."""
    return {"home_unknown": home_unknown(tables["patients"])}


def _dispensings(tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """What every pass reads from the claims, computed once: `dn` (`_DISPENSINGS`: prescriber_id,
    patient_id, home, pharmacy, n dispensings, nw of them watched), `pc` (`_CENTRE_CLAIMS`:
    provider_id, centre_id, n claims) and `area_seen` (`_SEEN`: home, place, n patients; place
    NULL: all the home's patients), held by a scan's engine (`engine.Kept`)."""
    pc = query(_CENTRE_CLAIMS, keep=True, claims=tables["claims"])
    area_seen = query(_SEEN, keep=True, claims=tables["claims"], providers=tables["providers"],
                      patients=tables["patients"])
    dn = query(_DISPENSINGS, keep=True, claims=tables["claims"], providers=tables["providers"], services=tables["services"],
               patients=tables["patients"], affiliations=tables["affiliations"], pc=pc)
    return {"dn": dn, "pc": pc, "area_seen": area_seen}


def _flow_keys(tables: Mapping[str, pa.Table], base: dict[str, pa.Table]) -> pa.Table:
    """The flows, one row each in the order of their index (`_FLOW_KEYS` over `base`, from
    `_dispensings`): flow, prescriber_id, pharmacy, the prescriber's class (kind|specialty) and
    `rank`, the flow's place in the order of (pharmacy, prescriber_id). The same in every pass
    (the flows held out change the yardsticks, not the flows)."""
    return query(_FLOW_KEYS, providers=tables["providers"], centres=tables["centres"], held=_NONE_HELD,
                 dn=base["dn"], pc=base["pc"])


def _judge(tables: Mapping[str, pa.Table], base: dict[str, pa.Table], keys: pa.Table, held: pa.Table,
           local_prefix: int):
    """Every flow's per-area rows (`_FLOWS` over `base`, from `_dispensings`; the flows of `held`
    — prescriber_id, pharmacy — left out of every yardstick), its index, its five tests (all
    prescriptions; watched molecules; the travellers' watched share, and that of those treated by
    another prescriber of the class, `_travellers`; the travellers weighed by how remote their
    homes are, `_remote`), their combined log tail probability, and per flow its patients of an
    unknown home (no area, no traveller) and those left out of the tests of geography (their home,
    the prescriber's place or the pharmacy at an unknown postcode). `keys`: the flows
    (`_flow_keys`); one test's value per flow, in their order."""
    per = query(_FLOWS, {"k": local_prefix} | _unknown(tables), providers=tables["providers"],
                centres=tables["centres"], affiliations=tables["affiliations"], held=held, **base)
    k = keys.num_rows
    if per.num_rows == 0:
        return np.zeros(0, int), [], np.zeros(0), (np.zeros(k), np.zeros(k))
    # The statement gives integers and booleans only, in no order (no string a row, no sort in the
    # engine: its sort of 1.18M rows a pass held 230 MB at 5M claims); the rows are put here in the
    # order of (pharmacy, prescriber_id, home) — the order every sum over them below adds them in.
    order = np.lexsort((per["home_no"].to_numpy(), keys["rank"].to_numpy()[per["flow"].to_numpy()]))
    rows = {c: per[c].to_numpy(zero_copy_only=False)[order] for c in per.column_names if c != "home_no"}
    per = None
    chance = rows["chance"].astype(float)
    flow = rows["flow"].astype(np.int64)
    honest = rows["honest"].astype(bool)
    flows = (np.unique(keys["class"].to_numpy(zero_copy_only=False), return_inverse=True)[1],
             np.unique(keys["prescriber_id"].to_numpy(zero_copy_only=False), return_inverse=True)[1],
             np.zeros(k, bool))
    flows[2][flow] = honest        # a flow is held out, or not, on every row of it
    # a relation whose home, prescriber's place or pharmacy is at an unknown postcode is left out of
    # the tests of geography (counted in the evidence: `unknown_home`, `unlocated`)
    located = rows["located"].astype(bool)
    patients = rows["observed"].astype(float)
    places = (np.bincount(flow, patients * rows["unknown_home"].astype(bool), k),
              np.bincount(flow, patients * ~located, k))
    tests = [_fisher(np.where(located, rows[n_].astype(float), 0.0), np.where(located, rows[o_].astype(float), 0.0),
                     chance, flow, k, honest)
             for n_, o_ in (("patients", "observed"), ("watched_patients", "watched_observed"))]
    tests.append(_travellers(rows, flow, k, flows))
    tests.append(_travellers(rows, flow, k, flows, "elsewhere_observed"))
    tests.append(_remote(rows, flow, k, flows))
    # the strongest of the five tests, Bonferroni-corrected
    return flow, tests, np.minimum(np.min([x[0] for x in tests], axis=0) + np.log(len(tests)), 0.0), places


def _beyond(tests) -> np.ndarray:
    """The flows beyond what honest behaviour predicts: one of the first four tests counts more
    than it expects, or the fifth (remote travellers) does and is the strongest of the five — a
    remote traveller's fraction beyond its expectation does not make a finding of another test
    whose count is below its own (a prescriber whose patients of one town fill at a pharmacy,
    fewer in all than predicted)."""
    first = np.any([x[1] > x[2] for x in tests[:4]], axis=0)
    remote = tests[4]
    strongest = remote[0] <= np.min([x[0] for x in tests], axis=0)
    return first | ((remote[1] > remote[2]) & strongest)


# The five tests of a flow (`_judge`'s order): their names in the evidence and their words in a summary
_TESTS = (("all", "patient(s) (of the home areas beyond their share) where their homes and where they were "
                  "prescribed predict"),
          ("watched", "patient(s) given watched molecules (of the home areas beyond their share) where their homes "
                      "and where they were prescribed predict"),
          ("travellers", "patient(s) from another area given watched molecules alone where prescribers alike predict"),
          ("elsewhere", "patient(s) from another area given watched molecules alone while another prescriber of the "
                        "kind treats them, where prescribers alike predict"),
          ("remote", "patient(s) from another postcode given watched molecules alone, weighed by how remote their "
                     "homes are, where prescribers alike predict"))


def _strongest(flows: list[dict], pooled: dict | None) -> str:
    """An alert's strongest test in words: of the five tests, the one with the smallest tail
    probability of any of the alert's flows counting more than it predicts (a test whose count is
    below its prediction makes no finding), its counts summed over the flows it judged ("O
    patient(s) … predict E"); the pharmacy's pooled travellers' test (`_pooled_travellers`) when
    it is stronger still. A test with no yardstick for a flow (`expected` None) is not judged there;
    the five tests of every flow are in the evidence (`tests`)."""
    best, at = 0.0, None
    for t in range(len(_TESTS)):
        for x in flows:
            y = _counted(x["tests"][t])
            if y["log10_p"] is not None and y["observed"] > y["expected"] and y["log10_p"] < best:
                best, at = y["log10_p"], t
    if pooled is not None and (at is None or pooled["log10_p"] < best):
        return (f"{pooled['observed']:.0f} patient(s) from another area given watched molecules alone, over its "
                f"prescribers' flows, where prescribers alike predict {pooled['expected']:.1f}")
    if at is None:
        return "no test judged"
    judged = [_counted(x["tests"][at]) for x in flows if x["tests"][at]["expected"] is not None]
    o, e = sum(y["observed"] for y in judged), sum(y["expected"] for y in judged)
    return f"{o:.0f} {_TESTS[at][1]} {e:.1f}"


def _counted(test: dict) -> dict:
    """A test's counts as a summary gives them: a test combined over home areas (`all`,
    `watched`: Fisher's combination of their upper tails) by its areas beyond their expectation —
    where its excess lies, its totals possibly below their expectation — the others by their totals."""
    if "areas_beyond_observed" not in test:
        return test
    return {**test, "observed": test["areas_beyond_observed"], "expected": test["areas_beyond_expected"]}


def _travellers(per: Mapping[str, np.ndarray], flow: np.ndarray, k: int, flows: tuple,
                column: str = "only_watched_observed"):
    """Per flow (one of `k`): of the patients from another area (`far` rows) whose prescriptions
    it filled, how many the prescriber gave watched molecules alone (`column`:
    `only_watched_observed`, all its prescriptions for them watched; or `elsewhere_observed`, those
    of them whom another prescriber of the same class gives other care), against the share among the other
    prescribers of the same class (kind and specialty) — leave-one-out, from the flows not held out
    — binomial, the share's odds varying between prescribers by a τ² estimated on those flows; a
    class whose others filled fewer than `_MIN_TRAVELLERS` such patients sets no yardstick. `per`:
    the per-area rows' columns (`_judge`); `flows`: per flow, its class's and its prescriber's index
    and whether it is not held out. Returns the flows' log tail probabilities, observed and
    expected counts."""
    far = per["far"].astype(bool)
    n_ = np.where(far, per["observed"].astype(float), 0.0)
    w_ = np.where(far, per[column].astype(float), 0.0)
    n, w = np.bincount(flow, n_, k), np.bincount(flow, w_, k)
    ci, pi, fit = flows
    # the class's and the prescriber's travellers (watched ones), from flows not held out
    cn, cw = np.bincount(ci, n * fit, ci.max() + 1), np.bincount(ci, w * fit, ci.max() + 1)
    pn, pw = np.bincount(pi, n * fit), np.bincount(pi, w * fit)
    others_n, others_w = cn[ci] - pn[pi], cw[ci] - pw[pi]
    judged = (others_n >= _MIN_TRAVELLERS) & (n > 0)
    share = (others_w + 0.5) / (others_n + 1)
    tau2 = logit_tau2(w[judged & fit], n[judged & fit], share[judged & fit]) if (judged & fit).any() else 0.0
    log_p = np.where(judged, logitnormal_binom_logsf(w, np.maximum(n, 1), share, tau2), 0.0)
    return log_p, w, np.where(judged, n * share, w), (n, share, tau2, judged)


def _remote(per: Mapping[str, np.ndarray], flow: np.ndarray, k: int, flows: tuple):
    """Per flow (one of `k`): the travellers' test with each traveller weighed by how remote its
    home is from where the prescriber practises. Of the flow's patients from another postcode
    (`away` rows), those given watched molecules alone, each counting 1 / tie, the tie being the
    share of the other patients of its home area (the prescriber's own apart) whom any provider of
    the prescriber's postcode billed (`tie`, floored at `_TIE_FLOOR`); against the class's share
    among the other prescribers of the same class (leave-one-out, from the flows not held out; a
    class whose others filled fewer than `_MIN_TRAVELLERS` such patients sets no yardstick) — the
    null: whether a traveller is given watched molecules alone does not depend on how remote its
    home is (unweighted, the share is not set by the few remote travellers of one flow, mules or
    not). The weighted count's tail: a binomial of Kish's effective size n = (Σ wᵢ)² / Σ wᵢ²
    and effective count n · (Σ wᵢ xᵢ) / Σ wᵢ (Kish, Survey Sampling, 1965: the same mean and
    variance), continued to real counts by the regularised incomplete beta function, the share's
    odds varying between prescribers by the τ² of those effective counts. Returns the flows' log
    tail probabilities, their counts of such travellers, the count expected at their weights
    (the count times the class's weighted share over the flow's own) and whether each was judged."""
    away = per["away"].astype(bool)
    v = 1.0 / np.maximum(per["tie"].astype(float), _TIE_FLOOR)
    n_ = np.where(away, per["observed"].astype(float), 0.0)
    w_ = np.where(away, per["only_watched_observed"].astype(float), 0.0)
    n, w = np.bincount(flow, n_, k), np.bincount(flow, w_, k)
    big_w, big_t, big_v2 = np.bincount(flow, v * n_, k), np.bincount(flow, v * w_, k), np.bincount(flow, v * v * n_, k)
    ci, pi, fit = flows
    others_n, others_w = (np.bincount(ci, x * fit, ci.max() + 1)[ci] - np.bincount(pi, x * fit)[pi] for x in (n, w))
    judged = (others_n >= _MIN_TRAVELLERS) & (n > 0)
    share = (others_w + 0.5) / (others_n + 1)
    n_eff = big_w ** 2 / np.maximum(big_v2, 1e-300)
    w_eff = n_eff * big_t / np.maximum(big_w, 1e-300)
    tau2 = logit_tau2(w_eff[judged & fit], n_eff[judged & fit], share[judged & fit]) if (judged & fit).any() else 0.0
    log_p = np.where(judged & (w > 0), _kish_logsf(w_eff, n_eff, share, tau2), 0.0)
    expected = np.where(big_t > 0, w * share * big_w / np.maximum(big_t, 1e-300), n * share)
    return log_p, w, np.where(judged, expected, w), judged


def _kish_logsf(w: np.ndarray, n: np.ndarray, share: np.ndarray, tau2: float, nodes: int = 24) -> np.ndarray:
    """log P(X ≥ w) for X ~ Binomial(n, p) continued to real w and n (the regularised incomplete
    beta function I_p(w, n − w + 1), exact at whole numbers), logit p ~ Normal(logit share, τ²)
    (Gauss–Hermite, `graph.stats.logitnormal_nodes`); 0 where w ≤ 0."""
    w, n = np.asarray(w, float), np.asarray(n, float)
    pos = w > 0
    a, b = np.where(pos, w, 1.0), np.maximum(np.where(pos, n - w, 0.0), 0.0) + 1
    if tau2 > 0:
        p, wt = logitnormal_nodes(np.asarray(share, float), tau2, nodes)
        tail = (special.betainc(a[:, None], b[:, None], np.clip(p, 1e-12, 1 - 1e-12)) * wt).sum(-1)
    else:
        tail = special.betainc(a, b, share)
    return np.where(pos, np.log(np.clip(tail, 1e-300, 1.0)), 0.0)


def _fisher(n: np.ndarray, o: np.ndarray, chance: np.ndarray, flow: np.ndarray, k: int, honest: np.ndarray):
    """Per flow (one of `k`): Fisher's combination of the per-area tails of `o` of `n` patients at
    a pharmacy whose chance is `chance` — binomial, the chance's odds varying between prescribers
    by one variance τ² for all areas and flows, estimated on the `honest` rows (those of flows not
    held out) — the flow's observed and expected totals, whether it was judged (an area tested), and
    the observed and expected counts of its areas beyond their expectation (where the combination's
    excess lies: a flow's totals can be below its expectation while some of its areas are far beyond)."""
    tested = n > 0
    fit = tested & honest
    tau2 = logit_tau2(o[fit], n[fit], chance[fit]) if fit.any() else 0.0
    area_log_p = np.where(tested, logitnormal_binom_logsf(o, np.maximum(n, 1), chance, tau2), 0.0)
    fisher = np.bincount(flow, -2 * area_log_p, k)
    areas = np.bincount(flow, tested.astype(float), k)
    log_p = np.where(areas > 0, stats.chi2.logsf(fisher, 2 * np.maximum(areas, 1)), 0.0)
    beyond = tested & (o > n * chance)
    return (log_p, np.bincount(flow, o, k), np.bincount(flow, n * chance, k), areas > 0,
            (np.bincount(flow, o * beyond, k), np.bincount(flow, n * chance * beyond, k)))


def _logitnormal_moments(n: np.ndarray, chance: np.ndarray, tau2: float, nodes: int = 24):
    """Mean and variance of X ~ Binomial(n, p), logit p ~ Normal(logit chance, τ²) (Gauss–Hermite
    quadrature, `graph.stats.logitnormal_nodes`, as `graph.stats.logitnormal_binom_logsf`):
    E X = n E p, Var X = n (E p − E p²) + n² (E p² − (E p)²)."""
    if tau2 <= 0:
        return n * chance, n * chance * (1 - chance)
    p, wt = logitnormal_nodes(chance, tau2, nodes)
    m1, m2 = (p * wt).sum(-1), (p * p * wt).sum(-1)
    return n * m1, n * (m1 - m2) + n * n * (m2 - m1 * m1)


def _pooled_travellers(pharmacy: np.ndarray, travellers, fdr: float) -> tuple[np.ndarray, dict[int, dict]]:
    """The travellers' test pooled over a pharmacy's flows: several prescribers each sending it a
    few mules, none beyond doubt alone. Per pharmacy, the sum over its judged flows of the
    travellers given watched molecules alone, against the sum of their expectations; each flow's
    count logit-normal binomial (`_travellers`), the sum's tail a negative binomial of the same
    mean and variance. Benjamini–Hochberg at `fdr` over the pharmacies with a judged flow. A
    pharmacy beyond names its flows that carry the excess: the flows furthest beyond (smallest
    tail first) are taken out one by one until what remains is within the bound. Returns the
    mask of flows named, and per pharmacy beyond (by index) its pooled `observed`, `expected` and
    `log10_p`."""
    log_p_flow, w, _, (n, share, tau2, judged) = travellers
    k = int(pharmacy.max()) + 1 if len(pharmacy) else 0
    mean, var = _logitnormal_moments(n, share, tau2)
    mean, var = np.where(judged, mean, 0.0), np.where(judged, var, 0.0)
    wj = np.where(judged, w, 0.0)
    O, M, V = (np.bincount(pharmacy, x, k) for x in (wj, mean, var))
    tested = np.bincount(pharmacy, judged.astype(float), k) > 0

    def tail(o, m, v):
        shape = np.where(v > m * (1 + 1e-9), m * m / np.maximum(v - m, 1e-12), np.inf)
        return np.where(o > m, negbin_logsf(o, m, shape), 0.0)

    log_p = np.where(tested, tail(O, M, V), 0.0)
    flagged = benjamini_hochberg(log_p[tested], fdr)
    named = np.zeros(len(pharmacy), bool)
    if not flagged.any():
        return named, {}
    pooled = {}
    for ph in np.flatnonzero(tested)[flagged]:
        rows = np.flatnonzero((pharmacy == ph) & judged)
        o, m, v = O[ph], M[ph], V[ph]
        pooled[int(ph)] = {"observed": float(o), "expected": float(m), "log10_p": float(log_p[ph] / np.log(10))}
        for i in rows[np.argsort(log_p_flow[rows], kind="stable")]:
            if tail(np.array([o]), np.array([m]), np.array([v]))[0] > np.log(fdr) or wj[i] <= mean[i]:
                break
            named[i] = True
            o, m, v = o - wj[i], m - mean[i], v - var[i]
    return named, pooled
