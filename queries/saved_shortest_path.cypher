// Shortest path between two entities, avoiding hubs
// Answers: how two entities (providers, centres, legal entities, people, patients) are connected
// through at most six links of the billing and ownership graph, never passing through a hub (a
// node with more than $max_degree links: a big hospital, a pharmacy the whole town uses). Neo4j
// checks the hub rule while it searches (a quantified path pattern, SHORTEST 1: Neo4j 5.21+).
// Parameters: $from_key, $to_key (the two entities' keys, type:id, e.g. 'provider:75123456': a
// number alone may name a provider and a patient), $max_degree (e.g. 200)
MATCH path = SHORTEST 1 (a:Entity {key: $from_key})
  ((x)-[:BILLED|DISPENSED_TO|PRESCRIBED_FOR|FLOWS_TO|WORKS_AT|OPERATED_BY|BILLS_UNDER|OFFICER_OF|SHARES_IDENTIFIER]-(y)
   WHERE y.key = $to_key OR coalesce(y.degree, 0) <= $max_degree){1,6}
  (b:Entity {key: $to_key})
RETURN length(path) AS hops, [n IN nodes(path) | n.caption] AS through, [n IN nodes(path) | n.key] AS keys, path
