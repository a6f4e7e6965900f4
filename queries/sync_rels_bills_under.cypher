// Sync: upsert BILLS_UNDER relationships between entities already synced, with their aggregates
// Parameters: $rows (list of {src, dst, key, props}: src/dst are entity keys, key tells apart
// parallel relationships (role and start date, identifier kind and value), props includes key), $run_id
// (Written from b, the patient side of most relationships: the same MERGE, and ArcadeDB, our
// test server, expands from the first node, so starting at the low-degree end is much faster.)
UNWIND $rows AS row
MATCH (a:Entity {key: row.src})
MATCH (b:Entity {key: row.dst})
MERGE (b)<-[r:BILLS_UNDER {key: row.key}]-(a)
SET r = row.props, r.run_id = $run_id
