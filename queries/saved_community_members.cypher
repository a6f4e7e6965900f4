// A community and its flagged members
// Answers: the members of one community (stable id across runs, e.g. sp-0001 for shared patients,
// rx-0001 for prescription flows), riskiest first, with the alerts naming each.
// Parameters: $community_id, $limit (members, e.g. 50)
MATCH (c:Community {id: $community_id})<-[m:MEMBER_OF]-(n)
OPTIONAL MATCH (a:Alert)-[:INVOLVES]->(n)
RETURN n.id AS entity_id, n.caption AS caption, n.risk AS risk, collect(DISTINCT a.id) AS alerts, c, m, n
ORDER BY coalesce(risk, 0) DESC, entity_id
LIMIT $limit
