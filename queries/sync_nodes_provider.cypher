// Sync: upsert Provider nodes (with their risk, reasons, communities and centrality as properties)
// Parameters: $rows (list of {key, props}: key is 'provider:<id>', props every property, key included), $run_id
// (An upsert by OPTIONAL MATCH + FOREACH rather than MERGE (n:Entity:Provider {key}): the same effect,
// and the form ArcadeDB's Bolt server, our test server, both accepts and runs fast; see README.)
UNWIND $rows AS row
OPTIONAL MATCH (old:Entity {key: row.key})
FOREACH (_ IN CASE WHEN old IS NULL THEN [1] ELSE [] END |
  CREATE (n:Entity:Provider) SET n = row.props, n.run_id = $run_id)
FOREACH (_ IN CASE WHEN old IS NULL THEN [] ELSE [1] END |
  SET old = row.props, old.run_id = $run_id)
