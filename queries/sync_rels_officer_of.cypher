// Sync: upsert OFFICER_OF relationships between entities already synced, with their aggregates
// Parameters: $rows (list of {src, dst, key, props}: src/dst are entity keys, key tells apart
// parallel relationships (role and start date, identifier kind and value), props includes key), $run_id
UNWIND $rows AS row
MATCH (a:Entity {key: row.src})
MATCH (b:Entity {key: row.dst})
MERGE (a)-[r:OFFICER_OF {key: row.key}]->(b)
SET r = row.props, r.run_id = $run_id
