// Top alerts of a pattern
// Answers: the highest-scoring alerts of one pattern, each with the entities it names and their
// role and standing in the case (accused, participant or victim: only the first two are Flagged);
// the Browser draws each case as a star around its Alert node.
// Parameters: $pattern (double_billing, pharmacy_collusion, doctor_shopping, dense_block,
// entity_network or peer_outlier), $limit (number of alerts, e.g. 10)
MATCH (a:Alert {pattern: $pattern})
WITH a ORDER BY a.score DESC, a.id LIMIT $limit
OPTIONAL MATCH (a)-[i:INVOLVES]->(n)
RETURN a.id AS alert_id, a.score AS score, a.summary AS summary, i.role AS role, i.standing AS standing,
       n.id AS entity_id, a, i, n
ORDER BY score DESC, alert_id, CASE standing WHEN 'accused' THEN 0 WHEN 'participant' THEN 1 ELSE 2 END, role, entity_id
