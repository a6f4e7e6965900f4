// Shortest path between two entities, avoiding hubs
// Answers: how two entities (providers, centres, legal entities, people, patients) are connected
// through at most six links of the billing and ownership graph, never passing through a hub (a
// node with more than $max_degree links: a big hospital, a pharmacy the whole town uses).
// Parameters: $from_id, $to_id (the two entities' numbers), $max_degree (e.g. 200)
MATCH (a:Entity {id: $from_id})
MATCH (b:Entity {id: $to_id})
MATCH path = shortestPath((a)-[:BILLED|DISPENSED_TO|PRESCRIBED_FOR|FLOWS_TO|WORKS_AT|OPERATED_BY|BILLS_UNDER|OFFICER_OF|SHARES_IDENTIFIER*..6]-(b))
WHERE all(n IN nodes(path)[1..-1] WHERE coalesce(n.degree, 0) <= $max_degree)
RETURN length(path) AS hops, [n IN nodes(path) | n.caption] AS through, path
