// A doctor shopper's prescribers and pharmacies
// Answers: for a doctor-shopping alert, the patient at its centre and every prescriber and
// pharmacy the alert names, with the prescriptions (PRESCRIBED_FOR) and dispensings (DISPENSED_TO)
// that link them to the patient: lines, amount, first and last date.
// Parameters: $alert_id (a doctor_shopping alert, e.g. from Top alerts of a pattern)
MATCH (a:Alert {id: $alert_id, pattern: 'doctor_shopping'})-[s:INVOLVES {role: 'shopper'}]->(pt:Patient)
MATCH (a)-[i:INVOLVES]->(p:Provider)
OPTIONAL MATCH (p)-[r:PRESCRIBED_FOR|DISPENSED_TO]->(pt)
RETURN p.id AS provider_id, i.role AS role, type(r) AS link, r.n AS lines, r.amount AS amount,
       r.first_date AS first_date, r.last_date AS last_date, a, s, pt, i, p, r
ORDER BY role, lines DESC, provider_id
