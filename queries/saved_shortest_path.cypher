// Shortest path between two entities, avoiding hubs
// Answers: how two entities (providers, centres, legal entities, people, patients) are connected
// through at most six links of the billing and ownership graph, never passing through a hub (a
// node with more than $max_degree links: a big hospital, a pharmacy the whole town uses). Neo4j
// checks the hub rule while it searches (a quantified path pattern, SHORTEST 1: Neo4j 5.21+).
// Parameters: $from_id, $to_id (the two entities' numbers), $max_degree (e.g. 200)
MATCH path = SHORTEST 1 (a:Entity {id: $from_id})
  ((x)-[:BILLED|DISPENSED_TO|PRESCRIBED_FOR|FLOWS_TO|WORKS_AT|OPERATED_BY|BILLS_UNDER|OFFICER_OF|SHARES_IDENTIFIER]-(y)
   WHERE y.id = $to_id OR coalesce(y.degree, 0) <= $max_degree){1,6}
  (b:Entity {id: $to_id})
RETURN length(path) AS hops, [n IN nodes(path) | n.caption] AS through, [n IN nodes(path) | n.key] AS keys, path
